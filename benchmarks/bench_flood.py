"""Chairs' report latency under a flood of live-update streams and public page loads, through the shipped
nginx config (caucus/deploy/nginx/caucus.conf, plain-http variant: src/caucus/rehearse/nginx.py), all on loopback.

One run, two phases on the same server (uvicorn, ``--workers``, SQLite) behind the same nginx:

- **quiet**: ``--chairs`` precinct chairs (real precincts of the certified 2020 results, signed in
  beforehand) each report their four stages, ``--pause`` seconds apart; the latency of every report is taken
  at the chair (sign-in not timed). This is the baseline.
- **flood**: as quiet with other precincts, while (a) ``--streams`` live-update streams are held open from one
  address (127.0.0.2, a separate process; a refused or ended stream is reopened after a second, as a hostile
  client would) and (b) wrk loads the public pages (statewide, a county, a precinct, the feed reference) at
  full speed with ``--page-connections`` connections from 127.0.0.1 (Debian's ``wrk``). Both load
  generators run at ``--nice`` 10 by default: they share this machine's cores with the server, which the
  night's attackers do not; their CPU is printed (``--nice 0`` runs them at the server's priority).

Printed: chair p50/p95/max and failures per phase, the flood/quiet p95 ratio (the target: within 2x), streams
held and refused, page requests/s and how many nginx refused, and the CPU time (from /proc) of the app's
processes and of nginx per phase. ``--unlimited`` runs nginx with loopback exempt from its per-address limits,
so that only its page cache and the app's own stream cap stand between the flood and the workers.

Run:
    .venv/bin/python benchmarks/bench_flood.py [--chairs 24] [--streams 1000] [--workers 2] [--unlimited]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from caucus.ledger import Writer, make_engine, sqlite_url_for_dir
from caucus.packaged import certified_results
from caucus.rehearse import ServerProcess, prepare_election, scripts_from_results
from caucus.rehearse.chairs import ChairScript
from caucus.rehearse.nginx import NginxProcess
from caucus.service import ReportService, StageReport, load_context
from caucus.service.releases import ReleaseService

CERTIFIED = certified_results()
SLUG = "bench-flood"
PAGES = ("/", "/county/poweshiek", "/precinct/poweshiek-7", "/feed")
TICKS = os.sysconf("SC_CLK_TCK")


# -- CPU from /proc ------------------------------------------------------------------------------------------

def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                pending.extend(int(c) for c in children)
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its living descendants."""
    total = 0
    for process in _tree(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS


# -- the flood of streams (a child process, so that it never shares the chairs' event loop) -----------------

async def _hold(host: str, port: int, stop: float, tally: dict[str, int]) -> None:
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=("127.0.0.2", 0))
        except OSError:
            tally["connect_errors"] += 1
            await asyncio.sleep(1)
            continue
        writer.write(f"GET /events?release=0 HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                     "Connection: close\r\n\r\n".encode())
        try:
            status = await asyncio.wait_for(reader.readline(), timeout=max(0.1, stop - time.monotonic()))
            code = status.split(b" ")[1].decode() if status.count(b" ") >= 2 else "none"
            tally[f"status_{code}"] += 1
            if code == "200":
                tally["open"] += 1
                tally["peak"] = max(tally["peak"], tally["open"])
                try:
                    while time.monotonic() < stop and await asyncio.wait_for(reader.read(4096),
                                                                             timeout=stop - time.monotonic()):
                        pass
                finally:
                    tally["open"] -= 1
        except (TimeoutError, OSError, IndexError):
            pass
        finally:
            writer.close()
        await asyncio.sleep(1)


async def _flood(host: str, port: int, streams: int, seconds: float) -> dict[str, int]:
    from collections import defaultdict  # noqa: PLC0415

    tally: dict[str, int] = defaultdict(int)
    tally["peak"] = 0
    stop = time.monotonic() + seconds
    await asyncio.gather(*(_hold(host, port, stop, tally) for _ in range(streams)))
    return dict(tally)


def flood_child(host: str, port: int, streams: int, seconds: float) -> None:
    import resource  # noqa: PLC0415

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, streams + 256)), hard))
    print(json.dumps(asyncio.run(_flood(host, port, streams, seconds))))


