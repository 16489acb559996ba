"""Rendering HQ pages: one Jinja2 environment (autoescaped), the page context every template gets, form
helpers, and HTML error pages for /hq (the same statuses as the JSON API, a page a person can act on)."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from caucus.ledger import LedgerError
from caucus.ledger.model import STAGES, Stage
from caucus.service import STAGE_TITLES, ServiceError
from caucus.service.errors import FieldProblem
from caucus.service.hq_errors import StaffInputInvalid
from caucus.web.access import CSRF_FIELD, STAFF_COOKIE, Principal
from caucus.web.errors import retry_headers, status_for
from caucus.web.services import services_of

HERE = Path(__file__).parent
PREFIX = "/hq"
MAX_NUMBER = 100_000


@functools.cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["hhmm"] = _hhmm
    return env


@pass_context
def _hhmm(context: Context, at: Any) -> str:
    """A time as staff read it: ``7:45 pm CST``, in the plan's time zone (docs/plan-format.md)."""
    return str(context["plan_settings"].clock(at)) if at is not None else ""


def page(request: Request, template: str, principal: Principal | None = None, *, status: int = 200,
         **context: Any) -> HTMLResponse:
    services = services_of(request)
    staff = principal.staff if principal is not None else None
    html = environment().get_template(template).render(
        principal=principal, staff=staff, csrf=staff.csrf_token if staff is not None else "",
        csrf_field=CSRF_FIELD, mode=services.mode(), election=services.context.slug,
        candidates=services.context.candidates, new_key=secrets.token_urlsafe(12), stage_titles=STAGE_TITLES,
        plan_settings=services.context.plan.settings, **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                   "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Frame-Options"] = "DENY"
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def text_field(form: FormData, name: str, *, required: bool = False, label: str | None = None) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise StaffInputInvalid(name, f"{label or name} is required")
    return text


def int_field(form: FormData, name: str, label: str | None = None) -> int:
    text = text_field(form, name, required=True, label=label)
    if not text.isdigit() or int(text) > MAX_NUMBER:
        raise StaffInputInvalid(name, f"{label or name} must be a whole number from 0 to {MAX_NUMBER}; got {text!r}")
    return int(text)


def stage_field(form: FormData) -> Stage:
    stage = text_field(form, "stage", required=True)
    for known in STAGES:
        if stage == known:
            return known
    raise StaffInputInvalid("stage", f"stage must be one of {', '.join(STAGES)}; got {stage!r}")


def stage_payload(form: FormData, stage: Stage, candidates: tuple[str, ...]) -> dict[str, Any]:
    """A stage's payload from form fields ``attendance`` or ``n.<candidate>`` (blank fields left out);
    every bad field is named at once."""
    if stage == "attendance":
        return {"attendance": int_field(form, "attendance", "attendance")}
    numbers: dict[str, int] = {}
    problems = []
    for candidate in candidates:
        text = text_field(form, f"n.{candidate}")
        if not text:
            continue
        if not text.isdigit() or int(text) > MAX_NUMBER:
            problems.append(FieldProblem(f"n.{candidate}", "invalid-input",
                                         f"{candidate} must be a whole number from 0 to {MAX_NUMBER}; got {text!r}"))
            continue
        numbers[candidate] = int(text)
    if problems:
        raise ServiceErrorWithFields("; ".join(p.message for p in problems), problems)
    if not numbers:
        raise StaffInputInvalid("numbers", "key in at least one group's number")
    return {"delegates": numbers} if stage == "delegates" else {"counts": numbers}


class ServiceErrorWithFields(StaffInputInvalid):
    def __init__(self, message: str, fields: list[FieldProblem]) -> None:
        ServiceError.__init__(self, message, fields)


def clear_staff_cookie(response: Response) -> None:
    response.delete_cookie(STAFF_COOKIE, path="/", httponly=True, samesite="strict")


# -- HTML error pages for /hq ------------------------------------------------------------------------------

Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_hq_error_pages(app: FastAPI) -> None:
    """Errors under /hq render as pages (same status); the rest keep the JSON error shape."""
    for kind in (ServiceError, LedgerError):
        original: Any = app.exception_handlers[kind]
        app.add_exception_handler(kind, _html_first(original))


def _html_first(original: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX + "/") and request.url.path != PREFIX:
            return await original(request, exc)
        assert isinstance(exc, ServiceError | LedgerError)
        status = status_for(exc)
        code = exc.code if isinstance(exc, ServiceError) else exc.code.replace("_", "-")
        fields: Mapping[str, str] = {p.field: p.message for p in getattr(exc, "fields", ())}
        if status == 401:
            if not request.cookies.get(STAFF_COOKIE):  # a first visit, not a session that ended: no red error
                return sign_in_page(request, status=401, next_url=request.url.path,
                                    notice="Sign in to continue to the page you asked for.")
            return sign_in_page(request, status=401, message=exc.message, next_url=request.url.path)
        return retry_headers(page(request, "error.html", status=status, code=code, message=exc.message,
                                  fields=fields), exc)

    return handle


LOGIN_COOKIE = "caucus_hq_login"


def sign_in_page(request: Request, *, status: int = 200, message: str = "", next_url: str = PREFIX,
                 username: str = "", fields: Mapping[str, str] | None = None, notice: str = "") -> HTMLResponse:
    """The sign-in form, with a login CSRF token (double submit: the same random value in an HttpOnly
    SameSite=Strict cookie and in the form)."""
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    response = page(request, "sign_in.html", status=status, message=message, next=safe_next(next_url),
                    login_token=token, username=username, fields=fields or {}, notice=notice)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path=PREFIX,
                        secure=services_of(request).settings.staff_cookie_secure)
    if request.cookies.get(STAFF_COOKIE) and status == 401:
        clear_staff_cookie(response)
    return response


def safe_next(url: str) -> str:
    """Only a path under /hq (never another site) to go to after signing in."""
    return url if url.startswith(PREFIX) and not url.startswith("//") and "\\" not in url else PREFIX
