"""Durable submissions per second through the HTTP API (group commit), against one-row-per-transaction
inserts on the same engine and disk in the same run; latency p50/p99 at N concurrent clients.

The load comes from wrk (Debian's ``wrk``) on 127.0.0.1 with N connections: each request is one stage of a
precinct chair from the real certified 2020 results (attendance, first alignment, final alignment with its
game-of-chance outcome, delegates), signed in beforehand, each acknowledged only once durably committed.
Also measured: the ledger's group-commit Writer alone (no HTTP) with N submitting threads.

Run:
    .venv/bin/python benchmarks/bench_ingest.py [--engine sqlite|postgres|both] [--precincts 400]
                                                [--clients 50] [--workers 1[,2...]] [--baseline-rows 400]
``--workers 1,2`` measures the HTTP API with 1 and then 2 server processes in the same run (a fresh database
each), then checks that no precinct got two entries of a stage.
PostgreSQL: a throwaway cluster on 127.0.0.1 is started (caucus.ledger.pgcluster) unless --pg-url is given.
CPU from /proc over the timed part: the server's processes, and PostgreSQL's postmaster with every backend (those
that exited in between are in the postmaster's children's time), except the one the benchmark counts rows with.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from caucus.ledger import Submission, Writer, entries, make_engine, sqlite_url_for_dir
from caucus.ledger.pgcluster import PostgresServer, local_cluster
from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.rehearse import ServerProcess, prepare_election, scripts_from_results
from caucus.rehearse.server import free_port

CERTIFIED = certified_results()
PAYLOAD = '{"counts":{"Biden":14,"Buttigieg":54,"Klobuchar":32,"Sanders":50,"Warren":54,"Yang":5}}'


def baseline_sqlite(directory: Path, rows: int) -> float:
    """Rows/s: one INSERT per transaction, WAL, synchronous=FULL (an fsync per report)."""
    db = sqlite3.connect(directory / "baseline.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, payload TEXT)")
    started = time.perf_counter()
    for i in range(rows):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (k, payload) VALUES (?, ?)", (f"key-{i}", PAYLOAD))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


def baseline_postgres(url: str, rows: int) -> tuple[float, float]:
    """(rows/s, PostgreSQL CPU ms per row): one INSERT per transaction (autocommit, synchronous_commit on)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    postmaster = _postmaster(url)
    pids = {postmaster} if postmaster else set()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_baseline (id serial PRIMARY KEY, k text UNIQUE, payload text)")
        before = _cpu_by_pid(pids)
        started = time.perf_counter()
        for i in range(rows):
            conn.execute("INSERT INTO bench_baseline (k, payload) VALUES (%s, %s)", (f"key-{i}", PAYLOAD))
        elapsed = time.perf_counter() - started
        pg_ms = 1000 * _cpu_delta(before, _cpu_by_pid(pids)) / rows
        conn.execute("DROP TABLE bench_baseline")
    return rows / elapsed, pg_ms


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _wrk_script(requests: list[tuple[str, str, str]], path: Path) -> None:
    """A wrk script sending each prepared (token, key, body) POST once, in order; when the list is exhausted
    it sends cheap health checks until the driver stops wrk (they never reach the ledger)."""
    lines = ["local reqs = {"]
    lines += ["{" + ", ".join(_lua_string(x) for x in item) + "}," for item in requests]
    lines.append("}")
    lines.append(r"""
local i, checked = 0, false
request = function()
  -- wrk calls request() once when a thread starts, to see whether requests vary, and may discard the
  -- result: the first request is built twice (if both are sent, the idempotency key makes it a replay)
  local at = 1
  if checked then i = i + 1; at = i else checked = true end
  if at > #reqs then return wrk.format("GET", "/api/v1/health") end
  local r = reqs[at]
  return wrk.format("POST", "/api/v1/reports", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. r[1], ["Idempotency-Key"] = r[2]}, r[3])
end
delay = function()
  if i > #reqs then return 5000 end  -- after the list: idle until the driver stops wrk
  return 0
end
response = function(status, headers, body)
  if status ~= 201 and status ~= 200 then io.stderr:write(status .. " " .. body .. "\n") end
end
""")
    path.write_text("\n".join(lines))


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, CPU seconds of user and system time) of a live process, from /proc, with those of its children that
    exited and were waited for (PostgreSQL's backends of closed connections, counted in the postmaster's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICK


def _cpu_by_pid(parents: set[int]) -> dict[int, float]:
    """CPU seconds of every live process whose parent is one of ``parents`` (and of the parents)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and (stat[0] in parents or int(entry.name) in parents):
                found[int(entry.name)] = stat[1]
    return found


def _postmaster(url: str) -> int | None:
    """The pid of the PostgreSQL server listening on the URL's port on this machine (None for SQLite)."""
    port = make_url(url).port
    if port is None:
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"postgres") and b"-p" in args and str(port).encode() in args:
                return int(entry.name)
    return None


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between the two readings: a child that exited in between is in its parent's figure after
    (its whole life) and in its own before, so the totals are compared, not each process's."""
    return sum(after.values()) - sum(before.values())


