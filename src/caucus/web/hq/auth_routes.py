"""HQ sign-in, sign-out, the home page and the HQ's own static files."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from caucus.service import ServiceError
from caucus.web.access import STAFF_COOKIE, STAFF_ROLES, Principal, access
from caucus.web.errors import retry_headers, status_for
from caucus.web.hq.pages import (
    HERE,
    LOGIN_COOKIE,
    PREFIX,
    clear_staff_cookie,
    page,
    safe_next,
    see_other,
    sign_in_page,
)
from caucus.web.services import services_of

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Staff = Annotated[Principal, access(*STAFF_ROLES)]
STATIC = {"hq.css": "text/css", "hq.js": "text/javascript"}


@router.get("/sign-in", dependencies=[access("public")])
def sign_in_form(request: Request, next_url: Annotated[str, Query(alias="next", max_length=500)] = PREFIX
                 ) -> Response:
    return sign_in_page(request, next_url=next_url)


@router.post("/sign-in", dependencies=[access("public")])
async def sign_in(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    next_url = str(form.get("next") or PREFIX)
    cookie, given = request.cookies.get(LOGIN_COOKIE) or "", str(form.get("login_token") or "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        return sign_in_page(request, status=403, username=username, next_url=next_url,
                            message="this sign-in form has expired; it has been reloaded, sign in again")
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    try:
        signed = await run_in_threadpool(services.staff.sign_in, username, password, client,
                                         replacing=request.cookies.get(STAFF_COOKIE))
    except ServiceError as error:
        return retry_headers(sign_in_page(request, status=status_for(error), message=error.message,
                                          username=username, next_url=next_url), error)
    response = see_other(safe_next(next_url))
    response.set_cookie(STAFF_COOKIE, signed.token, httponly=True, samesite="strict", path="/",
                        secure=services.settings.staff_cookie_secure,
                        max_age=int(services.settings.staff_absolute.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, principal: Staff) -> Response:
    assert principal.staff is not None
    await run_in_threadpool(services_of(request).staff.sign_out, principal.staff)
    response = see_other(f"{PREFIX}/sign-in")
    clear_staff_cookie(response)
    return response


@router.get("")
def home(request: Request, principal: Staff) -> Response:
    return page(request, "home.html", principal)


@router.get("/static/{name}", dependencies=[access("public")])
def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name],
                        headers={"Cache-Control": "public, max-age=300"})
