"""Submitting one stage of a precinct's report: check on arrival, then record durably, or refuse and audit.

The flow for one submission (serialized per precinct: within a process by a lock, across processes by the
ledger's writer, which records it only if the precinct is still as it was checked; otherwise it is read and
checked again: :mod:`caucus.service.races`):

1. A replay (the idempotency key is already one of the precinct's entries) gets the original receipt,
   if the content is the same, or IdempotencyConflict naming the key and the original entry.
2. Group names must be candidates of the plan; stages come in the order attendance -> first -> final ->
   delegates, each once per channel; a correction names the current entry of the same stage and a reason.
3. The channel's current stages plus the new one are checked (:mod:`caucus.service.evaluation`). A blocking
   finding refuses the stage: nothing enters the ledger, only an audit event of the refused attempt; unless
   the sender confirms the numbers (``confirm``), or HQ keys them in from paper and they are only implausible
   (``caucus.checks.REVIEWABLE_CODES``): then they are recorded and the precinct is held for review.
4. Otherwise the single Writer commits it (group commit, synchronous); the receipt means it is on disk.
   Warnings are stored with it and hold the precinct for review.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping
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
    precinct_state,
)
from caucus.ledger import audit as ledger_audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.service.context import ElectionContext, PrecinctInfo
from caucus.service.corrections import CorrectionsMixin
from caucus.service.early_ballots import EarlyBallot, ballots_of
from caucus.service.early_merge import merge_early
from caucus.service.errors import (
    CorrectionInvalid,
    FieldProblem,
    InvalidReport,
    LedgerTimeout,
    ReportRejected,
    ServiceError,
    StageAlreadyReported,
    StageOutOfOrder,
    UnknownCandidates,
    WrongPrecinct,
)
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, evaluate, group_names
from caucus.service.races import RACE_ATTEMPTS, RACE_ERRORS
from caucus.service.sessions import ChairSession
from caucus.service.status import PrecinctStatus, derive_status, read_status, status_after_write

DEFAULT_WRITE_TIMEOUT = 30.0


@dataclass(frozen=True)
class StageReport:
    """One stage as a client sends it. ``payload`` is stored as is (see :mod:`caucus.service.evaluation`);
    ``precinct``, if given, must be the sender's own."""

    stage: Stage
    payload: Mapping[str, Any]
    precinct: str | None = None
    supersedes_seq: int | None = None
    reason: str | None = None
    #: record the numbers although the checks flag them (held for review instead of refused); the payload
    #: then carries ``"confirmed": true``, so the ledger shows the sender insisted
    confirm: bool = False

    def group_names(self) -> list[tuple[str, str]]:
        """(field, name) of every group name in the payload, for checking against the candidates."""
        return group_names(self.stage, self.payload)


@dataclass(frozen=True)
class SubmitResult:
    """``receipt.replayed`` is True for a replay (the original receipt); ``status`` is the precinct's
    status read back from the ledger after the write."""

    receipt: Receipt
    status: PrecinctStatus

    @property
    def replayed(self) -> bool:
        return self.receipt.replayed



def _api_field(field: str | None, stage: Stage) -> str:
    """A check's field (``final.Sanders``) as the field of the stage's payload (``counts.Sanders``)."""
    if field is None:
        return stage
    head, _, rest = field.partition(".")
    if head == stage and stage in ("first", "final"):
        return f"counts.{rest}" if rest else "counts"
    if head == "group":
        return f"counts.{rest}" if stage in ("first", "final") else f"{stage}.{rest}"
    return field


def rejection(stage: Stage, findings: Iterable[Finding]) -> ReportRejected:
    blocking = [f for f in findings if f.severity == "blocking"]
    return ReportRejected(
        f"the {STAGE_TITLES[stage]} {'were' if stage == 'delegates' else 'was'} not recorded: "
        + "; ".join(f.message for f in blocking),
        [FieldProblem(_api_field(f.field, stage), f.code, f.message) for f in blocking],
    )


