"""The review queue and the reviewers' actions. Everything a reviewer does goes through the ledger.

- The queue: every precinct that is conflicting, held for review (findings), waiting for a pending game of
  chance, waiting for a hotline confirmation, or with stages missing after some were reported.
- A precinct's review view: every channel's numbers side by side, per stage, with the groups whose numbers
  differ; the findings in plain words; the history.
- Accept a version: every other current entry of that stage that differs is corrected (a new ledger row
  superseding it, actor ``reviewer:<name>``, reason ``review: accepted entry #N ...``), so the channels agree.
- Accept a precinct held for findings as it stands: a ``review_decisions`` row naming the precinct's newest
  ledger entry; a later entry makes the decision stale (the precinct is held again).
- Correct a stage with a reason: every current entry of the stage is superseded by the reviewer's numbers
  (the same checks as the app; a reason carrying a recanvass id ``R-<n>`` links it to that request).
- Transcribe a worksheet photo: a new ``paper`` channel report keyed in by the reviewer.
- Message the chair: :class:`caucus.service.media.MessageService` (shown in the chair app).
Every action also writes an audit event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, select

from caucus.ledger import LedgerEntry, Stage, Submission, Writer, precinct_state
from caucus.ledger import audit as ledger_audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.meaning import normal_payload, same_meaning
from caucus.ledger.schema import review_decisions
from caucus.service.chance_entry import ChanceStep, KeyedGame, chance_step, check_recorded_chance
from caucus.service.context import ElectionContext
from caucus.service.corrections import Correction, StageCorrection
from caucus.service.errors import LedgerTimeout
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES
from caucus.service.hq_errors import ReviewActionInvalid, StaffInputInvalid
from caucus.service.maintained import QueueItem, StatusKeeper, queue_items
from caucus.service.release_records import public_source
from caucus.service.reports import ReportService, StageReport, SubmitResult
from caucus.service.status import QUEUE_ORDER, PrecinctStatus, queue_reasons, read_status


class MessageSender(Protocol):
    def send(self, precinct_code: str, *, text: str, actor: str, kind: str = "note") -> Any: ...


@dataclass(frozen=True)
class Version:
    entry: LedgerEntry
    numbers: Mapping[str, Any]
    counts: bool  # whether this entry counts (not an unconfirmed hotline entry)


@dataclass(frozen=True)
class StageView:
    stage: Stage
    title: str
    versions: tuple[Version, ...]
    groups: tuple[str, ...]  # rows of the side-by-side table
    differing: frozenset[str]  # groups (or "attendance") whose numbers differ between versions


CHANCE_ROW = "game of chance"


def _numbers(payload: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("counts", "delegates"):
        if isinstance(payload.get(key), Mapping):
            numbers = dict(payload[key])
            games = [g for g in payload.get("chance") or () if isinstance(g, Mapping)]
            if games:
                numbers[CHANCE_ROW] = "; ".join(
                    f"{', '.join(g.get('selected') or ())} {g.get('kind')} (among {', '.join(g.get('among') or ())})"
                    for g in games)
            return numbers
    return {"attendance": payload.get("attendance")}


class ReviewService:
    def __init__(self, engine: Engine, writer: Writer, context: ElectionContext, reports: ReportService, *,
                 clock: Callable[[], datetime] = utcnow, messages: MessageSender | None = None,
                 write_timeout: float = 30.0) -> None:
        self.engine, self.writer, self.context, self.reports = engine, writer, context, reports
        self.clock = clock
        self.messages = messages
        self.write_timeout = write_timeout
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------------------------------------
    def queue(self, statuses: Mapping[str, PrecinctStatus] | None = None) -> list[QueueItem]:
        """Every precinct that needs a person, most urgent first: from the maintained status rows
        (:mod:`caucus.service.maintained`), or from ``statuses`` if given."""
        if statuses is None:
            return self.queue_page()[0]
        items = []
        for code, status in statuses.items():
            why = queue_reasons(status)
            if why:
                items.append(QueueItem(code, status.info.county, status.info.name, status.state, why,
                                       status.reasons, status.history[-1].seq if status.history else None))
        return sorted(items, key=lambda i: (QUEUE_ORDER.index(i.why[0]), i.last_seq or 0))

    def queue_page(self, limit: int | None = None) -> tuple[list[QueueItem], int]:
        """The first ``limit`` precincts of the queue and its length (an indexed query on the status rows)."""
        return queue_items(self.engine, self.context, limit)

    def status(self, precinct: str) -> PrecinctStatus:
        return read_status(self.engine, self.context, precinct)

    def side_by_side(self, status: PrecinctStatus) -> list[StageView]:
        views = []
        for stage in STAGE_ORDER:
            entries = status.stages.get(stage, ())
            if not entries:
                continue
            unconfirmed = status.unconfirmed_hotline.get(stage)
            versions = tuple(Version(e, _numbers(e.payload), e != unconfirmed) for e in entries)
            # what differs is judged on the meaning: a 0 on one side and a blank on the other is no difference
            meant = [_numbers(normal_payload(stage, e.payload)) for e in entries]
            groups = sorted({g for v in versions for g in v.numbers}, key=lambda g: (g == CHANCE_ROW, g))
            differing = frozenset(g for g in groups if len({repr(m.get(g)) for m in meant}) > 1)
            views.append(StageView(stage, STAGE_TITLES[stage], versions, tuple(groups), differing))
        return views

    # -- actions -----------------------------------------------------------------------------------------
    def accept_version(self, reviewer: str, precinct: str, seq: int, note: str, key: str) -> PrecinctStatus:
        """Make every current entry of entry ``seq``'s stage agree with it (ledger corrections)."""
        note = _required(note, "note", "say why this version is the right one (e.g. 'matches the worksheet photo')")
        with self._lock:
            status = self.status(precinct)
            chosen = next((e for e in status.history if e.seq == seq), None)
            if chosen is None or chosen.seq in status.superseded_by:
                raise ReviewActionInvalid(f"entry #{seq} is not one of precinct {precinct}'s current entries")
            targets = [e for e in status.stages.get(chosen.stage, ()) if not same_meaning(e, chosen)]
            if not targets:
                raise ReviewActionInvalid(f"every channel already agrees with entry #{seq}")
            # the reason is published with the correction: who made the entry by role, never by username
            reason = f"review: accepted entry #{seq} ({chosen.channel}, {public_source(chosen)[1]}): {note}"
            for target in targets:
                self._write(precinct, target, chosen.payload, reviewer, reason=reason, key=f"{key}:{target.seq}")
        self._audit(reviewer, "review.accept-version", {"precinct": precinct, "seq": seq,
                                                        "corrected": [t.seq for t in targets], "note": note})
        return self.status(precinct)

    def accept_precinct(self, reviewer: str, precinct: str, last_seq: int, note: str,
                        *, request_id: int | None = None, decision: str = "accept") -> PrecinctStatus:
        """Accept the precinct's findings as they stand at ledger entry ``last_seq`` (its newest entry)."""
        note = _required(note, "note", "say why the findings are acceptable")
        status = self.status(precinct)
        newest = status.history[-1].seq if status.history else None
        if newest != last_seq:
            raise ReviewActionInvalid(f"precinct {precinct} changed since you looked (newest entry is now "
                                      f"#{newest}); review it again")
        if decision == "accept" and status.state != "held-for-review":
            raise ReviewActionInvalid(f"precinct {precinct} is {status.state}, not held for review: only findings "
                                      "can be accepted this way (resolve a conflict by accepting a version)")
        if decision == "accept" and status.evaluation.impossible:
            raise ReviewActionInvalid("these numbers are impossible under the rules ("
                                      + "; ".join(f.message for f in status.evaluation.impossible)
                                      + "); correct them from the worksheet instead of accepting them")
        now = self.clock()
        with write_transaction(self.engine) as conn:
            conn.execute(review_decisions.insert().values(
                election_id=self.context.election_id, precinct_code=precinct, decision=decision, last_seq=last_seq,
                actor=reviewer, at=now, note=note, request_id=request_id))
            ledger_audit.record(conn, election_id=self.context.election_id, at=now, actor=reviewer,
                                action=f"review.{decision}",
                                detail={"precinct": precinct, "last_seq": last_seq, "note": note,
                                        "request": request_id}, outcome="ok")
            StatusKeeper(self.context).refresh(conn, [precinct])  # the decision changes the status: same transaction
        return self.status(precinct)

    def correct(self, reviewer: str, precinct: str, corrected: Mapping[Stage, Mapping[str, Any]], *, reason: str,
                key: str, supersedes: Mapping[Stage, int] | None = None) -> PrecinctStatus:
        """Supersede every current entry of each stage in ``corrected`` with the reviewer's numbers, as ONE
        correction (:meth:`ReportService.correct`): checked and recomputed as the corrected whole with the
        precinct's other stages, recorded all or none. ``supersedes``: the entry the reviewer saw per stage."""
        reason = _required(reason, "reason", "a correction needs a reason")
        if not corrected:
            raise StaffInputInvalid("stage", "name at least one stage to correct")
        stages = tuple(StageCorrection(stage, payload, (supersedes or {}).get(stage))
                       for stage, payload in corrected.items())
        result = self.reports.correct(precinct, Correction(stages, reason), key, actor=reviewer, channel=None)
        if not result.replayed:
            self._audit(reviewer, "review.correct", {
                "precinct": precinct, "stages": list(corrected), "reason": reason,
                "correction": result.correction_id,
                "corrected": [r.supersedes_seq for r in result.receipts],
                "payloads": {s: dict(p) for s, p in corrected.items()}})
        return result.status

    def transcribe(self, reviewer: str, precinct: str, report: StageReport, key: str,
                   photo_id: int | None = None) -> SubmitResult:
        """Key in a stage from a worksheet photo as a ``paper`` report (the app's checks, its own channel).
        A final alignment's games of chance are checked game by game first (errors name ``chance.<i>.*``)."""
        if report.stage == "final":
            check_recorded_chance(self.context.precinct(precinct), self.context.ruleset, self.context.candidates,
                                  self._paper_payloads(precinct), report.payload)
        result = self.reports.submit(precinct, report, key, channel="paper", actor=reviewer)
        self._audit(reviewer, "review.transcribe", {"precinct": precinct, "stage": report.stage, "photo": photo_id,
                                                    "seq": result.receipt.seq})
        return result

    def paper_chance_step(self, precinct: str, counts: Mapping[str, Any], games: Sequence[KeyedGame]) -> ChanceStep:
        """Who is tied for what in a final alignment transcribed from the worksheet, given the games keyed so
        far (with the paper channel's own attendance and first alignment)."""
        return chance_step(self.context.precinct(precinct), self.context.ruleset, self.context.candidates,
                           self._paper_payloads(precinct), counts=counts, games=games)

    def _paper_payloads(self, precinct: str) -> dict[Stage, Mapping[str, Any]]:
        state = precinct_state(self.engine, self.context.slug, self.context.precinct(precinct).code)
        return {stage: entry.payload for (channel, stage), entry in state.current.items() if channel == "paper"}

    def message_chair(self, reviewer: str, precinct: str, text: str, kind: str = "note") -> Any:
        text = _required(text, "text", "write the message to the chair")
        self.context.precinct(precinct)
        if self.messages is None:
            raise ReviewActionInvalid("messages to chairs are not available on this server yet")
        sent = self.messages.send(precinct, text=text, actor=reviewer, kind=kind)
        self._audit(reviewer, "review.message", {"precinct": precinct, "kind": kind, "text": text})
        return sent

    # -- helpers -----------------------------------------------------------------------------------------
    def _write(self, precinct: str, target: LedgerEntry, payload: Mapping[str, Any], reviewer: str, *, reason: str,
               key: str) -> None:
        submission = Submission(election=self.context.slug, precinct_code=precinct, channel=target.channel,
                                stage=target.stage, payload=payload, actor=reviewer, idempotency_key=key[:200],
                                supersedes_seq=target.seq, reason=reason)
        try:
            self.writer.submit(submission, timeout=self.write_timeout)
        except TimeoutError:
            raise LedgerTimeout(self.write_timeout) from None

    def _audit(self, actor: str, action: str, detail: Mapping[str, Any]) -> None:
        with write_transaction(self.engine) as conn:
            ledger_audit.record(conn, election_id=self.context.election_id, at=self.clock(), actor=actor,
                                action=action, detail=detail, outcome="ok")

    def decisions(self, precinct: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(review_decisions).where(
                review_decisions.c.election_id == self.context.election_id,
                review_decisions.c.precinct_code == precinct).order_by(review_decisions.c.id))
            return [dict(r._mapping) for r in rows]


def _required(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise StaffInputInvalid(field, message)
    return value[:1000]
