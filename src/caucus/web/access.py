"""Who may call each route. Every route declares it with :func:`access`; the app refuses to start otherwise.

::

    @router.get("/health", dependencies=[access("public")])
    def health(): ...

    @router.get("/precinct")
    def precinct(principal: Annotated[Principal, access("chair")]): ...

``access(...)`` is a FastAPI dependency carrying a marker (:class:`AccessRule`). A ``public`` route is open
to anyone; any other role needs a signed-in caller holding one of the roles (401 without a valid session,
403 with the wrong role). Staff roles (admin, operator, reviewer, director, observer) are declared now and
get their sign-in later. :func:`check_access_declared` walks every route; :func:`route_table` lists them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from caucus.service import ChairSession, Forbidden, NotSignedIn
from caucus.web.services import services_of

Role = Literal["public", "chair", "admin", "operator", "reviewer", "director", "observer"]
ROLES: tuple[Role, ...] = get_args(Role)
STAFF_ROLES: tuple[Role, ...] = ("admin", "operator", "reviewer", "director", "observer")

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

    @property
    def actor(self) -> str:
        return self.chair.actor if self.chair is not None else "anonymous"


ANONYMOUS = Principal("public")


class AccessRule:
    """The marker every route carries: the roles that may call it."""

    roles: tuple[Role, ...]

    def describe(self) -> str:
        return ", ".join(self.roles)


class PublicAccess(AccessRule):
    roles = ("public",)

    def __call__(self) -> Principal:
        return ANONYMOUS


class RoleAccess(AccessRule):
    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = roles

    def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        if credentials is None:
            raise NotSignedIn(
                "sign in first (POST /api/v1/session), then send the token as 'Authorization: Bearer <token>'"
            )
        chair = services_of(request).sessions.authenticate(credentials.credentials)
        if "chair" not in self.roles:
            raise Forbidden(f"only {self.describe()} may do this; this session is precinct {chair.precinct}'s chair")
        return Principal("chair", chair)


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
    "ROLES",
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
