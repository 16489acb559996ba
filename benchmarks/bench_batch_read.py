"""What a group-commit batch's read of its precincts' counted entries costs on a large ledger, the statement as
it is now against the one before issue 15's national-size rehearsal (``ORDER BY seq`` in SQL, which made SQLite
walk the election's whole ledger along the primary key instead of the precinct index).

Run on any caucus SQLite database with an election that has entries, e.g. the one a rehearsal leaves:
    .venv/bin/python benchmarks/bench_batch_read.py --database /path/data/caucus.db [--batches 40] [--size 20]

Each of ``--batches`` random batches of ``--size`` precincts is read both ways, alternately, on one read-only
connection; CPU = ``time.process_time`` of this process (SQLite runs in it). Prints the plans and the CPU per
batch of each, and their ratio (same run, same batches).
"""

from __future__ import annotations

import argparse
import random
import time

from sqlalchemy import create_engine

from caucus.ledger.batch import _CURRENT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a caucus SQLite database file")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=20)
    args = parser.parse_args()
    engine = create_engine(f"sqlite:///file:{args.database}?mode=ro&uri=true")
    now = _CURRENT[True]
    before = now.order_by(now.selected_columns.seq)  # the statement before (ORDER BY seq in SQL)
    with engine.connect() as conn:
        election, entries = conn.exec_driver_sql(
            "SELECT election_id, count(*) FROM ledger_entries GROUP BY election_id ORDER BY 2 DESC LIMIT 1").one()
        ids = [row[0] for row in conn.exec_driver_sql(
            "SELECT DISTINCT precinct_id FROM ledger_entries WHERE election_id = ?", (election,))]
        rng = random.Random(7)
        batches = [rng.sample(ids, min(args.size, len(ids))) for _ in range(args.batches)]
        cpu = {"now": 0.0, "before": 0.0}
        rows = {"now": 0, "before": 0}
        for batch in batches:
            for name, statement in (("now", now), ("before", before)):
                started = time.process_time()
                found = conn.execute(statement, {"election_id": election, "ids": batch, "after": 0}).all()
                cpu[name] += time.process_time() - started
                rows[name] += len(found)
    assert rows["now"] == rows["before"]
    print(f"ledger: {entries:,} entries of election {election}, {len(ids):,} precincts with entries; "
          f"{args.batches} batches of {args.size} precincts ({rows['now']:,} rows read each way)")
    for name in ("before", "now"):
        print(f"{name:>6}: {cpu[name] / args.batches * 1000:8.2f} ms of CPU a batch")
    print(f" ratio: before / now = {cpu['before'] / max(cpu['now'], 1e-9):.0f}x")


if __name__ == "__main__":
    main()
