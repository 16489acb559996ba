"""Each precinct's derived status, kept in ``precinct_status`` with the ledger (issue 15).

The status itself is derived by the service layer (:mod:`caucus.service.status`: the checks, the four eyes of
the hotline, the review decisions); this module only stores it. Who changes what the derivation reads keeps the
row right in the same transaction:

- the ledger :class:`caucus.ledger.writer.Writer`, after appending a batch, hands each touched precinct's
  counted entries (:class:`caucus.ledger.state.PrecinctState`) to its :class:`StateMaintainer` (the service's,
  which derives and writes the rows); a writer without one marks the rows stale (``state`` NULL: derived on
  read until the server's start-up or ``caucus state rebuild`` derives them);
- a review decision re-derives its precinct (:mod:`caucus.service.maintained`);
- a go-live or a rehearsal reset (:func:`caucus.ledger.epochs.start_epoch`) deletes the election's rows:
  nothing recorded before the new line counts, so every precinct is ``not-reported`` again.

A precinct without a row has nothing that counts in the current epoch (``not-reported``); every precinct with
entries that count has one. The rows are an index, never a source: ``caucus state check`` and ``caucus
verify`` compare them with a derivation from the ledger.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Executable, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from caucus.ledger.schema import (
    election_epochs,
    precinct_status,
    precincts,
    release_precincts,
    released_sde_totals,
    status_counts,
)

if TYPE_CHECKING:
    from caucus.ledger.state import PrecinctState

QUARTER_SECONDS = 900


@dataclass(frozen=True)
class StatusRow:
    """What ``precinct_status`` holds about one precinct (everything but its ids)."""

    state: str
    #: the precinct's county (a copy of ``precincts.county``, so the night page groups by it without a join)
    county: str
    why: tuple[str, ...]
    queue_rank: int | None
    reasons: tuple[str, ...]
    last_seq: int | None
    first_at: datetime | None
    last_at: datetime | None
    #: the reason codes of its state (:func:`caucus.service.status.reason_codes`: what campaigns may see)
    codes: tuple[str, ...] = ()

    def values(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "county": self.county,
            "queue_rank": self.queue_rank,
            "why": ",".join(self.why),
            "reasons": json.dumps(list(self.reasons), ensure_ascii=False),
            "last_seq": self.last_seq,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "first_quarter": quarter(self.first_at) if self.first_at is not None else None,
            "codes": ",".join(self.codes),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StatusRow | None:
        """The stored row; None for a stale one (``state`` NULL)."""
        if row["state"] is None:
            return None
        return cls(state=row["state"], county=row["county"], why=tuple(w for w in row["why"].split(",") if w),
                   queue_rank=row["queue_rank"], reasons=tuple(json.loads(row["reasons"])),
                   last_seq=row["last_seq"], first_at=row["first_at"], last_at=row["last_at"],
                   codes=tuple(c for c in row.get("codes", "").split(",") if c))


def quarter(at: datetime) -> int:
    """``at`` in whole quarter hours since 1970-01-01 UTC."""
    return int(at.timestamp()) // QUARTER_SECONDS


class StateMaintainer(Protocol):
    """Derives and stores the rows of precincts whose entries just changed, inside the writer's transaction."""

    def maintain(self, conn: Connection, election_id: int, states: Mapping[int, PrecinctState]) -> bool:
        """Write the rows of ``states`` (by precinct id, each with every entry that counts); False if this
        maintainer does not serve the election (the writer then marks the rows stale)."""
        ...


_STALE = {"state": None, "county": None, "queue_rank": None, "why": "", "reasons": "[]", "last_seq": None,
          "first_at": None, "last_at": None, "first_quarter": None, "codes": ""}


CountKey = tuple[str, str, str]  # (kind, key, state) of status_counts


def _counted(county: str | None, state: str | None, first_quarter: int | None) -> list[CountKey]:
    """The counts a row adds to (a stale row, without a county, adds to none)."""
    if county is None or state is None:
        return []
    found = [("county", county, state)]
    if first_quarter is not None:
        found.append(("first", str(first_quarter), ""))
    return found


# The statements of every ledger batch, built once per dialect (building one costs more CPU than running it).
_OLD_ROWS = select(precinct_status.c.county, precinct_status.c.state, precinct_status.c.first_quarter).where(
    precinct_status.c.precinct_id.in_(bindparam("ids", expanding=True)))


