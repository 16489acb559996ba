"""Each precinct's readiness before the night, kept in ``precinct_readiness`` (issue 15).

What HQ's readiness page shows of a precinct: whether it has an active card, whether its chair has signed in
(a successful sign-in in ``signin_attempts``), whether the chair used the app's "test your sign-in" (an ``ok``
audit event ``session.test`` naming the precinct) and how many sign-ins were refused for a bad credential. Who
changes those keeps the row right in the same transaction, with the per-county counts in ``readiness_counts``:

- a card issued, rotated or revoked (:mod:`caucus.ledger.credentials`);
- a chair's sign-in, refused or not (:mod:`caucus.service.sessions`).

A go-live or a rehearsal reset changes nothing here (cards, sign-ins and tests stay; the chairs' sessions are
revoked). A precinct without a row has none of these. The rows are an index, never a source: ``caucus state
check`` and ``caucus verify`` compare them (and the counts) with a derivation from those tables, and ``caucus
state rebuild`` rewrites them.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from caucus.ledger.schema import (
    audit_log,
    credentials,
    precinct_readiness,
    precincts,
    readiness_counts,
    signin_attempts,
)

#: the counts kept per county (``readiness_counts.what``)
WHATS = ("credential", "signed-in", "tested")
#: precincts per statement
CHUNK = 2000


@dataclass(frozen=True)
class ReadyRow:
    """What ``precinct_readiness`` holds about one precinct (everything but its ids)."""

    county: str
    code: str
    credential: bool = False
    signed_in: bool = False
    tested: bool = False
    failed: int = 0

    @property
    def empty(self) -> bool:
        return not (self.credential or self.signed_in or self.tested or self.failed)

    def counted(self) -> list[tuple[str, str]]:
        """The (county, what) counts this row adds one to."""
        flags = (self.credential, self.signed_in, self.tested)
        return [(self.county, what) for what, flag in zip(WHATS, flags, strict=True) if flag]


CountKey = tuple[str, str]  # (county, what)


def _rows(conn: Connection, election_id: int, precinct_ids: Collection[int] | None) -> dict[int, ReadyRow]:
    query = select(precinct_readiness).where(precinct_readiness.c.election_id == election_id)
    found: dict[int, ReadyRow] = {}
    for ids in _chunks(precinct_ids):
        for row in conn.execute(query if ids is None else query.where(precinct_readiness.c.precinct_id.in_(ids))):
            found[row.precinct_id] = ReadyRow(row.county, row.code, bool(row.credential), bool(row.signed_in),
                                              bool(row.tested), int(row.failed))
    return found


#: one precinct's row (the sign-in path)
_ONE_ROW = select(precinct_readiness).where(precinct_readiness.c.election_id == bindparam("election_id"),
                                            precinct_readiness.c.precinct_id == bindparam("precinct_id"))


@functools.cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    """The row and count upserts of ``dialect``, built once: building ``excluded`` columns costs more than the
    statement's execution (it was 18 % of a chair's sign-in)."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    row = insert(precinct_readiness)
    row = row.on_conflict_do_update(index_elements=["precinct_id"], set_={
        name: row.excluded[name] for name in ("county", "code", "credential", "signed_in", "tested", "failed")})
    counts = insert(readiness_counts)
    counts = counts.on_conflict_do_update(index_elements=["election_id", "county", "what"],
                                          set_={"n": readiness_counts.c.n + counts.excluded.n})
    return row, counts


def mark(conn: Connection, election_id: int, precinct_id: int, *, signed_in: bool = False, tested: bool = False,
         failed: int = 0) -> None:
    """A chair's sign-in (``signed_in``; ``tested``: the app's test of sign-in) or ``failed`` refused ones of one
    precinct, inside the caller's write transaction: what changed is known, so the row is updated, not
    re-derived (a precinct without a row yet is derived as :func:`refresh` does)."""
    row = conn.execute(_ONE_ROW, {"election_id": election_id, "precinct_id": precinct_id}).first()
    if row is None:
        refresh(conn, election_id, [precinct_id], tested=[precinct_id] if tested else ())
        return
    old = ReadyRow(row.county, row.code, bool(row.credential), bool(row.signed_in), bool(row.tested), int(row.failed))
    new = replace(old, signed_in=old.signed_in or signed_in, tested=old.tested or tested, failed=old.failed + failed)
    if new != old:
        _write(conn, election_id, {precinct_id: old}, {precinct_id: new}, [precinct_id])


