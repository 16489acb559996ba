"""Appending a batch of submissions inside one write transaction.

Every submission is checked before anything is inserted and resolved on its own: a replay gets the
original receipt, a conflict or a bad correction gets its typed error (and an audit_log row), and the rest
get new entries with consecutive seqs and chained hashes. A group (the entries of one correction of several
stages) is one unit: its entries get consecutive seqs, or, if any of them is refused, none is inserted and
every one of them gets an error (the refused one its own, the others :class:`GroupRejected`).

The caller owns the transaction; on PostgreSQL
the elections rows are locked ``FOR UPDATE`` (in id order) so that writers in several processes assign
seqs one after another; on SQLite the caller's ``BEGIN IMMEDIATE`` already holds the only write lock.

Per-precinct ordering across processes: a submission that carries ``expect_last_seq`` (the services' own:
they check a report against the precinct's entries before sending it) is recorded only if, under that lock,
the precinct's last entry that counts (after the epoch line, :mod:`caucus.ledger.epochs`) is still that seq
(else :class:`PrecinctChanged`), and, for a new entry (not a correction), only if its channel and stage (on
the hotline: its operator's) has no current entry in the epoch (else :class:`StageAlreadyRecorded`). With
``UNIQUE (election_id, supersedes_seq)`` (at most one correction per entry, in every epoch, since a
rehearsal's entries cannot be corrected), this makes the services' check-then-write one step, whichever
process (worker) runs it: two workers can never both record the same stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, select

from caucus.ledger import derived
from caucus.ledger.audit import audit_row
from caucus.ledger.chain import GENESIS_HASH, entry_hash
from caucus.ledger.db import is_sqlite
from caucus.ledger.epochs import marker
from caucus.ledger.errors import (
    AlreadySuperseded,
    GroupRejected,
    IdempotencyConflict,
    InvalidGroup,
    LedgerError,
    PrecinctChanged,
    RehearsalEntry,
    StageAlreadyRecorded,
    SupersededEntryNotFound,
    SupersedesRehearsal,
    SupersessionMismatch,
    UnknownElection,
    UnknownPrecinct,
)
from caucus.ledger.model import LedgerEntry, Receipt, Submission, entry_from_row
from caucus.ledger.schema import audit_log, elections, ledger_entries, precincts
from caucus.ledger.state import PrecinctState, derive_state

Outcome = Receipt | LedgerError
#: what a writer is asked to record: one submission, or a group recorded all or none
Unit = Submission | tuple[Submission, ...]
UnitOutcome = Outcome | list[Outcome]
#: what makes an entry the one current entry of its kind: (precinct id, channel, stage, operator or "")
StageKey = tuple[int, str, str, str]


def _stage_key(precinct_id: int, channel: str, stage: str, actor: str) -> StageKey:
    # two hotline operators each key every stage (four eyes: caucus.service.status); other channels once
    return (precinct_id, channel, stage, actor if channel == "hotline" else "")


@dataclass
class _ElectionBatch:
    """What one batch needs to know about one election's ledger, loaded once."""

    slug: str
    election_id: int
    precinct_ids: dict[str, int]
    by_key: dict[str, LedgerEntry]
    targets: dict[int, tuple[int, str]]  # seq -> (precinct id, precinct code)
    superseded_by: dict[int, int]
    head_seq: int
    head_hash: str
    #: entries up to this seq are the rehearsal's (caucus.ledger.epochs): never replayed, never corrected
    counts_after_seq: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: the entries of ``rows`` (the same order and length)
    appended: list[LedgerEntry] = field(default_factory=list)
    #: with a state maintainer: every counted entry of the batch's precincts before the batch, by precinct id
    loaded: dict[int, list[LedgerEntry]] | None = None
    #: of the precincts of submissions with ``expect_last_seq``: their last counted seq, and the current
    #: (not superseded) counted entry of each stage key, with each such entry's key by seq
    last_seq: dict[int, int] = field(default_factory=dict)
    current: dict[StageKey, int] = field(default_factory=dict)
    key_of: dict[int, StageKey] = field(default_factory=dict)

    def snapshot(self) -> tuple[Any, ...]:
        return (dict(self.by_key), dict(self.targets), dict(self.superseded_by), self.head_seq, self.head_hash,
                len(self.rows), dict(self.last_seq), dict(self.current), dict(self.key_of))

    def restore(self, saved: tuple[Any, ...]) -> None:
        (self.by_key, self.targets, self.superseded_by, self.head_seq, self.head_hash, rows, self.last_seq,
         self.current, self.key_of) = saved
        del self.rows[rows:]
        del self.appended[rows:]