def _upserts(dialect: str) -> tuple[Executable, Executable]:
    """(the rows' upsert, the counts' upsert) of ``dialect``."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    rows = insert(precinct_status)
    counts = insert(status_counts)
    return (rows.on_conflict_do_update(index_elements=["precinct_id"],
                                       set_={name: rows.excluded[name] for name in _STALE}),
            counts.on_conflict_do_update(index_elements=["election_id", "kind", "key", "state"],
                                         set_={"n": status_counts.c.n + counts.excluded.n}))


_UPSERTS = {dialect: _upserts(dialect) for dialect in ("sqlite", "postgresql")}


def counts_of(rows: Iterable[tuple[str | None, str | None, int | None]]) -> Counter[CountKey]:
    """What rows (county, state, first_quarter) add to the counts."""
    found: Counter[CountKey] = Counter()
    for county, state, first_quarter in rows:
        found.update(_counted(county, state, first_quarter))
    return found


def _old_counts(conn: Connection, precinct_ids: Collection[int]) -> Counter[CountKey]:
    """What the current rows of ``precinct_ids`` add to the counts."""
    if not precinct_ids:
        return Counter()
    return counts_of((row.county, row.state, row.first_quarter)
                     for row in conn.execute(_OLD_ROWS, {"ids": list(precinct_ids)}))


def _add_counts(conn: Connection, election_id: int, delta: Counter[CountKey]) -> None:
    values = [{"election_id": election_id, "kind": kind, "key": key, "state": state, "n": n}
              for (kind, key, state), n in delta.items() if n]
    if values:
        conn.execute(_UPSERTS[conn.dialect.name][1], values)


def upsert(conn: Connection, election_id: int, rows: Mapping[int, StatusRow | None],
           old: Counter[CountKey] | None = None) -> None:
    """Insert or replace the rows of precincts ``rows`` (by id), and the counts; None writes a stale row. ``old``:
    what their current rows add to the counts (:func:`counts_of` their county, state and first quarter, read in
    this transaction), if the caller read them already."""
    if not rows:
        return
    values = [{"precinct_id": pid, "election_id": election_id, **(row.values() if row is not None else _STALE)}
              for pid, row in rows.items()]
    delta = Counter({key: -n for key, n in (_old_counts(conn, rows.keys()) if old is None else old).items()})
    for value in values:
        delta.update(_counted(value["county"], value["state"], value["first_quarter"]))
    conn.execute(_UPSERTS[conn.dialect.name][0], values)
    _add_counts(conn, election_id, delta)


def mark_stale(conn: Connection, election_id: int, precinct_ids: Iterable[int]) -> None:
    upsert(conn, election_id, dict.fromkeys(precinct_ids))


def clear(conn: Connection, election_id: int, precinct_ids: Iterable[int] | None = None) -> None:
    """Delete the election's rows (or those of ``precinct_ids``): nothing of theirs counts."""
    query = delete(precinct_status).where(precinct_status.c.election_id == election_id)
    if precinct_ids is None:
        conn.execute(query)
        conn.execute(delete(status_counts).where(status_counts.c.election_id == election_id))
        conn.execute(delete(released_sde_totals).where(released_sde_totals.c.election_id == election_id))
        return
    ids = list(precinct_ids)
    if ids:
        delta = Counter({key: -n for key, n in _old_counts(conn, ids).items()})
        conn.execute(query.where(precinct_status.c.precinct_id.in_(ids)))
        _add_counts(conn, election_id, delta)


def recount(conn: Connection, election_id: int) -> Counter[CountKey]:
    """The counts as the rows make them now (a grouped scan of every row)."""
    found: Counter[CountKey] = Counter()
    mine = precinct_status.c.election_id == election_id
    for county, state, n in conn.execute(select(precinct_status.c.county, precinct_status.c.state, func.count())
                                         .where(mine, precinct_status.c.county.is_not(None))
                                         .group_by(precinct_status.c.county, precinct_status.c.state)):
        found[("county", county, state)] += int(n)
    for quarter_number, n in conn.execute(select(precinct_status.c.first_quarter, func.count())
                                          .where(mine, precinct_status.c.first_quarter.is_not(None),
                                                 precinct_status.c.county.is_not(None))
                                          .group_by(precinct_status.c.first_quarter)):
        found[("first", str(quarter_number), "")] += int(n)
    return found


