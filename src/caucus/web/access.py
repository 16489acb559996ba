"""Who may call each route. Every route declares it with :func:`access`; the app refuses to start otherwise.

::

    @router.get("/health", dependencies=[access("public")])
    def health(): ...

    @router.get("/precinct")
    def precinct(principal: Annotated[Principal, access("chair")]): ...

``access(...)`` is a FastAPI dependency carrying a marker (:class:`AccessRule`). A ``public`` route is open
to anyone; any other role needs a signed-in caller holding one of the roles (401 without a valid session,
403 with the wrong role). A chair signs in with a bearer token; staff (admin, operator, reviewer, director,
observer, campaign) with the HQ session cookie, and every unsafe request (POST, PUT, PATCH, DELETE) of a staff session
must carry the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``), else 403 and an
audit event. :func:`check_access_declared` walks every route; :func:`route_table` lists them.

A chair route on the hot path (a stage report, a correction) declares :func:`chair_token` instead of
``access("chair")``: the same rule, but the bearer token is looked up by the route itself, in the one worker
thread that does the route's work (:meth:`ChairToken.session`), instead of in a thread of its own before it
(issue 15: one thread-pool hop per report). Without a bearer token it answers as ``access("chair")`` (401, or
403 for a staff cookie) before anything else; a token that turns out invalid is refused (401) before the
route does anything, but after the request's own validation (a bad body with a bad token: 422).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from caucus.service import ChairSession, Forbidden, NotSignedIn
from caucus.service.staff import StaffSession
from caucus.web.services import services_of

Role = Literal["public", "chair", "admin", "operator", "reviewer", "director", "observer", "campaign"]
ROLES: tuple[Role, ...] = get_args(Role)
STAFF_ROLES: tuple[Role, ...] = ("admin", "operator", "reviewer", "director", "observer", "campaign")
#: the HQ session cookie (HttpOnly, SameSite=Strict, Secure unless CAUCUS_STAFF_COOKIE_SECURE=false)
STAFF_COOKIE = "caucus_hq"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(
    auto_error=False,
    description="The token from POST /api/v1/session, as `Authorization: Bearer <token>`.",
)


class UndeclaredAccess(RuntimeError):
    """A route that does not declare who may call it (or declares it twice)."""


@dataclass(frozen=True)
class Principal:
    """The caller: ``role`` is ``public`` for an anonymous one."""

    role: Role
    chair: ChairSession | None = None
    staff: StaffSession | None = None

    @property
    def actor(self) -> str:
        if self.staff is not None:
            return self.staff.actor
        return self.chair.actor if self.chair is not None else "anonymous"

    @property
    def username(self) -> str:
        return self.staff.user.username if self.staff is not None else ""

    @property
    def campaign(self) -> str | None:
        """The preference group of a campaign account (None for every other caller)."""
        return self.staff.user.campaign if self.staff is not None else None


ANONYMOUS = Principal("public")


class AccessRule:
    """The marker every route carries: the roles that may call it."""

    roles: tuple[Role, ...]

    def describe(self) -> str:
        """Who may call, in words: "a reviewer or a director"."""
        return describe_roles(self.roles)


#: each role as a person, for messages ("only a reviewer or a director may do this")
ROLE_WORDS: dict[str, str] = {"public": "anyone", "chair": "a precinct chair", "admin": "an admin",
                              "operator": "a hotline operator", "reviewer": "a reviewer", "director": "a director",
                              "observer": "an observer", "campaign": "a campaign"}


def describe_roles(roles: tuple[str, ...]) -> str:
    words = [ROLE_WORDS.get(role, role) for role in roles]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class PublicAccess(AccessRule):
    roles = ("public",)

    def __call__(self) -> Principal:
        return ANONYMOUS


class RoleAccess(AccessRule):
    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = roles

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        services = services_of(request)
        cookie = request.cookies.get(STAFF_COOKIE)
        if credentials is None and cookie:
            staff = await run_in_threadpool(services.staff.authenticate, cookie)
            if staff.role not in self.roles:
                raise Forbidden(f"only {self.describe()} may do this; you are signed in as {staff.user.username}, "
                                f"{ROLE_WORDS.get(staff.role, staff.role)}")
            if request.method not in SAFE_METHODS:
                given = request.headers.get(CSRF_HEADER)
                form = None
                if given is None and request.headers.get("content-type", "").startswith(
                        ("application/x-www-form-urlencoded", "multipart/form-data")):
                    form = await request.form()
                    value = form.get(CSRF_FIELD)
                    given = value if isinstance(value, str) else None
                try:
                    await run_in_threadpool(services.staff.check_csrf, staff, given, method=request.method,
                                            path=request.url.path)
                except Exception:
                    if form is not None:
                        await form.close()  # uploaded files of a refused form are not kept open
                    raise
            return Principal(staff.role, staff=staff)
        if credentials is None:
            raise NotSignedIn(
                "sign in first (POST /api/v1/session), then send the token as 'Authorization: Bearer <token>'"
                if "chair" in self.roles else "sign in at /hq/sign-in first"
            )
        chair = await run_in_threadpool(services.sessions.authenticate, credentials.credentials)
        if "chair" not in self.roles:
            raise Forbidden(f"only {self.describe()} may do this; this session is precinct {chair.precinct}'s chair")
        return Principal("chair", chair)


@dataclass(frozen=True)
class ChairToken:
    """A chair's bearer token, not yet looked up: :meth:`session` does (blocking; raises SessionInvalid,
    SessionRevoked or SessionExpired)."""

    token: str

    def session(self, request: Request) -> ChairSession:
        return services_of(request).sessions.authenticate(self.token)


class ChairTokenAccess(AccessRule):
    """``access("chair")`` whose token the route looks up itself (see the module docstring)."""

    roles: tuple[Role, ...] = ("chair",)

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ChairToken:
        if credentials is None:  # no token: answered exactly as access("chair") answers (401, or 403 for staff)
            await RoleAccess(self.roles)(request, credentials)
            raise NotSignedIn("sign in first (POST /api/v1/session), then send the token as "
                              "'Authorization: Bearer <token>'")  # (not reached: the rule above raises)
        return ChairToken(credentials.credentials)


_CHAIR_TOKEN = ChairTokenAccess()


def chair_token() -> Any:
    """The dependency of a chair-only route that authenticates the chair itself (:class:`ChairToken`)."""
    return Depends(_CHAIR_TOKEN)


@functools.cache
def _rule(roles: tuple[Role, ...]) -> PublicAccess | RoleAccess:
    return PublicAccess() if roles == ("public",) else RoleAccess(roles)


def access(*roles: Role) -> Any:
    """The dependency declaring who may call a route (same roles: same dependency, resolved once)."""
    unknown = [role for role in roles if role not in ROLES]
    if not roles or unknown:
        raise ValueError(f"access() needs roles from {', '.join(ROLES)}; got {roles!r}")
    if "public" in roles and len(roles) > 1:
        raise ValueError("a public route is open to everyone: declare access('public') alone")
    return Depends(_rule(tuple(dict.fromkeys(roles))))


def _rules_of(dependant: Dependant | None) -> list[AccessRule]:
    found: list[AccessRule] = []
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        item = pending.pop()
        if isinstance(item.call, AccessRule):
            found.append(item.call)
        pending.extend(item.dependencies)
    return list(dict.fromkeys(found))


def _served_routes(app: FastAPI) -> list[tuple[str, list[str], Dependant | None, bool]]:
    """(path, methods, dependency tree, is an API route) of every route the app serves, included routers
    expanded the way FastAPI itself expands them (for OpenAPI)."""
    served = []
    for context in iter_route_contexts(app.routes):
        is_api = isinstance(context.original_route, APIRoute)
        dependant = getattr(context, "dependant", None) if is_api else None
        served.append((str(context.path), sorted(context.methods or ()), dependant, is_api))
    return served


def check_access_declared(app: FastAPI) -> None:
    """Raise UndeclaredAccess listing every route that does not declare exactly one access rule."""
    problems = []
    for path, methods, dependant, is_api in _served_routes(app):
        where = f"{', '.join(methods) or 'route'} {path}"
        if not is_api:
            problems.append(f"{where} is not an API route, so it cannot declare access")
            continue
        rules = _rules_of(dependant)
        if not rules:
            problems.append(f"{where} declares no access")
        elif len(rules) > 1:
            problems.append(f"{where} declares access {len(rules)} times")
    if problems:
        raise UndeclaredAccess(
            "every route must declare who may call it with caucus.web.access.access(...): " + "; ".join(problems)
        )


@dataclass(frozen=True)
class RouteAccess:
    method: str
    path: str
    roles: tuple[Role, ...]


def route_table(app: FastAPI) -> list[RouteAccess]:
    """(method, path, roles) of every route, sorted by path then method (for tests and docs)."""
    table = []
    for path, methods, dependant, _ in _served_routes(app):
        rules = _rules_of(dependant)
        roles = rules[0].roles if len(rules) == 1 else ()
        table += [RouteAccess(method, path, roles) for method in methods]
    return sorted(table, key=lambda r: (r.path, r.method))


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ROLES",
    "STAFF_COOKIE",
    "STAFF_ROLES",
    "AccessRule",
    "Principal",
    "Role",
    "RouteAccess",
    "UndeclaredAccess",
    "access",
    "check_access_declared",
    "route_table",
]
