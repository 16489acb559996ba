"""CPU per request of HQ's review queue and night pages on a national-size election, against GET /api/v1/health
on the same server in the same run.

A synthetic state of ``--precincts`` units (src/caucus/rehearse/synthetic.py: the plan only) is created as an
election; its maintained status rows (``precinct_status``, issue 15) are written directly, as a night in progress
would leave them: a seeded mix of accepted, reported (stages missing), held-for-review and conflicting precincts
with first and last entry times spread over three hours, and the rest not reported (no row). No ledger entries
are written (the pages read only the rows, the precincts and the hotline calls), so ``caucus state check`` would
not pass on this database: it is a benchmark of the pages' reads, not a night.

One uvicorn worker (SQLite or PostgreSQL) serves it; a director signs in; each page is requested ``--requests``
times one after the other and the server's CPU (user + system, from /proc) is divided by the requests.

Run:
    .venv/bin/python benchmarks/bench_hq.py [--precincts 175000] [--engine sqlite|postgres] [--requests 20]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from bench_ingest import _cpu_by_pid, _cpu_delta, postgres
from sqlalchemy import insert, select

from caucus.ledger import derived, make_engine, sqlite_url_for_dir
from caucus.ledger.derived import StatusRow
from caucus.ledger.schema import elections, precinct_status, precincts
from caucus.rehearse import ServerProcess, prepare_election
from caucus.rehearse.synthetic import synthetic_truth
from caucus.service.staff import StaffService

SLUG = "hq-bench"
PASSWORD = "correct horse battery staple"
NIGHT_START = datetime(2028, 2, 8, 1, 0, tzinfo=UTC)
#: (state, share of precincts, queue reasons)
MIX = (("accepted", 0.70, ()), ("reported", 0.12, ("missing-stages",)),
       ("held-for-review", 0.03, ("held-for-review",)), ("conflicting", 0.005, ("conflicting",)))
QUEUE_ORDER = ("conflicting", "held-for-review", "pending-chance", "hotline-unconfirmed", "missing-stages")
REASONS = {
    "accepted": ("all four stages reported; the server reproduces the delegates",),
    "reported": ("waiting for: final alignment, delegates",),
    "held-for-review": ("final-above-first: final alignment has 3 more people than the first alignment",),
    "conflicting": ("the attendance differs between channels: app (entry #12), hotline (entry #40)",),
}


def make_rows(url: str, seed: int) -> dict[str, int]:
    """The status rows of a night in progress (see the module docstring); how many of each state."""
    rng = random.Random(seed)
    engine = make_engine(url)
    counts: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            election_id = conn.execute(select(elections.c.id).where(elections.c.slug == SLUG)).scalar_one()
            ids = conn.execute(select(precincts.c.id, precincts.c.county)
                               .where(precincts.c.election_id == election_id).order_by(precincts.c.id)).all()
            rows = []
            for n, (pid, county) in enumerate(ids):
                pick, state, why = rng.random(), None, ()
                for name, share, reasons in MIX:
                    if pick < share:
                        state, why = name, reasons
                        break
                    pick -= share
                if state is None:
                    continue
                counts[state] = counts.get(state, 0) + 1
                first = NIGHT_START + timedelta(seconds=rng.uniform(0, 3 * 3600))
                last = first + timedelta(seconds=rng.uniform(0, 3600))
                row = StatusRow(state=state, county=county, why=why,
                                queue_rank=QUEUE_ORDER.index(why[0]) if why else None, reasons=REASONS[state],
                                last_seq=4 * n + 4, first_at=first, last_at=last)
                rows.append({"precinct_id": pid, "election_id": election_id, **row.values()})
                if len(rows) == 10_000:
                    conn.execute(insert(precinct_status), rows)
                    rows = []
            if rows:
                conn.execute(insert(precinct_status), rows)
            derived.write_counts(conn, election_id)  # the night page's counts, as the rows make them
    finally:
        engine.dispose()
    return counts


def sign_in(http: httpx.Client) -> None:
    form = http.get("/hq/sign-in")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None, form.text[:500]
    signed = http.post("/hq/sign-in", data={"username": "dora", "password": PASSWORD, "login_token": token.group(1)})
    if signed.status_code not in (200, 303):
        raise SystemExit(f"sign-in failed: {signed.status_code} {signed.text[:300]}")


def cpu_per_request(http: httpx.Client, pids: set[int], path: str, requests: int) -> tuple[float, float, int]:
    """(server CPU ms per request, wall ms per request, bytes of the last answer)."""
    http.get(path).raise_for_status()  # warm (templates compiled, caches filled)
    before = _cpu_by_pid(pids)
    started = time.perf_counter()
    size = 0
    for _ in range(requests):
        answer = http.get(path)
        answer.raise_for_status()
        size = len(answer.content)
    wall = time.perf_counter() - started
    return 1000 * _cpu_delta(before, _cpu_by_pid(pids)) / requests, 1000 * wall / requests, size


@contextlib.contextmanager
def database(engine: str, directory: Path, pg_url: str | None) -> Iterator[str]:
    if engine == "sqlite":
        yield sqlite_url_for_dir(directory / "data")
        return
    with postgres(pg_url) as server:
        yield server.create_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precincts", type=int, default=175_000)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--baseline-requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caucus-bench-hq-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        synthetic_truth(directory / "plan", args.precincts, args.seed)
        print(f"plan of {args.precincts:,} units written in {time.perf_counter() - started:.0f} s", flush=True)
        with database(args.engine, directory, args.pg_url) as url:
            started = time.perf_counter()
            prepare_election(url, SLUG, [], plan=str((directory / "plan").resolve()))
            counts = make_rows(url, args.seed)
            engine = make_engine(url)
            StaffService(engine).add_user("dora", "Dora", "director", PASSWORD, actor="bench")
            engine.dispose()
            print(f"election and {sum(counts.values()):,} status rows made in {time.perf_counter() - started:.0f} s "
                  f"({', '.join(f'{n:,} {s}' for s, n in counts.items())})", flush=True)
            env = {"CAUCUS_STAFF_COOKIE_SECURE": "false", "CAUCUS_RELEASE_IN_APP": "false"}
            with ServerProcess(url, SLUG, cwd=directory, env=env) as server, \
                    httpx.Client(base_url=server.base_url, timeout=600, follow_redirects=True) as http:
                assert server.process is not None
                pids = {server.process.pid}
                sign_in(http)
                results = [("GET /api/v1/health (baseline)",
                            cpu_per_request(http, pids, "/api/v1/health", args.baseline_requests))]
                for name, path in (("review queue", "/hq/review"), ("night", "/hq/night"),
                                   ("readiness", "/hq/readiness")):
                    results.append((f"GET {path} ({name})", cpu_per_request(http, pids, path, args.requests)))
    base = results[0][1][0]
    print(f"\n{args.precincts:,} precincts, {args.engine}, 1 worker\n")
    print("| request | server CPU ms/request | ratio to health | wall ms/request | bytes |")
    print("|---|---:|---:|---:|---:|")
    for name, (cpu, wall, size) in results:
        print(f"| {name} | {cpu:.1f} | {cpu / base:.0f}x | {wall:.1f} | {size:,} |")


if __name__ == "__main__":
    main()
