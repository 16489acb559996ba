"""What the campaigns' cross-check, its CSV, the recanvass request and the requests page read of the maintained
state (issue 15), not a derivation of every precinct per request.

For the precincts a campaign has tallies for (or names in a request): their status rows (``precinct_status``:
the state, its reason codes, ``last_seq`` against ``released_seq`` and ``released_number``) and their released
records by primary key (``release_precincts``), a bounded batch of codes per statement; the statewide released
SDEs from ``released_sde_totals`` (revision 0018, kept by the releases) and how many precincts are released from
the index on ``released_number``. While some status rows are stale the callers derive every precinct instead
(:meth:`caucus.service.campaigns.CampaignService.views`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from caucus.ledger import derived
from caucus.ledger.schema import precinct_status, precincts, release_precincts, releases

Record = dict[str, Any]
#: precinct codes per statement
CODES_PER_READ = 500


@dataclass(frozen=True)
class MaintainedView:
    """A precinct's state now and its newest released record of the epoch, as the rows hold them."""

    code: str
    state: str  # a status name ("not-reported" without a row)
    codes: tuple[str, ...]  # reason codes
    awaiting: bool  # accepted, and not released or with entries newer than the released record
    number: int | None  # the release of its newest released record
    record: Record | None


def _chunks(codes: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(codes), CODES_PER_READ):
        yield list(codes[start:start + CODES_PER_READ])


def views_of(conn: Connection, election_id: int, codes: Collection[str]) -> dict[str, MaintainedView]:
    """The maintained view of each of ``codes`` the plan has (precincts without a status row: not reported)."""
    out: dict[str, MaintainedView] = {}
    status = precinct_status.c
    for chunk in _chunks(sorted(codes)):
        rows = conn.execute(
            select(precincts.c.code, status.state, status.codes, status.released_seq, status.last_seq,
                   status.released_number, release_precincts.c.record)
            .select_from(precincts.outerjoin(precinct_status, status.precinct_id == precincts.c.id).outerjoin(
                release_precincts, (release_precincts.c.election_id == precincts.c.election_id)
                & (release_precincts.c.number == status.released_number)
                & (release_precincts.c.precinct_code == precincts.c.code)))
            .where(precincts.c.election_id == election_id, precincts.c.code.in_(chunk))).all()
        for row in rows:
            state = row.state or "not-reported"
            accepted = state == "accepted"
            released = row.released_number is not None and row.record is not None
            out[row.code] = MaintainedView(
                row.code, state, tuple(c for c in (row.codes or "").split(",") if c),
                accepted and (row.released_seq is None or row.released_seq != row.last_seq),
                int(row.released_number) if released else None, json.loads(row.record) if released else None)
    return out


def released_count(conn: Connection, election_id: int) -> int:
    """How many precincts the epoch's releases published (along the index on ``released_number``)."""
    return int(conn.execute(select(func.count()).select_from(precinct_status).where(
        precinct_status.c.election_id == election_id, precinct_status.c.released_number.is_not(None))).scalar_one())


def statewide_sde(conn: Connection, election_id: int) -> dict[str, Decimal]:
    """Every released precinct's SDEs as published, summed per group (the maintained totals)."""
    return derived.stored_sde(conn, election_id)


def histories(conn: Connection, election_id: int, releases_through: int, codes: Collection[str]
              ) -> dict[str, list[tuple[int, Record]]]:
    """Every record the epoch's releases published of ``codes`` (zero-count releases left out), oldest first."""
    out: dict[str, list[tuple[int, Record]]] = {}
    for chunk in _chunks(sorted(codes)):
        for row in conn.execute(
                select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record)
                .join(releases, (releases.c.election_id == release_precincts.c.election_id)
                      & (releases.c.number == release_precincts.c.number))
                .where(release_precincts.c.election_id == election_id, release_precincts.c.precinct_code.in_(chunk),
                       release_precincts.c.number > releases_through, releases.c.zero.is_(False))
                .order_by(release_precincts.c.number)):
            out.setdefault(row.precinct_code, []).append((int(row.number), json.loads(row.record)))
    return out
