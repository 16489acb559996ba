"""Sign-in throttles at HQ: what is throttled now (addresses, operators, precincts, accounts), and lifting
a throttle. For admins and the results director; every lift is audited (``throttle.lift``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError
from caucus.service.throttles import kind_title
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=f"{PREFIX}/throttles", include_in_schema=False)
Lifters = Annotated[Principal, access("admin", "director")]


def _page(request: Request, principal: Principal, *, status: int = 200, message: str = "", done: str = "",
          fields: dict[str, str] | None = None) -> Response:
    services = services_of(request)
    return page(request, "throttles.html", principal, status=status, message=message, done=done,
                fields=fields or {}, rows=services.throttles.current(), kind_title=kind_title,
                now=services.throttles.clock())


@router.get("")
def throttles(request: Request, principal: Lifters, done: str = "") -> Response:
    return _page(request, principal, done=done[:200])


@router.post("/lift")
async def lift(request: Request, principal: Lifters) -> Response:
    form = await request.form()
    kind, target, client = (text_field(form, name) for name in ("kind", "target", "client"))
    try:
        cleared = await run_in_threadpool(services_of(request).throttles.lift, principal.actor, kind, target, client)
    except ServiceError as error:
        return _page(request, principal, status=status_for(error), message=error.message,
                     fields={p.field: p.message for p in error.fields})
    what = " for ".join(part for part in (kind_title(kind), " from ".join(p for p in (target, client) if p)) if part)
    done = f"lifted: {what} ({cleared} failure{'' if cleared == 1 else 's'} no longer count)" if cleared else \
        f"nothing to lift: {what} had no failures counting"
    return see_other(f"{PREFIX}/throttles?done={quote(done)}")
