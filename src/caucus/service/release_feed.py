"""Incremental releases: what a release service keeps between releases so the next one is built from the
precincts that changed, not from the whole state.

:class:`FeedCache` holds, for the release it last built or caught up with (``number``): the feed builder's
state (:class:`caucus.publish.documents.FeedBuilder`), a digest of each released precinct's published form
(to find the accepted precincts that changed), the manifest entries of every file (to list the files that
did not change without reading them) and the photos each precinct publishes. Nothing here is a source of
truth: every input is in the database, and a cache that cannot be brought forward (another epoch, a zero
release, a missing directory) is dropped and the release is built in full.

Releases written by other workers meanwhile are caught up with from their ``release_precincts`` rows: the
precincts they changed are rebuilt along with ours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from caucus.ledger import canonical_json
from caucus.ledger.schema import release_precincts
from caucus.plans import Plan
from caucus.publish.documents import Built, FeedBuilder
from caucus.publish.manifest import Entries, locate, part_digits

Record = dict[str, Any]
CHUNK = 500


def published_form(record: Mapping[str, Any] | None) -> str:
    """What a precinct's release publishes, for comparison: its record without the ledger position (a new
    ledger entry that changes nothing published does not make the precinct changed)."""
    if record is None:
        return ""
    return canonical_json({k: v for k, v in record.items() if k != "ledgerSeq"})


def form_digest(record: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(published_form(record).encode()).digest()


def photo_paths(record: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(photo["path"]) for photo in record.get("photos") or ())


def latest_records(conn: Connection, election_id: int, codes: Iterable[str], *, after: int, upto: int
                   ) -> dict[str, tuple[int, Record]]:
    """Each of ``codes``' latest released record in releases ``after`` < n <= ``upto``: (n, record)."""
    found: dict[str, tuple[int, Record]] = {}
    wanted = sorted(set(codes))
    for i in range(0, len(wanted), CHUNK):
        query = (select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record)
                 .where(release_precincts.c.election_id == election_id, release_precincts.c.number > after,
                        release_precincts.c.number <= upto,
                        release_precincts.c.precinct_code.in_(wanted[i:i + CHUNK]))
                 .order_by(release_precincts.c.number))
        for row in conn.execute(query):
            found[row.precinct_code] = (int(row.number), json.loads(row.record))
    return found


def released_since(conn: Connection, election_id: int, *, after: int, upto: int) -> dict[str, tuple[int, Record]]:
    """Every precinct released in ``after`` < n <= ``upto``: its latest (n, record)."""
    found: dict[str, tuple[int, Record]] = {}
    if upto <= after:
        return found
    query = (select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record)
             .where(release_precincts.c.election_id == election_id, release_precincts.c.number > after,
                    release_precincts.c.number <= upto)
             .order_by(release_precincts.c.number))
    for row in conn.execute(query):
        found[row.precinct_code] = (int(row.number), json.loads(row.record))
    return found


@dataclass
class Pending:
    """A release being made from the cache: what to keep once it is recorded."""

    built: Built
    key: tuple[int, int]
    forms: dict[str, bytes]
    entries: Entries
    photos: dict[str, tuple[str, ...]]
    files: dict[str, bytes] = field(default_factory=dict)


class FeedCache:
    """What one release service keeps between releases (see the module docstring)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.builder = FeedBuilder(plan)
        self.key: tuple[int, int] | None = None
        self.forms: dict[str, bytes] = {}
        #: the manifest's part digits of the releases this service makes (caucus.publish.manifest)
        self.digits = part_digits(len(plan.precincts))
        self.entries = Entries(self.digits)
        self.photos: dict[str, tuple[str, ...]] = {}

    @property
    def number(self) -> int | None:
        return self.builder.number

    def drop(self) -> None:
        self.builder.reset()
        self.key = None
        self.forms, self.entries, self.photos = {}, Entries(self.digits), {}

    def warm(self, key: tuple[int, int], upto: int) -> bool:
        """Whether the cache can be brought to release ``upto`` (same epoch, built at or before it)."""
        return self.key == key and self.number is not None and self.number <= upto

    def commit(self, pending: Pending) -> None:
        self.builder.commit(pending.built)
        self.key, self.forms, self.entries, self.photos = pending.key, pending.forms, pending.entries, pending.photos

    def full(self, built: Built, key: tuple[int, int], records: Mapping[str, Record], files: Mapping[str, bytes],
             *, number: int, previous: Mapping[str, bytes], carried: Iterable[str] = (),
             digits: int | None = None) -> Pending:
        """What to keep after a full build of release ``number`` of ``records`` whose files are ``files`` (all
        of them but ``carried``, which keep release ``number - 1``'s entries: the bulk files within their
        interval); ``previous``: release ``number - 1``'s manifest entries (empty for an epoch's first);
        ``digits``: the manifest's part digits (default: this service's; a rebuild gives the recorded ones)."""
        digits = self.digits if digits is None else digits
        flat = locate(number, files, previous)
        for path in carried:
            flat[path] = previous[path]
        entries = Entries.of(digits, flat, tops=_tops(previous, digits))
        return Pending(built, key, {code: form_digest(r) for code, r in records.items()}, entries,
                       {code: paths for code, r in records.items() if (paths := photo_paths(r))},
                       files=dict(files))

    def incremental(self, built: Built, key: tuple[int, int], records: Mapping[str, Record],
                    files: Mapping[str, bytes], changed: Iterable[str], *, number: int,
                    previous: Mapping[str, bytes] | None = None) -> Pending:
        """What to write and keep after an incremental build of release ``number``: ``files`` the files built
        now (the feed's and new photos), ``records`` the records of the precincts ``changed`` since the cached
        release. ``previous``: release ``number - 1``'s manifest entries when the cache is of an earlier
        release (other workers released since); the cache's own entries are release ``number - 1``'s
        otherwise."""
        forms = dict(self.forms)
        photos = dict(self.photos)
        for code in changed:
            forms[code] = form_digest(records[code])
            paths = photo_paths(records[code])
            if paths:
                photos[code] = paths
            else:
                photos.pop(code, None)
        entries = self.entries.copy()
        if photos != self.photos:  # a photo no precinct publishes any more leaves the release
            referenced = {path for paths in photos.values() for path in paths}
            for path in {path for paths in self.photos.values() for path in paths} - referenced:
                entries.pop(path)
        if previous is None:
            entries.update(locate(number, files, self.entries))
        else:  # a file carried from the cached release is where release number - 1 has it: every part anew
            flat = dict(entries.items())
            for path in flat.keys() - files.keys():
                if path in previous:
                    flat[path] = previous[path]
            flat.update(locate(number, files, previous))
            entries = Entries.of(self.digits, flat, tops=_tops(previous, self.digits))
        return Pending(built, key, forms, entries, photos, files=dict(files))


def _tops(previous: Mapping[str, bytes], digits: int) -> dict[str, bytes]:
    """Release n-1's entries of its manifest parts, when they are parts of the same digits (else none: every
    part is written anew)."""
    if isinstance(previous, Entries) and previous.digits == digits:
        return dict(previous.tops)
    return {}