def _ledger_rows(url: str, slug: str) -> list[Any]:
    engine = make_engine(url)
    try:
        return entries(engine, slug)
    finally:
        engine.dispose()


class _RowCounter:
    """How many ledger entries the election has, read while the server works: on PostgreSQL on one connection
    whose backend (``backend``) is left out of PostgreSQL's CPU."""

    def __init__(self, url: str, slug: str) -> None:
        self.url, self.slug = url, slug
        self.backend: int | None = None
        self._pg: psycopg.Connection[Any] | None = None

    def __enter__(self) -> _RowCounter:
        if make_url(self.url).get_backend_name() == "postgresql":
            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
            self._pg = psycopg.connect(dsn, autocommit=True)
            found = self._pg.execute("SELECT pg_backend_pid()").fetchone()
            self.backend = int(found[0]) if found else None
        return self

    def count(self) -> int:
        if self._pg is None:
            return len(_ledger_rows(self.url, self.slug))
        found = self._pg.execute("SELECT count(*) FROM ledger_entries WHERE election_id = "
                                 "(SELECT id FROM elections WHERE slug = %s)", (self.slug,)).fetchone()
        return int(found[0]) if found else 0

    def __exit__(self, *exc: object) -> None:
        if self._pg is not None:
            self._pg.close()


