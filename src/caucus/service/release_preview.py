"""What a release now would publish and hold back, for the director's release page, from the maintained state.

The page must answer in a fraction of a second at 175,000 precincts, so it does not derive every precinct
(:meth:`caucus.service.releases.ReleaseService.derived_preview` does, and must say the same). It reads:

- the counts by state from ``status_counts`` (accepted, held back, outstanding of each kind);
- the first held-back precincts (plan order) with their reasons from ``precinct_status``, and whether an earlier
  release of this epoch published them (``released_seq``, written by the release's own transaction);
- which accepted precincts a release would publish: those not released in this epoch, or whose newest counted
  entry is not the one their released record was derived up to (``last_seq`` against ``released_seq``: every
  counted entry is listed in the record's ``stages``, so a new one changes what is published); and, derived
  one by one and compared with their released record, the accepted precincts whose entries did not move but
  which have a review decision or a worksheet photo since shortly before the newest release (``WINDOW``: a
  release reads its inputs before it is recorded);
- rows left stale by a writer without the keeper are derived on read, as the queue page does.

Lists are bounded (``SHOWN``, in plan order) and say how many there are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, or_, select

from caucus.ledger import canonical_json, derived
from caucus.ledger.epochs import counted, read_epoch
from caucus.ledger.schema import photos, precinct_status, precincts, review_decisions
from caucus.service.maintained import stale_statuses
from caucus.service.release_feed import latest_records, published_form
from caucus.service.status import PrecinctStatus

if TYPE_CHECKING:
    from caucus.service.releases import ReleaseService

#: how many precincts each list of the page shows (the counts are always whole)
SHOWN = 100
#: decisions and photos this long before the newest release are looked at again (its inputs were read earlier)
WINDOW = timedelta(minutes=15)
#: the page's groups of outstanding precincts: (label, precinct state)
GROUPS = (("not reported", "not-reported"), ("incomplete", "reported"), ("held for review", "held-for-review"),
          ("conflicting", "conflicting"))
HELD_STATES = ("reported", "held-for-review", "conflicting")


@dataclass(frozen=True)
class HeldPrecinct:
    code: str
    state: str
    reasons: tuple[str, ...]
    #: True when an earlier release published it (its last released numbers stand)
    released_before: bool


@dataclass(frozen=True)
class OutstandingSummary:
    """How many precincts of each kind have no accepted results, with the first ``SHOWN`` of each (plan order)."""

    #: (label, how many, the first codes) per kind, in GROUPS order
    kinds: tuple[tuple[str, int, tuple[str, ...]], ...] = ()

    @property
    def total(self) -> int:
        return sum(n for _, n, _ in self.kinds)

    def groups(self) -> list[tuple[str, int, tuple[str, ...]]]:
        return [kind for kind in self.kinds if kind[1]]


@dataclass(frozen=True)
class ReleasePreview:
    """What a release now would contain."""

    accepted: int
    new: int  # accepted precincts whose record is new or changed since the last release
    #: the first ``SHOWN`` of them (plan order)
    changed: tuple[str, ...]
    #: the first ``SHOWN`` precincts held back (reported but not accepted), plan order
    held: tuple[HeldPrecinct, ...]
    held_count: int
    precincts_total: int
    last_release: int | None
    continuous: bool
    #: why a zero-count release is refused now (None: allowed)
    zero_refused: str | None = None
    #: the certified release of this epoch, if any (a release now is "certified, corrected")
    certified: int | None = None
    outstanding: OutstandingSummary = field(default_factory=OutstandingSummary)
    mode: str = "test"
    #: the whole-state files the latest release carries are due: a release now rebuilds them
    bulk_due: bool = False
    #: the latest release (of this epoch) is a zero-count one
    last_zero: bool = False

    @property
    def unchanged(self) -> bool:
        """A release now (without a new note) would publish the latest release again: nothing new or changed,
        no whole-state file due, and the latest is not a zero-count release."""
        return self.last_release is not None and not self.new and not self.bulk_due and not self.last_zero


def bulk_due(service: ReleaseService) -> bool:
    """Whether the latest release's carried whole-state files are due now (a release now rebuilds them)."""
    due = service.bulk_due_at()
    return due is not None and due <= service.clock()


