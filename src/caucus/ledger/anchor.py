"""Checking the ledger against heads published in releases (``caucus verify --against-release``).

Every release publishes the ledger head it was built from (docs/ledger-format.md): the seq and content hash
of the election's newest entry, read at the release's ``createdAt`` under the lock every ledger writer
takes before it reads its clock. Given such a head, the ledger must still

1. reach that seq (else entries were deleted),
2. have that hash at that seq (else an entry up to it was rewritten, even if every later hash was
   recomputed: the hash at the head covers every entry before it through ``prev_hash``), on a chain that
   verifies from the genesis through it to the current head (:func:`caucus.ledger.chain.verify_chain`), and
3. hold no entry after the head dated before the release was made (it would have been in the head: it was
   added later and back-dated).

An entry appended later and dated later is indistinguishable from a late report until the next release
publishes a head that covers it: publish often (continuous release does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from caucus.ledger.chain import GENESIS_HASH, ChainReport
from caucus.ledger.db import iso_utc
from caucus.ledger.elections import election_id_for
from caucus.ledger.schema import ledger_entries

#: at most this many back-dated entries are named per head
SHOWN = 5


@dataclass(frozen=True)
class Anchor:
    """A ledger head as a release published it."""

    election: str
    seq: int
    hash: str
    #: the release's createdAt: every entry after the head was received at or after it
    created_at: datetime
    #: how problems name it, e.g. ``release 7 of ia-2020 (https://results.example.org/...)``
    name: str


def check_head(engine: Engine, chain: ChainReport, head: Anchor) -> list[str]:
    """What is wrong with the election's ledger against ``head`` (nothing: an empty list); ``chain`` is the
    election's whole chain, just verified. Raises UnknownElection."""
    problems: list[str] = []
    where = f"{head.name} published ledger head #{head.seq}"
    if not chain.ok:
        bad = chain.first_bad_seq or 0
        if bad <= head.seq:
            problems.append(f"{where}, but the chain is broken at entry #{bad}, at or before it")
        else:
            problems.append(f"{where}; the chain verifies through it but is broken after it, at entry #{bad}")
    if head.seq == 0:
        if head.hash != GENESIS_HASH:
            problems.append(f"{where} with hash {head.hash[:12]}…, but an empty ledger's head is 64 zeros")
    else:
        with engine.connect() as conn:
            election_id = election_id_for(conn, head.election)
            stored = conn.execute(select(ledger_entries.c.content_hash)
                                  .where(ledger_entries.c.election_id == election_id,
                                         ledger_entries.c.seq == head.seq)).scalar()
            last = conn.execute(select(ledger_entries.c.seq).where(ledger_entries.c.election_id == election_id)
                                .order_by(ledger_entries.c.seq.desc()).limit(1)).scalar()
        if stored is None:
            problems.append(f"{where}, but the ledger ends at entry #{last or 0}: entries were deleted")
        elif stored != head.hash:
            problems.append(f"{where} with hash {head.hash}, but entry #{head.seq} now has hash {stored}: entries "
                            f"up to #{head.seq} were rewritten")
    with engine.connect() as conn:
        election_id = election_id_for(conn, head.election)
        late = list(conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.received_at)
            .where(ledger_entries.c.election_id == election_id, ledger_entries.c.seq > head.seq,
                   ledger_entries.c.received_at < head.created_at)
            .order_by(ledger_entries.c.seq).limit(SHOWN + 1)))
    for row in late[:SHOWN]:
        problems.append(f"entry #{row.seq} is dated {iso_utc(row.received_at)}, before {head.name} was made "
                        f"({iso_utc(head.created_at)}), yet it is after that release's head #{head.seq}: it was "
                        "added later and back-dated (or the server's clock went back)")
    if len(late) > SHOWN:
        problems.append(f"and more entries after #{head.seq} dated before {head.name}")
    return problems
