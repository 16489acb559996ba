"""The set-up steps an operator waits for: loading the bundled plan, reading the certified results file,
creating an election of a whole state's precincts.

These were once timed tests (``< 0.2 s``, ``< 1 s``, ``< 5 s``); a timing on a shared machine is not a
test (it failed under load and under coverage), so the figures live here and in RESULTS.md, and the tests
check only what the steps produce. Each figure is the best of ``--repeat`` runs, with a same-run baseline:
reading the same file with the standard library's ``csv`` module.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from caucus.ledger import PrecinctSpec, create_election, list_precincts, make_engine, sqlite_url_for_dir, upgrade
from caucus.packaged import certified_results
from caucus.plans import load_plan, read_plan_dir
from caucus.results_csv import read_results


def best(fn: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return min(timings)


def _csv_baseline(path: Path) -> None:
    with path.open(newline="") as fh:
        for _ in csv.DictReader(fh):
            pass


def _state_specs() -> list[PrecinctSpec]:
    """1,770 precincts: 99 counties of 17, and 87 satellite sites (the size of Iowa's plan)."""
    return [
        PrecinctSpec(f"County{c:02d}/{p:03d}", f"County{c:02d}", f"Precinct {p}", 1 + (c + p) % 12)
        for c in range(99) for p in range(17)
    ] + [PrecinctSpec(f"Satellite/{s:02d}", "Satellite", f"Satellite {s}", None, "satellite") for s in range(87)]


def _create_election() -> float:
    with tempfile.TemporaryDirectory(prefix="caucus-bench-") as directory:
        engine = make_engine(sqlite_url_for_dir(Path(directory)))
        upgrade(engine)
        start = time.perf_counter()
        create_election(engine, "iowa-2020", "iowa-2020", "live", _state_specs())
        elapsed = time.perf_counter() - start
        assert len(list_precincts(engine, "iowa-2020")) == 1_770
        engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plan_dir = resources.files("caucus.plans").joinpath("iowa-2020")
    certified = certified_results()
    plan = load_plan("iowa-2020")
    baseline = best(lambda: _csv_baseline(certified), args.repeat)
    plan_load = best(lambda: read_plan_dir(plan_dir), args.repeat)
    reading = best(lambda: read_results(certified, plan=plan), args.repeat)
    creating = min(_create_election() for _ in range(args.repeat))
    print(f"csv module reading the certified file (baseline): {baseline * 1000:.0f} ms")
    print(f"loading the bundled iowa-2020 plan (uncached):     {plan_load * 1000:.0f} ms "
          f"({plan_load / baseline:.2f}x baseline)")
    print(f"reading the certified results file:               {reading * 1000:.0f} ms "
          f"({reading / baseline:.2f}x baseline)")
    print(f"creating an election of 1,770 precincts (SQLite): {creating * 1000:.0f} ms "
          f"({creating / baseline:.2f}x baseline)")


if __name__ == "__main__":
    main()
