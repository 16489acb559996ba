"""Release control for the results director: what a release would contain now, release (continuously or
in batches), the zero-count rehearsal release, certification, the list of releases. Test vs live mode is
shown on every page (the banner) and on this one in large type."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError
from caucus.service.hq_errors import StaffInputInvalid
from caucus.service.release_certify import OUTSTANDING_KINDS
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of


def _count(form: FormData, kind: str) -> int | None:
    """The director's typed count of outstanding precincts of ``kind`` (blank: none typed)."""
    text = text_field(form, f"ack_{kind}")
    if not text:
        return None
    if not text.isdigit():
        raise StaffInputInvalid(f"ack_{kind}", f"the number of {kind} precincts must be a whole number; got "
                                               f"{text[:20]!r}")
    return int(text)


router = APIRouter(prefix=f"{PREFIX}/releases", include_in_schema=False)
Readers = Annotated[Principal, access("director", "observer")]
Director = Annotated[Principal, access("director")]


def _page(request: Request, principal: Principal, *, status: int = 200, message: str = "", done: str = "",
          fields: dict[str, str] | None = None) -> Response:
    releases = services_of(request).releases
    return page(request, "releases.html", principal, status=status, message=message, done=done,
                fields=fields or {}, preview=releases.preview(), releases=releases.list(),
                can_act=principal.role == "director", kinds=OUTSTANDING_KINDS)


@router.get("")
def control(request: Request, principal: Readers, done: str = "") -> Response:
    return _page(request, principal, done=done[:200])


async def _act(request: Request, principal: Principal, action: str) -> Response:
    form = await request.form()
    services = services_of(request)
    actor = principal.actor

    def run() -> str:
        if action == "release":
            made = services.releases.release(actor=actor, zero=text_field(form, "zero") == "yes",
                                             note=text_field(form, "note"), even_if_unchanged=False)
            kind = ("zero-count rehearsal release" if made.zero else
                    "certified, corrected release" if made.correction_of else "release")
            return (f"{kind} {made.number} published ({made.precincts_reporting} precincts, "
                    f"hash {made.content_hash[:12]})")
        if action == "certify":
            counts = {kind: _count(form, kind) for kind in OUTSTANDING_KINDS}
            made = services.releases.certify(actor=actor, act=text_field(form, "act"),
                                             counts={k: v for k, v in counts.items() if v is not None})
            corrected = f", correcting release {made.correction_of}" if made.correction_of else ""
            return f"release {made.number} published as certified{corrected}"
        on = text_field(form, "on") == "yes"
        services.releases.set_continuous(on, actor=actor)
        return "continuous release is " + ("on" if on else "off")

    try:
        done = await run_in_threadpool(run)
    except ServiceError as error:
        return _page(request, principal, status=status_for(error), message=error.message,
                     fields={p.field: p.message for p in error.fields})
    await run_in_threadpool(services.staff.record, actor, f"release.{action}", {"result": done})
    return see_other(f"{PREFIX}/releases?done={quote(done)}")


@router.post("/release")
async def release(request: Request, principal: Director) -> Response:
    return await _act(request, principal, "release")


@router.post("/certify")
async def certify(request: Request, principal: Director) -> Response:
    return await _act(request, principal, "certify")


@router.post("/continuous")
async def continuous(request: Request, principal: Director) -> Response:
    return await _act(request, principal, "continuous")
