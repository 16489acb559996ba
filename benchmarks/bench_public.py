"""Reading results at scale, and how fast an accepted report becomes public.

1. Requests/s for the statewide JSON of a real-size release (every precinct of the certified 2020 results
   that passes the checks), served by the app (``GET /feed/v1/statewide.json``, one uvicorn worker) and by
   nginx with src/caucus/deploy/nginx/caucus.conf straight from the same snapshot directory; each against nginx serving
   a static file of the same size in the same run (a second server block), as ratios. Load: wrk on
   127.0.0.1, bounded (``--seconds`` per run, ``--connections``).
2. Time from an accepted report to its appearance in the published snapshot, under a burst: with
   continuous release on in the running app, ``--burst`` further precincts are reported as fast as the
   ReportService takes them (four stages each); a watcher polls nginx's /feed/v1/latest.json and reads each
   new release's changes.json; latency = first seen public - accepted (the delegates stage acknowledged).

Run:
    .venv/bin/python benchmarks/bench_public.py [--base 1200] [--burst 300] [--seconds 8] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from caucus.ledger import PrecinctSpec, Writer, create_election, make_engine, sqlite_url_for_dir, upgrade
from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.rehearse import ServerProcess, scripts_from_results
from caucus.rehearse.chairs import ChairScript
from caucus.rehearse.nginx import NginxProcess
from caucus.rehearse.server import free_port
from caucus.service import ReportService, StageReport, load_context
from caucus.service.releases import ReleaseService

CERTIFIED = certified_results()
SLUG = "bench-public"


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed responses")
    return float(match.group(1))


def submit(reports: ReportService, script: ChairScript) -> float:
    for i, stage in enumerate(script.stages):
        body = dict(stage)
        name = body.pop("stage")
        reports.submit(script.precinct, StageReport(name, body), f"b-{script.precinct}-{i}-{uuid.uuid4().hex}",
                       channel="app", actor=f"chair:{script.precinct}")
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=1200, help="precincts released before the measurements")
    parser.add_argument("--burst", type=int, default=300, help="precincts reported in the burst")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per run")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="caucus-bench-public-"))
    url = sqlite_url_for_dir(work / "data")
    upgrade(url)
    engine = make_engine(url)
    plan = load_plan("iowa-2020")
    create_election(engine, SLUG, "iowa-2020", "test",
                    [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in plan.precincts])
    context = load_context(engine, SLUG)
    writer = Writer(engine)
    reports = ReportService(engine, writer, context)
    snapshots = work / "snapshots"
    releases = ReleaseService(engine, context, snapshots / SLUG)
    scripts = scripts_from_results(CERTIFIED)
    base, burst = scripts[:args.base], scripts[args.base:args.base + args.burst]
    started = time.perf_counter()
    for script in base:
        submit(reports, script)
    print(f"reported {len(base)} precincts in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    made = releases.release(actor="bench")
    print(f"release {made.number}: {made.precincts_reporting} precincts in {time.perf_counter() - started:.2f} s")

    statewide = (snapshots / SLUG / "latest" / "feed" / "statewide.json").read_bytes()
    static_dir = work / "static"
    static_dir.mkdir()
    (static_dir / "same-size.json").write_bytes(b"x" * len(statewide))
    static_port = free_port()
    extra = f"server {{ listen 127.0.0.1:{static_port}; root {static_dir}; etag on; }}"
    server = ServerProcess(url, SLUG, env={"CAUCUS_SNAPSHOT_DIR": str(snapshots),
                                           "CAUCUS_RELEASE_INTERVAL_SECONDS": "1"})
    server.start()
    proxy = NginxProcess(snapshots / SLUG, server.base_url.removeprefix("http://"), extra=extra)
    proxy.start()
    try:
        static_url = f"http://127.0.0.1:{static_port}/same-size.json"
        rates = {
            "static-1": wrk(static_url, args.seconds, args.connections),
            "app": wrk(f"{server.base_url}/feed/v1/statewide.json", args.seconds, args.connections),
            "nginx": wrk(f"{proxy.base_url}/feed/v1/statewide.json", args.seconds, args.connections),
            "static-2": wrk(static_url, args.seconds, args.connections),
        }
        baseline = (rates["static-1"] + rates["static-2"]) / 2
        print(f"statewide.json {len(statewide):,} bytes; static baseline {rates['static-1']:,.0f} / "
              f"{rates['static-2']:,.0f} req/s")
        print(f"app   {rates['app']:,.0f} req/s = {rates['app'] / baseline:.3f} x static")
        print(f"nginx {rates['nginx']:,.0f} req/s = {rates['nginx'] / baseline:.3f} x static")

        releases.set_continuous(True, actor="bench")
        accepted: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            last = made.number
            client = httpx.Client(base_url=proxy.base_url)
            while not done.is_set() or len(seen) < len(accepted):
                latest = client.get("/feed/v1/latest.json").json()["release"]
                if latest != last:
                    now = time.monotonic()
                    for number in range(last + 1, latest + 1):
                        changes = client.get(f"/feed/v1/releases/{number}/feed/changes.json").json()["changes"]
                        for change in changes:
                            seen.setdefault(change["code"], now)
                    last = latest
                if done.is_set() and time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            client.close()

        deadline = float("inf")
        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.perf_counter()
        for script in burst:
            accepted[script.precinct] = submit(reports, script)
        elapsed = time.perf_counter() - started
        deadline = time.monotonic() + 60
        done.set()
        watcher.join()
        latencies = sorted(seen[code] - accepted[code] for code in accepted if code in seen)
        missing = len(accepted) - len(latencies)
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
        releases_made = len(releases.list()) - 1
        print(f"burst: {len(burst)} precincts in {elapsed:.1f} s ({len(burst) / elapsed:.0f}/s); "
              f"{releases_made} continuous releases; accepted -> public p50 {p50:.2f} s, p99 {p99:.2f} s, "
              f"max {latencies[-1]:.2f} s; never seen: {missing}")
        print(json.dumps({"bytes": len(statewide), **{k: round(v) for k, v in rates.items()},
                          "app_ratio": round(rates["app"] / baseline, 3),
                          "nginx_ratio": round(rates["nginx"] / baseline, 3), "burst": len(burst),
                          "burst_seconds": round(elapsed, 1), "releases": releases_made,
                          "p50_s": round(p50, 2), "p99_s": round(p99, 2), "missing": missing}))
    finally:
        proxy.stop()
        server.stop()
        writer.close()
        engine.dispose()


if __name__ == "__main__":
    main()
