"""Which accepted precincts a release must look at: only those whose inputs moved since the last look.

A precinct's released record is a function of its counted ledger entries, its review decisions and its
worksheet photos (and of the epoch, which decides what counts). :class:`AcceptedScan` remembers, per
precinct, the decisions and photos it saw and every ledger seq it saw (all seqs up to ``seen_upto``, and the
ones above it one by one: a seq committed late, out of order, is still found), and re-derives only the
precincts with a new entry, decision or photo. The first scan (and the first after a go-live or reset)
derives every precinct. The records it returns are the accepted precincts that may differ from what was
released: every precinct it derived since the last :meth:`released`, and those the caller has not released
yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import Engine, select

from caucus.ledger import canonical_json
from caucus.ledger.epochs import counted
from caucus.ledger.schema import ledger_entries, photo_copies, photos, precincts, review_decisions
from caucus.service.context import ElectionContext
from caucus.service.release_feed import form_digest
from caucus.service.status import PrecinctStatus, read_status, read_statuses

Record = dict[str, Any]
#: how far below the newest seq a full derivation looks again at the next scan (entries committed late)
LATE = 256
#: builds a precinct's released record from its status and the photos listed for it
RecordOf = Callable[[PrecinctStatus, Mapping[str, list[Any]]], Record]
#: lists the public photos of some precincts (None: all)
PhotosOf = Callable[[Collection[str] | None], Mapping[str, list[Any]]]


class AcceptedScan:
    def __init__(self, engine: Engine, context: ElectionContext, record_of: RecordOf, photos_of: PhotosOf) -> None:
        self.engine, self.context = engine, context
        self.record_of, self.photos_of = record_of, photos_of
        self.key: tuple[int, int] | None = None
        self.seen_upto = 0
        self.recent: set[int] = set()
        self.decisions: dict[str, tuple[int, ...]] = {}
        self.photos: dict[str, tuple[tuple[int, str | None], ...]] = {}
        self.records: dict[str, Record] = {}

    def scan(self, key: tuple[int, int]) -> dict[str, Record]:
        """The accepted records that may differ from what is released (see the module docstring)."""
        decisions, photo_rows = self._decisions(), self._photos()
        if key != self.key:
            self.key, self.recent, self.records = key, set(), {}
            # entries just below the newest may commit after the full derivation (out of order): look again
            self.seen_upto = max(0, self._max_seq() - LATE)
            statuses = list(read_statuses(self.engine, self.context).values())
            listed = self.photos_of(None)
            self._derived(statuses, listed)
        else:
            dirty = self._new_entries()
            dirty |= {code for code in decisions.keys() | self.decisions.keys()
                      if decisions.get(code) != self.decisions.get(code)}
            dirty |= {code for code in photo_rows.keys() | self.photos.keys()
                      if photo_rows.get(code) != self.photos.get(code)}
            dirty &= set(self.context.precincts)
            if dirty:
                listed = self.photos_of(dirty)
                self._derived([read_status(self.engine, self.context, code) for code in sorted(dirty)], listed)
        self.decisions, self.photos = decisions, photo_rows
        return dict(self.records)

    def released(self, forms: Mapping[str, bytes]) -> None:
        """Forget the records now released as they are (``forms``: the released records' digests)."""
        self.records = {code: r for code, r in self.records.items() if forms.get(code) != form_digest(r)}

    def drop(self) -> None:
        self.key = None

    def _derived(self, statuses: list[PrecinctStatus], listed: Mapping[str, list[Any]]) -> None:
        for status in statuses:
            code = status.info.code
            if status.state == "accepted":
                # as stored: canonical key order, so a rebuild from the database gives the same bytes
                self.records[code] = json.loads(canonical_json(self.record_of(status, listed)))
            else:
                self.records.pop(code, None)

    def _max_seq(self) -> int:
        query = select(ledger_entries.c.seq).where(ledger_entries.c.election_id == self.context.election_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query.order_by(ledger_entries.c.seq.desc()).limit(1)).scalar() or 0)

    def _new_entries(self) -> set[str]:
        """The precincts of the counted entries not seen yet; moves ``seen_upto`` over every run of seen seqs."""
        query = (select(ledger_entries.c.seq, precincts.c.code)
                 .join(precincts, precincts.c.id == ledger_entries.c.precinct_id)
                 .where(ledger_entries.c.election_id == self.context.election_id,
                        ledger_entries.c.seq > self.seen_upto,
                        counted(ledger_entries.c.seq, self.context.election_id)))
        with self.engine.connect() as conn:
            rows = [(int(r.seq), str(r.code)) for r in conn.execute(query)]
        dirty = {code for seq, code in rows if seq not in self.recent}
        self.recent.update(seq for seq, _ in rows)
        while self.seen_upto + 1 in self.recent:
            self.seen_upto += 1
            self.recent.discard(self.seen_upto)
        return dirty

    def _decisions(self) -> dict[str, tuple[int, ...]]:
        query = (select(review_decisions.c.id, review_decisions.c.precinct_code)
                 .where(review_decisions.c.election_id == self.context.election_id,
                        counted(review_decisions.c.last_seq, self.context.election_id))
                 .order_by(review_decisions.c.id))
        found: dict[str, tuple[int, ...]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found[row.precinct_code] = (*found.get(row.precinct_code, ()), int(row.id))
        return found

    def _photos(self) -> dict[str, tuple[tuple[int, str | None], ...]]:
        query = (select(photos.c.id, precincts.c.code, photo_copies.c.sha256)
                 .join(precincts, precincts.c.id == photos.c.precinct_id)
                 .outerjoin(photo_copies, photo_copies.c.photo_id == photos.c.id)
                 .where(photos.c.election_id == self.context.election_id,
                        counted(photos.c.id, self.context.election_id, "photos_after_id"))
                 .order_by(photos.c.id))
        found: dict[str, tuple[tuple[int, str | None], ...]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found[row.code] = (*found.get(row.code, ()), (int(row.id), row.sha256))
        return found
