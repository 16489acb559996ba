"""Recanvass and recount requests: a campaign names precincts and a reason; reviewers re-check the worksheets
(recanvass) or the preference cards (recount) and either correct stages through the ledger (the reason
carries the request's id ``R-<n>``) or record that the precinct's numbers stand. The request's status and
the before/after difference per precinct and statewide are derived from the ledger: "before" is each
precinct's state as of the request (the ledger up to its newest entry then), "after" its current state.
The release service publishes the difference with the next release (it reads the corrections' reasons).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from caucus.ledger import LedgerEntry, Stage, entries
from caucus.ledger import audit as ledger_audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.epochs import counted
from caucus.ledger.schema import ledger_entries, recanvass_requests, review_decisions
from caucus.ledger.state import derive_state
from caucus.rules import published_sdes
from caucus.service.context import ElectionContext
from caucus.service.errors import UnknownPrecinctCode
from caucus.service.hq_errors import StaffInputInvalid, UnknownRecanvass
from caucus.service.review import ReviewService
from caucus.service.status import PrecinctStatus, derive_status, read_status

Kind = Literal["recanvass", "recount"]
REQUEST_ID = re.compile(r"R-([1-9][0-9]{0,8})")


@dataclass(frozen=True)
class RecanvassRequest:
    id: int
    kind: str
    campaign: str
    precincts: tuple[str, ...]
    reason: str
    actor: str
    at: datetime
    as_of_seq: int

    @property
    def label(self) -> str:
        return f"R-{self.id}"


@dataclass(frozen=True)
class PrecinctDifference:
    code: str
    outcome: str  # pending | changed | unchanged
    before: PrecinctStatus
    after: PrecinctStatus
    corrections: tuple[LedgerEntry, ...]

    def _latest(self, which: str, stage: Stage) -> dict[str, Any]:
        status = self.before if which == "before" else self.after
        current = status.stages.get(stage)
        return current[-1].payload if current else {}

    def delegates(self, which: str) -> dict[str, int]:
        """The delegates the precinct reports (its latest current entry), before or after."""
        return {g: int(n) for g, n in (self._latest(which, "delegates").get("delegates") or {}).items()}

    def sde(self, which: str) -> dict[str, Decimal]:
        """The SDEs of the reported delegates, as published (4 decimals, half up): what the public sees."""
        ratio = self.after.info.sde_ratio
        return published_sdes(self.delegates(which), ratio) if ratio is not None else {}

    def final(self, which: str) -> dict[str, int]:
        return {g: int(n) for g, n in (self._latest(which, "final").get("counts") or {}).items()}


@dataclass(frozen=True)
class RecanvassProgress:
    request: RecanvassRequest
    precincts: tuple[PrecinctDifference, ...]

    @property
    def status(self) -> str:
        return "complete" if all(p.outcome != "pending" for p in self.precincts) else "open"

    def statewide_sde(self, which: str) -> dict[str, Decimal]:
        """The SDEs of the request's precincts summed, before or after."""
        total: dict[str, Decimal] = {}
        for item in self.precincts:
            for group, value in item.sde(which).items():
                total[group] = total.get(group, Decimal(0)) + value
        return total

    def statewide_change(self) -> dict[str, Decimal]:
        before, after = self.statewide_sde("before"), self.statewide_sde("after")
        return {g: after.get(g, Decimal(0)) - before.get(g, Decimal(0))
                for g in sorted({*before, *after}) if after.get(g, Decimal(0)) != before.get(g, Decimal(0))}


def parse_request_id(text: str) -> int:
    match = REQUEST_ID.fullmatch(text.strip())
    if match is None:
        raise UnknownRecanvass(f"{text!r} is not a recanvass request id; ids look like R-1")
    return int(match.group(1))