def stored_counts(conn: Connection, election_id: int) -> Counter[CountKey]:
    """The maintained counts (without zeros)."""
    return Counter({(row.kind, row.key, row.state): int(row.n) for row in conn.execute(
        select(status_counts).where(status_counts.c.election_id == election_id, status_counts.c.n != 0))})


def write_counts(conn: Connection, election_id: int) -> None:
    """Replace the election's counts with :func:`recount` (after rows were written directly)."""
    conn.execute(delete(status_counts).where(status_counts.c.election_id == election_id))
    _add_counts(conn, election_id, recount(conn, election_id))


# -- what the newest release of the epoch holds of each precinct (``released_seq``, revision 0016;
# ``released_number``, revision 0017) -------------------------------------------------------------------------
@dataclass(frozen=True)
class ReleasedRow:
    """What a row holds of the precinct's newest release of the epoch: the released record's ledger seq, its
    finding codes (comma-separated) and the release's number."""

    seq: int
    findings: str
    number: int


def released_seqs(conn: Connection, election_id: int, releases_through: int) -> dict[int, ReleasedRow]:
    """Each precinct's newest release after ``releases_through`` (the current epoch's) that released it, by
    precinct id (reads every such record)."""
    query = (select(precincts.c.id, release_precincts.c.ledger_seq, release_precincts.c.record,
                    release_precincts.c.number)
             .join(precincts, (precincts.c.election_id == release_precincts.c.election_id)
                   & (precincts.c.code == release_precincts.c.precinct_code))
             .where(release_precincts.c.election_id == election_id, release_precincts.c.number > releases_through)
             .order_by(release_precincts.c.number))
    return {int(pid): ReleasedRow(int(seq), finding_codes(json.loads(record)), int(number))
            for pid, seq, record, number in conn.execute(query)}


def finding_codes(record: Mapping[str, Any]) -> str:
    """A released record's finding codes, comma-separated (``precinct_status.released_findings``)."""
    return ",".join(str(f["code"]) for f in record.get("findings") or ())


def set_released(conn: Connection, election_id: int, number: int, records: Mapping[str, Mapping[str, Any]]) -> None:
    """Record in the rows that release ``number`` (in the caller's transaction) published these precincts'
    records (by code): the record's ledger seq and finding codes, and the release's number."""
    if not records:
        return
    _add_sde(conn, election_id, number, records)
    ids = select(precincts.c.id).where(precincts.c.election_id == election_id,
                                       precincts.c.code == bindparam("code")).scalar_subquery()
    conn.execute(update(precinct_status).where(precinct_status.c.precinct_id == ids)
                 .values(released_seq=bindparam("seq"), released_findings=bindparam("findings"),
                         released_number=number),
                 [{"code": code, "seq": int(record["ledgerSeq"]), "findings": finding_codes(record)}
                  for code, record in records.items()])


def restore_released(conn: Connection, election_id: int, releases_through: int) -> None:
    """Rewrite every row's ``released_seq``, ``released_findings`` and ``released_number`` from the current
    epoch's releases (after the rows were rewritten)."""
    found = released_seqs(conn, election_id, releases_through)
    _write_sde(conn, election_id, released_sde(conn, election_id, releases_through))
    conn.execute(update(precinct_status).where(precinct_status.c.election_id == election_id,
                                               precinct_status.c.released_seq.is_not(None))
                 .values(released_seq=None, released_findings=None, released_number=None))
    if found:
        conn.execute(update(precinct_status).where(precinct_status.c.precinct_id == bindparam("pid"))
                     .values(released_seq=bindparam("seq"), released_findings=bindparam("findings"),
                             released_number=bindparam("number")),
                     [{"pid": pid, "seq": row.seq, "findings": row.findings, "number": row.number}
                      for pid, row in found.items()])


def stored_released(conn: Connection, election_id: int) -> dict[int, ReleasedRow | None]:
    """Every row's released seq, findings and release number by precinct id (None: not released; a row with
    only one of seq and number shows the other as -1)."""
    out: dict[int, ReleasedRow | None] = {}
    for pid, seq, findings, number in conn.execute(
            select(precinct_status.c.precinct_id, precinct_status.c.released_seq,
                   precinct_status.c.released_findings, precinct_status.c.released_number)
            .where(precinct_status.c.election_id == election_id)):
        if seq is None and number is None:
            out[int(pid)] = None
        else:
            out[int(pid)] = ReleasedRow(-1 if seq is None else int(seq), str(findings or ""),
                                        -1 if number is None else int(number))
    return out


