"""The chair roster at HQ, for admins and the results director: every registered chair, one precinct's chair
added, changed or removed, a roster file uploaded (the same rules as ``caucus chairs import``). Every change
is audited (``roster.set``, ``roster.remove``, ``roster.import``). Never public, never in a release."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError
from caucus.service.hq_errors import StaffInputInvalid
from caucus.service.roster import MAX_BYTES
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=f"{PREFIX}/chairs", include_in_schema=False)
RosterKeepers = Annotated[Principal, access("admin", "director")]
IMPORT_PATH = f"{PREFIX}/chairs/import"
#: the upload's body may exceed the JSON body limit (a roster file plus the multipart form around it)
LARGE_BODIES = {IMPORT_PATH: MAX_BYTES + 64 * 1024}
#: the page lists the first chairs in plan order, at most this many (and says how many there are); any other is
#: found with the form's precinct code (``?precinct=CODE``)
SHOWN = 500


def _page(request: Request, principal: Principal, *, status: int = 200, message: str = "", done: str = "",
          fields: dict[str, str] | None = None, values: dict[str, str] | None = None,
          problems: list[str] | None = None) -> Response:
    services = services_of(request)
    roster, count = services.roster.first(SHOWN)
    return page(request, "chairs.html", principal, status=status, message=message, done=done, fields=fields or {},
                values=values or {}, problems=problems or [], roster=roster, count=count,
                missing=len(services.context.precincts) - count, total=len(services.context.precincts),
                example=next(iter(services.context.precincts), ""))


@router.get("")
def chairs(request: Request, principal: RosterKeepers, done: str = "",
           precinct: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The roster; ``?precinct=CODE`` fills the form with that precinct's chair."""
    services = services_of(request)
    values: dict[str, str] = {}
    message = ""
    if precinct:
        try:
            info = services.context.precinct(precinct)
        except ServiceError as error:
            message = error.message
        else:
            chair = services.roster.chair(info.code)
            values = {"precinct": info.code, "name": chair.name if chair else "", "phone": chair.phone if chair else "",
                      "email": chair.email if chair else ""}
    return _page(request, principal, done=done[:300], values=values, message=message,
                 status=422 if message else 200)


@router.post("")
async def save(request: Request, principal: RosterKeepers) -> Response:
    form = await request.form()
    values = {name: text_field(form, name) for name in ("precinct", "name", "phone", "email")}
    services = services_of(request)
    try:
        if not values["precinct"]:
            raise StaffInputInvalid("precinct", "the precinct code is required")
        chair = await run_in_threadpool(services.roster.save, values["precinct"], values["name"], values["phone"],
                                        values["email"], actor=principal.actor)
    except ServiceError as error:
        return _page(request, principal, status=status_for(error), message=error.message, values=values,
                     fields={p.field: p.message for p in error.fields})
    return see_other(f"{PREFIX}/chairs?done={quote(f'saved the chair of {chair.code}: {chair.name}')}")


@router.post("/remove")
async def remove(request: Request, principal: RosterKeepers) -> Response:
    form = await request.form()
    code = text_field(form, "precinct")
    services = services_of(request)
    try:
        if not code:
            raise StaffInputInvalid("precinct", "the precinct code is required")
        info = services.context.precinct(code)
        removed = await run_in_threadpool(services.roster.remove, info.code, actor=principal.actor)
    except ServiceError as error:
        return _page(request, principal, status=status_for(error), message=error.message,
                     fields={p.field: p.message for p in error.fields})
    done = f"took the chair of {info.code} off the roster" if removed else f"{info.code} had no chair on the roster"
    return see_other(f"{PREFIX}/chairs?done={quote(done)}")


@router.post("/import")
async def upload(request: Request, principal: RosterKeepers) -> Response:
    form = await request.form()
    services = services_of(request)
    file = form.get("roster")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise StaffInputInvalid("roster", "choose the roster file (CSV) to upload")
        data = await file.read()
        source = file.filename[:100]
        summary = await run_in_threadpool(lambda: services.roster.import_file(
            data, actor=principal.actor, source=source, replace=text_field(form, "replace") == "yes"))
    except ServiceError as error:
        head, _, rest = error.message.partition("\n")
        return _page(request, principal, status=status_for(error), message=head,
                     problems=rest.splitlines(), fields={"roster": head} if not rest else {})
    finally:
        await form.close()
    return see_other(f"{PREFIX}/chairs?done={quote(f'imported {source}: {summary.describe()}')}")