class RecanvassService:
    def __init__(self, engine: Engine, context: ElectionContext, review: ReviewService, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.context, self.review, self.clock = engine, context, review, clock

    def create(self, actor: str, *, campaign: str, kind: str, precincts: Sequence[str], reason: str
               ) -> RecanvassRequest:
        campaign, reason = campaign.strip(), reason.strip()
        if not campaign:
            raise StaffInputInvalid("campaign", "name the campaign that asks for it")
        if kind not in ("recanvass", "recount"):
            raise StaffInputInvalid("kind", f"kind is recanvass or recount; got {kind!r}")
        codes = list(dict.fromkeys(p.strip() for p in precincts if p.strip()))
        if not codes:
            raise StaffInputInvalid("precincts", "name at least one precinct (codes like Adair/04SE, one per line)")
        known = {c: self._canonical(c) for c in codes}
        unknown = [c for c, canonical in known.items() if canonical is None]
        if unknown:
            raise StaffInputInvalid("precincts", f"no such precinct in this election: {', '.join(unknown[:5])}")
        codes = list(dict.fromkeys(canonical for canonical in known.values() if canonical is not None))
        if not reason:
            raise StaffInputInvalid("reason", "give the campaign's reason")
        now = self.clock()
        with write_transaction(self.engine) as conn:
            as_of = conn.execute(select(func.coalesce(func.max(ledger_entries.c.seq), 0)).where(
                ledger_entries.c.election_id == self.context.election_id)).scalar_one()
            request_id = conn.execute(recanvass_requests.insert().values(
                election_id=self.context.election_id, kind=kind, campaign=campaign[:200], precincts=json.dumps(codes),
                reason=reason[:2000], actor=actor, at=now, as_of_seq=as_of).returning(recanvass_requests.c.id)
            ).scalar_one()
            ledger_audit.record(conn, election_id=self.context.election_id, at=now, actor=actor,
                                action="recanvass.request",
                                detail={"request": f"R-{request_id}", "kind": kind, "campaign": campaign,
                                        "precincts": codes, "reason": reason}, outcome="ok")
        return RecanvassRequest(request_id, kind, campaign, tuple(codes), reason, actor, now, int(as_of))

    def list(self) -> list[RecanvassRequest]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(recanvass_requests).where(
                recanvass_requests.c.election_id == self.context.election_id,
                counted(recanvass_requests.c.id, self.context.election_id, "requests_after_id"))
                .order_by(recanvass_requests.c.id))
            return [_request(r) for r in rows]

    def get(self, request_id: int) -> RecanvassRequest:
        found = [r for r in self.list() if r.id == request_id]
        if not found:
            raise UnknownRecanvass(f"there is no recanvass request R-{request_id}")
        return found[0]

    def _canonical(self, code: str) -> str | None:
        """The plan's code for a code as typed (case and spaces ignored), or None."""
        try:
            return self.context.precinct(code).code
        except UnknownPrecinctCode:
            return None

    def _covering(self, request_id: int, precinct: str) -> RecanvassRequest:
        request = self.get(request_id)
        if precinct not in request.precincts:
            raise StaffInputInvalid("precinct", f"precinct {precinct} is not part of request {request.label}")
        return request

    def correct(self, reviewer: str, request_id: int, precinct: str, corrected: Mapping[Stage, Mapping[str, Any]],
                *, note: str, key: str, supersedes: Mapping[Stage, int] | None = None) -> PrecinctStatus:
        """Correct the precinct's stages in ``corrected`` together, as one correction whose reason carries
        the request's id (``R-<n> recanvass: <note>``)."""
        request = self._covering(request_id, precinct)
        note = note.strip()
        if not note:
            raise StaffInputInvalid("note", "say what the re-check found (e.g. 'worksheet shows 8 for Klobuchar')")
        return self.review.correct(reviewer, precinct, corrected, key=key,
                                   reason=f"{request.label} {request.kind}: {note}", supersedes=supersedes)

    def unchanged(self, reviewer: str, request_id: int, precinct: str, note: str) -> PrecinctStatus:
        request = self._covering(request_id, precinct)
        status = read_status(self.engine, self.context, precinct)
        if not status.history:
            raise StaffInputInvalid("precinct", f"precinct {precinct} has reported nothing to confirm")
        return self.review.accept_precinct(reviewer, precinct, status.history[-1].seq,
                                           f"{request.label} {request.kind}: {note}", request_id=request.id,
                                           decision="recanvass-unchanged")

    def progress(self, request_id: int) -> RecanvassProgress:
        request = self.get(request_id)
        tag = re.compile(rf"\b{request.label}\b")
        with self.engine.connect() as conn:
            confirmed = set(conn.execute(select(review_decisions.c.precinct_code).where(
                review_decisions.c.election_id == self.context.election_id,
                review_decisions.c.request_id == request.id,
                review_decisions.c.decision == "recanvass-unchanged")).scalars())
        items = []
        for code in request.precincts:
            info = self.context.precinct(code)
            rows = entries(self.engine, self.context.slug, code, counting=True)
            then = [e for e in rows if e.seq <= request.as_of_seq]
            before = derive_status(self.context, info, derive_state(self.context.slug, code, then))
            after = read_status(self.engine, self.context, code)
            corrections = tuple(e for e in rows if e.reason and tag.search(e.reason))
            outcome = "changed" if corrections else ("unchanged" if code in confirmed else "pending")
            items.append(PrecinctDifference(code, outcome, before, after, corrections))
        return RecanvassProgress(request, tuple(items))


def _request(row: Any) -> RecanvassRequest:
    return RecanvassRequest(row.id, row.kind, row.campaign, tuple(json.loads(row.precincts)), row.reason, row.actor,
                            row.at, row.as_of_seq)