def _chunks(ids: Collection[int] | None) -> list[list[int] | None]:
    if ids is None:
        return [None]
    listed = sorted(set(ids))
    return [listed[i:i + CHUNK] for i in range(0, len(listed), CHUNK)]


def stored(conn: Connection, election_id: int) -> dict[int, ReadyRow]:
    """Every row of the election by precinct id."""
    return _rows(conn, election_id, None)


def derive(conn: Connection, election_id: int, precinct_ids: Collection[int] | None = None, *,
           tested: Collection[int] | None = None) -> dict[int, ReadyRow]:
    """The rows as the cards, the sign-ins and the audit log make them, of ``precinct_ids`` (every precinct of the
    election if None); precincts with nothing are left out. ``tested`` (by id) replaces the scan of the audit log
    for the tests of sign-in: the caller knows them (the audit log has no index by precinct)."""
    found: dict[int, ReadyRow] = {}
    for ids in _chunks(precinct_ids):
        where = [precincts.c.election_id == election_id] + ([precincts.c.id.in_(ids)] if ids is not None else [])
        info = {row.id: (row.code, row.county) for row in conn.execute(
            select(precincts.c.id, precincts.c.code, precincts.c.county).where(*where))}
        by_code = {code: pid for pid, (code, _) in info.items()}
        with_card = set(conn.execute(select(credentials.c.precinct_id).where(
            credentials.c.election_id == election_id, credentials.c.status == "active",
            *([credentials.c.precinct_id.in_(ids)] if ids is not None else []))).scalars())
        attempts = select(signin_attempts.c.precinct_code, signin_attempts.c.outcome, func.count()).where(
            signin_attempts.c.election_id == election_id, signin_attempts.c.outcome.in_(("ok", "bad-credential")))
        if ids is not None:
            attempts = attempts.where(signin_attempts.c.precinct_code.in_(list(by_code)))
        signed: set[int] = set()
        failed: Counter[int] = Counter()
        for code, outcome, n in conn.execute(attempts.group_by(signin_attempts.c.precinct_code,
                                                               signin_attempts.c.outcome)):
            if code in by_code:
                if outcome == "ok":
                    signed.add(by_code[code])
                else:
                    failed[by_code[code]] += int(n)
        tests = set(tested or ()) if ids is not None else tested_precincts(conn, election_id, by_code)
        for pid, (code, county) in info.items():
            row = ReadyRow(county, code, pid in with_card, pid in signed, pid in tests, failed[pid])
            if not row.empty:
                found[pid] = row
    return found


def tested_precincts(conn: Connection, election_id: int, by_code: Mapping[str, int]) -> set[int]:
    """The precincts (by id) with an ``ok`` ``session.test`` audit event (a scan of those events)."""
    found: set[int] = set()
    for detail in conn.execute(select(audit_log.c.detail).where(
            audit_log.c.election_id == election_id, audit_log.c.action == "session.test",
            audit_log.c.outcome == "ok")).scalars():
        pid = by_code.get(str(json.loads(detail).get("precinct")))
        if pid is not None:
            found.add(pid)
    return found


def refresh(conn: Connection, election_id: int, precinct_ids: Collection[int], *,
            tested: Collection[int] = ()) -> None:
    """Re-derive the rows of ``precinct_ids`` inside the caller's write transaction, after it changed their cards
    or sign-ins; ``tested``: those of them whose chair just tested their sign-in (a row's ``tested`` stays once
    set: the audit log is append-only)."""
    if not precinct_ids:
        return
    old = _rows(conn, election_id, precinct_ids)
    kept_tests = {pid for pid, row in old.items() if row.tested} | set(tested)
    new = derive(conn, election_id, precinct_ids, tested=kept_tests & set(precinct_ids))
    _write(conn, election_id, old, new, precinct_ids)


