"""The hotline console: verify the caller, key in the stages heard on the call, read them back. A final
alignment that needs a game of chance shows who is tied for what and asks for the outcome
(:mod:`caucus.web.hq.chance_form` names the fields)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import ServiceError, StageReport
from caucus.web.access import Principal, access
from caucus.web.errors import retry_headers, status_for
from caucus.web.hq.chance_form import ChanceForm, chance_form, chance_message, field_messages, keyed_games
from caucus.web.hq.pages import PREFIX, int_field, page, see_other, stage_field, stage_payload, text_field
from caucus.web.services import services_of

router = APIRouter(prefix=f"{PREFIX}/hotline", include_in_schema=False)
Operator = Annotated[Principal, access("operator")]
CallLogReaders = Annotated[Principal, access("operator", "reviewer", "director", "observer")]


def _console(request: Request, principal: Principal, *, status: int = 200, message: str = "",
             fields: dict[str, str] | None = None, precinct: str = "") -> Response:
    services = services_of(request)
    mine = [c for c in services.hotline.calls() if c.operator == principal.username][-20:]
    return page(request, "hotline.html", principal, status=status, message=message, fields=fields or {},
                calls=list(reversed(mine)), precinct=precinct)


@router.get("")
def console(request: Request, principal: Operator) -> Response:
    return _console(request, principal)


@router.post("/calls")
async def verify(request: Request, principal: Operator) -> Response:
    form = await request.form()
    precinct = text_field(form, "precinct")
    try:
        call = await run_in_threadpool(services_of(request).hotline.verify_caller, principal.username, precinct,
                                       text_field(form, "hotline_code"), text_field(form, "note"))
    except ServiceError as error:
        return retry_headers(_console(request, principal, status=status_for(error), message=error.message,
                                      precinct=precinct, fields={p.field: p.message for p in error.fields}), error)
    return see_other(f"{PREFIX}/hotline/calls/{call.id}")


def _call_page(request: Request, principal: Principal, call_id: int, *, status: int = 200, message: str = "",
               fields: dict[str, str] | None = None, done: str = "", chance: ChanceForm | None = None) -> Response:
    services = services_of(request)
    call = services.hotline.open_call(principal.username, call_id)
    mine = services.hotline.own_entries(principal.username, call.precinct)
    status_now = services.review.status(call.precinct)
    next_stage = next((s for s in ("attendance", "first", "final", "delegates") if s not in mine), None)
    return page(request, "hotline_call.html", principal, status=status, message=message, fields=fields or {},
                call=call, mine=mine, precinct=status_now, next_stage=next_stage, done=done, chance=chance,
                log=services.hotline.calls(call.precinct), chair=services.roster.chair(call.precinct),
                early=services.early.summary(call.precinct))


@router.get("/calls/{call_id}")
def call_page(request: Request, principal: Operator, call_id: int, recorded: int | None = None) -> Response:
    done = f"recorded as entry #{recorded}; read it back to the caller" if recorded is not None else ""
    return _call_page(request, principal, call_id, done=done)


@router.post("/calls/{call_id}/stages")
async def enter_stage(request: Request, principal: Operator, call_id: int) -> Response:
    form = await request.form()
    services = services_of(request)
    try:
        stage = stage_field(form)
        payload = stage_payload(form, stage, services.context.candidates)
        supersedes = int_field(form, "supersedes_seq") if text_field(form, "supersedes_seq") else None
        if stage == "final":
            # who is tied for what, game by game (the same engine as the checks): ask for the outcome, or
            # record it with the numbers in the app's payload shape
            step = await run_in_threadpool(services.hotline.chance_step, principal.username, call_id,
                                           payload["counts"], keyed_games(form))
            if not step.blocked and (step.problems or step.pending is not None):
                form_view = chance_form(f"{PREFIX}/hotline/calls/{call_id}/stages", form, services.context.candidates,
                                        step, method=services.context.ruleset.chance_method,
                                        hidden_names=("stage", "key", "supersedes_seq", "reason"))
                return _call_page(request, principal, call_id, status=422, message=chance_message(step),
                                  fields=field_messages(step.problems), chance=form_view)
            payload = {**payload, "chance": step.items}
        report = StageReport(stage, payload, supersedes_seq=supersedes,
                             reason=text_field(form, "reason") or None)
        result = await run_in_threadpool(services.hotline.enter, principal.username, call_id, report,
                                         text_field(form, "key", required=True))
    except ServiceError as error:
        return _call_page(request, principal, call_id, status=status_for(error), message=error.message,
                          fields={p.field: p.message for p in error.fields})
    return see_other(f"{PREFIX}/hotline/calls/{call_id}?recorded={result.receipt.seq}")


calls_router = APIRouter(prefix=PREFIX, include_in_schema=False)


@calls_router.get("/calls/{code:path}")
def call_log(request: Request, principal: CallLogReaders, code: str) -> Response:
    services = services_of(request)
    info = services.context.precinct(code)
    return page(request, "call_log.html", principal, info=info, log=services.hotline.calls(info.code))