def run_api(url: str, precincts: int, clients: int, workers: int, cwd: Path) -> dict[str, float]:
    """Submissions through the HTTP API, driven by wrk on 127.0.0.1. Attendance is reported first (not
    timed); wrk then sends first alignment, final alignment and delegates stage by stage across precincts
    (so each precinct's stages arrive in order). Throughput comes from the ledger's own receipt times of the
    rows wrk created (first to last); latency from wrk."""
    scripts = scripts_from_results(CERTIFIED, limit=precincts)
    slug = "bench"
    secrets = prepare_election(url, slug, [s.precinct for s in scripts])
    with ServerProcess(url, slug, workers=workers, cwd=cwd) as server:
        tokens = {}
        with httpx.Client(base_url=server.base_url, timeout=60) as http:
            for n, s in enumerate(scripts):
                signed = http.post("/api/v1/session", json={"precinct": s.precinct, "credential": secrets[s.precinct]})
                tokens[s.precinct] = signed.json()["token"]
                headers = {"Authorization": f"Bearer {tokens[s.precinct]}", "Idempotency-Key": f"p{n}-0"}
                http.post("/api/v1/reports", json=s.stages[0], headers=headers).raise_for_status()
        primed = len(scripts)
        requests = [(tokens[s.precinct], f"p{n}-{i}", json.dumps(s.stages[i]))
                    for i in range(1, 4) for n, s in enumerate(scripts)]
        script = cwd / "submit.lua"
        _wrk_script(requests, script)
        # CPU of the server's processes (uvicorn and its workers) and of PostgreSQL's backends, from /proc, over
        # the timed part: seconds of CPU per report do not depend on what else runs on the machine
        assert server.process is not None
        server_pids = {server.process.pid}
        postmaster = _postmaster(url)
        pg_pids = {postmaster} if postmaster else set()
        with _RowCounter(url, slug) as counter:
            server_before, pg_before = _cpu_by_pid(server_pids), _cpu_by_pid(pg_pids)
            wrk = subprocess.Popen(["wrk", "-t1", f"-c{clients}", "-d120s", "--latency", "-s", str(script),
                                    server.base_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            expected = primed + len(requests)
            while counter.count() < expected and wrk.poll() is None:
                time.sleep(0.25)
            server_after, pg_after = _cpu_by_pid(server_pids), _cpu_by_pid(pg_pids)
            for readings in (pg_before, pg_after):  # the counter's own backend is not the server's work
                readings.pop(counter.backend or -1, None)
        wrk.send_signal(signal.SIGINT)
        out, err = wrk.communicate(timeout=60)
    if err.strip():
        raise SystemExit(f"refused submissions, e.g.:\n{err[:1000]}")
    stored = _ledger_rows(url, slug)
    stages = [(e.precinct_code, e.channel, e.stage) for e in stored if e.supersedes_seq is None]
    if len(stages) != len(set(stages)):
        raise SystemExit(f"{len(stages) - len(set(stages))} stages were stored twice")
    rows = [e for e in stored if e.seq > primed]
    seconds = (rows[-1].received_at - rows[0].received_at).total_seconds()
    latency = {m.group(1): _millis(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M)}
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"no latency distribution in wrk's output:\n{out}")
    return {"submissions": len(rows), "seconds": seconds, "per_s": (len(rows) - 1) / seconds,
            "p50_ms": latency["50"], "p99_ms": latency["99"],
            "server_ms": 1000 * _cpu_delta(server_before, server_after) / len(rows),
            "pg_ms": 1000 * _cpu_delta(pg_before, pg_after) / len(rows) if pg_pids else 0.0}


def run_trivial(requests: int, clients: int, cwd: Path) -> float:
    """Server CPU ms per request of a trivial FastAPI JSON POST (benchmarks/trivial_app.py) on the same uvicorn,
    started the same way as the caucus server, driven by the same wrk script with the same bodies."""
    scripts = scripts_from_results(CERTIFIED, limit=max(1, requests // 3))
    bodies = [("token", f"t{n}-{i}", json.dumps(s.stages[i])) for i in range(1, 4) for n, s in enumerate(scripts)]
    script = cwd / "trivial.lua"
    _wrk_script(bodies, script)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "trivial_app:create_app", "--app-dir",
                               str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port), "--log-level",
                               "warning", "--workers", "1", "--no-proxy-headers"], stdout=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        before = _cpu_by_pid({server.pid})
        wrk = subprocess.run(["wrk", "-t1", f"-c{clients}", "-d10s", "-s", str(script), base], capture_output=True,
                             text=True, timeout=120, check=False)
        after = _cpu_by_pid({server.pid})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    sent = int(re.search(r"(\d+) requests in", wrk.stdout).group(1))  # type: ignore[union-attr]
    # the script sends the POSTs, then health checks every 5 s per connection: count only the POSTs
    posts = min(sent, len(bodies))
    return 1000 * _cpu_delta(before, after) / posts


def _millis(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)$", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_writer(url: str, rows: int, threads: int) -> float:
    """Rows/s through the ledger's group-commit Writer alone (no HTTP), ``threads`` concurrent submitters."""
    slug = "bench-writer"
    prepare_election(url, slug, [])
    engine = make_engine(url)
    plan_codes = [p.code for p in load_plan("iowa-2020").precincts]
    subs = [Submission(election=slug, precinct_code=plan_codes[i % len(plan_codes)], channel="app",
                       stage="attendance", payload={"attendance": i}, actor="bench", idempotency_key=f"w{i}")
            for i in range(rows)]
    with Writer(engine) as writer, ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(writer.submit, subs))
        elapsed = time.perf_counter() - started
    engine.dispose()
    return rows / elapsed


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[PostgresServer]:
    with contextlib.ExitStack() as stack:
        server = PostgresServer(make_url(url) if url else stack.enter_context(local_cluster()))
        try:
            yield server
        finally:
            server.drop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--precincts", type=int, default=400)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", default="1", help="server processes; several: 1,2")
    parser.add_argument("--baseline-rows", type=int, default=400)
    parser.add_argument("--writer-rows", type=int, default=4000)
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="caucus-bench-") as tmp:
        directory = Path(tmp)
        if args.engine in ("sqlite", "both"):
            base = baseline_sqlite(directory, args.baseline_rows)
            writer = run_writer(sqlite_url_for_dir(directory / "writer"), args.writer_rows, args.clients)
            for workers in counts:
                trivial = run_trivial(3 * args.precincts, args.clients, directory)
                api = run_api(sqlite_url_for_dir(directory / f"data-{workers}"), args.precincts, args.clients, workers,
                              directory)
                rows.append(("SQLite", base, writer, api, workers, trivial, 0.0))
        if args.engine in ("postgres", "both"):
            with postgres(args.pg_url) as server:
                base, insert_ms = baseline_postgres(server.create_database(), args.baseline_rows)
                writer = run_writer(server.create_database(), args.writer_rows, args.clients)
                for workers in counts:
                    trivial = run_trivial(3 * args.precincts, args.clients, directory)
                    api = run_api(server.create_database(), args.precincts, args.clients, workers, directory)
                    rows.append(("PostgreSQL", base, writer, api, workers, trivial, insert_ms))
    print("| engine | baseline: 1 row per transaction (rows/s) | ledger Writer, group commit (rows/s) | ratio | "
          "HTTP API, durable submissions/s | ratio | API p50 ms | API p99 ms | submissions | workers | clients | "
          "server CPU ms/report | PostgreSQL CPU ms/report |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, base, writer, api, workers, _, _ in rows:
        print(f"| {name} | {base:,.0f} | {writer:,.0f} | {writer / base:.2f}x | {api['per_s']:,.0f} | "
              f"{api['per_s'] / base:.2f}x | {api['p50_ms']:.1f} | {api['p99_ms']:.1f} | {api['submissions']:,.0f} | "
              f"{workers} | {args.clients} | {api['server_ms']:.1f} | {api['pg_ms']:.1f} |")
    print("\n| engine | workers | server CPU ms/report | trivial FastAPI POST CPU ms/request | ratio (goal <= 2x) | "
          "PostgreSQL CPU ms/report | one-row INSERT PostgreSQL CPU ms | ratio (goal <= 3x) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _, _, api, workers, trivial, insert_ms in rows:
        pg = (f"{api['pg_ms']:.2f} | {insert_ms:.2f} | {api['pg_ms'] / insert_ms:.1f}x" if insert_ms else "- | - | -")
        ratio = api["server_ms"] / trivial
        print(f"| {name} | {workers} | {api['server_ms']:.2f} | {trivial:.2f} | {ratio:.1f}x | {pg} |")


if __name__ == "__main__":
    main()