def _write(conn: Connection, election_id: int, old: Mapping[int, ReadyRow], new: Mapping[int, ReadyRow],
           precinct_ids: Collection[int]) -> None:
    delta: Counter[CountKey] = Counter()
    for row in old.values():
        delta.subtract(row.counted())
    for row in new.values():
        delta.update(row.counted())
    gone = [pid for pid in precinct_ids if pid in old and pid not in new]
    for start in range(0, len(gone), CHUNK):
        conn.execute(delete(precinct_readiness).where(precinct_readiness.c.precinct_id.in_(gone[start:start + CHUNK])))
    values = [{"precinct_id": pid, "election_id": election_id, "county": row.county, "code": row.code,
               "credential": row.credential, "signed_in": row.signed_in, "tested": row.tested, "failed": row.failed}
              for pid, row in new.items() if old.get(pid) != row]
    if values:
        upsert = _upserts(conn.dialect.name)[0]
        for start in range(0, len(values), CHUNK):
            conn.execute(upsert, values[start:start + CHUNK])
    _add_counts(conn, election_id, delta)


def _add_counts(conn: Connection, election_id: int, delta: Mapping[CountKey, int]) -> None:
    values = [{"election_id": election_id, "county": county, "what": what, "n": n}
              for (county, what), n in delta.items() if n]
    if values:
        conn.execute(_upserts(conn.dialect.name)[1], values)


def rebuild(conn: Connection, election_id: int) -> int:
    """Rewrite every row and count of the election from the cards, sign-ins and audit log; how many rows."""
    rows = derive(conn, election_id)
    conn.execute(delete(precinct_readiness).where(precinct_readiness.c.election_id == election_id))
    conn.execute(delete(readiness_counts).where(readiness_counts.c.election_id == election_id))
    _write(conn, election_id, {}, rows, list(rows))
    return len(rows)


def stored_counts(conn: Connection, election_id: int) -> Counter[CountKey]:
    """The maintained counts (without zeros)."""
    return Counter({(row.county, row.what): int(row.n) for row in conn.execute(
        select(readiness_counts).where(readiness_counts.c.election_id == election_id, readiness_counts.c.n != 0))})


def recount(conn: Connection, election_id: int) -> Counter[CountKey]:
    """The counts as the rows make them now (grouped scans of every row)."""
    found: Counter[CountKey] = Counter()
    mine = precinct_readiness.c.election_id == election_id
    for what, column in zip(WHATS, (precinct_readiness.c.credential, precinct_readiness.c.signed_in,
                                    precinct_readiness.c.tested), strict=True):
        for county, n in conn.execute(select(precinct_readiness.c.county, func.count())
                                      .where(mine, column.is_(True)).group_by(precinct_readiness.c.county)):
            found[(county, what)] += int(n)
    return found


def differences(conn: Connection, election_id: int) -> list[tuple[str, str]]:
    """(precinct code or count, what differs) between the rows and counts and a fresh derivation; empty if none."""
    kept, expected = stored(conn, election_id), derive(conn, election_id)
    codes = dict(conn.execute(select(precincts.c.id, precincts.c.code).where(precincts.c.election_id == election_id))
                 .all())
    found: list[tuple[str, str]] = []
    for pid in sorted(set(kept) | set(expected)):
        if kept.get(pid) != expected.get(pid):
            found.append((str(codes.get(pid, pid)), f"readiness: stored {_describe(kept.get(pid))}, "
                                                    f"the cards and sign-ins make {_describe(expected.get(pid))}"))
    counts, recounted = stored_counts(conn, election_id), recount(conn, election_id)
    found += [(f"(readiness counts {county} {what})", f"stored {counts[(county, what)]}, the rows make "
                                                      f"{recounted[(county, what)]}")
              for county, what in sorted(set(counts) | set(recounted))
              if counts[(county, what)] != recounted[(county, what)]]
    return found


def _describe(row: ReadyRow | None) -> str:
    if row is None:
        return "nothing"
    return (f"card {'yes' if row.credential else 'no'}, signed in {'yes' if row.signed_in else 'no'}, "
            f"tested {'yes' if row.tested else 'no'}, {row.failed} failed")
