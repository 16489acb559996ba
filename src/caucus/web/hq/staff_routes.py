"""Staff administration for admins: add accounts, disable and enable them, reset a password, change a role,
and lift a sign-in throttle (the Throttles page's form). The same actions as ``caucus staff ...``; each is
audited (``staff.add``, ``staff.disable``, ``staff.enable``, ``staff.reset-password``, ``staff.role``,
``throttle.lift``) with the admin as actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError
from caucus.service.hq_errors import StaffInputInvalid
from caucus.service.passwords import MIN_PASSWORD_LENGTH
from caucus.service.staff import STAFF_ROLE_NAMES, StaffService, StaffUser, role_phrase
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=f"{PREFIX}/staff", include_in_schema=False)
Admin = Annotated[Principal, access("admin")]
ROLE_TITLES = {"admin": "admin (staff accounts, chair roster)", "operator": "operator (hotline)",
               "reviewer": "reviewer", "director": "results director", "observer": "observer (read-only)",
               "campaign": "campaign (one preference group: its own tallies, the cross-check)"}


def _page(request: Request, principal: Principal, *, status: int = 200, message: str = "", done: str = "",
          fields: dict[str, str] | None = None, values: dict[str, str] | None = None, form_of: str = "") -> Response:
    services = services_of(request)
    return page(request, "staff.html", principal, status=status, message=message, done=done, fields=fields or {},
                values=values or {}, form_of=form_of, users=services.staff.list_users(), roles=STAFF_ROLE_NAMES,
                role_titles=ROLE_TITLES, min_length=MIN_PASSWORD_LENGTH)


@router.get("")
def staff_list(request: Request, principal: Admin, done: str = "") -> Response:
    return _page(request, principal, done=done[:300])


def _new_password(form: FormData) -> str:
    password = form.get("password")
    confirm = form.get("confirm")
    password = password if isinstance(password, str) else ""
    if not password:
        raise StaffInputInvalid("password", "the password is required")
    if password != (confirm if isinstance(confirm, str) else ""):
        raise StaffInputInvalid("confirm", "the two passwords differ; type the same password twice")
    return password


async def _act(request: Request, principal: Principal, form_of: str,
               action: Callable[[StaffService, FormData], str]) -> Response:
    form = await request.form()
    services = services_of(request)
    try:
        done = await run_in_threadpool(action, services.staff, form)
    except ServiceError as error:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("password", "confirm",
                                                                                    "csrf_token")}
        return _page(request, principal, status=status_for(error), message=error.message, values=values,
                     form_of=form_of, fields={p.field: p.message for p in error.fields})
    return see_other(f"{PREFIX}/staff?done={quote(done)}")


def _described(user: StaffUser) -> str:
    role = f"{user.role}: {user.campaign}" if user.campaign else user.role
    return f"{user.username} ({role}, {user.status})"


@router.post("")
async def add(request: Request, principal: Admin) -> Response:
    def run(staff: StaffService, form: FormData) -> str:
        user = staff.add_user(text_field(form, "username", required=True, label="the username"),
                              text_field(form, "name"), text_field(form, "role", required=True, label="the role"),
                              _new_password(form), actor=principal.actor, campaign=text_field(form, "campaign"))
        return f"added {_described(user)}; give them their password in person or by phone, never by email"

    return await _act(request, principal, "add", run)


@router.post("/{username}/disable")
async def disable(request: Request, principal: Admin, username: str) -> Response:
    def run(staff: StaffService, _form: FormData) -> str:
        return f"disabled {_described(staff.disable_user(username, actor=principal.actor))}; its sessions ended"

    return await _act(request, principal, username, run)


@router.post("/{username}/enable")
async def enable(request: Request, principal: Admin, username: str) -> Response:
    def run(staff: StaffService, _form: FormData) -> str:
        return f"enabled {_described(staff.enable_user(username, actor=principal.actor))}"

    return await _act(request, principal, username, run)


@router.post("/{username}/password")
async def reset_password(request: Request, principal: Admin, username: str) -> Response:
    def run(staff: StaffService, form: FormData) -> str:
        user = staff.reset_password(username, _new_password(form), actor=principal.actor)
        return f"new password set for {user.username}; their sessions ended, they sign in with the new one"

    return await _act(request, principal, username, run)


@router.post("/{username}/role")
async def change_role(request: Request, principal: Admin, username: str) -> Response:
    def run(staff: StaffService, form: FormData) -> str:
        user = staff.change_role(username, text_field(form, "role", required=True, label="the role"),
                                 actor=principal.actor, campaign=text_field(form, "campaign"))
        return f"{user.username} is now {role_phrase(user.role, user.campaign)}"

    return await _act(request, principal, username, run)
