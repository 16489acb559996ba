"""Reading the ledger: entries, and each precinct's state derived from its entries.

A precinct's state is a pure function of the rows that count (those recorded after the election's current
epoch line, :func:`caucus.ledger.epochs.counted`: a rehearsal's entries stay in the ledger but never count
once the election goes live or the rehearsal is reset): an entry named by a later correction's
``supersedes_seq`` no longer counts; of the rest, the latest entry per (channel, stage) is current.
Channels conflict on a stage only when their entries differ in meaning (:mod:`caucus.ledger.meaning`),
never in representation. Review and acceptance states belong to the service layer, which can extend
PrecinctState (``dataclasses.replace`` or a wrapper) without changing how it is derived here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import BindParameter, Connection, Engine, bindparam, select

from caucus.ledger.db import one_statement
from caucus.ledger.elections import election_id_for, precinct_id_for
from caucus.ledger.epochs import counted
from caucus.ledger.meaning import entry_meaning
from caucus.ledger.model import STAGES, Channel, LedgerEntry, Stage, entry_from_row
from caucus.ledger.schema import elections, ledger_entries, precincts

ReportStatus = Literal["not-reported", "reported", "conflicting"]


@dataclass(frozen=True)
class StageConflict:
    """Two or more channels' current entries for the same stage say different things (different counts,
    delegates or chance outcomes: :mod:`caucus.ledger.meaning`; representation never conflicts)."""

    stage: Stage
    entries: tuple[LedgerEntry, ...]

    @property
    def seqs(self) -> tuple[int, ...]:
        return tuple(entry.seq for entry in self.entries)


@dataclass(frozen=True)
class PrecinctState:
    election: str
    precinct_code: str
    entries: tuple[LedgerEntry, ...]  # every row of the precinct, in seq order
    current: Mapping[tuple[Channel, Stage], LedgerEntry]
    superseded: frozenset[int]
    status: ReportStatus
    conflicts: tuple[StageConflict, ...]

    @property
    def last_seq(self) -> int | None:
        return self.entries[-1].seq if self.entries else None

    def stage_entries(self, stage: Stage) -> dict[Channel, LedgerEntry]:
        """The current entry of each channel that reported ``stage``."""
        return {channel: entry for (channel, st), entry in self.current.items() if st == stage}

    def payload(self, stage: Stage) -> dict[str, Any] | None:
        """The stage's payload if every channel that reported it means the same (:mod:`caucus.ledger.meaning`);
        None if unreported or in conflict. Of agreeing entries, the earliest one's payload as it was sent
        (so a later, confirming entry on another channel changes nothing)."""
        found = sorted(self.stage_entries(stage).values(), key=lambda entry: entry.seq)
        if not found or len({entry_meaning(entry) for entry in found}) != 1:
            return None
        return found[0].payload

    @property
    def reported_stages(self) -> tuple[Stage, ...]:
        present = {stage for _, stage in self.current}
        return tuple(stage for stage in STAGES if stage in present)


def derive_state(election: str, precinct_code: str, rows: Iterable[LedgerEntry]) -> PrecinctState:
    """The state of one precinct from its entries (any order)."""
    ordered = tuple(sorted(rows, key=lambda entry: entry.seq))
    if not ordered:  # an unreported precinct (most of a large plan for much of the night)
        return PrecinctState(election, precinct_code, (), {}, frozenset(), "not-reported", ())
    superseded = frozenset(entry.supersedes_seq for entry in ordered if entry.supersedes_seq is not None)
    current: dict[tuple[Channel, Stage], LedgerEntry] = {}
    for entry in ordered:
        if entry.seq not in superseded:
            current[(entry.channel, entry.stage)] = entry
    conflicts: list[StageConflict] = []
    for stage in STAGES:
        by_channel = [entry for (_, st), entry in current.items() if st == stage]
        if len({entry_meaning(entry) for entry in by_channel}) > 1:
            conflicts.append(StageConflict(stage, tuple(sorted(by_channel, key=lambda e: e.seq))))
    status: ReportStatus = "conflicting" if conflicts else ("reported" if current else "not-reported")
    return PrecinctState(
        election=election,
        precinct_code=precinct_code,
        entries=ordered,
        current=current,
        superseded=superseded,
        status=status,
        conflicts=tuple(conflicts),
    )


def _joined() -> Any:
    return (
        select(ledger_entries, precincts.c.code.label("precinct_code"))
        .join(precincts, precincts.c.id == ledger_entries.c.precinct_id)
        .order_by(ledger_entries.c.seq)
    )


_SLUG: BindParameter[str] = bindparam("slug")
_CODE: BindParameter[str] = bindparam("code")
_ELECTION_ID = select(elections.c.id).where(elections.c.slug == _SLUG).scalar_subquery()
_ONE_PRECINCT = _joined().where(
    ledger_entries.c.election_id == _ELECTION_ID,
    ledger_entries.c.precinct_id == select(precincts.c.id).where(
        precincts.c.election_id == _ELECTION_ID, precincts.c.code == _CODE).scalar_subquery())
#: one precinct's entries (that count): built once, since building a statement costs more CPU than SQLite takes
#: to run it (the election's and the precinct's ids are uncorrelated scalar subqueries, each computed once, so
#: the rows are read along the index (election_id, precinct_id, seq))
_PRECINCT_QUERIES = {False: _ONE_PRECINCT, True: _ONE_PRECINCT.where(counted(ledger_entries.c.seq, _ELECTION_ID))}


def entries(
    engine: Engine,
    election_slug: str,
    precinct_code: str | None = None,
    since_seq: int | None = None,
    limit: int | None = None,
    *,
    counting: bool = False,
) -> list[LedgerEntry]:
    """The election's entries in seq order: optionally one precinct's, only those after ``since_seq``,
    at most ``limit``; with ``counting``, only those that count in the current epoch. One statement (the
    election and the precinct are looked up in it); an unknown election or precinct is told apart only when
    nothing was found."""
    if precinct_code is not None:
        query = _PRECINCT_QUERIES[counting]
    else:
        query = _joined().where(ledger_entries.c.election_id == _ELECTION_ID)
        if counting:
            query = query.where(counted(ledger_entries.c.seq, _ELECTION_ID))
    if since_seq is not None:
        query = query.where(ledger_entries.c.seq > since_seq)
    if limit is not None:
        query = query.limit(limit)
    with one_statement(engine) as conn:  # (the follow-up, if nothing was found, needs no common snapshot)
        found = [entry_from_row(row._mapping, election_slug)
                 for row in conn.execute(query, {"slug": election_slug, "code": precinct_code})]
        if not found:  # nothing: say so for an unknown election or precinct (raises)
            known = election_id_for(conn, election_slug)
            if precinct_code is not None:
                precinct_id_for(conn, known, election_slug, precinct_code)
        return found


def precinct_state(engine: Engine, election_slug: str, precinct_code: str) -> PrecinctState:
    """The derived state of one precinct (from the entries that count); raises UnknownElection or
    UnknownPrecinct."""
    return derive_state(election_slug, precinct_code, entries(engine, election_slug, precinct_code, counting=True))


def precinct_states(engine: Engine, election_slug: str) -> dict[str, PrecinctState]:
    """The derived state of every precinct of the election (unreported ones included), by code, from the
    entries that count."""
    with engine.connect() as conn:
        election_id = election_id_for(conn, election_slug)
        codes = conn.execute(
            select(precincts.c.code).where(precincts.c.election_id == election_id).order_by(precincts.c.id)
        ).scalars()
        grouped: dict[str, list[LedgerEntry]] = {code: [] for code in codes}
        for row in conn.execute(_joined().where(ledger_entries.c.election_id == election_id,
                                                counted(ledger_entries.c.seq, election_id))):
            grouped[row.precinct_code].append(entry_from_row(row._mapping, election_slug))
    return {code: derive_state(election_slug, code, rows) for code, rows in grouped.items()}


def counted_states(conn: Connection, election_id: int, slug: str, codes: Collection[str] | None = None
                   ) -> dict[int, PrecinctState]:
    """The derived state of the election's precincts (of ``codes`` only, if given), by precinct id, from the
    entries that count, read on ``conn`` (so inside the caller's transaction)."""
    query = select(precincts.c.id, precincts.c.code).where(precincts.c.election_id == election_id)
    if codes is not None:
        query = query.where(precincts.c.code.in_(list(codes)))
    code_of = {row.id: row.code for row in conn.execute(query)}
    grouped: dict[int, list[LedgerEntry]] = {pid: [] for pid in code_of}
    rows = _joined().where(ledger_entries.c.election_id == election_id, counted(ledger_entries.c.seq, election_id))
    if codes is None:
        found_rows: Iterable[Any] = conn.execute(rows)
    else:  # sorted here: ORDER BY seq would make SQLite walk the whole ledger (caucus.ledger.batch._CURRENT)
        found_rows = sorted(conn.execute(rows.order_by(None).where(ledger_entries.c.precinct_id.in_(list(code_of)))),
                            key=lambda row: row.seq)
    for row in found_rows:
        grouped[row.precinct_id].append(entry_from_row(row._mapping, slug))
    return {pid: derive_state(slug, code_of[pid], found) for pid, found in grouped.items()}