_NARROW = select(ledger_entries.c.seq, ledger_entries.c.precinct_id, ledger_entries.c.channel, ledger_entries.c.stage,
                 ledger_entries.c.actor, ledger_entries.c.supersedes_seq)
#: the counted entries of some precincts: whole (for the state maintainer) or only what the checks need. Not
#: ordered in SQL: with ``ORDER BY seq`` SQLite walks the election's whole ledger along the primary key (to
#: skip a sort) instead of the batch's precincts along (election_id, precinct_id, seq): 0.11 s a batch at
#: 445,000 entries against 0.001 s (the national-size rehearsal, issue 15); the rows are sorted here
_CURRENT = {whole: query.where(ledger_entries.c.election_id == bindparam("election_id"),
                               ledger_entries.c.precinct_id.in_(bindparam("ids", expanding=True)),
                               ledger_entries.c.seq > bindparam("after"))
            for whole, query in ((True, select(ledger_entries, precincts.c.code.label("precinct_code")).join(
                precincts, precincts.c.id == ledger_entries.c.precinct_id)), (False, _NARROW))}


def _load_current(conn: Connection, state: _ElectionBatch, precinct_ids: set[int], *, whole: bool) -> None:
    """The counted entries of ``precinct_ids``: their last seq and the current entry of each stage key; with
    ``whole``, every such entry too (for the state maintainer)."""
    if whole:
        state.loaded = {pid: [] for pid in precinct_ids}
    rows = sorted(conn.execute(_CURRENT[whole], {"election_id": state.election_id, "ids": list(precinct_ids),
                                                 "after": state.counts_after_seq}).all(), key=lambda row: row.seq)
    if state.loaded is not None:
        for row in rows:
            state.loaded[row.precinct_id].append(entry_from_row(row._mapping, state.slug))
    superseded = {row.supersedes_seq for row in rows if row.supersedes_seq is not None}
    for row in rows:
        state.last_seq[row.precinct_id] = row.seq
        if row.seq not in superseded:
            key = _stage_key(row.precinct_id, row.channel, row.stage, row.actor)
            state.current[key] = row.seq
            state.key_of[row.seq] = key


# The statements every batch runs, built once (building one costs more CPU than SQLite takes to run it).
_ELECTION: BindParameter[int] = bindparam("election_id")
_CODES: BindParameter[list[str]] = bindparam("codes", expanding=True)
_KEYS: BindParameter[list[str]] = bindparam("keys", expanding=True)
_JOINED = select(ledger_entries, precincts.c.code.label("precinct_code")).join(
    precincts, precincts.c.id == ledger_entries.c.precinct_id)
_BY_KEY = _JOINED.where(ledger_entries.c.election_id == _ELECTION, ledger_entries.c.idempotency_key.in_(_KEYS))
#: the line of the current epoch and the head of the chain, in one statement
_LINE_AND_HEAD = select(
    marker("counts_after_seq", _ELECTION).label("counts_after_seq"),
    select(ledger_entries.c.seq).where(ledger_entries.c.election_id == _ELECTION)
    .order_by(ledger_entries.c.seq.desc()).limit(1).scalar_subquery().label("seq"),
    select(ledger_entries.c.content_hash).where(ledger_entries.c.election_id == _ELECTION)
    .order_by(ledger_entries.c.seq.desc()).limit(1).scalar_subquery().label("content_hash"))
#: the batch's precincts' ids, each row with the line and the head (read once: uncorrelated subqueries), in one
#: statement (after the elections' lock: the head is the one this batch appends to)
_IDS_LINE_AND_HEAD = select(precincts.c.id, precincts.c.code, *_LINE_AND_HEAD.selected_columns).where(
    precincts.c.election_id == _ELECTION, precincts.c.code.in_(_CODES))


