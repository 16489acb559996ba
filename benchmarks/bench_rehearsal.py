"""Whole-night rehearsals as a benchmark: the full certified Iowa 2020 night and a synthetic state, on
SQLite and on PostgreSQL, with 1 and 2 app workers, each a real `caucus rehearse` run (chairs over HTTP,
two hotline operators, a separate snapshot releaser, continuous release on; on PostgreSQL behind nginx,
which serves the snapshots). Prints a Markdown table of the
reports' figures and writes every JSON report under --out.

Run (each line of the matrix is one rehearsal; the whole matrix takes about an hour on 2 cores):
    .venv/bin/python benchmarks/bench_rehearsal.py [--only iowa|synthetic] [--precincts 20000]
                                                   [--engines sqlite,postgres] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAUCUS = [sys.executable, "-c", "from caucus.cli import main; main()"]


def run(kind: str, engine: str, workers: int, *, precincts: int, out: Path, night: float) -> dict[str, object]:
    name = f"{kind}-{engine}-{workers}w"
    report = out / f"{name}.json"
    args = [*CAUCUS, "rehearse", "--engine", engine, "--workers", str(workers), "--night", str(night),
            "--no-live", "--json", str(report), "--hotline", "0.05", "--publish-timeout", "900",
            "--dir", tempfile.mkdtemp(prefix=f"caucus-bench-{name}-")]
    if kind == "synthetic":
        args += ["--synthetic", str(precincts)]
    if engine == "postgres":
        args += ["--nginx"]  # the production layout: nginx in front, serving the snapshots itself
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if not report.exists():
        raise SystemExit(f"{name}: no report (exit {done.returncode}): {done.stderr[-2000:]}")
    data = json.loads(report.read_text())
    data["command"] = " ".join(["caucus", *args[len(CAUCUS):]])
    data["bench_wall_seconds"] = round(wall, 1)
    report.write_text(json.dumps(data, indent=2))
    return data


def row(name: str, data: dict[str, object]) -> str:
    r = data["reports"]
    lat = data["latency_seconds"]
    assert isinstance(r, dict) and isinstance(lat, dict)
    samples = data["samples"]
    assert isinstance(samples, list)
    # from the start to the first sample that saw every acknowledgment
    done = min((s["t"] for s in samples if s["acknowledged"] >= samples[-1]["acknowledged"]), default=0)
    published = data["last_report_to_fully_published_seconds"]
    rate = samples[-1]["acknowledged"] / done if done else 0
    return (f"| {name} | {data['truth']['units']:,} | {r['acknowledged']:,} | {r['lost']} | {r['duplicates']} | "  # type: ignore[index]
            f"{lat['p50'] * 1000:,.0f} / {lat['p95'] * 1000:,.0f} / {lat['p99'] * 1000:,.0f} | {rate:,.0f} | "
            f"{'-' if published is None else f'{published:.1f}'} | "
            f"{'identical' if data['totals']['identical'] else 'DIFFERENT'} | {'PASS' if data['ok'] else 'FAIL'} |")  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["iowa", "synthetic"])
    parser.add_argument("--precincts", type=int, default=20_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["iowa", "synthetic"]
    print("| night | units | reports acknowledged | lost | duplicates | latency p50 / p95 / p99 (ms) | "
          "acknowledged/s over the night | last report to fully published (s) | published totals | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        # the synthetic night is long enough for this machine to keep up (about 125 requests/s all in)
        night = 60.0 if kind == "iowa" else max(60.0, args.precincts / 20)
        for engine in args.engines.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                data = run(kind, engine, workers, precincts=args.precincts, out=args.out, night=night)
                print(row(f"{kind} {engine} {workers} worker(s)", data), flush=True)


if __name__ == "__main__":
    main()
