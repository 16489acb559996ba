"""Time to audit the whole state, against a same-run baseline.

Baseline: reading the same results file with the standard library's ``csv`` module (the least any audit
must do). Reported as seconds and as a ratio to the baseline, which is stable across noisy machines.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

from caucus.audit import audit
from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.results_csv import read_results

DATA = Path(__file__).parents[1] / "data" / "iowa2020"


def _time(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plan = load_plan("iowa-2020")
    for name, path in (("results-certified.csv", certified_results()),
                       ("results-release-2020-02-06.csv", DATA / "results-release-2020-02-06.csv")):

        def baseline(path: Path = path) -> None:
            with path.open(newline="") as fh:
                for _ in csv.DictReader(fh):
                    pass

        def full(path: Path = path) -> None:
            audit(plan, read_results(path, plan=plan))

        base = statistics.median(_time(baseline, args.repeat))
        whole = statistics.median(_time(full, args.repeat))
        units = len(read_results(path, plan=plan))
        print(f"{name}: {units} units; csv read {base * 1000:.0f} ms; full audit {whole * 1000:.0f} ms "
              f"({units / whole:,.0f} units/s); ratio audit/csv-read {whole / base:.1f}x")


if __name__ == "__main__":
    main()
