"""CPU of a campaign's cross-check with a whole state's tallies (issue 13), against a same-run baseline.

A campaign uploads the 6 February 2020 release (1,765 units) as its own tallies into a fresh SQLite election
of the bundled iowa-2020 plan; then, each ``--repeat`` times, measured as CPU seconds of this process (user +
system, read from /proc/self/stat):

- **baseline**: the quality-control summary derived from every precinct's state from the ledger and the
  releases (``derived_quality``: what the page was before issue 15's maintained rows);
- **cross-check, first**: the cross-check after a new upload (the checks of ``caucus audit`` run on every
  tally, the SDE effect);
- **cross-check, again**: the same page read again with no new upload (the checks are kept by row ids);
- **derived, again**: the cross-check derived from every precinct (``derived_crosscheck``, what the page did
  before it read the maintained rows), with the checks kept.

With nothing released here, the tallied precincts' views are their states only (a bound on the reads, not on
the comparison with released records).

Run: ``.venv/bin/python benchmarks/bench_campaign.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from caucus.ledger import PrecinctSpec, create_election, make_engine, sqlite_url_for_dir, upgrade
from caucus.plans import load_plan
from caucus.web.app import create_app
from caucus.web.settings import Settings

FEB6 = Path(__file__).parents[1] / "data" / "iowa2020" / "results-release-2020-02-06.csv"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    """This process's CPU seconds (user + system) from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(fn: Callable[[], object], repeat: int) -> float:
    out = []
    for _ in range(repeat):
        start = cpu()
        fn()
        out.append(cpu() - start)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = sqlite_url_for_dir(Path(directory))
        upgrade(url)
        engine = make_engine(url)
        plan = load_plan("iowa-2020")
        create_election(engine, "bench", "iowa-2020", "test",
                        [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in plan.precincts])
        engine.dispose()
        app = create_app(Settings(database_url=url, election="bench", snapshot_dir=Path(directory) / "snapshots"))
        with TestClient(app) as client:
            campaigns = client.app_state["services"].campaigns
            data = FEB6.read_bytes()
            upload = measure(lambda: campaigns.upload("Sanders", "campaign:bench", data, FEB6.name), 1)
            units = len(campaigns.tallies("Sanders"))
            base = measure(campaigns.derived_quality, args.repeat)

            def first() -> None:
                campaigns._checked.clear()  # as after a new upload
                campaigns.crosscheck("Sanders")

            cold = measure(first, args.repeat)
            warm = measure(lambda: campaigns.crosscheck("Sanders"), args.repeat)
            derived = measure(lambda: campaigns.derived_crosscheck("Sanders"), args.repeat)
    print(f"{units} units uploaded in {upload * 1000:.0f} ms CPU; baseline quality summary {base * 1000:.0f} ms; "
          f"cross-check first {cold * 1000:.0f} ms ({cold / base:.1f}x); again {warm * 1000:.0f} ms "
          f"({warm / base:.1f}x); derived again {derived * 1000:.0f} ms ({derived / base:.1f}x)")


if __name__ == "__main__":
    main()
