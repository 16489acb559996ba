"""The rehearsal's verdicts: what the ledger holds against what the clients were told, and the published
totals against the ground truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from caucus.ledger import entries
from caucus.ledger.schema import elections, photos
from caucus.rehearse.night import Tally
from caucus.rehearse.published import Published
from caucus.rehearse.truth import GroundTruth
from caucus.service import load_context
from caucus.service.status import read_statuses

REPORT_KINDS = {"report", "correction", "replay", "miscount"}


@dataclass
class LedgerCheck:
    rows: int = 0
    acknowledged: int = 0  # distinct reports acknowledged with a 2xx
    lost: int = 0  # acknowledged but not in the ledger
    duplicates: int = 0  # a second root entry for one precinct, stage and sender (no supersession)
    recorded_unacknowledged: int = 0  # in the ledger although its sender never saw an acknowledgment
    refused: int = 0  # refusals (4xx), expected ones included
    unexpected_refusals: list[str] = field(default_factory=list)
    content_mismatches: list[str] = field(default_factory=list)  # current numbers differ from the truth
    photos_acknowledged: int = 0
    photos_lost: int = 0
    chain_ok: bool = False
    unpublished: list[str] = field(default_factory=list)  # units that should be published and are not


def _numbers(payload: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a stage payload, without the flags and zero counts (the app sends 0 for a group that
    emptied; the truth leaves it out)."""
    out: dict[str, Any] = {}
    for k, v in payload.items():
        if k in ("confirmed", "in_person", "early") or (k == "chance" and not v):
            continue
        out[k] = {g: n for g, n in v.items() if n} if isinstance(v, dict) else v
    return out


def check_ledger(engine: Engine, slug: str, tally: Tally, truth: GroundTruth) -> LedgerCheck:
    every = entries(engine, slug)
    check = LedgerCheck(rows=len(every))
    keys = {e.idempotency_key for e in every}
    # the numbers that count: a rehearsal before going live stays in the ledger but counts for nothing
    rows = entries(engine, slug, counting=True)
    reports = [s for s in tally.sent if s.kind in REPORT_KINDS]
    acked = {s.key for s in reports if s.acked_at is not None}
    check.acknowledged = len(acked)
    check.lost = len(acked - keys)
    sent_keys = {s.key for s in reports}
    check.recorded_unacknowledged = len((keys & sent_keys) - acked)
    # a correction of several stages: one key for the request, one entry per stage (its receipts' seqs)
    seqs = {e.seq for e in every}
    together = [s for s in tally.sent if s.kind == "corrections" and s.acked_at is not None]
    check.acknowledged += len(together)
    check.lost += sum(1 for s in together if not s.seqs or not set(s.seqs) <= seqs)
    # one root entry per precinct, stage and sender (the hotline's two operators each key in every stage)
    roots = Counter((e.precinct_code, e.channel, e.stage, e.actor) for e in rows if e.supersedes_seq is None)
    check.duplicates = sum(n - 1 for n in roots.values() if n > 1)
    for s in tally.sent:
        if s.refused is not None:
            check.refused += 1
            if s.kind != "refused":
                check.unexpected_refusals.append(f"{s.precinct} {s.stage}: {s.refused}")
    superseded = {e.supersedes_seq for e in rows if e.supersedes_seq is not None}
    current: dict[tuple[str, str], Any] = {}
    for e in rows:  # every sender's current entry must hold the truth's numbers
        if e.seq not in superseded:
            if (e.precinct_code, e.stage) in current and _numbers(dict(current[e.precinct_code, e.stage])) != \
                    _numbers(dict(e.payload)):
                check.content_mismatches.append(f"{e.precinct_code} {e.stage}: senders disagree")
            current[e.precinct_code, e.stage] = e.payload
    for unit in truth.precincts:
        for body in unit.totals_bodies():
            want = _numbers({k: v for k, v in body.items() if k != "stage"})
            got = current.get((unit.code, body["stage"]))
            if got is None or _numbers(dict(got)) != want:
                check.content_mismatches.append(f"{unit.code} {body['stage']}: ledger {got}, truth {want}")
    photo_keys = {s.key for s in tally.sent if s.kind == "photo" and s.acked_at is not None}
    check.photos_acknowledged = len(photo_keys)
    if photo_keys:
        with engine.connect() as conn:
            stored = set(conn.execute(select(photos.c.idempotency_key).join(
                elections, elections.c.id == photos.c.election_id).where(elections.c.slug == slug)).scalars())
        check.photos_lost = len(photo_keys - stored)
    return check


def unpublished(engine: Engine, slug: str, truth: GroundTruth, published_codes: set[str]) -> list[str]:
    """The units that should be published and are not, each with its derived state and reasons."""
    context = load_context(engine, slug)
    statuses = read_statuses(engine, context)
    out = []
    for unit in truth.published:
        if unit.code not in published_codes:
            status = statuses.get(unit.code)
            why = f"{status.state}: {'; '.join(status.reasons)}" if status is not None else "no entries"
            out.append(f"{unit.code} ({why})")
    return out


def compare_totals(truth: GroundTruth, published: Published | None) -> dict[str, Any]:
    """Per candidate and measure, the truth and the published value; ``identical`` if every one agrees."""
    expected = truth.totals()
    if published is None:
        return {"identical": False, "why": "nothing was published", "rows": []}
    rows, identical = [], True
    for name, want in expected.items():
        got = published.candidates.get(name, {"first": 0, "final": 0, "delegates": 0, "sde": 0})
        row: dict[str, Any] = {"candidate": name}
        for measure in ("first", "final", "delegates", "sde"):
            same = Decimal(str(got[measure])) == Decimal(str(want[measure]))
            identical &= same
            row[measure] = {"truth": str(want[measure]), "published": str(got[measure]), "same": same}
        rows.append(row)
    extra = sorted(set(published.candidates) - set(expected))
    return {"identical": identical and not extra, "rows": rows, "unexpected_candidates": extra}