def from_statuses(statuses: list[PrecinctStatus], order: Mapping[str, int], released: Mapping[str, Any],
                  changed: list[str]) -> tuple[int, tuple[HeldPrecinct, ...], int, OutstandingSummary, tuple[str, ...]]:
    """(accepted, first held, held count, outstanding, first changed) from every precinct's status (the
    derivation the maintained preview must equal)."""
    ranked = sorted(statuses, key=lambda s: order[s.info.code])
    held = [HeldPrecinct(s.info.code, s.state, s.reasons, s.info.code in released)
            for s in ranked if s.state in HELD_STATES]
    kinds = tuple((label, len(codes), tuple(codes[:SHOWN])) for label, codes in (
        (label, [s.info.code for s in ranked if s.state == state]) for label, state in GROUPS))
    accepted = sum(1 for s in statuses if s.state == "accepted")
    return (accepted, tuple(held[:SHOWN]), len(held), OutstandingSummary(kinds),
            tuple(sorted(changed, key=order.__getitem__)[:SHOWN]))


def plan_order(conn: Connection, election_id: int) -> dict[str, int]:
    return {code: int(pid) for code, pid in conn.execute(select(precincts.c.code, precincts.c.id).where(
        precincts.c.election_id == election_id))}


def maintained_preview(service: ReleaseService) -> ReleasePreview:
    """The preview from the maintained rows (see the module docstring)."""
    context, engine = service.context, service.engine
    election_id = context.election_id
    mine = precinct_status.c.election_id == election_id
    accepted_rows = (mine, precinct_status.c.state == "accepted")
    moved = or_(precinct_status.c.released_seq.is_(None), precinct_status.c.released_seq != precinct_status.c.last_seq)
    releases = [r for r in service.list() if not r.archived]
    with engine.connect() as conn:
        epoch = read_epoch(conn, election_id)
        stale = stale_statuses(conn, context, engine)
        by_state: dict[str, int] = dict.fromkeys(("accepted", *HELD_STATES), 0)
        for (kind, _, state), n in derived.stored_counts(conn, election_id).items():
            if kind == "county" and state in by_state:
                by_state[state] += n
        new = int(conn.execute(select(func.count()).select_from(precinct_status).where(*accepted_rows, moved))
                  .scalar_one())
        changed = [(pid, code) for pid, code, _, _ in _first(conn, *accepted_rows, moved)]
        firsts = {state: _first(conn, mine, precinct_status.c.state == state) for state in HELD_STATES}
        samples = {state: [(pid, code) for pid, code, _, _ in rows] for state, rows in firsts.items()}
        held_rows = sorted((row for rows in firsts.values() for row in rows), key=lambda row: row[0])[:SHOWN]
        not_reported = [] if len(context.precincts) == sum(by_state.values()) + len(stale) else list(conn.execute(
            # along the primary key (plan order), stopping at the first SHOWN: "+ 0" keeps the planner off the
            # (election_id, code) index, which would visit every precinct and sort them
            select(precincts.c.id, precincts.c.code).where(
                precincts.c.election_id + 0 == election_id,
                ~select(precinct_status.c.precinct_id).where(
                    precinct_status.c.precinct_id == precincts.c.id).exists())
            .order_by(precincts.c.id).limit(SHOWN)))
        reviewed = touched_since(conn, context, releases[0].created_at - WINDOW) if releases else set()
        if reviewed:
            reviewed = set(conn.execute(select(precincts.c.code).join(
                precinct_status, precinct_status.c.precinct_id == precincts.c.id).where(
                *accepted_rows, ~moved, precincts.c.code.in_(sorted(reviewed)))).scalars())
        looked_at = reviewed | {code for code, s in stale.items() if s.state == "accepted"}
        released = latest_records(conn, election_id, looked_at, after=epoch.releases_through,
                                  upto=releases[0].number) if looked_at and releases else {}
        stale_held = [code for code, s in stale.items() if s.state in HELD_STATES]
        stale_released = set(latest_records(conn, election_id, stale_held, after=epoch.releases_through,
                                            upto=releases[0].number)) if releases and stale_held else set()
        real, certified = service.standing(conn, epoch)
    # accepted precincts whose inputs moved without a new entry (or stale rows): their records, one by one
    extra = _differing(service, [stale[c] if c in stale else service.status(c) for c in sorted(looked_at)], released)
    new += len(extra)
    changed_codes = [code for _, code in changed] + extra
    ids = {code: pid for pid, code in changed}
    held = [(pid, HeldPrecinct(code, state, tuple(json.loads(reasons)), released_seq is not None))
            for pid, code, state, (reasons, released_seq) in held_rows]
    outstanding: dict[str, list[tuple[int, str]]] = {state: list(samples.get(state, ())) for _, state in GROUPS}
    outstanding["not-reported"] = [(int(pid), code) for pid, code in not_reported]
    counts = {state: by_state.get(state, 0) for state in HELD_STATES}
    counts["not-reported"] = len(context.precincts) - sum(by_state.values()) - len(stale)
    accepted = by_state["accepted"]
    if stale:  # derived on read: merged in plan order
        with engine.connect() as conn:
            order = plan_order(conn, election_id)
        for code, status in stale.items():
            counts[status.state] = counts.get(status.state, 0) + (status.state != "accepted")
            accepted += status.state == "accepted"
            if status.state in HELD_STATES:
                held.append((order[code], HeldPrecinct(code, status.state, status.reasons, code in stale_released)))
            if status.state != "accepted":
                outstanding[status.state].append((order[code], code))
        ids.update({code: order[code] for code in extra})
    else:
        ids.update(_ids(engine, election_id, extra))
    held.sort(key=lambda item: item[0])
    kinds = tuple((label, counts[state], tuple(code for _, code in sorted(outstanding[state])[:SHOWN]))
                  for label, state in GROUPS)
    return ReleasePreview(
        accepted=accepted, new=new, changed=tuple(sorted(changed_codes, key=ids.__getitem__)[:SHOWN]),
        held=tuple(h for _, h in held[:SHOWN]), held_count=sum(counts[s] for s in HELD_STATES),
        precincts_total=len(context.precincts), last_release=releases[0].number if releases else None,
        continuous=service.continuous(), zero_refused=service.zero_refusal(real, certified),
        certified=certified.number if certified is not None else None, outstanding=OutstandingSummary(kinds),
        mode=epoch.mode, bulk_due=bulk_due(service), last_zero=bool(releases and releases[0].zero))


