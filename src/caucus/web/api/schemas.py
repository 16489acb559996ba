"""Request and response bodies of the JSON API (Pydantic; every request model forbids unknown fields).

Counts are strict whole numbers (no floats, strings or booleans) between 0 and :data:`MAX_COUNT`. Text is
refused if it holds control characters (NUL included) or unpaired surrogates, so that nothing a client sends
can fail later in the database or in a response.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from caucus.service import Correction, StageCorrection, StageReport

MAX_COUNT = 100_000  # people at one precinct caucus (the largest in 2020 had a few thousand)
MAX_DELEGATES = 1_000
MAX_GROUPS = 50
MAX_SEQ = 2**31 - 1
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"


def _plain_text(value: str, *, newlines: bool = False) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it has an unpaired surrogate)") from None
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (newlines and ch in "\n\t"):
            raise ValueError(f"must not contain control characters such as U+{ord(ch):04X}")
    return value


def _text_with_newlines(value: str) -> str:
    return _plain_text(value, newlines=True)


Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
DelegateCount = Annotated[int, Field(strict=True, ge=0, le=MAX_DELEGATES)]
GroupName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_plain_text)]
PrecinctCode = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_plain_text)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_text_with_newlines)]
Counts = Annotated[dict[GroupName, Count], Field(min_length=1, max_length=MAX_GROUPS)]
SupersedesSeq = Annotated[int, Field(strict=True, ge=1, le=MAX_SEQ)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ------------------------------------------------------------------------------------------


class SignInRequest(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"precinct": "Adair/01NW", "credential": "7KQM-3XZT-HP4W-9RNC-2VDA"}]})

    precinct: PrecinctCode = Field(description="The precinct code, e.g. `Adair/01NW`.")
    credential: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_plain_text)] = Field(
        description="The precinct's credential, `XXXX-XXXX-XXXX-XXXX-XXXX` (case, spaces and dashes ignored)."
    )
    purpose: Literal["report", "test"] = Field(
        "report", description="`test`: the chair is testing the credential before caucus night (recorded as "
                              "the audit event `session.test`, which HQ reads as readiness)."
    )


def _counts_payload(counts: dict[str, int] | None, in_person: dict[str, int] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if counts is not None:
        out["counts"] = dict(counts)
    if in_person is not None:
        out["in_person"] = dict(in_person)
    return out


class _StageRequest(_Strict):
    precinct: PrecinctCode | None = Field(None, description="If given, must be the session's precinct.")
    supersedes_seq: SupersedesSeq | None = Field(
        None, description="A correction: the seq of the entry it replaces (this channel's current one)."
    )
    reason: Reason | None = Field(None, description="Why: required with supersedes_seq, only then.")
    confirm: bool = Field(
        False, description="Record the numbers even though the checks flag them (they are what the worksheet "
        "says): the entry is kept with the codes of the findings confirmed, and the precinct is held for review."
    )

    def stage_payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_report(self) -> StageReport:
        return StageReport(
            stage=self.stage,  # type: ignore[attr-defined]
            payload={**self.stage_payload(), **({"confirmed": True} if self.confirm else {})},
            precinct=self.precinct,
            supersedes_seq=self.supersedes_seq,
            reason=self.reason,
            confirm=self.confirm,
        )


class AttendanceReport(_StageRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"stage": "attendance", "attendance": 214}, {"stage": "attendance", "in_person": 59}],
        "anyOf": [{"required": ["attendance"]}, {"required": ["in_person"]}]})

    stage: Literal["attendance"]
    attendance: Count | None = Field(None, description="N: eligible attendees at the start (IA-1.3); with early "
                                     "ballots (Nevada), in person plus valid early ballots (NV-3.1).")
    in_person: Count | None = Field(None, description="A precinct with early ballots (docs/early-ballots.md): "
                                    "attendees in the room; the server adds the valid early ballots to make N "
                                    "(and checks `attendance` against it if both are sent).")

    @model_validator(mode="after")
    def _one_number(self) -> AttendanceReport:
        if self.attendance is None and self.in_person is None:
            raise ValueError("send attendance (N), or in_person for a precinct with early ballots")
        return self

    def stage_payload(self) -> dict[str, Any]:
        return {k: v for k, v in (("attendance", self.attendance), ("in_person", self.in_person)) if v is not None}


class FirstAlignmentReport(_StageRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"stage": "first", "counts": {"Sanders": 50, "Warren": 48, "Buttigieg": 41, "Klobuchar": 30, "Biden": 25}}],
        "anyOf": [{"required": ["counts"]}, {"required": ["in_person"]}]})

    stage: Literal["first"]
    counts: Counts | None = Field(None, description="People in each preference group, by candidate name (with "
                                  "early ballots: in person plus early first choices, NV-3.2).")
    in_person: Counts | None = Field(None, description="A precinct with early ballots: the groups in the room; "
                                     "the server adds the early ballots' first choices (and checks `counts` "
                                     "against the sum if both are sent).")

    @model_validator(mode="after")
    def _one_count(self) -> FirstAlignmentReport:
        if self.counts is None and self.in_person is None:
            raise ValueError("send counts, or in_person for a precinct with early ballots")
        return self

    def stage_payload(self) -> dict[str, Any]:
        return _counts_payload(self.counts, self.in_person)


class ChanceOutcomeIn(_Strict):
    kind: Literal["lose", "gain", "drop"] = Field(
        description="lose: the tied groups give a delegate back; gain: spare delegates; drop: viability lost."
    )
    among: Annotated[list[GroupName], Field(min_length=2, max_length=MAX_GROUPS)]
    selected: Annotated[list[GroupName], Field(min_length=1, max_length=MAX_GROUPS)]


class FinalAlignmentReport(_StageRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"stage": "final", "counts": {"Sanders": 62, "Warren": 52, "Buttigieg": 50, "Klobuchar": 46},
         "chance": [{"kind": "lose", "among": ["Klobuchar", "Warren"], "selected": ["Warren"]}]}],
        "anyOf": [{"required": ["counts"]}, {"required": ["in_person"]}]})

    stage: Literal["final"]
    counts: Counts | None = Field(None, description="People in each preference group after realignment (with "
                                  "early ballots: in person plus the early ballots realigned there, NV-3.4).")
    in_person: Counts | None = Field(None, description="A precinct with early ballots: the groups in the room "
                                     "after realignment; the server adds each early ballot at its highest-ranked "
                                     "group viable at the first alignment.")
    chance: Annotated[list[ChanceOutcomeIn], Field(max_length=10)] = Field(
        default_factory=list, description="The games of chance held, in the order the ties arose."
    )

    @model_validator(mode="after")
    def _one_count(self) -> FinalAlignmentReport:
        if self.counts is None and self.in_person is None:
            raise ValueError("send counts, or in_person for a precinct with early ballots")
        return self

    def stage_payload(self) -> dict[str, Any]:
        return {**_counts_payload(self.counts, self.in_person), "chance": [c.model_dump() for c in self.chance]}


class DelegatesReport(_StageRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"stage": "delegates", "delegates": {"Sanders": 4, "Warren": 3, "Buttigieg": 3, "Klobuchar": 2}}]})

    stage: Literal["delegates"]
    delegates: Annotated[dict[GroupName, DelegateCount], Field(min_length=1, max_length=MAX_GROUPS)] = Field(
        description="County delegates awarded to each group, as on the worksheet."
    )

    def stage_payload(self) -> dict[str, Any]:
        return {"delegates": dict(self.delegates)}


StageRequest = Annotated[
    AttendanceReport | FirstAlignmentReport | FinalAlignmentReport | DelegatesReport,
    Field(discriminator="stage"),
]


# -- corrections of several stages at once --------------------------------------------------------------


class _StageCorrectionIn(_Strict):
    supersedes_seq: SupersedesSeq | None = Field(
        None, description="The entry this stage replaces, as the client last saw it (this channel's current "
        "entry of the stage). Optional; if given and no longer current, the correction is refused (409)."
    )

    def payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_stage(self) -> StageCorrection:
        return StageCorrection(self.stage, self.payload(), self.supersedes_seq)  # type: ignore[attr-defined]


class AttendanceCorrection(_StageCorrectionIn):
    stage: Literal["attendance"]
    attendance: Count

    def payload(self) -> dict[str, Any]:
        return {"attendance": self.attendance}


class FirstCorrection(_StageCorrectionIn):
    stage: Literal["first"]
    counts: Counts

    def payload(self) -> dict[str, Any]:
        return {"counts": dict(self.counts)}


class FinalCorrection(_StageCorrectionIn):
    stage: Literal["final"]
    counts: Counts
    chance: Annotated[list[ChanceOutcomeIn], Field(max_length=10)] = Field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "chance": [c.model_dump() for c in self.chance]}


class DelegatesCorrection(_StageCorrectionIn):
    stage: Literal["delegates"]
    delegates: Annotated[dict[GroupName, DelegateCount], Field(min_length=1, max_length=MAX_GROUPS)]

    def payload(self) -> dict[str, Any]:
        return {"delegates": dict(self.delegates)}


StageCorrectionIn = Annotated[
    AttendanceCorrection | FirstCorrection | FinalCorrection | DelegatesCorrection,
    Field(discriminator="stage"),
]


class CorrectionRequest(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reason": "worksheet recounted: Alvarez 52, Brooks 48",
        "stages": [
            {"stage": "final", "supersedes_seq": 12, "counts": {"Alvarez": 52, "Brooks": 48}, "chance": []},
            {"stage": "delegates", "supersedes_seq": 13, "delegates": {"Alvarez": 4, "Brooks": 3}},
        ]}]})

    precinct: PrecinctCode | None = Field(None, description="If given, must be the session's precinct.")
    reason: Reason = Field(description="Why: one reason for the whole correction (kept with every entry).")
    confirm: bool = Field(
        False, description="Record the numbers even though the checks flag them (they are what the worksheet "
        "says): kept with `confirmed: true`, the precinct held for review.")
    stages: Annotated[list[StageCorrectionIn], Field(min_length=1, max_length=4)] = Field(
        description="The stages replaced, each at most once, in any order: every other stage stays as it is, "
        "and the precinct's stages after the substitution are checked and recomputed as a whole.")

    def to_correction(self) -> Correction:
        return Correction(tuple(s.to_stage() for s in self.stages), self.reason, self.confirm,
                          self.precinct)


# -- responses -----------------------------------------------------------------------------------------


class SessionResponse(BaseModel):
    token: str = Field(description="Send it as `Authorization: Bearer <token>`; only its hash is stored.")
    precinct: str
    expires_at: datetime


class ReceiptOut(BaseModel):
    seq: int
    received_at: datetime
    content_hash: str
    idempotency_key: str
    stage: str
    channel: str
    supersedes_seq: int | None
    correction_id: str | None = Field(None, description="The correction this entry is part of, if any.")


class FindingOut(BaseModel):
    code: str
    severity: Literal["blocking", "warning"]
    rule: str
    message: str
    field: str | None


class ChanceEventOut(BaseModel):
    kind: str
    among: list[str]
    count: int
    description: str


class RecomputedOut(BaseModel):
    delegates_to_elect: int | None
    attendance: int | None
    threshold: int | None
    status: str | None = Field(description="complete, needs-chance, no-viable-group or no-delegates.")
    delegates: dict[str, int] | None
    sde: dict[str, str] | None = Field(description="State delegate equivalents, 4 decimals, as strings.")
    pending_chance: ChanceEventOut | None
    notes: list[str]


class StageEntryOut(BaseModel):
    seq: int
    received_at: datetime
    channel: str
    content_hash: str
    numbers: dict[str, Any]


class HistoryEntryOut(StageEntryOut):
    stage: str
    idempotency_key: str
    supersedes_seq: int | None
    reason: str | None
    superseded_by: int | None


class PrecinctOut(BaseModel):
    code: str
    county: str
    name: str
    kind: str
    delegates_to_elect: int | None
    state: Literal["not-reported", "reported", "accepted", "held-for-review", "conflicting"]
    reasons: list[str]
    stages: dict[str, list[StageEntryOut]] = Field(description="Each stage's current entries, one per channel.")
    history: list[HistoryEntryOut]
    findings: list[FindingOut]
    recomputed: RecomputedOut


class SubmitResponse(BaseModel):
    receipt: ReceiptOut
    precinct: PrecinctOut
    findings: list[FindingOut] = Field(description="What the checks flag (warnings: held for review).")
    recomputed: RecomputedOut
    replayed: bool = Field(description="True when this is the answer to a retry of an already recorded report.")


class HealthResponse(BaseModel):
    ok: bool
    database: Literal["reachable"]
    election: str


class CorrectionResponse(BaseModel):
    correction_id: str = Field(description="Shared by every entry of the correction (the same on a retry).")
    receipts: list[ReceiptOut] = Field(description="One per entry recorded, in stage order.")
    status: PrecinctOut = Field(description="The precinct as it stands after the correction.")
    findings: list[FindingOut]
    recomputed: RecomputedOut
    replayed: bool = Field(description="True when this answers a retry of a correction already recorded.")
