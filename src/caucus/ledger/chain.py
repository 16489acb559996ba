"""The hash chain over each election's ledger entries, and its verification.

Each entry's ``content_hash`` is the SHA-256 of the canonical JSON of its content fields *and* its
``prev_hash`` (the previous entry's content_hash; 64 zeros for the first), so changing any stored entry
breaks the chain from that entry on, unless every later hash is rewritten too.

``correction_id`` (revision 0006: the id shared by the entries of one correction of several stages) enters
the hashed document only when it is set, so every entry written before it existed, and every entry that is
not part of such a correction, hashes exactly as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from caucus.ledger.db import iso_utc
from caucus.ledger.elections import election_id_for
from caucus.ledger.model import canonical_json
from caucus.ledger.schema import ledger_entries, precincts

GENESIS_HASH = "0" * 64


def entry_hash(
    *,
    election: str,
    seq: int,
    precinct_code: str,
    channel: str,
    stage: str,
    payload_json: str,
    actor: str,
    idempotency_key: str,
    received_at: datetime,
    supersedes_seq: int | None,
    reason: str | None,
    prev_hash: str,
    correction_id: str | None = None,
) -> str:
    """The content hash of one entry (hex SHA-256). ``payload_json`` enters as the stored text."""
    document = {
        "actor": actor,
        "channel": channel,
        "election": election,
        "idempotency_key": idempotency_key,
        "payload": payload_json,
        "precinct": precinct_code,
        "prev_hash": prev_hash,
        "reason": reason,
        "received_at": iso_utc(received_at),
        "seq": seq,
        "stage": stage,
        "supersedes_seq": supersedes_seq,
    }
    if correction_id is not None:
        document["correction_id"] = correction_id
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The result of checking an election's chain. ``entries_checked`` counts the entries examined,
    including the first bad one; ``head_hash`` is the content hash of the last good entry."""

    election: str
    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH

    def __str__(self) -> str:
        if self.ok:
            return f"{self.election}: chain ok, {self.entries_checked} entries, head {self.head_hash[:12]}"
        return f"{self.election}: chain broken at entry #{self.first_bad_seq}: {self.problem}"


def verify_chain(engine: Engine, election_slug: str) -> ChainReport:
    """Recompute every hash of the election's ledger in seq order and check every link.

    Also checks that seqs run 1, 2, 3... without gaps, that payloads are canonical JSON, that every
    correction supersedes an earlier entry of the same precinct and gives a reason, and that the entries of
    one correction of several stages (one ``correction_id``) are consecutive, of one precinct, each a
    correction with the same reason.
    """
    query = (
        select(ledger_entries, precincts.c.code.label("precinct_code"))
        .join(precincts, precincts.c.id == ledger_entries.c.precinct_id)
        .order_by(ledger_entries.c.seq)
    )
    with engine.connect() as conn:
        election_id = election_id_for(conn, election_slug)
        result = conn.execution_options(yield_per=1000).execute(
            query.where(ledger_entries.c.election_id == election_id)
        )
        try:
            return check_rows(election_slug, result)
        finally:
            result.close()


def _problem(row: Any, expected_seq: int, expected_prev: str, precinct_of: dict[int, int]) -> str | None:
    if row.seq != expected_seq:
        return f"expected entry #{expected_seq} next, found #{row.seq} (an entry is missing)"
    if row.prev_hash != expected_prev:
        return f"prev_hash {row.prev_hash[:12]}… does not match the previous entry's hash {expected_prev[:12]}…"
    try:
        canonical = canonical_json(json.loads(row.payload))
    except ValueError:
        return "payload is not valid JSON"
    if canonical != row.payload:
        return "payload is not in canonical JSON form"
    if row.supersedes_seq is not None:
        if not (row.reason or "").strip():
            return f"corrects entry #{row.supersedes_seq} without a reason"
        if precinct_of.get(row.supersedes_seq) != row.precinct_id:
            return f"supersedes #{row.supersedes_seq}, not an earlier entry of its precinct"
    return None


class _Corrections:
    """The correction ids seen so far: the open one (the previous entry's) and every closed one."""

    def __init__(self) -> None:
        self.open: Any = None  # the previous row, if it belonged to a correction
        self.closed: set[str] = set()

    def problem(self, row: Any) -> str | None:
        cid = getattr(row, "correction_id", None)
        previous = self.open
        if previous is not None and previous.correction_id != cid:
            self.closed.add(previous.correction_id)
            previous = None
        if cid is None:
            self.open = None
            return None
        if cid in self.closed:
            return f"belongs to correction {cid}, whose entries are not consecutive"
        if row.supersedes_seq is None:
            return f"belongs to correction {cid} but corrects no entry"
        if previous is not None and (previous.precinct_id != row.precinct_id or previous.reason != row.reason):
            return f"belongs to correction {cid} but differs from its other entries in precinct or reason"
        self.open = row
        return None


def check_rows(election_slug: str, rows: Iterable[Any]) -> ChainReport:
    """Check ledger_entries rows (with ``precinct_code``), in seq order, as one election's chain."""
    expected_prev = GENESIS_HASH
    precinct_of: dict[int, int] = {}
    corrections = _Corrections()
    checked = 0
    for row in rows:
        checked += 1
        problem = _problem(row, checked, expected_prev, precinct_of) or corrections.problem(row)
        if problem is None:
            recomputed = entry_hash(
                election=election_slug,
                seq=row.seq,
                precinct_code=row.precinct_code,
                channel=row.channel,
                stage=row.stage,
                payload_json=row.payload,
                actor=row.actor,
                idempotency_key=row.idempotency_key,
                received_at=row.received_at,
                supersedes_seq=row.supersedes_seq,
                reason=row.reason,
                prev_hash=row.prev_hash,
                correction_id=getattr(row, "correction_id", None),
            )
            if recomputed != row.content_hash:
                problem = f"content hash {row.content_hash[:12]}… does not match the content ({recomputed[:12]}…)"
        if problem is not None:
            return ChainReport(election_slug, False, checked, row.seq, problem, expected_prev)
        precinct_of[row.seq] = row.precinct_id
        expected_prev = row.content_hash
    return ChainReport(election_slug, True, checked, head_hash=expected_prev)