def _first(conn: Connection, *where: Any) -> list[tuple[int, str, str, tuple[str, int | None]]]:
    """(id, code, state, (reasons, released_seq)) of the first ``SHOWN`` precincts whose row matches ``where``, in
    plan order (along the index (election_id, state, precinct_id))."""
    return [(int(r.precinct_id), r.code, r.state, (r.reasons, r.released_seq)) for r in conn.execute(
        select(precinct_status.c.precinct_id, precincts.c.code, precinct_status.c.state, precinct_status.c.reasons,
               precinct_status.c.released_seq)
        .join(precincts, precincts.c.id == precinct_status.c.precinct_id).where(*where)
        .order_by(precinct_status.c.precinct_id).limit(SHOWN))]


def _ids(engine: Any, election_id: int, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    with engine.connect() as conn:
        return {code: int(pid) for code, pid in conn.execute(select(precincts.c.code, precincts.c.id).where(
            precincts.c.election_id == election_id, precincts.c.code.in_(codes)))}


def touched_since(conn: Connection, context: Any, since: datetime) -> set[str]:
    """Precincts with a counted review decision or worksheet photo at or after ``since``."""
    election_id = context.election_id
    found = set(conn.execute(select(review_decisions.c.precinct_code).where(
        review_decisions.c.election_id == election_id, review_decisions.c.at >= since,
        counted(review_decisions.c.last_seq, election_id))).scalars())
    found |= set(conn.execute(select(precincts.c.code).join(photos, photos.c.precinct_id == precincts.c.id).where(
        photos.c.election_id == election_id, photos.c.received_at >= since,
        counted(photos.c.id, election_id, "photos_after_id"))).scalars())
    return found


def _differing(service: ReleaseService, statuses: list[PrecinctStatus],
               released: Mapping[str, tuple[int, Any]]) -> list[str]:
    """The accepted ones of ``statuses`` whose record now differs from their released one."""
    accepted = [s for s in statuses if s.state == "accepted"]
    if not accepted:
        return []
    listed = service.photo_lists([s.info.code for s in accepted])
    found = []
    for status in accepted:
        record = json.loads(canonical_json(service.record_of(status, listed)))
        before = released.get(status.info.code)
        if published_form(record) != published_form(before[1] if before is not None else None):
            found.append(status.info.code)
    return found
