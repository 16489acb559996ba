"""The election's mode for the results director and admins: rehearse in test mode, reset the rehearsal, go
live. Both changes need the election's name typed into the form (no click-through), carry the CSRF token
like every HQ form, and are audited (``election.go-live`` / ``election.reset-rehearsal`` in ``caucus log``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=f"{PREFIX}/election", include_in_schema=False)
Directors = Annotated[Principal, access("director", "admin")]


def _page(request: Request, principal: Principal, *, status: int = 200, message: str = "", done: str = "",
          fields: dict[str, str] | None = None) -> Response:
    summary = services_of(request).election.summary()
    return page(request, "election.html", principal, status=status, message=message, done=done,
                fields=fields or {}, summary=summary, epoch=summary.epoch)


@router.get("")
async def election_mode(request: Request, principal: Directors, done: str = "") -> Response:
    return await run_in_threadpool(_page, request, principal, done=done[:300])


async def _change(request: Request, principal: Principal, action: str) -> Response:
    form = await request.form()
    services = services_of(request)
    confirm = text_field(form, "confirm")

    def run() -> str:
        before = services.election.summary()
        if action == "go-live":
            epoch = services.election.go_live(principal.actor, confirm=confirm)
            head = "The election is LIVE"
        else:
            epoch = services.election.reset_rehearsal(principal.actor, confirm=confirm)
            head = "Rehearsal reset"
        return (f"{head}: {before.entries_counting} rehearsal entries set aside (kept in the ledger, never "
                f"counted); releases up to {epoch.releases_through} archived; the public site shows no results "
                f"until release {epoch.releases_through + 1}; cards keep working; continuous release is off")

    try:
        done = await run_in_threadpool(run)
    except ServiceError as error:
        status, message = status_for(error), error.message
        fields = {p.field: p.message for p in error.fields}
        return await run_in_threadpool(_page, request, principal, status=status, message=message, fields=fields)
    return see_other(f"{PREFIX}/election?done={quote(done)}")


@router.post("/go-live")
async def go_live(request: Request, principal: Directors) -> Response:
    return await _change(request, principal, "go-live")


@router.post("/reset-rehearsal")
async def reset_rehearsal(request: Request, principal: Directors) -> Response:
    return await _change(request, principal, "reset-rehearsal")
