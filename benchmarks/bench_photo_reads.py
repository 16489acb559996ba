"""What the photo reads of an upload and of the release page cost on SQLite with many photos stored, the statements
as they are now against the ones before issue 15's national-size rehearsal found them walking every photo.

Before: the room check (run twice per upload) and the photo list joined ``photos`` to ``precincts`` on the code;
SQLite planned a walk over every photo of the election along ``(election_id)``, reading each row up to its
``channel``, which comes after the photo's bytes. The release page's "photos since" filtered ``received_at``
(also after the bytes) with no index on it. Now: by the precinct's id along ``(election_id, precinct_id)``, and
along ``(election_id, received_at)`` (revision 0020).

Run on a caucus SQLite database with photos, e.g. the one ``caucus rehearse --synthetic 175000`` leaves:
    .venv/bin/python benchmarks/bench_photo_reads.py --database /path/data/caucus.db [--checks 40]

The statements run alternately on one read-only connection; CPU = ``time.process_time`` of this process (SQLite
runs in it). The "since" comparison needs revision 0020's index in the database (``caucus`` upgrades a database
when it opens it; for a read-only copy, create it as the revision does).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, func, select

from caucus.ledger.epochs import counted
from caucus.ledger.schema import photos, precincts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a caucus SQLite database file")
    parser.add_argument("--checks", type=int, default=40)
    args = parser.parse_args()
    engine = create_engine(f"sqlite:///file:{args.database}?mode=ro&uri=true")
    with engine.connect() as conn:
        election, stored = conn.exec_driver_sql(
            "SELECT election_id, count(*) FROM photos GROUP BY election_id ORDER BY 2 DESC LIMIT 1").one()
        owners = list(conn.exec_driver_sql(
            "SELECT DISTINCT p.id, p.code FROM photos ph JOIN precincts p ON p.id = ph.precinct_id "
            "WHERE ph.election_id = ?", (election,)))
        sample = random.Random(7).sample(owners, min(args.checks, len(owners)))
        that_counts = counted(photos.c.id, election, "photos_after_id")

        def before(pid: int, code: str) -> Any:  # the statement as it was: joined on the code
            return select(func.count()).select_from(photos).join(
                precincts, precincts.c.id == photos.c.precinct_id).where(
                    photos.c.election_id == election, precincts.c.code == code, photos.c.channel == "app",
                    that_counts)

        def now(pid: int, code: str) -> Any:  # caucus.service.media.PhotoService._check_room
            return select(func.count()).select_from(photos).where(
                photos.c.election_id == election, photos.c.precinct_id == pid, photos.c.channel == "app",
                that_counts)

        cpu = {"before": 0.0, "now": 0.0}
        counts: dict[str, list[int]] = {"before": [], "now": []}
        ways: tuple[tuple[str, Callable[[int, str], Any]], ...] = (("before", before), ("now", now))
        for pid, code in sample:
            for name, statement in ways:
                started = time.process_time()
                counts[name].append(conn.execute(statement(pid, code)).scalar_one())
                cpu[name] += time.process_time() - started
        assert counts["before"] == counts["now"]
        newest = conn.exec_driver_sql("SELECT max(received_at) FROM photos WHERE election_id = ?",
                                      (election,)).scalar_one()
        since = {}
        for name, table in (("before", "photos INDEXED BY ix_photos_election_id_precinct_id"),  # the plan before 0020
                            ("now", "photos INDEXED BY ix_photos_election_id_received_at")):
            started = time.process_time()
            conn.exec_driver_sql(f"SELECT count(precinct_id) FROM {table} WHERE election_id = ? AND received_at >= ?",
                                 (election, newest)).scalar_one()
            since[name] = time.process_time() - started
    print(f"photos: {stored:,} of election {election}; {len(sample)} room checks each way "
          f"(precincts with photos, chosen at random)")
    for name in ("before", "now"):
        print(f"room check {name:>6}: {cpu[name] / len(sample) * 1000:8.3f} ms of CPU")
    print(f"room check ratio: before / now = {cpu['before'] / max(cpu['now'], 1e-9):.0f}x")
    print(f"photos since the newest one: before {since['before'] * 1000:.1f} ms, "
          f"now (along (election_id, received_at)) {since['now'] * 1000:.2f} ms of CPU")


if __name__ == "__main__":
    main()
