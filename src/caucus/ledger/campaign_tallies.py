"""The campaigns' own tallies: append-only, hash-chained per election and campaign, never counted.

A campaign (a preference group's staff) records what its precinct captains wrote down: first and final
alignment and SDEs per group. Each row's ``content_hash`` is the SHA-256 of the canonical JSON of its content
and ``prev_hash`` (the previous row of the same election and campaign; 64 zeros for the first), as in the
ledger (:mod:`caucus.ledger.chain`). The table is separate from ``ledger_entries`` on purpose: status,
four eyes, releases and ``caucus verify``'s ledger chain read ``ledger_entries`` only, so a campaign's
numbers can never count, never be compared with another campaign's and never be published.

Rows are never changed: a new row for a precinct replaces the campaign's earlier one (the newest row of the
current epoch is the campaign's tally). :func:`verify_campaign_chains` checks every campaign's chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from caucus.ledger.chain import GENESIS_HASH
from caucus.ledger.db import is_sqlite, iso_utc
from caucus.ledger.model import canonical_json
from caucus.ledger.schema import campaign_tallies, election_epochs

#: pg_advisory_xact_lock class id of the campaign chains (one lock per election)
_LOCK_CLASS = 13


@dataclass(frozen=True)
class TallyRow:
    """One precinct's numbers as a campaign recorded them."""

    precinct_code: str
    numbers: Mapping[str, Any]
    source: str


@dataclass(frozen=True)
class StoredTally:
    id: int
    campaign: str
    precinct_code: str
    numbers: dict[str, Any]
    source: str
    actor: str
    received_at: datetime
    content_hash: str


def tally_hash(*, election_id: int, campaign: str, epoch: int, precinct_code: str, numbers_json: str,
               source: str, actor: str, received_at: datetime, prev_hash: str) -> str:
    document = {"actor": actor, "campaign": campaign, "election_id": election_id, "epoch": epoch,
                "numbers": numbers_json, "precinct": precinct_code, "prev_hash": prev_hash,
                "received_at": iso_utc(received_at), "source": source}
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def current_epoch(conn: Connection, election_id: int) -> int:
    """The election's epoch number (0 before any go-live or reset; each adds one)."""
    return int(conn.execute(select(func.count()).select_from(election_epochs)
                            .where(election_epochs.c.election_id == election_id)).scalar_one())


def record(conn: Connection, *, election_id: int, campaign: str, rows: Sequence[TallyRow], actor: str,
           at: datetime) -> int:
    """Append ``rows`` to the campaign's chain in the caller's write transaction; returns how many."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k, :e)"), {"k": _LOCK_CLASS, "e": election_id})
    prev = conn.execute(select(campaign_tallies.c.content_hash)
                        .where(campaign_tallies.c.election_id == election_id, campaign_tallies.c.campaign == campaign)
                        .order_by(campaign_tallies.c.id.desc()).limit(1)).scalar() or GENESIS_HASH
    epoch = current_epoch(conn, election_id)
    values = []
    for row in rows:
        numbers_json = canonical_json(row.numbers)
        content = tally_hash(election_id=election_id, campaign=campaign, epoch=epoch,
                             precinct_code=row.precinct_code, numbers_json=numbers_json, source=row.source[:300],
                             actor=actor, received_at=at, prev_hash=prev)
        values.append({"election_id": election_id, "campaign": campaign, "epoch": epoch,
                       "precinct_code": row.precinct_code, "numbers": numbers_json, "source": row.source[:300],
                       "actor": actor, "received_at": at, "prev_hash": prev, "content_hash": content})
        prev = content
    # one row at a time: the chain's order is the id order
    for value in values:
        conn.execute(campaign_tallies.insert().values(**value))
    return len(values)


def current_tallies(conn: Connection, election_id: int, campaign: str) -> dict[str, StoredTally]:
    """The campaign's tally per precinct in the current epoch (its newest row for each precinct)."""
    epoch = current_epoch(conn, election_id)
    found: dict[str, StoredTally] = {}
    for row in conn.execute(select(campaign_tallies).where(
            campaign_tallies.c.election_id == election_id, campaign_tallies.c.campaign == campaign,
            campaign_tallies.c.epoch == epoch).order_by(campaign_tallies.c.id)):
        found[row.precinct_code] = StoredTally(row.id, row.campaign, row.precinct_code, json.loads(row.numbers),
                                               row.source, row.actor, row.received_at, row.content_hash)
    return found


@dataclass(frozen=True)
class TallyChainReport:
    campaign: str
    ok: bool
    rows_checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def _check(campaign: str, rows: Iterable[Any]) -> TallyChainReport:
    prev = GENESIS_HASH
    checked = 0
    for row in rows:
        checked += 1
        problem = None
        if row.prev_hash != prev:
            problem = f"prev_hash {row.prev_hash[:12]}… does not match the previous row's hash {prev[:12]}…"
        elif canonical_json(json.loads(row.numbers)) != row.numbers:
            problem = "numbers are not in canonical JSON form"
        elif tally_hash(election_id=row.election_id, campaign=row.campaign, epoch=row.epoch,
                        precinct_code=row.precinct_code, numbers_json=row.numbers, source=row.source,
                        actor=row.actor, received_at=row.received_at, prev_hash=row.prev_hash) != row.content_hash:
            problem = "content hash does not match the row's content"
        if problem is not None:
            return TallyChainReport(campaign, False, checked, row.id, problem)
        prev = row.content_hash
    return TallyChainReport(campaign, True, checked)


def verify_campaign_chains(engine: Engine, election_id: int) -> list[TallyChainReport]:
    """Every campaign's chain in the election, checked row by row in id order."""
    with engine.connect() as conn:
        campaigns = list(conn.execute(select(campaign_tallies.c.campaign).distinct()
                                      .where(campaign_tallies.c.election_id == election_id)).scalars())
        return [_check(c, conn.execute(select(campaign_tallies).where(
            campaign_tallies.c.election_id == election_id, campaign_tallies.c.campaign == c)
            .order_by(campaign_tallies.c.id))) for c in sorted(campaigns)]