class ReportService(CorrectionsMixin):
    """Stage submissions, corrections of several stages at once (:meth:`correct`, see
    :mod:`caucus.service.corrections`) and precinct status of one election."""

    def __init__(
        self,
        engine: Engine,
        writer: Writer,
        context: ElectionContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.context = context
        self.clock = clock
        self.write_timeout = write_timeout
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def status(self, precinct: str) -> PrecinctStatus:
        return read_status(self.engine, self.context, precinct)

    def submit_as_chair(self, session: ChairSession, report: StageReport, idempotency_key: str, *,
                        state: PrecinctState | None = None) -> SubmitResult:
        """A chair's submission through the app: only for the session's own precinct. ``state``: the precinct's
        state read with the session (:meth:`SessionService.authenticate_with_state`), used for the first check."""
        if report.precinct is not None and report.precinct != session.precinct:
            error = WrongPrecinct(session.precinct, report.precinct)
            self._audit_refusal(error, precinct=session.precinct, report=report, key=idempotency_key, channel="app",
                                actor=session.actor)
            raise error
        return self.submit(session.precinct, report, idempotency_key, channel="app", actor=session.actor, known=state)

    def submit(
        self, precinct: str, report: StageReport, idempotency_key: str, *, channel: Channel, actor: str,
        known: PrecinctState | None = None,
    ) -> SubmitResult:
        """Check and record one stage; see the module docstring. Raises ServiceError or LedgerError.

        ``known``, if given, is the precinct's state as read by the caller (before the precinct's lock): the first
        check uses it instead of reading it again. If the precinct changed since, the writer refuses the write
        (``expect_last_seq``) and the precinct is read and checked again, as after a race with another worker."""
        info = self.context.precinct(precinct)
        try:
            _check_correction_fields(report)
        except ServiceError as error:
            self._audit_refusal(error, precinct=info.code, report=report, key=idempotency_key, channel=channel,
                                actor=actor)
            raise
        submission = Submission(
            election=self.context.slug,
            precinct_code=info.code,
            channel=channel,
            stage=report.stage,
            payload=report.payload,
            actor=actor,
            idempotency_key=idempotency_key,
            supersedes_seq=report.supersedes_seq,
            reason=report.reason,
        )
        early = ballots_of(self.engine, self.context, info.code) if self.context.ruleset.early_ballots else ()
        with self._precinct_lock(info.code):
            for attempt in range(1, RACE_ATTEMPTS + 1):
                if attempt > 1 or known is None or known.precinct_code != info.code:
                    state = precinct_state(self.engine, self.context.slug, info.code)
                else:
                    state = known
                if early or "in_person" in report.payload:
                    try:
                        report, submission = self._with_early(info, state, report, submission, early=early,
                                                              channel=channel)
                    except ServiceError as error:
                        self._audit_refusal(error, precinct=info.code, report=report, key=idempotency_key,
                                            channel=channel, actor=actor)
                        raise
                original = next((e for e in state.entries if e.idempotency_key == idempotency_key), None)
                if original is not None:
                    differs = original.differences(submission)
                    if differs:
                        conflict = IdempotencyConflict(idempotency_key, original.seq, differs)
                        self._audit_refusal(conflict, precinct=info.code, report=report, key=idempotency_key,
                                            channel=channel, actor=actor)
                        raise conflict
                    return SubmitResult(original.receipt(replayed=True), derive_status(self.context, info, state))
                try:
                    self._check(info, state, report, channel)
                except ServiceError as error:
                    self._audit_refusal(error, precinct=info.code, report=report, key=idempotency_key,
                                        channel=channel, actor=actor)
                    raise
                checked = dataclasses.replace(submission, expect_last_seq=state.last_seq or 0)
                try:
                    receipt = self.writer.submit(checked, timeout=self.write_timeout)
                except TimeoutError:
                    raise LedgerTimeout(self.write_timeout) from None
                except RACE_ERRORS:  # (the writer keeps an audit_log row of every refusal of its own)
                    if attempt < RACE_ATTEMPTS:
                        continue  # another worker wrote to this precinct since we read it: check again
                    raise
                break
        return SubmitResult(receipt, status_after_write(self.engine, self.context, state, [receipt],
                                                       self.writer.maintainer))

    def _with_early(self, info: PrecinctInfo, state: PrecinctState, report: StageReport, submission: Submission,
                    *, early: tuple[EarlyBallot, ...], channel: Channel) -> tuple[StageReport, Submission]:
        """The report with the precinct's early ballots merged in (:mod:`caucus.service.early_merge`); without
        early ballots (any rule set) ``in_person`` is simply the total."""
        current = {stage: entry.payload for (ch, stage), entry in state.current.items() if ch == channel}
        payload = merge_early(report.stage, report.payload, [b.ranks for b in early],
                              delegates=info.delegates or 0, current=current, ruleset=self.context.ruleset)
        return dataclasses.replace(report, payload=payload), dataclasses.replace(submission, payload=payload)

    # -- the checks before anything is written ---------------------------------------------------------
    def _check(self, info: PrecinctInfo, state: PrecinctState, report: StageReport, channel: Channel) -> None:
        """Refuse the report unless it is acceptable. Blocking findings refuse it unless the sender
        confirmed the numbers (``report.confirm``): then it is recorded and the precinct held for review."""
        candidates = set(self.context.candidates)
        unknown = [FieldProblem(field, "unknown-candidate", f"{name!r} is not a candidate in this election")
                   for field, name in report.group_names() if name not in candidates]
        if unknown:
            raise UnknownCandidates(unknown, self.context.candidates)
        current = {stage: entry for (ch, stage), entry in state.current.items() if ch == channel}
        _check_order(info, state, current, report)
        payloads: dict[Stage, Mapping[str, Any]] = {stage: entry.payload for stage, entry in current.items()}
        payloads[report.stage] = report.payload
        evaluation = evaluate(info, self.context.ruleset, self.context.candidates, payloads)
        # HQ's own channels (paper transcription, import) key in what the paper says: implausible numbers
        # (REVIEWABLE_CODES) are recorded and held for review; a chair's app must confirm them
        refusing = evaluation.blocking if channel == "app" else evaluation.impossible
        if refusing and not report.confirm:
            raise rejection(report.stage, evaluation.findings)

    def _precinct_lock(self, code: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(code, threading.Lock())

    def _audit_refusal(
        self,
        error: ServiceError | LedgerError,
        *,
        precinct: str,
        report: StageReport,
        key: str,
        channel: Channel,
        actor: str,
    ) -> None:
        """An audit event for a refused submission (nothing enters the ledger itself)."""
        fields = [{"field": p.field, "code": p.code, "message": p.message}
                  for p in getattr(error, "fields", ())]
        code = error.code if isinstance(error, ServiceError) else error.code.replace("_", "-")
        with write_transaction(self.engine) as conn:
            ledger_audit.record(
                conn,
                election_id=self.context.election_id,
                at=self.clock(),
                actor=actor,
                action="report.submit",
                detail={
                    "election": self.context.slug,
                    "precinct": precinct,
                    "channel": channel,
                    "stage": report.stage,
                    "idempotency_key": key,
                    "supersedes_seq": report.supersedes_seq,
                    "reason": report.reason,
                    "payload": dict(report.payload),
                    "error": error.message,
                    "fields": fields,
                },
                outcome=f"rejected:{code}",
            )


def _check_correction_fields(report: StageReport) -> None:
    if report.supersedes_seq is None and report.reason is not None:
        message = "a reason is only for a correction: send supersedes_seq (the entry corrected) with it"
        raise InvalidReport(message, [FieldProblem("reason", "reason-without-correction", message)])
    if report.supersedes_seq is not None and not (report.reason or "").strip():
        message = f"a correction (superseding entry #{report.supersedes_seq}) needs a reason"
        raise InvalidReport(message, [FieldProblem("reason", "required", message)])


def _check_order(
    info: PrecinctInfo, state: PrecinctState, current: Mapping[Stage, LedgerEntry], report: StageReport
) -> None:
    stage, title = report.stage, STAGE_TITLES[report.stage]
    if report.supersedes_seq is None:
        if stage in current:
            raise StageAlreadyReported(title, current[stage].seq, current[stage].received_at)
        missing = [STAGE_TITLES[s] for s in STAGE_ORDER[: STAGE_ORDER.index(stage)] if s not in current]
        if missing:
            done = [STAGE_TITLES[s] for s in STAGE_ORDER if s in current]
            raise StageOutOfOrder(
                f"report the {' and the '.join(missing)} before the {title}: stages come in the order "
                f"attendance, first alignment, final alignment, delegates (precinct {info.code} has reported "
                f"{', '.join(done) if done else 'nothing yet'})",
                [FieldProblem("stage", "stage-out-of-order", f"the {missing[0]} must be reported first")],
            )
        return
    seq = report.supersedes_seq
    target = next((e for e in state.entries if e.seq == seq), None)
    if target is None:
        raise CorrectionInvalid(f"entry #{seq} is not one of precinct {info.code}'s reports")
    if seq in state.superseded:
        by = next(e.seq for e in state.entries if e.supersedes_seq == seq)
        raise CorrectionInvalid(f"entry #{seq} was already corrected by entry #{by}; to correct it again, "
                                f"supersede #{by}")
    if target.stage != stage:
        raise CorrectionInvalid(f"entry #{seq} is the {STAGE_TITLES[target.stage]}, not the {title}; a "
                                "correction replaces a report of the same stage")
    mine = current.get(stage)
    if mine is None or mine.seq != seq:
        where = f"the current one is entry #{mine.seq}" if mine is not None else "this channel has none"
        raise CorrectionInvalid(f"entry #{seq} is not this channel's current {title}; {where}")
