"""The hotline console's use cases: verify a caller, key in stages, read them back; the call log.

No code, no entry: an operator can key in a precinct's numbers only within a call verified with the
precinct's code and its active **hotline code** (:func:`caucus.ledger.verify_hotline_code`), the second
secret on the chair's card. The app credential is never accepted on the phone (it is never read aloud: an
operator who heard it could sign in to the API as the chair). Every verification is in the call log
(``hotline_calls``) and the audit log (``hotline.verify``). Wrong codes are throttled per operator and per
(precinct, operator) with short growing delays, never per precinct (:mod:`caucus.service.limits`): a prank
caller can never stop the real chair's call from being verified, by another operator at once or by the
same operator after a short wait.

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

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from caucus.ledger import (
    IdempotencyConflict,
    PrecinctState,
    Submission,
    Writer,
    normalize_hotline_code,
    precinct_state,
    verify_hotline_code,
)
from caucus.ledger import audit as ledger_audit
from caucus.ledger.credentials import GROUP_LENGTH, HOTLINE_GROUPS, has_active_card, normalize_secret
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.epochs import counted
from caucus.ledger.model import LedgerEntry, Stage
from caucus.ledger.schema import hotline_calls
from caucus.service.chance_entry import ChanceStep, KeyedGame, chance_step, check_recorded_chance
from caucus.service.context import ElectionContext
from caucus.service.early_ballots import ballots_of
from caucus.service.early_merge import merge_early
from caucus.service.errors import (
    CorrectionInvalid,
    FieldProblem,
    LedgerTimeout,
    ServiceError,
    StageOutOfOrder,
    TooManySignIns,
    UnknownCandidates,
)
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, evaluate
from caucus.service.hq_errors import CallerNotVerified
from caucus.service.limits import HOTLINE_RULES, Reservation, Throttled, ThrottleRules, Throttles
from caucus.service.races import RACE_ATTEMPTS, RACE_ERRORS
from caucus.service.reports import StageReport, SubmitResult, rejection
from caucus.service.status import read_status, status_after_write

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
        rules: ThrottleRules = HOTLINE_RULES,
        write_timeout: float = 30.0,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.context = context
        self.clock = clock
        self.throttles = Throttles(engine, "hotline", context.election_id, rules)
        self.write_timeout = write_timeout
        self._lock = threading.Lock()

    # -- verifying the caller ----------------------------------------------------------------------------
    def verify_caller(self, operator: str, precinct: str, hotline_code: str, note: str = "") -> HotlineCall:
        """Check the operator's throttles, then the precinct's hotline code; record the call either way.

        ``precinct`` is matched without regard to case and spaces. Raises UnknownPrecinctCode,
        CallerNotVerified (a wrong or malformed code, or the app credential read out: the caller's numbers
        are not taken) or TooManySignIns (this operator failed too often lately, for this precinct or any).
        """
        info = self.context.precinct(precinct)
        now = self.clock()
        if normalize_secret(hotline_code) is not None:
            self._audit_only(info.code, operator, now, "rejected:app-credential", note)
            message = ("that is the card's app credential, which is never read aloud and never accepted on the "
                       "phone: ask the caller for the HOTLINE CODE on the card (3 groups of 4) and take no numbers "
                       "until it is verified; tell HQ, which should rotate this precinct's card")
            raise CallerNotVerified(message, [FieldProblem("hotline_code", "app-credential-refused", message)])
        if normalize_hotline_code(hotline_code) is None:
            shape = "-".join(["XXXX"] * HOTLINE_GROUPS)
            message = (f"a hotline code is {HOTLINE_GROUPS} groups of {GROUP_LENGTH} letters and digits ({shape}) "
                       "without 0, 1, I, L, O or U; ask the caller to read it again from the card")
            raise CallerNotVerified(message, [FieldProblem("hotline_code", "hotline-code-malformed", message)])
        with write_transaction(self.engine) as conn:
            reserved = self.throttles.reserve(conn, info.code, operator, now)
            if isinstance(reserved, Throttled):
                ledger_audit.record(conn, election_id=self.context.election_id, at=now,
                                    actor=operator_actor(operator), action="hotline.verify",
                                    detail={"precinct": info.code, "throttle": reserved.scope,
                                            "failures": reserved.failures, "retry_after": reserved.retry_after(now)},
                                    outcome="rejected:throttled")
        if isinstance(reserved, Throttled):
            whose = "on your console" if reserved.scope == "client" else f"for precinct {info.code} on your console"
            raise TooManySignIns(f"too many wrong hotline codes {whose} ({reserved.failures} in the last hour)",
                                 reserved.until, now, "hand the call to another operator, or ask an admin or the "
                                 "director to lift the throttle (HQ, Throttles)")
        if not verify_hotline_code(self.engine, self.context.slug, info.code, hotline_code):
            self._record_call(info.code, operator, now, "bad-credential", note=note, reservation=None)
            if has_active_card(self.engine, self.context.slug, info.code):
                message = (f"the caller could not be verified: the hotline code does not match precinct "
                           f"{info.code}'s active hotline code; take no numbers from this call")
            else:
                message = (f"the caller could not be verified: precinct {info.code} has no active card (revoked or "
                           "never issued), so no hotline code can match; take no numbers from this call and tell "
                           "the director (a new card: caucus pins rotate)")
            raise CallerNotVerified(message, [FieldProblem("hotline_code", "caller-not-verified", message)])
        return self._record_call(info.code, operator, now, "verified", note=note, reservation=reserved)

    def _audit_only(self, precinct: str, operator: str, now: datetime, outcome: str, note: str) -> None:
        with write_transaction(self.engine) as conn:
            ledger_audit.record(conn, election_id=self.context.election_id, at=now, actor=operator_actor(operator),
                                action="hotline.verify", detail={"precinct": precinct, "note": note.strip()[:200]},
                                outcome=outcome)

    def _record_call(self, precinct: str, operator: str, now: datetime, outcome: str, *, note: str,
                     reservation: Reservation | None) -> HotlineCall:
        with write_transaction(self.engine) as conn:
            call_id = conn.execute(hotline_calls.insert().values(
                election_id=self.context.election_id, precinct_code=precinct, operator=operator, at=now,
                outcome=outcome, note=note.strip()[:500],
            ).returning(hotline_calls.c.id)).scalar_one()
            if reservation is not None:
                self.throttles.succeeded(conn, reservation, now)
            ledger_audit.record(conn, election_id=self.context.election_id, at=now, actor=operator_actor(operator),
                                action="hotline.verify", detail={"precinct": precinct, "call": call_id},
                                outcome="verified" if outcome == "verified" else "rejected:bad-hotline-code")
        return HotlineCall(call_id, precinct, operator, now, outcome, note)

    def calls(self, precinct: str | None = None, *, since: datetime | None = None) -> list[HotlineCall]:
        """The call log (of one precinct, or all), oldest first."""
        query = select(hotline_calls).where(hotline_calls.c.election_id == self.context.election_id,
                                            counted(hotline_calls.c.id, self.context.election_id, "calls_after_id"))
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
            raise CallerNotVerified("verify the caller first (precinct code and hotline code): no code, no entry")
        if now - found[0].at > CALL_WINDOW:
            raise CallerNotVerified("this call was verified more than an hour ago; verify the caller again")
        return found[0]

    # -- keying in ---------------------------------------------------------------------------------------
    def own_entries(self, operator: str, precinct: str) -> dict[Stage, LedgerEntry]:
        """The operator's current (not corrected) hotline entry of each stage."""
        return _own_entries(precinct_state(self.engine, self.context.slug, precinct), operator_actor(operator))

    def enter(self, operator: str, call_id: int, report: StageReport, idempotency_key: str) -> SubmitResult:
        """Key in one stage heard on verified call ``call_id``; the same checks as the app. Raises
        CallerNotVerified, UnknownCandidates, StageOutOfOrder/CorrectionInvalid, ReportRejected."""
        call = self.open_call(operator, call_id)
        info = self.context.precinct(call.precinct)
        actor = operator_actor(operator)
        def submission(expect_last_seq: int | None = None) -> Submission:
            return Submission(
                election=self.context.slug, precinct_code=info.code, channel="hotline", stage=report.stage,
                payload=report.payload, actor=actor, idempotency_key=idempotency_key,
                supersedes_seq=report.supersedes_seq, reason=report.reason, expect_last_seq=expect_last_seq)

        early = [b.ranks for b in ballots_of(self.engine, self.context, info.code)]
        with self._lock:
            for attempt in range(1, RACE_ATTEMPTS + 1):
                # the form sent twice (a double click, a retry after a lost answer): the same key answers with
                # the entry already recorded, never a second row or a refusal
                state = precinct_state(self.engine, self.context.slug, info.code)
                if early or "in_person" in report.payload:
                    # Nevada's early ballots: totals checked against them, or in-person numbers completed
                    # (caucus.service.early_merge), against the operator's own earlier stages
                    own = {stage: entry.payload for stage, entry in _own_entries(state, actor).items()}
                    try:
                        merged = merge_early(report.stage, report.payload, early, delegates=info.delegates or 0,
                                             current=own, ruleset=self.context.ruleset)
                    except ServiceError as error:
                        self._audit_refusal(actor, info.code, report, error)
                        raise
                    report = dataclasses.replace(report, payload=merged)
                original = next((e for e in state.entries if e.idempotency_key == idempotency_key), None)
                if original is not None:
                    differs = original.differences(submission())
                    if differs:
                        raise IdempotencyConflict(idempotency_key, original.seq, differs)
                    return SubmitResult(original.receipt(replayed=True), read_status(self.engine, self.context,
                                                                                    info.code))
                mine = _own_entries(state, actor)
                try:
                    self._check(info.code, mine, report)
                except ServiceError as error:
                    self._audit_refusal(actor, info.code, report, error)
                    raise
                try:
                    receipt = self.writer.submit(submission(state.last_seq or 0), timeout=self.write_timeout)
                except TimeoutError:
                    raise LedgerTimeout(self.write_timeout) from None
                except RACE_ERRORS:
                    if attempt < RACE_ATTEMPTS:
                        continue  # another console or worker wrote to this precinct since we read it: check again
                    raise
                break
        with write_transaction(self.engine) as conn:
            ledger_audit.record(conn, election_id=self.context.election_id, at=self.clock(), actor=actor,
                                action="hotline.enter",
                                detail={"precinct": info.code, "call": call.id, "stage": report.stage,
                                        "seq": receipt.seq, "supersedes_seq": report.supersedes_seq},
                                outcome="replayed" if receipt.replayed else "ok")
        return SubmitResult(receipt, status_after_write(self.engine, self.context, state, [receipt],
                                                                     self.writer.maintainer))

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
        if evaluation.impossible:  # implausible (reviewable) numbers are recorded and held for review
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


def _own_entries(state: PrecinctState, actor: str) -> dict[Stage, LedgerEntry]:
    """``actor``'s current (not corrected) hotline entry of each stage."""
    mine: dict[Stage, LedgerEntry] = {}
    for entry in state.entries:
        if entry.channel == "hotline" and entry.actor == actor and entry.seq not in state.superseded:
            mine[entry.stage] = entry
    return mine
