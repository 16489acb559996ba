"""Recorded manifests: a release's top manifest is its ``releases.manifest``; the parts it names are kept once
each, by sha256, in ``manifest_parts`` (:mod:`caucus.publish.manifest`). What a release or a rebuild needs of
an earlier release's manifest (every file's entry, or a few files') is read from there.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from caucus.ledger.db import is_sqlite
from caucus.ledger.schema import manifest_parts, releases
from caucus.publish.manifest import PART_DIR, Entries, entry_fields, part_key, part_path, rendered_entries, sha256

_CHUNK = 500


def record_parts(conn: Connection, election_id: int, parts: Mapping[str, bytes]) -> None:
    """Keep the parts a release wrote (path → bytes), each once per election (a part with the same text as
    one already kept is the same row)."""
    if not parts:
        return
    rows = [{"election_id": election_id, "sha256": sha256(data), "body": data.decode()}
            for data in parts.values()]
    insert = sqlite_insert if is_sqlite(conn) else pg_insert
    for at in range(0, len(rows), _CHUNK):
        conn.execute(insert(manifest_parts).on_conflict_do_nothing(), rows[at:at + _CHUNK])


def _bodies(conn: Connection, election_id: int, digests: Collection[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    wanted = sorted(set(digests))
    for at in range(0, len(wanted), _CHUNK):
        for digest, body in conn.execute(select(manifest_parts.c.sha256, manifest_parts.c.body).where(
                manifest_parts.c.election_id == election_id, manifest_parts.c.sha256.in_(wanted[at:at + _CHUNK]))):
            found[str(digest)] = str(body).encode()
    missing = set(wanted) - found.keys()
    if missing:
        raise LookupError(f"manifest parts {sorted(missing)[:3]} are not recorded")
    return found


def _top(conn: Connection, election_id: int, number: int) -> tuple[int, dict[str, bytes]]:
    """Recorded release ``number``'s part digits (0: a flat manifest) and the entries its manifest.json lists."""
    raw = str(conn.execute(select(releases.c.manifest).where(
        releases.c.election_id == election_id, releases.c.number == number)).scalar_one()).encode()
    return int(json.loads(raw).get("partDigits", 0)), rendered_entries(raw, number)


def recorded_entries(conn: Connection, election_id: int, number: int) -> Entries:
    """Every file's entry of recorded release ``number``, as the release rendered them (nothing dirty)."""
    digits, listed = _top(conn, election_id, number)
    if not digits:
        entries = Entries.of(0, listed)
    else:
        bodies = _bodies(conn, election_id, [entry_fields(entry)[0] for entry in listed.values()])
        groups = {path[len(PART_DIR):-len(".json")]: rendered_entries(bodies[entry_fields(entry)[0]], number)
                  for path, entry in listed.items()}
        entries = Entries(digits, groups, listed)
    entries.dirty = set()
    return entries


def recorded_paths(conn: Connection, election_id: int, number: int, paths: Collection[str]) -> dict[str, bytes]:
    """The entries of ``paths`` in recorded release ``number`` (those it has), reading only their parts."""
    digits, listed = _top(conn, election_id, number)
    if not digits:
        return {path: listed[path] for path in paths if path in listed}
    wanted = {path: part_path(part_key(path, digits)) for path in paths}
    digests = {part: entry_fields(listed[part])[0] for part in set(wanted.values()) if part in listed}
    bodies = _bodies(conn, election_id, digests.values())
    parts = {part: rendered_entries(bodies[digest], number) for part, digest in digests.items()}  # each parsed once
    return {path: parts[part][path] for path, part in wanted.items() if part in parts and path in parts[part]}
