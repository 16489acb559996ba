"""The hotline console's use cases: verify a caller, key in stages, read them back; the call log.

No credential, no entry: an operator can key in a precinct's numbers only within a call verified with the
precinct's code and active credential (:func:`caucus.ledger.verify_credential`). A failed verification is
recorded in ``signin_attempts`` (client ``hotline:<operator>``), so it counts toward the precinct's lockout
exactly like a failed sign-in in the app, and a locked precinct cannot be verified on the phone either.

A final alignment that needs a game of chance carries its outcome in the app's shape (``"chance": [{"kind",
"among", "selected"}]``); :meth:`HotlineService.chance_step` tells the console who is tied for what, game by
game (:mod:`caucus.service.chance_entry`), and a game that does not fit is refused naming its field. The
outcome is part of what the four-eyes rule compares.

Each entry runs the same checks as the app (:func:`caucus.service.evaluation.evaluate` over the operator's
own entries plus the new one; a blocking finding refuses it) and is recorded in the ledger with channel
``hotline`` and actor ``operator:<username>``. Whether it counts is decided by the four-eyes rule in
:mod:`caucus.service.status`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from caucus.ledger import IdempotencyConflict, Submission, Writer, precinct_state, verify_credential
from caucus.ledger import audit as ledger_audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.model import LedgerEntry, Stage
from caucus.ledger.schema import hotline_calls, signin_attempts
from caucus.service.chance_entry import ChanceStep, KeyedGame, chance_step, check_recorded_chance
from caucus.service.context import ElectionContext
from caucus.service.errors import (
    CorrectionInvalid,
    FieldProblem,
    LedgerTimeout,
    PrecinctLocked,
    ServiceError,
    StageOutOfOrder,
    UnknownCandidates,
)
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, evaluate
from caucus.service.hq_errors import CallerNotVerified
from caucus.service.limits import FAILURE, SignInLimits, precinct_lock
from caucus.service.reports import StageReport, SubmitResult, rejection
from caucus.service.status import read_status

HOTLINE_CLIENT = "hotline:{operator}"
#: how long after a verified call its operator may key in entries for the precinct
CALL_WINDOW = timedelta(minutes=60)


@dataclass(frozen=True)
class HotlineCall:
    id: int
    precinct: str
    operator: str
    at: datetime
    outcome: str
    note: str


def operator_actor(username: str) -> str:
    return f"operator:{username}"


class HotlineService:
    def __init__(
        self,
        engine: Engine,
        writer: Writer,
        context: ElectionContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        limits: SignInLimits | None = None,
        write_timeout: float = 30.0,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.context = context
        self.clock = clock
        self.limits = limits or SignInLimits()
        self.write_timeout = write_timeout
        self._lock = threading.Lock()

    # -- verifying the caller ----------------------------------------------------------------------------
    def verify_caller(self, operator: str, precinct: str, credential: str, note: str = "") -> HotlineCall:
        """Check the precinct's lock, then its credential; record the call either way.

        Raises UnknownPrecinctCode, PrecinctLocked or CallerNotVerified (the caller's numbers are not taken).
        """
        info = self.context.precinct(precinct.strip())
        now = self.clock()
        client = HOTLINE_CLIENT.format(operator=operator)[:100]
        with self.engine.connect() as conn:
            attempts = [(r.at, r.outcome) for r in conn.execute(
                select(signin_attempts.c.at, signin_attempts.c.outcome).where(
                    signin_attempts.c.election_id == self.context.election_id,
                    signin_attempts.c.precinct_code == info.code,
                    signin_attempts.c.at > now - self.limits.precinct_lookback))]
        lock = precinct_lock(attempts, self.limits)
        if lock.until is not None and lock.active(now):
            self._record_call(info.code, operator, now, "precinct-locked", note=note, client=client)
            raise PrecinctLocked(info.code, lock.until, now)
        if not verify_credential(self.engine, self.context.slug, info.code, credential):
            self._record_call(info.code, operator, now, "bad-credential", note=note, client=client)
            after = precinct_lock([*attempts, (now, FAILURE)], self.limits)
            left = self.limits.precinct_failures - after.failures
            locked = after.until is not None and after.active(now)
            tail = "the precinct is now locked" if locked else f"{left} attempts left before the precinct is locked"
            message = (f"the caller could not be verified: the credential does not match precinct {info.code}'s "
                       f"active credential ({tail}); take no numbers from this call")
            raise CallerNotVerified(message, [FieldProblem("credential", "caller-not-verified", message)])
        return self._record_call(info.code, operator, now, "verified", note=note, client=client)

    def _record_call(self, precinct: str, operator: str, now: datetime, outcome: str, *, note: str,
                     client: str) -> HotlineCall:
        with write_transaction(self.engine) as conn:
            call_id = conn.execute(hotline_calls.insert().values(
                election_id=self.context.election_id, precinct_code=precinct, operator=operator, at=now,
                outcome=outcome, note=note.strip()[:500],
            ).returning(hotline_calls.c.id)).scalar_one()
            if outcome == "bad-credential":
                conn.execute(signin_attempts.insert().values(
                    election_id=self.context.election_id, precinct_code=precinct, client=client, at=now, ok=False,
                    outcome=FAILURE))
            ledger_audit.record(conn, election_id=self.context.election_id, at=now, actor=operator_actor(operator),
                                action="hotline.verify", detail={"precinct": precinct, "call": call_id},
                                outcome=outcome)
        return HotlineCall(call_id, precinct, operator, now, outcome, note)

    def calls(self, precinct: str | None = None, *, since: datetime | None = None) -> list[HotlineCall]:
        """The call log (of one precinct, or all), oldest first."""
        query = select(hotline_calls).where(hotline_calls.c.election_id == self.context.election_id)
        if precinct is not None:
            query = query.where(hotline_calls.c.precinct_code == precinct)
        if since is not None:
            query = query.where(hotline_calls.c.at >= since)
        with self.engine.connect() as conn:
            return [HotlineCall(r.id, r.precinct_code, r.operator, r.at, r.outcome, r.note)
                    for r in conn.execute(query.order_by(hotline_calls.c.id))]

    def open_call(self, operator: str, call_id: int) -> HotlineCall:
        """The operator's verified call ``call_id`` if it is still open; raises CallerNotVerified."""
        found = [c for c in self.calls() if c.id == call_id]
        now = self.clock()
        if not found or found[0].operator != operator or found[0].outcome != "verified":
            raise CallerNotVerified("verify the caller first (precinct code and credential): no credential, no entry")
        if now - found[0].at > CALL_WINDOW:
            raise CallerNotVerified("this call was verified more than an hour ago; verify the caller again")
        return found[0]

    # -- keying in ---------------------------------------------------------------------------------------
    def own_entries(self, operator: str, precinct: str) -> dict[Stage, LedgerEntry]:
        """The operator's current (not corrected) hotline entry of each stage."""
        state = precinct_state(self.engine, self.context.slug, precinct)
        mine: dict[Stage, LedgerEntry] = {}
        for entry in state.entries:
            if (entry.channel == "hotline" and entry.actor == operator_actor(operator)
                    and entry.seq not in state.superseded):
                mine[entry.stage] = entry
        return mine

    def enter(self, operator: str, call_id: int, report: StageReport, idempotency_key: str) -> SubmitResult:
        """Key in one stage heard on verified call ``call_id``; the same checks as the app. Raises
        CallerNotVerified, UnknownCandidates, StageOutOfOrder/CorrectionInvalid, ReportRejected."""
        call = self.open_call(operator, call_id)
        info = self.context.precinct(call.precinct)
        actor = operator_actor(operator)
        def submission() -> Submission:
            return Submission(
                election=self.context.slug, precinct_code=info.code, channel="hotline", stage=report.stage,
                payload=report.payload, actor=actor, idempotency_key=idempotency_key,
                supersedes_seq=report.supersedes_seq, reason=report.reason)

        with self._lock:
            # the form sent twice (a double click, a retry after a lost answer): the same key answers with
            # the entry already recorded, never a second row or a refusal
            state = precinct_state(self.engine, self.context.slug, info.code)
            original = next((e for e in state.entries if e.idempotency_key == idempotency_key), None)
            if original is not None:
                differs = original.differences(submission())
                if differs:
                    raise IdempotencyConflict(idempotency_key, original.seq, differs)
                return SubmitResult(original.receipt(replayed=True), read_status(self.engine, self.context,
                                                                                info.code))
            mine = self.own_entries(operator, info.code)
            try:
                self._check(info.code, mine, report)
            except ServiceError as error:
                self._audit_refusal(actor, info.code, report, error)
                raise
            try:
                receipt = self.writer.submit(submission(), timeout=self.write_timeout)
            except TimeoutError:
                raise LedgerTimeout(self.write_timeout) from None
        with write_transaction(self.engine) as conn:
            ledger_audit.record(conn, election_id=self.context.election_id, at=self.clock(), actor=actor,
                                action="hotline.enter",
                                detail={"precinct": info.code, "call": call.id, "stage": report.stage,
                                        "seq": receipt.seq, "supersedes_seq": report.supersedes_seq},
                                outcome="replayed" if receipt.replayed else "ok")
        return SubmitResult(receipt, read_status(self.engine, self.context, info.code))

    def _check(self, precinct: str, mine: Mapping[Stage, LedgerEntry], report: StageReport) -> None:
        unknown = [FieldProblem(field, "unknown-candidate", f"{name!r} is not a candidate in this election")
                   for field, name in report.group_names() if name not in self.context.candidates]
        if unknown:
            raise UnknownCandidates(unknown, self.context.candidates)
        title = STAGE_TITLES[report.stage]
        if report.supersedes_seq is None:
            if report.stage in mine:
                raise CorrectionInvalid(f"you already keyed in the {title} (entry #{mine[report.stage].seq}); "
                                        "to change it, correct that entry with a reason")
            missing = [STAGE_TITLES[s] for s in STAGE_ORDER[: STAGE_ORDER.index(report.stage)] if s not in mine]
            if missing:
                raise StageOutOfOrder(f"key in the {' and the '.join(missing)} before the {title}",
                                      [FieldProblem("stage", "stage-out-of-order", f"the {missing[0]} comes first")])
        else:
            current = mine.get(report.stage)
            if current is None or current.seq != report.supersedes_seq:
                raise CorrectionInvalid(f"entry #{report.supersedes_seq} is not your current {title}")
            if not (report.reason or "").strip():
                raise CorrectionInvalid(f"a correction of entry #{report.supersedes_seq} needs a reason")
        payloads: dict[Stage, Mapping[str, Any]] = {stage: entry.payload for stage, entry in mine.items()}
        if report.stage == "final":
            check_recorded_chance(self.context.precinct(precinct), self.context.ruleset, self.context.candidates,
                                  payloads, report.payload)
        payloads[report.stage] = report.payload
        evaluation = evaluate(self.context.precinct(precinct), self.context.ruleset, self.context.candidates,
                              payloads)
        if evaluation.blocking:
            raise rejection(report.stage, evaluation.findings)

    def chance_step(self, operator: str, call_id: int, counts: Mapping[str, Any],
                    games: Sequence[KeyedGame]) -> ChanceStep:
        """Where a final alignment keyed on call ``call_id`` stands with the games of chance keyed so far:
        the next tie to settle (who is tied for what), or the first game that does not fit, by field. Uses
        the operator's own attendance and first alignment, as :meth:`enter` does."""
        call = self.open_call(operator, call_id)
        mine = self.own_entries(operator, call.precinct)
        return chance_step(self.context.precinct(call.precinct), self.context.ruleset, self.context.candidates,
                           {stage: entry.payload for stage, entry in mine.items()}, counts=counts, games=games)

    def _audit_refusal(self, actor: str, precinct: str, report: StageReport, error: ServiceError) -> None:
        with write_transaction(self.engine) as conn:
            ledger_audit.record(conn, election_id=self.context.election_id, at=self.clock(), actor=actor,
                                action="report.submit",
                                detail={"precinct": precinct, "channel": "hotline", "stage": report.stage,
                                        "payload": dict(report.payload), "error": error.message},
                                outcome=f"rejected:{error.code}")
