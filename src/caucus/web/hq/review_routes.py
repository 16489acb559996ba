"""The review queue and a precinct's review page with the reviewer's actions (all through the ledger)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from caucus.service import STAGE_ORDER, STAGE_TITLES, ServiceError, StageReport
from caucus.service.chance_entry import ChanceStep
from caucus.service.hq_errors import StaffInputInvalid
from caucus.service.media import MAX_PHOTO_BYTES
from caucus.web.access import Principal, access
from caucus.web.errors import status_for
from caucus.web.hq.chance_form import ChanceForm, chance_form, chance_message, field_messages, keyed_games
from caucus.web.hq.correction_form import (
    changed_stages,
    correction_chance,
    current_values,
    form_values,
    recompute,
    settle_chance,
)
from caucus.web.hq.pages import PREFIX, int_field, page, see_other, stage_field, stage_payload, text_field
from caucus.web.services import Services, services_of

router = APIRouter(prefix=f"{PREFIX}/review", include_in_schema=False)
PHOTO_UPLOAD_PATH = f"{PREFIX}/review/photo"
#: the photo upload's body may exceed the JSON body limit (a photo plus the multipart form around it)
LARGE_BODIES = {PHOTO_UPLOAD_PATH: MAX_PHOTO_BYTES + 64 * 1024}
Readers = Annotated[Principal, access("reviewer", "director", "observer")]
Reviewer = Annotated[Principal, access("reviewer")]
#: the queue page lists the most urgent precincts, at most this many (and says how many there are)
QUEUE_SHOWN = 1000


def precinct_url(code: str) -> str:
    return f"{PREFIX}/review/p/{quote(code, safe='/')}"


@router.get("")
def queue(request: Request, principal: Readers) -> Response:
    items, length = services_of(request).review.queue_page(QUEUE_SHOWN)
    return page(request, "review_queue.html", principal, items=items, length=length, precinct_url=precinct_url)


def review_page(request: Request, principal: Principal, code: str, *, status: int = 200, message: str = "",
                fields: dict[str, str] | None = None, done: str = "", chance: ChanceForm | None = None,
                values: dict[str, str] | None = None, correction_chance: ChanceForm | None = None) -> Response:
    services = services_of(request)
    current = services.review.status(services.context.precinct(code).code)
    return page(request, "review_precinct.html", principal, status=status, message=message, fields=fields or {},
                done=done, p=current, values=values if values is not None else current_values(current),
                views=services.review.side_by_side(current),
                decisions=services.review.decisions(current.info.code), photos=services.photos.list(current.info.code),
                messages=services.messages.for_precinct(current.info.code),
                log=services.hotline.calls(current.info.code), can_act=principal.role == "reviewer", chance=chance,
                correction_chance=correction_chance, early=services.early.summary(current.info.code))


@router.get("/p/{code:path}")
def precinct(request: Request, principal: Readers, code: str, done: str = "") -> Response:
    return review_page(request, principal, code, done=done[:200])


async def _act(request: Request, principal: Principal, action: Callable[[Services, FormData, str], str]) -> Response:
    form = await request.form()
    code = text_field(form, "precinct", required=True)
    services = services_of(request)
    code = services.context.precinct(code).code  # as typed (any case, extra spaces): the plan's code
    try:
        done = await run_in_threadpool(action, services, form, code)
    except ServiceError as error:
        return review_page(request, principal, code, status=status_for(error), message=error.message,
                           fields={p.field: p.message for p in error.fields})
    return see_other(f"{precinct_url(code)}?done={quote(done)}")


@router.post("/accept-version")
async def accept_version(request: Request, principal: Reviewer) -> Response:
    def action(services: Services, form: FormData, code: str) -> str:
        seq = int_field(form, "seq", "the entry")
        services.review.accept_version(principal.actor, code, seq, text_field(form, "note"),
                                       text_field(form, "key", required=True))
        return f"entry #{seq} accepted; the other channels were corrected to match it"
    return await _act(request, principal, action)


@router.post("/accept")
async def accept(request: Request, principal: Reviewer) -> Response:
    def action(services: Services, form: FormData, code: str) -> str:
        services.review.accept_precinct(principal.actor, code, int_field(form, "last_seq"), text_field(form, "note"))
        return "accepted as it stands"
    return await _act(request, principal, action)


@router.post("/correct")
async def correct(request: Request, principal: Reviewer) -> Response:
    """The correction form: the stages whose numbers changed are corrected together (one correction);
    ``action=recompute`` only fills in the server's delegates for the numbers typed."""
    form = await request.form()
    code = text_field(form, "precinct", required=True)
    services = services_of(request)
    services.context.precinct(code)
    if text_field(form, "action") == "recompute":
        try:
            values, told = await run_in_threadpool(recompute, form, services.review.status(code), services.context)
        except ServiceError as error:
            return review_page(request, principal, code, status=status_for(error), message=error.message,
                               fields={p.field: p.message for p in error.fields},
                               values=form_values(form, services.context.candidates))
        return review_page(request, principal, code, done=told, values=values)

    def action(services: Services, form: FormData, code: str) -> str | ChanceStep:
        status = services.review.status(code)
        corrected, seen = changed_stages(form, status, services.context)
        step = settle_chance(form, status, services.context, corrected)
        if step is not None:
            return step  # the corrected numbers are tied: ask who was chosen
        services.review.correct(principal.actor, code, corrected, reason=text_field(form, "reason"),
                                key=text_field(form, "key", required=True), supersedes=seen)
        return "corrected together: " + ", ".join(STAGE_TITLES[s] for s in STAGE_ORDER if s in corrected)
    try:
        done = await run_in_threadpool(action, services, form, code)
    except ServiceError as error:
        return review_page(request, principal, code, status=status_for(error), message=error.message,
                           fields={p.field: p.message for p in error.fields},
                           values=form_values(form, services.context.candidates))
    if isinstance(done, ChanceStep):
        return review_page(request, principal, code, status=422, message=chance_message(done),
                           fields=field_messages(done.problems), values=form_values(form, services.context.candidates),
                           correction_chance=correction_chance(form, services, done))
    return see_other(f"{precinct_url(code)}?done={quote(done)}")