# -- chairs --------------------------------------------------------------------------------------------------

async def _chair(http: httpx.AsyncClient, token: str, script: ChairScript, pause: float, *,
                 latencies: list[float], failures: list[str]) -> None:
    # chairs are not in step: each starts at its own moment and pauses 0.5-1.5x ``pause`` (a fixed seed)
    jitter = random.Random(script.precinct)
    await asyncio.sleep(jitter.uniform(0, pause))
    for stage in script.stages:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        try:
            answer = await http.post("/api/v1/reports", json=stage, headers=headers)
            latencies.append(time.perf_counter() - started)
            if answer.status_code not in (200, 201):
                failures.append(f"{answer.status_code} {answer.text[:200]}")
        except httpx.HTTPError as exc:
            latencies.append(time.perf_counter() - started)
            failures.append(type(exc).__name__)
        await asyncio.sleep(pause * jitter.uniform(0.5, 1.5))


async def _chairs(base_url: str, scripts: list[ChairScript], secrets: dict[str, str], pause: float
                  ) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    limits = httpx.Limits(max_connections=len(scripts) + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        tokens = {}
        for s in scripts:  # signed in beforehand (not timed), as chairs do before the caucus
            signed = await http.post("/api/v1/session",
                                     json={"precinct": s.precinct, "credential": secrets[s.precinct]})
            signed.raise_for_status()
            tokens[s.precinct] = signed.json()["token"]
        await asyncio.gather(*(_chair(http, tokens[s.precinct], s, pause, latencies=latencies, failures=failures)
                               for s in scripts))
    return latencies, failures


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"n": len(ordered), "p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[max(0, round(0.95 * len(ordered)) - 1)], "max_ms": 1000 * ordered[-1]}


def _wrk_pages(base_url: str, seconds: int, connections: int, script: Path, nice: int) -> subprocess.Popen[str]:
    paths = ", ".join(json.dumps(p) for p in PAGES)
    script.write_text(f"""local paths = {{{paths}}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
""")
    return subprocess.Popen(["nice", "-n", str(nice), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
                             str(script), base_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wrk_figures(out: str) -> dict[str, float]:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"per_s": float(rate.group(1)) if rate else 0.0, "requests": int(total.group(1)) if total else 0,
            "refused": int(non2xx.group(1)) if non2xx else 0}


def phase(name: str, front: str, scripts: list[ChairScript], secrets: dict[str, str], *, pause: float,
          server: ServerProcess, proxy: NginxProcess) -> dict[str, Any]:
    assert server.process is not None and proxy.process is not None
    app_cpu, nginx_cpu, wall = cpu_seconds(server.process.pid), cpu_seconds(proxy.process.pid), time.monotonic()
    latencies, failures = asyncio.run(_chairs(front, scripts, secrets, pause))
    wall = time.monotonic() - wall
    result = {"phase": name, **_summary(latencies), "failures": len(failures), "failure_examples": failures[:3],
              "seconds": wall, "app_cpu_cores": (cpu_seconds(server.process.pid) - app_cpu) / wall,
              "nginx_cpu_cores": (cpu_seconds(proxy.process.pid) - nginx_cpu) / wall}
    print(f"{name:6} chairs {result['n']} reports: p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
          f"max {result['max_ms']:.1f} ms, {len(failures)} failed; app {result['app_cpu_cores']:.2f} cores, "
          f"nginx {result['nginx_cpu_cores']:.2f} cores over {wall:.1f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chairs", type=int, default=24, help="chairs reporting in each phase")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between a chair's reports")
    parser.add_argument("--streams", type=int, default=1000, help="streams held open from one address")
    parser.add_argument("--page-connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of flood before the chairs start")
    parser.add_argument("--unlimited", action="store_true", help="loopback exempt from nginx's per-address limits")
    parser.add_argument("--nice", type=int, default=10,
                        help="niceness of the load generators (as on the night, the attackers' CPU is not the "
                             "server's; 0: same priority as the server)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="caucus-bench-flood-"))
    url = sqlite_url_for_dir(work / "data")
    scripts = scripts_from_results(CERTIFIED, limit=2 * args.chairs + 20)
    primed, quiet, flooded = scripts[:20], scripts[20:20 + args.chairs], scripts[20 + args.chairs:]
    secrets = prepare_election(url, SLUG, [s.precinct for s in scripts])
    # a first release, so that the public pages have results to show
    engine = make_engine(url)
    context = load_context(engine, SLUG)
    writer = Writer(engine)
    reports = ReportService(engine, writer, context)
    for script in primed:
        for i, stage in enumerate(script.stages):
            body = dict(stage)
            reports.submit(script.precinct, StageReport(body.pop("stage"), body), f"prime-{script.precinct}-{i}",
                           channel="app", actor=f"chair:{script.precinct}")
    snapshots = work / "snapshots"
    ReleaseService(engine, context, snapshots / SLUG).release(actor="bench")
    writer.close()
    engine.dispose()

    server = ServerProcess(url, SLUG, workers=args.workers,
                           env={"CAUCUS_SNAPSHOT_DIR": str(snapshots), "CAUCUS_RELEASE_IN_APP": "false"})
    server.start()
    proxy = NginxProcess(snapshots / SLUG, f"127.0.0.1:{server.port}", workers=1,
                         unlimited=("127.0.0.1", "127.0.0.2") if args.unlimited else ())
    proxy.start()
    figures: dict[str, Any] = {"chairs": args.chairs, "streams": args.streams, "workers": args.workers,
                               "unlimited": args.unlimited,
                               "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3]}
    print(f"machine load average at start: {' '.join(figures['loadavg_at_start'])} ({os.cpu_count()} cores)")
    try:
        front = proxy.base_url
        figures["quiet"] = phase("quiet", front, quiet, secrets, pause=args.pause, server=server, proxy=proxy)
        budget = figures["quiet"]["seconds"] * 3 + args.warmup + 30
        flood = subprocess.Popen(["nice", "-n", str(args.nice), sys.executable, __file__, "_flood", "127.0.0.1",
                                  str(proxy.port), str(args.streams), str(budget)], stdout=subprocess.PIPE, text=True)
        pages = _wrk_pages(front, int(budget), args.page_connections, work / "pages.lua", args.nice)
        time.sleep(args.warmup)
        generators = cpu_seconds(flood.pid) + cpu_seconds(pages.pid)
        figures["flood"] = phase("flood", front, flooded, secrets, pause=args.pause, server=server,
                                proxy=proxy)
        generators = cpu_seconds(flood.pid) + cpu_seconds(pages.pid) - generators
        figures["flood"]["generators_cpu_cores"] = generators / figures["flood"]["seconds"]
        print(f"       load generators (flooder and wrk) {figures['flood']['generators_cpu_cores']:.2f} cores")
        flood_out, _ = flood.communicate(timeout=budget + 60)
        pages_out, _ = pages.communicate(timeout=budget + 60)
        figures["streams_tally"] = json.loads(flood_out.strip().splitlines()[-1])
        figures["pages"] = _wrk_figures(pages_out)
    finally:
        proxy.stop()
        server.stop()
    ratio = figures["flood"]["p95_ms"] / figures["quiet"]["p95_ms"]
    figures["p95_ratio"] = ratio
    tally, pages = figures["streams_tally"], figures["pages"]
    print(f"streams: at most {tally.get('peak', 0)} open at once as the flooder saw them (it notices an end late); "
          "answers "
          + ", ".join(f"{k.removeprefix('status_')}: {v}" for k, v in sorted(tally.items()) if k.startswith("status_")))
    print(f"pages: {pages['per_s']:,.0f} req/s ({pages['requests']:,} requests, {pages['refused']:,} refused)")
    print(f"chair p95 under flood / quiet: {ratio:.2f}x (target: within 2x)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "_flood":
        flood_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        main()