_SEQS: BindParameter[list[int]] = bindparam("seqs", expanding=True)
#: the entries a batch's corrections supersede, and the corrections already made of them
_TARGETS = select(ledger_entries.c.seq, ledger_entries.c.precinct_id, precincts.c.code).join(
    precincts, precincts.c.id == ledger_entries.c.precinct_id).where(
    ledger_entries.c.election_id == _ELECTION, ledger_entries.c.seq.in_(_SEQS))
_CORRECTIONS = select(ledger_entries.c.seq, ledger_entries.c.supersedes_seq).where(
    ledger_entries.c.election_id == _ELECTION, ledger_entries.c.supersedes_seq.in_(_SEQS))
_BY_SLUG = select(elections.c.id, elections.c.slug).where(
    elections.c.slug.in_(bindparam("slugs", expanding=True))).order_by(elections.c.id)
#: the batch's elections (on PostgreSQL their rows locked, in id order; SQLite: BEGIN IMMEDIATE holds the lock)
_ELECTIONS = {True: _BY_SLUG, False: _BY_SLUG.with_for_update()}


def _load(conn: Connection, slug: str, election_id: int, subs: list[Submission], *, whole: bool) -> _ElectionBatch:
    codes = {s.precinct_code for s in subs}
    keys = {s.idempotency_key for s in subs}
    target_seqs = {s.supersedes_seq for s in subs if s.supersedes_seq is not None}
    found = conn.execute(_IDS_LINE_AND_HEAD, {"election_id": election_id, "codes": list(codes)}).all()
    precinct_ids = {row.code: row.id for row in found}
    by_key = {
        row.idempotency_key: entry_from_row(row._mapping, slug)
        for row in conn.execute(_BY_KEY, {"election_id": election_id, "keys": list(keys)})
    }
    targets: dict[int, tuple[int, str]] = {}
    superseded_by: dict[int, int] = {}
    if target_seqs:
        seqs = {"election_id": election_id, "seqs": sorted(target_seqs)}
        for target in conn.execute(_TARGETS, seqs):
            targets[target.seq] = (target.precinct_id, target.code)
        for correction in conn.execute(_CORRECTIONS, seqs):
            superseded_by[correction.supersedes_seq] = correction.seq
    # (no known precinct in the batch: the line and the head on their own)
    line = found[0] if found else conn.execute(_LINE_AND_HEAD, {"election_id": election_id}).one()
    counts_after_seq = int(line.counts_after_seq)
    head = line if line.seq is not None else None
    state = _ElectionBatch(
        slug=slug,
        election_id=election_id,
        precinct_ids=precinct_ids,
        by_key=by_key,
        targets=targets,
        superseded_by=superseded_by,
        head_seq=head.seq if head else 0,
        head_hash=head.content_hash if head else GENESIS_HASH,
        counts_after_seq=counts_after_seq,
    )
    watched = {precinct_ids[s.precinct_code] for s in subs
               if (whole or s.expect_last_seq is not None) and s.precinct_code in precinct_ids}
    if watched:
        _load_current(conn, state, watched, whole=whole)
    return state


