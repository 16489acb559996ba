"""Corrections of several stages at once: one reason, checked and recomputed as the corrected whole,
recorded atomically (every entry or none, sharing one correction id).

A correction names the stages it replaces (any set: final alignment and delegates, first and final, ...).
Each named stage supersedes the current entry of that stage: of the sender's channel (a chair: ``app``), or
of every channel (``channel=None``: HQ's review queue and recanvass pages). The precinct's stages after the
substitution are checked as a whole (:func:`caucus.service.evaluation.evaluate`); a blocking finding refuses
the correction (unless the sender confirms the numbers, as for a single stage: then it is recorded and held
for review). A refusal is an audit event; nothing enters the ledger.

Idempotency: the whole correction is one Idempotency-Key. The correction id and every entry's key derive
from it (:func:`correction_id_for`, ``<key>/<stage>`` or ``<key>/<stage>/<seq>``), so a retry finds the
original entries by their correction id and gets the original receipts (``replayed``), and the same key with
different content is an IdempotencyConflict.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from caucus.checks import Finding
from caucus.ledger import (
    Channel,
    IdempotencyConflict,
    LedgerEntry,
    LedgerError,
    PrecinctState,
    Receipt,
    Stage,
    Submission,
    Writer,
    canonical_json,
    precinct_state,
)
from caucus.ledger import audit as ledger_audit
from caucus.ledger.db import write_transaction
from caucus.ledger.model import MAX_KEY_LENGTH
from caucus.service.context import ElectionContext
from caucus.service.errors import (
    CorrectionInvalid,
    FieldProblem,
    InvalidReport,
    LedgerTimeout,
    ReportRejected,
    ServiceError,
    UnknownCandidates,
    WrongPrecinct,
)
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, evaluate, group_names
from caucus.service.races import RACE_ATTEMPTS, RACE_ERRORS
from caucus.service.sessions import ChairSession
from caucus.service.status import PrecinctStatus, four_eyes, hotline_by_operator, read_status, status_after_write

_PAYLOAD_KEY = {"first": "counts", "final": "counts", "delegates": "delegates"}


@dataclass(frozen=True)
class StageCorrection:
    """One stage of a correction: its new payload (as a stage report's, see :mod:`caucus.service.evaluation`)
    and, optionally, the seq of the entry the sender believes is current (optimistic concurrency)."""

    stage: Stage
    payload: Mapping[str, Any]
    supersedes_seq: int | None = None


@dataclass(frozen=True)
class Correction:
    """The stages corrected together, with one reason. ``precinct``, if given, must be the sender's own."""

    stages: tuple[StageCorrection, ...]
    reason: str
    confirm: bool = False
    precinct: str | None = None


@dataclass(frozen=True)
class CorrectionResult:
    correction_id: str
    receipts: tuple[Receipt, ...]
    status: PrecinctStatus
    replayed: bool = False


def correction_id_for(election: str, precinct: str, idempotency_key: str) -> str:
    """The correction id a key gives (the same on every retry): ``C-`` and 12 hex digits."""
    digest = hashlib.sha256(f"{election}\n{precinct}\n{idempotency_key}".encode()).hexdigest()
    return f"C-{digest[:12]}"


def _field(index: int, stage: Stage, rest: str = "") -> str:
    base = f"stages[{index}]"
    if not rest:
        return base
    key = _PAYLOAD_KEY.get(stage)
    return f"{base}.{key}.{rest}" if key else f"{base}.{rest}"


def _finding_field(finding: Finding, where: Mapping[Stage, int]) -> str:
    """A check's field (``final.Sanders``, ``group.Sanders``, ``attendance``) as the correction's field."""
    field = finding.field or ""
    head, _, rest = field.partition(".")
    if head in where:
        stage: Stage = head  # type: ignore[assignment]
        return _field(where[stage], stage, rest) if rest else f"{_field(where[stage], stage)}.{head}"
    if head == "group":
        for stage in ("delegates", "final", "first"):
            if stage in where:
                return _field(where[stage], stage, rest)
    if head == "chance" and "final" in where:
        return f"{_field(where['final'], 'final')}.chance"
    return field or "stages"


class CorrectionsMixin:
    """``ReportService.correct``: the attributes are ReportService's."""

    engine: Engine
    writer: Writer
    context: ElectionContext
    clock: Callable[[], datetime]
    write_timeout: float

    def _precinct_lock(self, code: str) -> threading.Lock:
        raise NotImplementedError

    def correct_as_chair(self, session: ChairSession, correction: Correction, idempotency_key: str
                         ) -> CorrectionResult:
        """A chair's correction through the app: only the session's own precinct, the ``app`` channel."""
        if correction.precinct is not None and correction.precinct != session.precinct:
            error = WrongPrecinct(session.precinct, correction.precinct)
            self._audit_correction(error, session.precinct, correction, idempotency_key, channel="app",
                                   actor=session.actor)
            raise error
        return self.correct(session.precinct, correction, idempotency_key, actor=session.actor, channel="app")

    def correct(self, precinct: str, correction: Correction, idempotency_key: str, *, actor: str,
                channel: Channel | None) -> CorrectionResult:
        """Check ``correction`` as the corrected whole and record all its entries or none (module docstring).

        ``channel``: correct that channel's current entries (and record in it); None: every channel's
        current entries of each named stage (each correction entry in its target's channel). Raises
        ServiceError (InvalidReport, UnknownCandidates, CorrectionInvalid, ReportRejected, LedgerTimeout,
        IdempotencyConflict) or LedgerError; a refusal is audited and records nothing."""
        info = self.context.precinct(precinct)
        code = info.code
        correction = _with_confirmation(correction)
        try:
            _check_shape(correction, idempotency_key, self.context.candidates)
        except ServiceError as error:
            self._audit_correction(error, code, correction, idempotency_key, channel=channel, actor=actor)
            raise
        correction_id = correction_id_for(self.context.slug, code, idempotency_key)
        with self._precinct_lock(code):
            for attempt in range(1, RACE_ATTEMPTS + 1):
                state = precinct_state(self.engine, self.context.slug, code)
                original = [e for e in state.entries if e.correction_id == correction_id]
                if original:
                    try:
                        _check_replay(original, correction, idempotency_key)
                    except LedgerError as error:
                        self._audit_correction(error, code, correction, idempotency_key, channel=channel, actor=actor)
                        raise
                    return CorrectionResult(correction_id, tuple(e.receipt(replayed=True) for e in original),
                                            read_status(self.engine, self.context, code), replayed=True)
                try:
                    targets = _targets(state, correction, channel, code)
                    base: dict[Stage, Mapping[str, Any]] = {}
                    if channel is not None:
                        base = {st: e.payload for (ch, st), e in state.current.items() if ch == channel}
                    else:
                        effective = four_eyes(state).state
                        for stage in STAGE_ORDER:
                            payload = effective.payload(stage)
                            if payload is not None:
                                base[stage] = payload
                    payloads = {**base, **{s.stage: s.payload for s in correction.stages}}
                    evaluation = evaluate(info, self.context.ruleset, self.context.candidates, payloads)
                    # as for single stages: HQ's channels record implausible numbers (REVIEWABLE_CODES) and hold
                    # them for review; a chair's app must confirm them; impossible numbers are always refused
                    refusing = evaluation.blocking if channel == "app" else evaluation.impossible
                    if refusing and not correction.confirm:
                        where = {s.stage: i for i, s in enumerate(correction.stages)}
                        raise ReportRejected(
                            "the correction was not recorded: " + "; ".join(f.message for f in refusing),
                            [FieldProblem(_finding_field(f, where), f.code, f.message) for f in refusing])
                except ServiceError as error:
                    self._audit_correction(error, code, correction, idempotency_key, channel=channel, actor=actor)
                    raise
                group = [
                    Submission(election=self.context.slug, precinct_code=code, channel=target.channel, stage=item.stage,
                               payload=item.payload, actor=actor,
                               idempotency_key=(f"{idempotency_key}/{item.stage}" if channel is not None
                                                else f"{idempotency_key}/{item.stage}/{target.seq}"),
                               supersedes_seq=target.seq, reason=correction.reason.strip(), correction_id=correction_id,
                               expect_last_seq=state.last_seq or 0)
                    for item in _in_stage_order(correction.stages) for target in targets[item.stage]
                ]
                try:
                    receipts = self.writer.submit_group(group, timeout=self.write_timeout)
                except TimeoutError:
                    raise LedgerTimeout(self.write_timeout) from None
                except RACE_ERRORS:  # (the writer keeps an audit_log row of every refusal of its own)
                    if attempt < RACE_ATTEMPTS:
                        continue  # another worker wrote to this precinct since we read it: check again
                    raise
                break
        return CorrectionResult(correction_id, tuple(receipts),
                                status_after_write(self.engine, self.context, state, receipts,
                                                   self.writer.maintainer))

    def _audit_correction(self, error: ServiceError | LedgerError, precinct: str, correction: Correction, key: str,
                          *, channel: Channel | None, actor: str) -> None:
        fields = [{"field": p.field, "code": p.code, "message": p.message} for p in getattr(error, "fields", ())]
        code = error.code if isinstance(error, ServiceError) else error.code.replace("_", "-")
        with write_transaction(self.engine) as conn:
            ledger_audit.record(
                conn, election_id=self.context.election_id, at=self.clock(), actor=actor, action="report.correct",
                detail={"election": self.context.slug, "precinct": precinct, "channel": channel or "every",
                        "idempotency_key": key, "reason": correction.reason,
                        "stages": [{"stage": s.stage, "supersedes_seq": s.supersedes_seq, "payload": dict(s.payload)}
                                   for s in correction.stages],
                        "error": error.message, "fields": fields},
                outcome=f"rejected:{code}")


def _with_confirmation(correction: Correction) -> Correction:
    """A confirmed correction's payloads carry ``"confirmed": true`` (as a confirmed single stage's)."""
    if not correction.confirm:
        return correction
    stages = tuple(StageCorrection(s.stage, {**s.payload, "confirmed": True}, s.supersedes_seq)
                   for s in correction.stages)
    return Correction(stages, correction.reason, correction.confirm, correction.precinct)


def _in_stage_order(stages: Sequence[StageCorrection]) -> list[StageCorrection]:
    return sorted(stages, key=lambda s: STAGE_ORDER.index(s.stage))


def _check_shape(correction: Correction, key: str, candidates: Sequence[str]) -> None:
    problems: list[FieldProblem] = []
    if not (correction.reason or "").strip():
        problems.append(FieldProblem("reason", "required", "a correction needs a reason (e.g. 'worksheet "
                                                             "recounted: Alvarez 52, Brooks 48')"))
    if not correction.stages:
        problems.append(FieldProblem("stages", "required", "name at least one stage to correct"))
    seen: dict[str, int] = {}
    for i, item in enumerate(correction.stages):
        if item.stage not in STAGE_ORDER:
            problems.append(FieldProblem(f"stages[{i}].stage", "invalid-stage",
                                         f"stage must be one of {', '.join(STAGE_ORDER)}; got {item.stage!r}"))
        elif item.stage in seen:
            problems.append(FieldProblem(f"stages[{i}].stage", "duplicate-stage",
                                         f"the {STAGE_TITLES[item.stage]} is named twice (stages[{seen[item.stage]}] "
                                         f"and stages[{i}]); a correction names each stage once"))
        else:
            seen[item.stage] = i
    if len(key) + len("/delegates/") + 10 > MAX_KEY_LENGTH:
        problems.append(FieldProblem("idempotency_key", "too-long", "the idempotency key is too long"))
    if problems:
        raise InvalidReport("; ".join(p.message for p in problems), problems)
    known = set(candidates)
    unknown = [FieldProblem(f"stages[{i}].{field}", "unknown-candidate",
                            f"{name!r} is not a candidate in this election")
               for i, item in enumerate(correction.stages)
               for field, name in group_names(item.stage, item.payload) if name not in known]
    if unknown:
        raise UnknownCandidates(unknown, candidates)


def _check_replay(original: Sequence[LedgerEntry], correction: Correction, key: str) -> None:
    stored = {(e.stage, e.payload_json) for e in original}
    sent = {(s.stage, canonical_json(dict(s.payload))) for s in correction.stages}
    differs = []
    if {st for st, _ in stored} != {st for st, _ in sent}:
        differs.append("stages")
    elif stored != sent:
        differs.append("payload")
    if original[0].reason != correction.reason.strip():
        differs.append("reason")
    if differs:
        raise IdempotencyConflict(key, original[0].seq, tuple(differs))


def _targets(state: PrecinctState, correction: Correction, channel: Channel | None, code: str
             ) -> dict[Stage, list[LedgerEntry]]:
    """The entries each stage supersedes; refuses a stage with nothing to correct or a stale supersedes_seq."""
    current = state.current
    found: dict[Stage, list[LedgerEntry]] = {}
    superseded_by = {e.supersedes_seq: e.seq for e in state.entries if e.supersedes_seq is not None}
    for i, item in enumerate(correction.stages):
        title = STAGE_TITLES[item.stage]
        if channel is not None:
            mine = current.get((channel, item.stage))
            targets = [mine] if mine is not None else []
            if mine is None:
                raise CorrectionInvalid(f"precinct {code} has no {title} from this channel to correct; report it "
                                        "first (a first report is not a correction)", f"stages[{i}].stage")
        else:
            targets = sorted({e.seq: e for (ch, st), e in current.items() if st == item.stage}.values(),
                             key=lambda e: e.seq)
            targets += [e for e in hotline_by_operator(state, item.stage) if e not in targets]
            if not targets:
                raise CorrectionInvalid(f"precinct {code} has no {title} to correct; transcribe the worksheet as a "
                                        "paper report instead", f"stages[{i}].stage")
        seq = item.supersedes_seq
        if seq is not None and seq not in {t.seq for t in targets}:
            now = ", ".join(f"#{t.seq}" for t in targets)
            why = f"; it was corrected by entry #{superseded_by[seq]}" if seq in superseded_by else ""
            raise CorrectionInvalid(f"entry #{seq} is not the current {title} of precinct {code} (the current one "
                                    f"is {now}{why}); look at the precinct again and correct what it holds now",
                                    f"stages[{i}].supersedes_seq")
        found[item.stage] = sorted(targets, key=lambda e: e.seq)
    return found