@router.post("/transcribe")
async def transcribe(request: Request, principal: Reviewer) -> Response:
    form = await request.form()
    services = services_of(request)
    code = text_field(form, "precinct", required=True)
    services.context.precinct(code)
    chance_items: list[dict[str, object]] = []
    if text_field(form, "stage") == "final":
        # a tied final alignment on the worksheet: show who is tied for what and take the recorded outcome
        try:
            counts = stage_payload(form, "final", services.context.candidates)["counts"]
            step = await run_in_threadpool(services.review.paper_chance_step, code, counts, keyed_games(form))
        except ServiceError as error:
            return review_page(request, principal, code, status=status_for(error), message=error.message,
                               fields={p.field: p.message for p in error.fields})
        if not step.blocked and (step.problems or step.pending is not None):
            view = chance_form(f"{PREFIX}/review/transcribe", form, services.context.candidates, step,
                               method=services.context.ruleset.chance_method,
                               hidden_names=("precinct", "stage", "key", "photo_id"))
            return review_page(request, principal, code, status=422, message=chance_message(step),
                               fields=field_messages(step.problems), chance=view)
        chance_items = step.items

    def action(services: Services, form: FormData, code: str) -> str:
        stage = stage_field(form)
        payload = stage_payload(form, stage, services.context.candidates)
        if stage == "final":
            payload = {**payload, "chance": chance_items}
        photo = int_field(form, "photo_id") if text_field(form, "photo_id") else None
        result = services.review.transcribe(principal.actor, code, StageReport(stage, payload),
                                            text_field(form, "key", required=True), photo_id=photo)
        return f"transcribed as paper entry #{result.receipt.seq}"
    return await _act(request, principal, action)


@router.post("/message")
async def message(request: Request, principal: Reviewer) -> Response:
    def action(services: Services, form: FormData, code: str) -> str:
        kind = text_field(form, "kind") or "note"
        services.review.message_chair(principal.actor, code, text_field(form, "text"), kind)
        return "message sent to the chair"
    return await _act(request, principal, action)


@router.post("/photo")  # PHOTO_UPLOAD_PATH
async def upload_photo(request: Request, principal: Reviewer) -> Response:
    """A worksheet photo uploaded at HQ (channel paper)."""
    form = await request.form()
    upload = form.get("photo")
    try:
        data = await upload.read() if isinstance(upload, UploadFile) else b""
        content_type = (upload.content_type or "") if isinstance(upload, UploadFile) else ""
    finally:
        await form.close()

    def action(services: Services, form: FormData, code: str) -> str:
        if not data:
            raise StaffInputInvalid("photo", "choose a photo of the worksheet to upload")
        stored = services.photos.store(code, data=data, content_type=content_type, channel="paper",
                                       actor=principal.actor, idempotency_key=text_field(form, "key", required=True))
        return f"photo #{stored.id} stored"
    return await _act(request, principal, action)


photo_router = APIRouter(prefix=PREFIX, include_in_schema=False)


@photo_router.get("/photos/{photo_id}")
def photo(request: Request, principal: Readers, photo_id: int) -> Response:
    record, data = services_of(request).photos.get(photo_id)
    return Response(data, media_type=record.content_type,
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})
