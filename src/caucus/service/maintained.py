"""Each precinct's status, maintained in ``precinct_status`` (:mod:`caucus.ledger.derived`) and read from it.

:class:`StatusKeeper` is the ledger writer's state maintainer: in each batch's transaction it derives the status
of every precinct the batch appended to (:func:`caucus.service.status.derive_status`, with the review decisions
read in the same transaction) and writes its row; a review decision re-derives its precinct in the decision's
transaction (:meth:`StatusKeeper.refresh`). :meth:`StatusKeeper.rebuild` rewrites every row from the ledger and
:func:`check` compares the rows with a fresh derivation (``caucus state``, ``caucus verify``).

HQ's queue and night pages read the rows (:func:`night_summary`, :func:`queue_items`): counts by state and
county, the reporting curve and the stuck list are indexed queries, not a derivation of every precinct per
request. A stale row (written by a writer without a keeper) is derived on read.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, func, literal, null, select, union_all

from caucus.ledger import derived, readiness
from caucus.ledger.db import is_sqlite, write_transaction
from caucus.ledger.derived import QUARTER_SECONDS, StatusRow
from caucus.ledger.epochs import read_epoch
from caucus.ledger.schema import elections, precinct_status, precincts, review_decisions
from caucus.ledger.state import PrecinctState, counted_states
from caucus.service.context import ElectionContext
from caucus.service.status import (
    DECISIONS_THAT_COUNT,
    QUEUE_ORDER,
    STATUS_NAMES,
    PrecinctStatus,
    ReviewDecision,
    decisions_in,
    derive_status,
    queue_reasons,
    read_status,
    read_statuses,
    reason_codes,
)

#: statuses the writer derived, kept for the request that waits for the write (by the entry's content hash)
REMEMBERED = 4096
#: precincts re-derived per transaction by :meth:`StatusKeeper.repair`
CHUNK = 5000


#: the review decisions that count of some precincts (by code) and, in the same columns, the precincts' current
#: status rows (by id: county, state and first quarter as code, decision and last_seq); the writer's batch reads
#: both in one statement
_DECISIONS_AND_ROWS = union_all(
    select(literal("decision").label("kind"), review_decisions.c.id, review_decisions.c.precinct_code.label("code"),
           review_decisions.c.decision, review_decisions.c.last_seq, review_decisions.c.actor, review_decisions.c.at,
           review_decisions.c.note, review_decisions.c.request_id)
    .where(DECISIONS_THAT_COUNT, review_decisions.c.precinct_code.in_(bindparam("codes", expanding=True))),
    select(literal("row"), precinct_status.c.precinct_id, precinct_status.c.county, precinct_status.c.state,
           precinct_status.c.first_quarter, null(), null(), null(), null())
    .where(precinct_status.c.precinct_id.in_(bindparam("ids", expanding=True))))


def status_row(status: PrecinctStatus) -> StatusRow | None:
    """The row of ``status`` (None for a precinct with nothing that counts: it has no row)."""
    if not status.history:
        return None
    why = queue_reasons(status)
    return StatusRow(state=status.state, county=status.info.county, why=why,
                     queue_rank=QUEUE_ORDER.index(why[0]) if why else None,
                     reasons=status.reasons, last_seq=status.history[-1].seq,
                     first_at=status.history[0].received_at, last_at=status.history[-1].received_at,
                     codes=reason_codes(status))


def _lock_election(conn: Connection, election_id: int) -> None:
    """Serialize with the ledger writer (which holds the election's row while it appends): on PostgreSQL a row
    lock; SQLite's ``BEGIN IMMEDIATE`` already holds the only write lock."""
    if not is_sqlite(conn):
        conn.execute(select(elections.c.id).where(elections.c.id == election_id).with_for_update())


class StatusKeeper:
    """Keeps the rows of one election's precincts right (see the module docstring)."""

    def __init__(self, context: ElectionContext) -> None:
        self.context = context
        self._remembered: dict[str, PrecinctStatus] = {}
        self._guard = threading.Lock()

    # -- the writer's maintainer -------------------------------------------------------------------------
    def maintain(self, conn: Connection, election_id: int, states: Mapping[int, PrecinctState]) -> bool:
        if election_id != self.context.election_id:
            return False
        # the review decisions and the current rows of the batch's precincts: one statement
        decisions: dict[str, list[ReviewDecision]] = {}
        old_rows = []
        for row in conn.execute(_DECISIONS_AND_ROWS, {"election_id": election_id, "ids": list(states),
                                                      "codes": sorted({s.precinct_code for s in states.values()})}):
            if row.kind == "row":
                old_rows.append((row.code, row.decision, row.last_seq))  # (county, state, first_quarter)
            else:
                decisions.setdefault(row.code, []).append(ReviewDecision(
                    row.id, row.code, row.decision, row.last_seq, row.actor, row.at, row.note, row.request_id))
        statuses = self._derive(conn, states, decisions)
        derived.upsert(conn, election_id, {pid: status_row(s) if s is not None else None
                                           for pid, s in statuses.items()}, old=derived.counts_of(old_rows))
        with self._guard:
            for status in statuses.values():
                if status is not None and status.history:
                    self._remembered[status.history[-1].content_hash] = status
            while len(self._remembered) > REMEMBERED:
                del self._remembered[next(iter(self._remembered))]
        return True

    def remembered(self, content_hash: str) -> PrecinctStatus | None:
        """The status the writer derived when it committed the entry ``content_hash`` (once; None if unknown)."""
        with self._guard:
            return self._remembered.pop(content_hash, None)

    def _derive(self, conn: Connection, states: Mapping[int, PrecinctState],
                decisions: Mapping[str, list[ReviewDecision]] | None = None) -> dict[int, PrecinctStatus | None]:
        if decisions is None:
            decisions = decisions_in(conn, self.context, {s.precinct_code for s in states.values()})
        found: dict[int, PrecinctStatus | None] = {}
        for pid, state in states.items():
            info = self.context.precincts.get(state.precinct_code)
            found[pid] = (derive_status(self.context, info, state, decisions.get(info.code, []))
                          if info is not None else None)
        return found

    # -- the others that change what the status reads ----------------------------------------------------
    def refresh(self, conn: Connection, codes: Collection[str] | None = None) -> None:
        """Re-derive the rows of ``codes`` (every precinct if None) inside the caller's write transaction."""
        election_id = self.context.election_id
        _lock_election(conn, election_id)
        states = counted_states(conn, election_id, self.context.slug, codes)
        rows = {pid: status_row(s) if s is not None else None for pid, s in self._derive(conn, states).items()}
        derived.clear(conn, election_id, None if codes is None else [pid for pid, row in rows.items() if row is None])
        derived.upsert(conn, election_id, {pid: row for pid, row in rows.items() if row is not None})
        if codes is None:  # every row was rewritten: what the epoch's releases hold of each, again
            derived.restore_released(conn, election_id, read_epoch(conn, election_id).releases_through)

    def rebuild(self, engine: Engine) -> int:
        """Rewrite every row of the election from the ledger (and the readiness rows from the cards and
        sign-ins, :mod:`caucus.ledger.readiness`); the number of precincts with a status row."""
        with write_transaction(engine) as conn:
            self.refresh(conn)
            readiness.rebuild(conn, self.context.election_id)
            return int(conn.execute(select(func.count()).select_from(precinct_status).where(
                precinct_status.c.election_id == self.context.election_id)).scalar_one())

    def repair(self, engine: Engine) -> int:
        """Derive the stale rows (left by a writer without a keeper, or by the migration); how many."""
        with engine.connect() as conn:
            stale = _stale_codes(conn, self.context.election_id)
        for start in range(0, len(stale), CHUNK):  # (a bounded IN list per statement)
            with write_transaction(engine) as conn:
                self.refresh(conn, stale[start:start + CHUNK])
        return len(stale)


def _stale_codes(conn: Connection, election_id: int) -> list[str]:
    return list(conn.execute(select(precincts.c.code).join(
        precinct_status, precinct_status.c.precinct_id == precincts.c.id).where(
        precinct_status.c.election_id == election_id, precinct_status.c.state.is_(None))).scalars())


# -- checking the rows against the ledger ----------------------------------------------------------------
@dataclass(frozen=True)
class StateCheck:
    election: str
    precincts: int
    rows: int
    #: rows left stale (derived on read; not wrong)
    stale: int
    #: (precinct code, what differs) in plan order; empty when every row equals the derivation
    differences: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def stored_rows(engine: Engine, context: ElectionContext) -> dict[str, StatusRow | None]:
    """Every row of the election by precinct code (None: stale)."""
    query = select(precinct_status, precincts.c.code).join(
        precincts, precincts.c.id == precinct_status.c.precinct_id).where(
        precinct_status.c.election_id == context.election_id)
    with engine.connect() as conn:
        return {row.code: StatusRow.from_row(dict(row._mapping)) for row in conn.execute(query)}


def check(engine: Engine, context: ElectionContext,
          statuses: Mapping[str, PrecinctStatus] | None = None) -> StateCheck:
    """Compare every stored row with the status derived from the ledger now (``statuses``: that derivation,
    when the caller has just made it: it is the check's main cost)."""
    rows = stored_rows(engine, context)
    if statuses is None:
        statuses = read_statuses(engine, context)
    differences: list[tuple[str, str]] = []
    stale = 0
    for code, status in statuses.items():
        expected = status_row(status)
        if code in rows and rows[code] is None:
            stale += 1
            continue
        stored = rows.get(code)
        if stored != expected:
            differences.append((code, _difference(stored, expected)))
    differences += [(code, "a row for a precinct the election does not serve") for code in rows
                    if code not in statuses]
    with engine.connect() as conn:
        kept = derived.stored_counts(conn, context.election_id)
        recounted = derived.recount(conn, context.election_id)
        differences += _released_differences(conn, context)
        differences += _sde_differences(conn, context.election_id)
        differences += readiness.differences(conn, context.election_id)
    differences += [(f"(counts {kind} {key} {state})".replace("  ", " "),
                     f"stored {kept[(kind, key, state)]}, the rows make {recounted[(kind, key, state)]}")
                    for kind, key, state in sorted(set(kept) | set(recounted))
                    if kept[(kind, key, state)] != recounted[(kind, key, state)]]
    return StateCheck(context.slug, len(statuses), len(rows), stale, tuple(differences))


def _released_differences(conn: Connection, context: ElectionContext) -> list[tuple[str, str]]:
    """Rows whose ``released_seq``, ``released_findings`` or ``released_number`` is not what the current epoch's
    releases hold."""
    election_id = context.election_id
    expected = derived.released_seqs(conn, election_id, read_epoch(conn, election_id).releases_through)
    codes = {pid: code for code, pid in conn.execute(select(precincts.c.code, precincts.c.id).where(
        precincts.c.election_id == election_id))}
    return [(codes.get(pid, str(pid)), f"released (seq, findings, release): stored {_released(row)}, the releases "
                                       f"make {_released(expected.get(pid))}")
            for pid, row in sorted(derived.stored_released(conn, election_id).items()) if row != expected.get(pid)]


def _sde_differences(conn: Connection, election_id: int) -> list[tuple[str, str]]:
    """Groups whose statewide released SDEs (``released_sde_totals``) are not what the epoch's records sum to."""
    stored = derived.stored_sde(conn, election_id)
    expected = derived.released_sde(conn, election_id, read_epoch(conn, election_id).releases_through)
    return [(f"(released SDEs of {group})", f"stored {stored.get(group)}, the releases make {expected.get(group)}")
            for group in sorted(set(stored) | set(expected)) if stored.get(group, 0) != expected.get(group, 0)]


def _released(row: derived.ReleasedRow | None) -> str:
    return "None" if row is None else repr((row.seq, row.findings, row.number))


def _difference(stored: StatusRow | None, expected: StatusRow | None) -> str:
    if stored is None:
        return f"no row, but the ledger makes it {expected.state if expected else 'not-reported'}"
    if expected is None:
        return f"a row saying {stored.state}, but nothing of it counts in the ledger"
    fields = [name for name in ("state", "why", "queue_rank", "reasons", "last_seq", "first_at", "last_at", "codes")
              if getattr(stored, name) != getattr(expected, name)]
    return "; ".join(f"{name}: stored {getattr(stored, name)!r}, ledger {getattr(expected, name)!r}"
                     for name in fields)


# -- HQ's pages from the rows ----------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueItem:
    code: str
    county: str
    name: str
    state: str
    why: tuple[str, ...]
    reasons: tuple[str, ...]
    last_seq: int | None


def _stale(conn: Connection, context: ElectionContext, engine: Engine) -> dict[str, PrecinctStatus]:
    return {code: read_status(engine, context, code) for code in _stale_codes(conn, context.election_id)
            if code in context.precincts}


def stale_statuses(conn: Connection, context: ElectionContext, engine: Engine) -> dict[str, PrecinctStatus]:
    """The statuses of the precincts whose rows are stale, derived now (usually none)."""
    return _stale(conn, context, engine)


def queue_items(engine: Engine, context: ElectionContext, limit: int | None = None) -> tuple[list[QueueItem], int]:
    """The first ``limit`` precincts of the review queue (most urgent first) and the queue's length."""
    election_id = context.election_id
    in_queue = (precinct_status.c.election_id == election_id, precinct_status.c.queue_rank.is_not(None))
    query = (select(precincts.c.code, precinct_status.c.state, precinct_status.c.county, precinct_status.c.why,
                    precinct_status.c.reasons, precinct_status.c.last_seq, precinct_status.c.queue_rank)
             .join(precincts, precincts.c.id == precinct_status.c.precinct_id).where(*in_queue)
             .order_by(precinct_status.c.queue_rank, precinct_status.c.last_seq))
    with engine.connect() as conn:
        stale = _stale(conn, context, engine)
        length = int(conn.execute(select(func.count()).select_from(precinct_status).where(*in_queue)).scalar_one())
        found = list(conn.execute(query if limit is None else query.limit(limit)))
    ranked: list[tuple[int, int, QueueItem]] = []
    for row in found:
        if row.code in context.precincts:
            info = context.precincts[row.code]
            stored = StatusRow.from_row({**row._mapping, "first_at": None, "last_at": None})
            assert stored is not None
            ranked.append((row.queue_rank, row.last_seq or 0, QueueItem(
                info.code, info.county, info.name, stored.state, stored.why, stored.reasons, stored.last_seq)))
    for status in stale.values():
        why = queue_reasons(status)
        if why:
            length += 1
            last = status.history[-1].seq if status.history else None
            ranked.append((QUEUE_ORDER.index(why[0]), last or 0, QueueItem(
                status.info.code, status.info.county, status.info.name, status.state, why, status.reasons, last)))
    ranked.sort(key=lambda item: (item[0], item[1]))
    items = [item for _, _, item in ranked]
    return (items if limit is None else items[:limit]), length


@dataclass(frozen=True)
class NightSummary:
    statewide: Counter[str]
    by_county: dict[str, Counter[str]]
    #: precincts whose first counted entry arrived in each quarter hour (its start)
    first_by_quarter: dict[datetime, int]
    #: (code, state, last entry at) of precincts with stages reported and nothing new since ``stuck_before``,
    #: oldest first, at most ``stuck_limit``
    stuck: list[tuple[str, str, datetime]]
    stuck_count: int
    queue_length: int


def _at_quarter(number: int) -> datetime:
    return datetime.fromtimestamp(number * QUARTER_SECONDS, UTC)


STUCK_STATES = ("reported", "held-for-review", "conflicting")


def night_summary(engine: Engine, context: ElectionContext, *, stuck_before: datetime,
                  stuck_limit: int = 500) -> NightSummary:
    """The counts of HQ's night page from the rows (grouped and indexed queries)."""
    election_id = context.election_id
    mine = precinct_status.c.election_id == election_id
    with engine.connect() as conn:
        stale = _stale(conn, context, engine)
        # the maintained counts (stale rows are in none of them: they are derived above)
        counts = derived.stored_counts(conn, election_id)
        stuck_where = (mine, precinct_status.c.state.in_(STUCK_STATES), precinct_status.c.last_at <= stuck_before)
        stuck_count = int(conn.execute(select(func.count()).select_from(precinct_status).where(*stuck_where))
                          .scalar_one())
        # the oldest of each state along the index (election_id, state, last_at), merged: no sort of every row
        stuck_rows = [row for state in STUCK_STATES for row in conn.execute(
            select(precincts.c.code, precinct_status.c.state, precinct_status.c.last_at)
            .join(precincts, precincts.c.id == precinct_status.c.precinct_id)
            .where(mine, precinct_status.c.state == state, precinct_status.c.last_at <= stuck_before)
            .order_by(precinct_status.c.last_at).limit(stuck_limit))]
        queue_length = int(conn.execute(select(func.count()).select_from(precinct_status).where(
            mine, precinct_status.c.queue_rank.is_not(None))).scalar_one())
    counties = context.county_sizes
    by_county: dict[str, Counter[str]] = {county: Counter() for county in counties}
    first_by_quarter: Counter[datetime] = Counter()
    for (kind, key, state), n in counts.items():
        if kind == "county" and key in by_county:
            by_county[key][state] += n
        elif kind == "first":
            first_by_quarter[_at_quarter(int(key))] += n
    stuck: list[tuple[str, str, datetime]] = [(row.code, row.state, row.last_at) for row in stuck_rows]
    for status in stale.values():
        if status.state != "not-reported":
            by_county[status.info.county][status.state] += 1
            first_by_quarter[_at_quarter(derived.quarter(status.history[0].received_at))] += 1
        last = status.history[-1].received_at if status.history else None
        if last is not None and status.state in STUCK_STATES and last <= stuck_before:
            stuck_count += 1
            stuck.append((status.info.code, status.state, last))
        queue_length += bool(queue_reasons(status))
    for county, total in counties.items():
        by_county[county]["not-reported"] += total - sum(by_county[county].values())
    statewide: Counter[str] = Counter(dict.fromkeys(STATUS_NAMES, 0))
    for in_county in by_county.values():
        statewide.update(in_county)
    stuck.sort(key=lambda s: s[2])
    return NightSummary(statewide, dict(sorted(by_county.items())), dict(sorted(first_by_quarter.items())),
                        stuck[:stuck_limit], stuck_count, queue_length)


def reported_codes(engine: Engine, context: ElectionContext) -> set[str]:
    """The precincts with something that counts (a row), stale ones included."""
    with engine.connect() as conn:
        return set(conn.execute(select(precincts.c.code).join(
            precinct_status, precinct_status.c.precinct_id == precincts.c.id).where(
            precinct_status.c.election_id == context.election_id)).scalars())