def _append(state: _ElectionBatch, sub: Submission, now: datetime, *, check_fresh: bool = True) -> Outcome:
    original = state.by_key.get(sub.idempotency_key)
    if original is not None:
        if original.seq <= state.counts_after_seq:
            return RehearsalEntry(sub.idempotency_key, original.seq)
        differs = original.differences(sub)
        if differs:
            return IdempotencyConflict(sub.idempotency_key, original.seq, differs)
        return original.receipt(replayed=True)
    precinct_id = state.precinct_ids.get(sub.precinct_code)
    if precinct_id is None:
        return UnknownPrecinct(state.slug, sub.precinct_code)
    if sub.supersedes_seq is not None:
        target = state.targets.get(sub.supersedes_seq)
        if target is None:
            return SupersededEntryNotFound(state.slug, sub.supersedes_seq)
        if sub.supersedes_seq <= state.counts_after_seq:
            return SupersedesRehearsal(sub.supersedes_seq)
        if target[0] != precinct_id:
            return SupersessionMismatch(sub.supersedes_seq, target[1], sub.precinct_code)
        by_seq = state.superseded_by.get(sub.supersedes_seq)
        if by_seq is not None:
            return AlreadySuperseded(sub.supersedes_seq, by_seq)
    key = _stage_key(precinct_id, sub.channel, sub.stage, sub.actor)
    if sub.expect_last_seq is not None:
        current = state.current.get(key)
        if sub.supersedes_seq is None and current is not None:
            return StageAlreadyRecorded(sub.precinct_code, sub.channel, sub.stage, current, key[3] or None)
        found = state.last_seq.get(precinct_id, 0)
        if check_fresh and found != sub.expect_last_seq:
            return PrecinctChanged(sub.precinct_code, sub.expect_last_seq, found)
    seq = state.head_seq + 1
    # the hashed fields and the entry's fields are the same set: name them once
    fields: dict[str, Any] = {
        "correction_id": sub.correction_id,
        "election": state.slug,
        "seq": seq,
        "precinct_code": sub.precinct_code,
        "channel": sub.channel,
        "stage": sub.stage,
        "payload_json": sub.payload_json,
        "actor": sub.actor,
        "idempotency_key": sub.idempotency_key,
        "received_at": now,
        "supersedes_seq": sub.supersedes_seq,
        "reason": sub.reason,
        "prev_hash": state.head_hash,
    }
    content_hash = entry_hash(**fields)
    entry = LedgerEntry(**fields, content_hash=content_hash)
    state.rows.append(
        {
            "election_id": state.election_id,
            "seq": seq,
            "precinct_id": precinct_id,
            "channel": sub.channel,
            "stage": sub.stage,
            "payload": sub.payload_json,
            "actor": sub.actor,
            "idempotency_key": sub.idempotency_key,
            "received_at": now,
            "content_hash": content_hash,
            "prev_hash": state.head_hash,
            "supersedes_seq": sub.supersedes_seq,
            "reason": sub.reason,
            "correction_id": sub.correction_id,
        }
    )
    state.appended.append(entry)
    state.by_key[sub.idempotency_key] = entry
    state.targets[seq] = (precinct_id, sub.precinct_code)
    if sub.supersedes_seq is not None:
        state.superseded_by[sub.supersedes_seq] = seq
        old = state.key_of.pop(sub.supersedes_seq, None)
        if old is not None and state.current.get(old) == sub.supersedes_seq:
            del state.current[old]
    state.current[key], state.key_of[seq] = seq, key
    state.last_seq[precinct_id] = seq
    state.head_seq, state.head_hash = seq, content_hash
    return entry.receipt()


def _rejection(sub: Submission, error: LedgerError, election_id: int | None, now: datetime) -> dict[str, Any]:
    return audit_row(
        election_id=election_id,
        at=now,
        actor=sub.actor,
        action="ledger.submit",
        detail={
            "election": sub.election,
            "precinct": sub.precinct_code,
            "channel": sub.channel,
            "stage": sub.stage,
            "idempotency_key": sub.idempotency_key,
            "supersedes_seq": sub.supersedes_seq,
            "reason": sub.reason,
            "correction_id": sub.correction_id,
            "payload": json.loads(sub.payload_json),
            "error": error.message,
        },
        outcome=f"rejected:{error.code}",
    )


def _group_problem(group: tuple[Submission, ...]) -> LedgerError | None:
    if not group:
        return InvalidGroup("a group needs at least one submission")
    first = group[0]
    if any((s.election, s.precinct_code) != (first.election, first.precinct_code) for s in group):
        return InvalidGroup("the entries of one correction must all be of one election and one precinct")
    if first.correction_id is None or any(s.correction_id != first.correction_id for s in group):
        return InvalidGroup("the entries of one correction must all carry the same correction_id",
                            field="correction_id")
    if len({s.idempotency_key for s in group}) != len(group):
        return InvalidGroup("the entries of one correction need distinct idempotency keys", field="idempotency_key")
    return None


