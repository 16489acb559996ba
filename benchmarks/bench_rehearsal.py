"""Whole-night rehearsals as a benchmark: the full certified Iowa 2020 night and a synthetic state, on
SQLite and on PostgreSQL, with 1 and 2 app workers, each a real `caucus rehearse` run (chairs over HTTP,
two hotline operators, a separate snapshot releaser, continuous release on; on PostgreSQL behind nginx,
which serves the snapshots). Prints a Markdown table of the
reports' figures and writes every JSON report under --out.

Each row also gives what one acknowledged report cost, in CPU from /proc over the night: the server (every
worker and instance, and the releaser) and the load generator (the rehearsal's own process), and the client
timeouts. ``--only demo`` runs `caucus demo --no-serve` (its default night unless --night) instead.

Run (each line of the matrix is one rehearsal; the whole matrix takes about an hour on 2 cores):
    .venv/bin/python benchmarks/bench_rehearsal.py [--only iowa|synthetic|demo] [--precincts 20000]
                                                   [--limit N] [--night S]
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


def run(kind: str, engine: str, workers: int, *, precincts: int, out: Path, night: float | None,
        limit: int | None = None) -> dict[str, object]:
    name = f"{kind}-{engine}-{workers}w" if kind != "demo" else f"demo-{night or 'default'}s"
    if kind == "synthetic" and limit:
        name = f"synthetic-{precincts}-limit{limit}-{engine}-{workers}w"
    report = out / f"{name}.json"
    directory = tempfile.mkdtemp(prefix=f"caucus-bench-{name}-")
    if kind == "demo":
        args = [*CAUCUS, "demo", "--no-serve", "--port", "0", "--dir", directory]
        args += ["--night", str(night)] if night else []
    else:
        args = [*CAUCUS, "rehearse", "--engine", engine, "--workers", str(workers), "--night", str(night),
                "--no-live", "--json", str(report), "--hotline", "0.05", "--publish-timeout", "1800",
                "--dir", directory]
    if kind == "synthetic":
        args += ["--synthetic", str(precincts)] + (["--limit", str(limit), "--hotline", "0"] if limit else [])
    if engine == "postgres":
        args += ["--nginx"]  # the production layout: nginx in front, serving the snapshots itself
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if kind == "demo" and (Path(directory) / "rehearsal.json").exists():
        report.write_text((Path(directory) / "rehearsal.json").read_text())
    if not report.exists():
        raise SystemExit(f"{name}: no report (exit {done.returncode}): {done.stderr[-2000:]}")
    data: dict[str, object] = json.loads(report.read_text())
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
    cost = data.get("cost") or {}
    assert isinstance(cost, dict)
    return (f"| {name} | {data['truth']['units']:,} | {r['acknowledged']:,} | {r['lost']} | {r['duplicates']} | "  # type: ignore[index]
            f"{lat['p50'] * 1000:,.0f} / {lat['p95'] * 1000:,.0f} / {lat['p99'] * 1000:,.0f} | "
            f"{data.get('timeouts', '-')} | "
            f"{rate:,.0f} | {cost.get('night_wall_seconds', '-')} / {data['setup']['night_seconds']} | "  # type: ignore[index]
            f"{cost.get('server_cpu_ms_per_report', '-')} | {cost.get('client_cpu_ms_per_report', '-')} | "
            f"{'-' if published is None else f'{published:.1f}'} | "
            f"{'identical' if data['totals']['identical'] else 'DIFFERENT'} | {'PASS' if data['ok'] else 'FAIL'} |")  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["iowa", "synthetic", "demo"])
    parser.add_argument("--precincts", type=int, default=20_000)
    parser.add_argument("--limit", type=int, help="synthetic: play only this many of the units")
    parser.add_argument("--night", type=float, help="the night's length in seconds (default: per kind)")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["iowa", "synthetic"]
    print("| night | units | reports acknowledged | lost | duplicates | latency p50 / p95 / p99 (ms) | timeouts | "
          "acknowledged/s over the night | night took / planned (s) | server CPU ms/report | client CPU ms/report | "
          "last report to fully published (s) | published totals | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    if args.only == "demo":
        data = run("demo", "sqlite", 1, precincts=0, out=args.out, night=args.night)
        print(row(f"caucus demo (night {args.night or 'default'})", data), flush=True)
        return
    for kind in kinds:
        # the synthetic night is long enough for this machine to keep up (about 125 requests/s all in)
        played = min(args.precincts, args.limit or args.precincts)
        night = args.night or (60.0 if kind == "iowa" else max(60.0, played / 20))
        for engine in args.engines.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                data = run(kind, engine, workers, precincts=args.precincts, out=args.out, night=night,
                           limit=args.limit if kind == "synthetic" else None)
                print(row(f"{kind} {engine} {workers} worker(s)", data), flush=True)


if __name__ == "__main__":
    main()