# -- the statewide released SDEs per group (``released_sde_totals``, revision 0018) ---------------------------
def sde_of(record: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """A released record's SDEs per group (exact decimals)."""
    return {str(g): Decimal(str(v)) for g, v in ((record or {}).get("sde") or {}).items()}


def released_sde(conn: Connection, election_id: int, releases_through: int) -> dict[str, Decimal]:
    """The SDEs of every precinct's newest record of the releases after ``releases_through`` summed per group, as
    the records make them (reads every such record: ``caucus state check|rebuild``)."""
    newest: dict[str, str] = {}
    for code, record in conn.execute(
            select(release_precincts.c.precinct_code, release_precincts.c.record)
            .join(precincts, (precincts.c.election_id == release_precincts.c.election_id)
                  & (precincts.c.code == release_precincts.c.precinct_code))
            .where(release_precincts.c.election_id == election_id, release_precincts.c.number > releases_through)
            .order_by(release_precincts.c.number)):
        newest[code] = record
    totals: dict[str, Decimal] = {}
    for record in newest.values():
        for group, value in sde_of(json.loads(record)).items():
            totals[group] = totals.get(group, Decimal(0)) + value
    return totals


def stored_sde(conn: Connection, election_id: int) -> dict[str, Decimal]:
    """The maintained statewide released SDEs per group."""
    return {str(g): Decimal(v) for g, v in conn.execute(select(released_sde_totals.c.grp, released_sde_totals.c.sde)
                                                         .where(released_sde_totals.c.election_id == election_id))}


def _write_sde(conn: Connection, election_id: int, totals: Mapping[str, Decimal]) -> None:
    conn.execute(delete(released_sde_totals).where(released_sde_totals.c.election_id == election_id))
    if totals:
        conn.execute(released_sde_totals.insert(), [{"election_id": election_id, "grp": g, "sde": str(v)}
                                                    for g, v in sorted(totals.items())])


def _releases_through(conn: Connection, election_id: int) -> int:
    return int(conn.execute(select(election_epochs.c.releases_through).where(
        election_epochs.c.election_id == election_id).order_by(election_epochs.c.id.desc()).limit(1)).scalar() or 0)


#: precinct codes per statement of the previous records' read
_CODES_PER_READ = 500


def _add_sde(conn: Connection, election_id: int, number: int, records: Mapping[str, Mapping[str, Any]]) -> None:
    """Add to the totals what release ``number``'s records change: each new record's SDEs less those of the
    precinct's previous record of the epoch (reads only these precincts' earlier records). Releases are serialized
    (a release's number is unique: a concurrent one with the same number fails before it gets here)."""
    through = _releases_through(conn, election_id)
    previous: dict[str, tuple[int, str]] = {}
    codes = sorted(records)
    for start in range(0, len(codes), _CODES_PER_READ):
        for code, n, record in conn.execute(
                select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record)
                .join(precincts, (precincts.c.election_id == release_precincts.c.election_id)
                      & (precincts.c.code == release_precincts.c.precinct_code))
                .where(release_precincts.c.election_id == election_id,
                       release_precincts.c.precinct_code.in_(codes[start:start + _CODES_PER_READ]),
                       release_precincts.c.number > through, release_precincts.c.number < number)):
            if code not in previous or int(n) > previous[code][0]:
                previous[code] = (int(n), record)
    planned = {code for start in range(0, len(codes), _CODES_PER_READ) for code in conn.execute(
        select(precincts.c.code).where(precincts.c.election_id == election_id,
                                       precincts.c.code.in_(codes[start:start + _CODES_PER_READ]))).scalars()}
    delta: dict[str, Decimal] = {}
    for code, record in records.items():
        if code not in planned:
            continue
        for group, value in sde_of(record).items():
            delta[group] = delta.get(group, Decimal(0)) + value
        if code in previous:
            for group, value in sde_of(json.loads(previous[code][1])).items():
                delta[group] = delta.get(group, Decimal(0)) - value
    if not delta:
        return
    totals = stored_sde(conn, election_id)
    for group, value in delta.items():
        totals[group] = totals.get(group, Decimal(0)) + value
    _write_sde(conn, election_id, totals)
