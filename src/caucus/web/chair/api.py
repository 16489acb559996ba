"""Chair-only API additions under ``/api/v1/chair`` (every route ``access("chair")``, own precinct only).

- ``GET /api/v1/chair/setup``: what the app needs to guide the night offline: the precinct's plan facts
  (D or satellite), the groups to count, the rule set, the county's SDE ratio as an exact fraction and
  (Nevada) the precinct's early ranked ballots.
- ``POST /api/v1/chair/photos``: a photo of the signed worksheet as the raw body, idempotent by key;
  ``GET /api/v1/chair/photos``: the photos HQ holds for the precinct.
- ``GET /api/v1/chair/messages``: messages from HQ to the precinct.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from caucus.service.early_ballots import ballots_of
from caucus.service.media import MAX_PHOTO_BYTES, PHOTO_TYPES, PhotoRecord
from caucus.web.access import Principal, access
from caucus.web.api.routes import IdempotencyKey
from caucus.web.errors import UnsupportedMediaType, error_responses
from caucus.web.services import services_of

PREFIX = "/api/v1/chair"
PHOTOS_PATH = f"{PREFIX}/photos"
#: paths whose bodies may exceed the API's JSON body limit (for the body-limit middleware)
LARGE_BODIES = {PHOTOS_PATH: MAX_PHOTO_BYTES}

Chair = Annotated[Principal, access("chair")]
router = APIRouter(prefix=PREFIX, tags=["chair"])


class PrecinctFacts(BaseModel):
    code: str
    county: str
    name: str
    kind: str = Field(description="precinct, or satellite (D follows attendance, IA-5.2)")
    delegates_to_elect: int | None = Field(description="D; null for a satellite site")
    sde_ratio: tuple[int, int] | None = Field(
        description="The county's SDEs per county delegate S/C as [numerator, denominator]; null for a "
                    "satellite site")
    expected_attendance: int | None = Field(
        None, description="A satellite site's expected attendance from the plan: a reported attendance above it "
                          "is refused (finding attendance-above-expected) unless confirmed, and then held for "
                          "review; null for a precinct")


class EarlyBallotOut(BaseModel):
    ballot_id: str
    ranks: list[str] = Field(description="the ranked names as imported, in rank order")
    void: bool = Field(description="NV-2: fewer than 3 different preferences; counted, never in a group")


class SetupOut(BaseModel):
    election: str
    mode: str = Field(description="test or live")
    ruleset: str = Field(description="the rule set the app's math mirrors, e.g. iowa-2020")
    candidates: list[str] = Field(description="preference groups in display order (Uncommitted, Other too)")
    precinct: PrecinctFacts
    early_ballots: list[EarlyBallotOut] = Field(
        default_factory=list, description="The precinct's early ranked ballots (rule sets with early ballots, "
        "docs/early-ballots.md): the app adds them to N and the first alignment, and realigns them; empty "
        "otherwise")


@router.get("/setup", response_model=SetupOut, responses=error_responses(401, 403))
def setup(request: Request, principal: Chair) -> SetupOut:
    """The facts the chair app needs for the session's own precinct (cached on the phone for offline use)."""
    assert principal.chair is not None
    context = services_of(request).context
    info = context.precinct(principal.chair.precinct)
    ratio = None if info.sde_ratio is None else (info.sde_ratio.numerator, info.sde_ratio.denominator)
    early = ballots_of(services_of(request).engine, context, info.code)
    return SetupOut(
        election=context.slug, mode=services_of(request).mode(), ruleset=context.ruleset.name,
        candidates=list(context.candidates),
        precinct=PrecinctFacts(code=info.code, county=info.county, name=info.name, kind=info.kind,
                               delegates_to_elect=info.delegates, sde_ratio=ratio,
                               expected_attendance=info.expected_attendance),
        early_ballots=[EarlyBallotOut(ballot_id=b.ballot_id, ranks=list(b.ranks), void=b.void) for b in early],
    )


class PhotoOut(BaseModel):
    id: int
    precinct: str
    sha256: str
    content_type: str
    size: int
    width: int
    height: int
    channel: str
    received_at: datetime


class MessageOut(BaseModel):
    id: int
    kind: str = Field(description="note, resend-photo or call-hq")
    text: str
    sent_at: datetime


def _photo_out(photo: PhotoRecord) -> PhotoOut:
    return PhotoOut(id=photo.id, precinct=photo.precinct, sha256=photo.sha256, content_type=photo.content_type,
                    size=photo.size, width=photo.width, height=photo.height, channel=photo.channel,
                    received_at=photo.received_at)


@router.post(
    "/photos", status_code=201, response_model=PhotoOut, responses=error_responses(401, 403, 409, 413, 415, 422),
    openapi_extra={"requestBody": {"required": True, "content": {
        media: {"schema": {"type": "string", "format": "binary"}} for media in PHOTO_TYPES}}},
)
async def upload_photo(request: Request, principal: Chair, idempotency_key: IdempotencyKey) -> PhotoOut:
    """Upload a photo of the signed worksheet as the raw body (``Content-Type: image/jpeg``, ``image/png``
    or ``image/webp``, at most 10 MB). 201 with the stored photo; a retry with the same key and bytes
    answers with the photo already stored."""
    assert principal.chair is not None
    declared = request.headers.get("content-type") or ""
    if declared.split(";", 1)[0].strip().lower() not in PHOTO_TYPES:
        raise UnsupportedMediaType(f"send the photo as the raw body with Content-Type image/jpeg, image/png or "
                                   f"image/webp (got {declared!r})" if declared else
                                   "send the photo as the raw body with Content-Type image/jpeg, image/png or "
                                   "image/webp (got no Content-Type)")
    data = await request.body()
    chair = principal.chair
    photo = await run_in_threadpool(
        services_of(request).photos.store, chair.precinct, data=data, content_type=declared, channel="app",
        actor=chair.actor, idempotency_key=idempotency_key)
    return _photo_out(photo)


@router.get("/photos", response_model=list[PhotoOut], responses=error_responses(401, 403))
def list_photos(request: Request, principal: Chair) -> list[PhotoOut]:
    """The worksheet photos HQ holds for the session's precinct (from every channel), oldest first."""
    assert principal.chair is not None
    return [_photo_out(p) for p in services_of(request).photos.list(principal.chair.precinct)]


@router.get("/messages", response_model=list[MessageOut], responses=error_responses(401, 403))
def messages(request: Request, principal: Chair) -> list[MessageOut]:
    """Messages from HQ to the session's precinct (e.g. "photo unreadable, please resend"), oldest first."""
    assert principal.chair is not None
    return [MessageOut(id=m.id, kind=m.kind, text=m.text, sent_at=m.sent_at)
            for m in services_of(request).messages.for_precinct(principal.chair.precinct)]