def _append_group(state: _ElectionBatch, group: tuple[Submission, ...], now: datetime) -> list[Outcome]:
    """Append every entry of ``group`` or none (the state is restored if one is refused)."""
    problem = _group_problem(group)
    if problem is not None:
        return [problem for _ in group]
    saved = state.snapshot()
    # the group is checked against the precinct as it was before its first entry
    outcomes = [_append(state, sub, now, check_fresh=i == 0) for i, sub in enumerate(group)]
    failed = next((i for i, o in enumerate(outcomes) if isinstance(o, LedgerError)), None)
    if failed is None:
        return outcomes
    state.restore(saved)
    cause = outcomes[failed]
    assert isinstance(cause, LedgerError)
    return [o if isinstance(o, LedgerError) else GroupRejected(failed, cause) for o in outcomes]


def apply_batch(conn: Connection, subs: Sequence[Submission], now: datetime,
                maintainer: derived.StateMaintainer | None = None) -> list[Outcome]:
    """Append ``subs`` in order within the caller's transaction; one outcome per submission."""
    outcomes = apply_units(conn, subs, now, maintainer)
    return [o for o in outcomes if not isinstance(o, list)]


def _maintain(conn: Connection, state: _ElectionBatch, maintainer: derived.StateMaintainer | None) -> None:
    """Keep ``precinct_status`` right for the precincts this batch appended to (:mod:`caucus.ledger.derived`)."""
    touched = {state.precinct_ids[entry.precinct_code] for entry in state.appended}
    if not touched:
        return
    if maintainer is None or state.loaded is None:
        derived.mark_stale(conn, state.election_id, touched)
        return
    added: dict[int, list[LedgerEntry]] = {}
    for entry in state.appended:
        added.setdefault(state.precinct_ids[entry.precinct_code], []).append(entry)
    states: dict[int, PrecinctState] = {}
    for pid, new in added.items():
        states[pid] = derive_state(state.slug, new[0].precinct_code, [*state.loaded.get(pid, ()), *new])
    if not maintainer.maintain(conn, state.election_id, states):
        derived.mark_stale(conn, state.election_id, touched)


def apply_units(conn: Connection, units: Sequence[Unit], now: datetime | Callable[[], datetime],
                maintainer: derived.StateMaintainer | None = None) -> list[UnitOutcome]:
    """Append ``units`` in order within the caller's transaction: one outcome per submission, a list of
    outcomes per group (all receipts, or all errors). ``now`` may be a clock, read once the elections' rows
    are locked (so a release reading the head under that lock sees every entry dated before it). The rows of
    ``precinct_status`` of the precincts appended to are kept by ``maintainer``, or marked stale without one."""
    subs = [s for unit in units for s in (unit if isinstance(unit, tuple) else (unit,))]
    slugs = sorted({s.election for s in subs})
    query = _ELECTIONS[is_sqlite(conn)]
    election_ids: dict[str, int] = {row.slug: row.id for row in conn.execute(query, {"slugs": slugs})}
    if callable(now):
        now = now()
    states = {
        slug: _load(conn, slug, election_id, [s for s in subs if s.election == slug], whole=maintainer is not None)
        for slug, election_id in election_ids.items()
    }
    outcomes: list[UnitOutcome] = []
    rejections: list[dict[str, Any]] = []
    for unit in units:
        group = unit if isinstance(unit, tuple) else (unit,)
        state = states.get(group[0].election) if group else None
        if state is None:
            results: list[Outcome] = [UnknownElection(s.election) for s in group]
        elif isinstance(unit, tuple):
            results = _append_group(state, unit, now)
        else:
            results = [_append(state, unit, now)]
        for sub, outcome in zip(group, results, strict=True):
            if isinstance(outcome, LedgerError):
                rejections.append(_rejection(sub, outcome, state.election_id if state else None, now))
        outcomes.append(results if isinstance(unit, tuple) else results[0])
    rows = [row for state in states.values() for row in state.rows]
    if rows:
        conn.execute(ledger_entries.insert(), rows)
    if rejections:
        conn.execute(audit_log.insert(), rejections)
    for state in states.values():
        _maintain(conn, state, maintainer)
    return outcomes
