"""Recanvass and recount requests: create, work through the precincts, see the before/after."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError
from caucus.service.chance_entry import ChanceStep
from caucus.service.recanvass import parse_request_id
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.chance_form import ChanceForm, chance_message, field_messages
from caucus.web.hq.correction_form import (
    changed_stages,
    correction_chance,
    current_values,
    form_values,
    recompute,
    settle_chance,
)
from caucus.web.hq.pages import PREFIX, page, see_other, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=f"{PREFIX}/recanvass", include_in_schema=False)
Readers = Annotated[Principal, access("reviewer", "director", "observer")]
Reviewer = Annotated[Principal, access("reviewer")]


def _list(request: Request, principal: Principal, *, status: int = 200, message: str = "",
          fields: dict[str, str] | None = None) -> Response:
    services = services_of(request)
    requests = [services.recanvass.progress(r.id) for r in services.recanvass.list()]
    return page(request, "recanvass_list.html", principal, status=status, message=message, fields=fields or {},
                requests=requests, can_act=principal.role == "reviewer")


@router.get("")
def list_requests(request: Request, principal: Readers) -> Response:
    return _list(request, principal)


@router.post("")
async def create(request: Request, principal: Reviewer) -> Response:
    form = await request.form()
    try:
        created = await run_in_threadpool(
            lambda: services_of(request).recanvass.create(
                principal.actor, campaign=text_field(form, "campaign"), kind=text_field(form, "kind"),
                precincts=text_field(form, "precincts").splitlines(), reason=text_field(form, "reason")))
    except ServiceError as error:
        return _list(request, principal, status=status_for(error), message=error.message,
                     fields={p.field: p.message for p in error.fields})
    return see_other(f"{PREFIX}/recanvass/{created.label}")


def _detail(request: Request, principal: Principal, label: str, *, status: int = 200, message: str = "",
            fields: dict[str, str] | None = None, done: str = "", values: dict[str, dict[str, str]] | None = None,
            chances: dict[str, ChanceForm] | None = None) -> Response:
    progress = services_of(request).recanvass.progress(parse_request_id(label))
    forms = {d.code: current_values(d.after) for d in progress.precincts}
    forms.update(values or {})
    return page(request, "recanvass.html", principal, status=status, message=message, fields=fields or {},
                done=done, r=progress, can_act=principal.role == "reviewer", forms=forms, chances=chances or {})


@router.get("/{label}")
def detail(request: Request, principal: Readers, label: str) -> Response:
    return _detail(request, principal, label)


@router.post("/{label}/correct")
async def correct(request: Request, principal: Reviewer, label: str) -> Response:
    """The stages whose numbers changed are corrected together (one correction carrying the request's id);
    ``action=recompute`` only fills in the server's delegates for the numbers typed."""
    form = await request.form()
    services = services_of(request)
    code = text_field(form, "precinct", required=True)

    def run() -> tuple[dict[str, str], str] | ChanceStep | None:
        request_id = parse_request_id(label)
        status = services.review.status(code)
        if text_field(form, "action") == "recompute":
            return recompute(form, status, services.context)
        corrected, seen = changed_stages(form, status, services.context)
        step = settle_chance(form, status, services.context, corrected)
        if step is not None:
            return step  # the re-checked numbers are tied: ask who was chosen
        services.recanvass.correct(principal.actor, request_id, code, corrected, note=text_field(form, "note"),
                                   key=text_field(form, "key", required=True), supersedes=seen)
        return None
    try:
        preview = await run_in_threadpool(run)
    except ServiceError as error:
        return _detail(request, principal, label, status=status_for(error), message=error.message,
                       fields={p.field: p.message for p in error.fields},
                       values={code: form_values(form, services.context.candidates)})
    if isinstance(preview, ChanceStep):
        return _detail(request, principal, label, status=422, message=f"{code}: {chance_message(preview)}",
                       fields=field_messages(preview.problems),
                       values={code: form_values(form, services.context.candidates)},
                       chances={code: correction_chance(form, services, preview)})
    if preview is not None:
        values, told = preview
        return _detail(request, principal, label, done=f"{code}: {told}", values={code: values})
    return see_other(f"{PREFIX}/recanvass/{label}")


@router.post("/{label}/unchanged")
async def unchanged(request: Request, principal: Reviewer, label: str) -> Response:
    form = await request.form()
    services = services_of(request)
    try:
        await run_in_threadpool(services.recanvass.unchanged, principal.actor, parse_request_id(label),
                                text_field(form, "precinct"), text_field(form, "note"))
    except ServiceError as error:
        return _detail(request, principal, label, status=status_for(error), message=error.message,
                       fields={p.field: p.message for p in error.fields})
    return see_other(f"{PREFIX}/recanvass/{label}")
