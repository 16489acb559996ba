"""CPU per request of every HQ page a staff member opens on the night, on a national-size election, against GET
/api/v1/health on the same server in the same run.

A synthetic state of ``--precincts`` units (src/caucus/rehearse/synthetic.py: the plan only) is created as an
election; its maintained status rows (``precinct_status``, issue 15) are written directly, as a night in progress
would leave them: a seeded mix of accepted, reported (stages missing), held-for-review and conflicting precincts
with first and last entry times spread over three hours, and the rest not reported (no row). Written directly
too: a card for every precinct (``credentials``, placeholder hashes), sign-ins (every precinct that reported
and a share of the others), failed sign-ins and tests of the sign-in (audit ``session.test``), a chair on the
roster for every precinct, and a previous release (release 1, with a record for most accepted precincts, some
with an older ledger seq: changed since) and a second campaign's tallies of ``--tallies`` released precincts
(through the real chain writer). The readiness rows are then derived from those by the real code
(``caucus.ledger.readiness.rebuild``) and ``released_seq`` from the release. No ledger entries are written, so
``caucus state check`` would not pass on this database and pages that derive statuses from the ledger (the
campaign quality and browse pages, a precinct's review page) find nothing to derive: it is a benchmark of the
pages' reads of the maintained state, not a night.

One uvicorn worker (SQLite or PostgreSQL) serves it; a director (and an admin, an operator) sign in; each page is
requested ``--requests`` times one after the other and the server's CPU (user + system, from /proc) is divided
by the requests. Then the status rows are deleted (before the night: nothing reported, every precinct with a
card and no sign-in is to phone) and the readiness and release pages are measured again.

Run:
    .venv/bin/python benchmarks/bench_hq.py [--precincts 175000] [--engine sqlite|postgres] [--requests 20]
                                            [--tallies 5000] [--only /hq/quality ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from bench_ingest import _cpu_by_pid, _cpu_delta, postgres
from sqlalchemy import Connection, Table, delete, insert, select

from caucus.ledger import audit, derived, make_engine, readiness, sqlite_url_for_dir
from caucus.ledger.campaign_tallies import TallyRow, record
from caucus.ledger.derived import StatusRow
from caucus.ledger.schema import (
    audit_log,
    chair_roster,
    credentials,
    elections,
    precinct_status,
    precincts,
    release_precincts,
    releases,
    signin_attempts,
    status_counts,
)
from caucus.rehearse import ServerProcess, prepare_election
from caucus.rehearse.synthetic import CANDIDATES, synthetic_truth
from caucus.service.staff import StaffService

SLUG = "hq-bench"
PASSWORD = "correct horse battery staple"
NIGHT_START = datetime(2028, 2, 8, 1, 0, tzinfo=UTC)
#: (state, share of precincts, queue reasons)
MIX = (("accepted", 0.70, ()), ("reported", 0.12, ("missing-stages",)),
       ("held-for-review", 0.03, ("held-for-review",)), ("conflicting", 0.005, ("conflicting",)))
QUEUE_ORDER = ("conflicting", "held-for-review", "pending-chance", "hotline-unconfirmed", "missing-stages")
CODES = {"accepted": (), "reported": ("missing:final", "missing:delegates"), "held-for-review": ("final-above-first",),
         "conflicting": ("conflict:attendance",)}
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
                                last_seq=4 * n + 4, first_at=first, last_at=last, codes=CODES[state])
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


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        conn.execute(insert(table), rows[start:start + 5000])


FINDING = [{"code": "duplicate-report", "severity": "warning", "message": "..."}]


def _record(rng: random.Random, code: str, seq: int) -> str:
    """A released record with a precinct's numbers (seven groups: first and final alignments, SDEs), 10 % with a
    finding."""
    first = {g: rng.randint(0, 60) for g in CANDIDATES}
    final = {g: n + rng.randint(0, 5) for g, n in first.items() if n > 10}
    sde = {g: f"{n / 30:.4f}" for g, n in final.items()}
    return json.dumps({"code": code, "ledgerSeq": seq, "first": first, "final": final, "sde": sde,
                       "findings": FINDING if rng.random() < 0.1 else []})


def make_readiness_and_release(url: str, seed: int) -> dict[str, int]:
    """Cards, sign-ins, tests, roster entries and a previous release (see the module docstring); how many."""
    rng = random.Random(seed + 1)
    engine = make_engine(url)
    made: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            election_id = conn.execute(select(elections.c.id).where(elections.c.slug == SLUG)).scalar_one()
            units = conn.execute(select(precincts.c.id, precincts.c.code).where(
                precincts.c.election_id == election_id).order_by(precincts.c.id)).all()
            rows = {int(r.precinct_id): r for r in conn.execute(
                select(precinct_status.c.precinct_id, precinct_status.c.state, precinct_status.c.last_seq)
                .where(precinct_status.c.election_id == election_id))}
            at = NIGHT_START - timedelta(hours=2)
            _insert(conn, credentials, [
                {"election_id": election_id, "precinct_id": pid, "secret_hash": "x", "hotline_hash": "x",
                 "status": "active", "created_at": at - timedelta(days=3), "revoked_at": None} for pid, _ in units])
            signed = [(pid, code) for pid, code in units if pid in rows or rng.random() < 0.5]
            _insert(conn, signin_attempts, [
                {"election_id": election_id, "precinct_code": code, "client": f"10.{pid % 250}.0.1", "at": at,
                 "ok": True, "outcome": "ok"} for pid, code in signed])
            bad = [(pid, code) for pid, code in units for _ in range(rng.choice((0, 0, 0, 0, 0, 0, 1, 2)))]
            _insert(conn, signin_attempts, [
                {"election_id": election_id, "precinct_code": code, "client": f"10.{pid % 250}.0.2", "at": at,
                 "ok": False, "outcome": "bad-credential"} for pid, code in bad])
            tested = [(pid, code) for pid, code in signed if rng.random() < 0.4]
            _insert(conn, audit_log, [
                audit.audit_row(election_id=election_id, at=at, actor=f"chair:{code}", action="session.test",
                                detail={"precinct": code, "session": pid, "client": "10.0.0.1", "purpose": "test"},
                                outcome="ok") for pid, code in tested])
            _insert(conn, chair_roster, [
                {"election_id": election_id, "precinct_id": pid, "name": f"Chair {n}",
                 "phone": f"515-555-{n % 10000:04d}",
                 "email": f"chair{n}@example.org", "updated_at": at, "updated_by": "bench"}
                for n, (pid, _) in enumerate(units)])
            readiness.rebuild(conn, election_id)
            conn.execute(insert(releases).values(
                election_id=election_id, number=1, created_at=NIGHT_START + timedelta(hours=2), actor="director:dora",
                test=True, status="unofficial", zero=False, content_hash="0" * 64, precincts_reporting=0,
                precincts_total=len(units), ledger_seq=0, note="", certified_act=None,
                manifest='{"release": 1, "files": []}'))
            codes = dict(units)
            released = [(pid, row) for pid, row in rows.items() if row.state == "accepted" and rng.random() < 0.9]
            seqs = {pid: row.last_seq - (rng.random() < 0.05) for pid, row in released}
            _insert(conn, release_precincts, [
                {"election_id": election_id, "number": 1, "precinct_code": codes[pid], "ledger_seq": seqs[pid],
                 "record": _record(rng, codes[pid], seqs[pid])} for pid, _ in released])
            derived.restore_released(conn, election_id, 0)
        made = {"cards": len(units), "signed in": len(signed), "failed sign-ins": len(bad), "tested": len(tested),
                "roster": len(units), "released": len(released)}
    finally:
        engine.dispose()
    return made


def make_tallies(url: str, seed: int, count: int, group: str) -> int:
    """A campaign's tallies (``campaign_tallies``, through the real chain writer) of ``count`` released precincts:
    random first and final alignments and SDEs of three groups (most differ from the release)."""
    rng = random.Random(seed + 2)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            election_id = conn.execute(select(elections.c.id).where(elections.c.slug == SLUG)).scalar_one()
            codes = conn.execute(select(release_precincts.c.precinct_code).where(
                release_precincts.c.election_id == election_id).order_by(release_precincts.c.precinct_code)
                .limit(count)).scalars().all()
            rows = []
            for code in codes:
                first = {g: rng.randint(0, 60) for g in rng.sample(CANDIDATES, 3)}
                final = {g: n + rng.randint(0, 5) for g, n in first.items()}
                rows.append(TallyRow(code, {"first": first, "final": final,
                                            "sde": {g: f"{n / 30:.4f}" for g, n in final.items()}}, "bench"))
            record(conn, election_id=election_id, campaign=group, rows=rows, actor="campaign:cara", at=NIGHT_START)
    finally:
        engine.dispose()
    return len(rows)


def before_the_night(url: str) -> None:
    """Delete the status rows and counts: nothing reported yet (every card without a sign-in is to phone)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(precinct_status))
            conn.execute(delete(status_counts))
    finally:
        engine.dispose()


def sign_in(http: httpx.Client, username: str = "dora") -> None:
    form = http.get("/hq/sign-in")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None, form.text[:500]
    signed = http.post("/hq/sign-in", data={"username": username, "password": PASSWORD,
                                            "login_token": token.group(1)})
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
    parser.add_argument("--heavy-requests", type=int, default=3, help="requests of the whole-state CSV")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--tallies", type=int, default=5000, help="released precincts a second campaign recorded")
    parser.add_argument("--pg-url")
    parser.add_argument("--only", action="append", default=[], metavar="PATH",
                        help="measure only the pages whose path starts with PATH (repeatable; the baseline always)")
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
            made = make_readiness_and_release(url, args.seed)
            made["campaign tallies"] = make_tallies(url, args.seed, args.tallies, CANDIDATES[1])
            engine = make_engine(url)
            staff = StaffService(engine)
            for username, role in (("dora", "director"), ("adam", "admin"), ("olga", "operator")):
                staff.add_user(username, username.title(), role, PASSWORD, actor="bench")
            StaffService(engine, groups=CANDIDATES).add_user("sam", "Sam", "campaign", PASSWORD, actor="bench",
                                                             campaign=CANDIDATES[0])
            StaffService(engine, groups=CANDIDATES).add_user("cara", "Cara", "campaign", PASSWORD, actor="bench",
                                                             campaign=CANDIDATES[1])
            county = engine.connect().execute(select(precincts.c.county).limit(1)).scalar_one()
            some = engine.connect().execute(select(precincts.c.code).join(
                precinct_status, precinct_status.c.precinct_id == precincts.c.id)
                .where(precinct_status.c.state == "held-for-review").limit(1)).scalar_one()
            engine.dispose()
            print(f"election and {sum(counts.values()):,} status rows made in {time.perf_counter() - started:.0f} s "
                  f"({', '.join(f'{n:,} {s}' for s, n in counts.items())}; "
                  f"{', '.join(f'{n:,} {s}' for s, n in made.items())})", flush=True)
            snapshots = directory / "snapshots"
            # release 1's files "exist" (its manifest), so the server's start-up does not rebuild them
            (snapshots / SLUG / "releases" / "1").mkdir(parents=True)
            (snapshots / SLUG / "releases" / "1" / "manifest.json").write_text(
                json.dumps({"release": 1, "createdAt": (NIGHT_START + timedelta(hours=2)).isoformat(), "files": []}))
            env = {"CAUCUS_STAFF_COOKIE_SECURE": "false", "CAUCUS_RELEASE_IN_APP": "false",
                   "CAUCUS_SNAPSHOT_DIR": str(snapshots)}
            with ServerProcess(url, SLUG, cwd=directory, env=env) as server, \
                    httpx.Client(base_url=server.base_url, timeout=600, follow_redirects=True) as http, \
                    httpx.Client(base_url=server.base_url, timeout=600, follow_redirects=True) as admin, \
                    httpx.Client(base_url=server.base_url, timeout=600, follow_redirects=True) as operator, \
                    httpx.Client(base_url=server.base_url, timeout=600, follow_redirects=True) as campaign, \
                    httpx.Client(base_url=server.base_url, timeout=600, follow_redirects=True) as tallied:
                assert server.process is not None
                pids = {server.process.pid}
                sign_in(http)
                sign_in(admin, "adam")
                sign_in(operator, "olga")
                sign_in(campaign, "sam")
                sign_in(tallied, "cara")
                results = [("GET /api/v1/health (baseline)",
                            cpu_per_request(http, pids, "/api/v1/health", args.baseline_requests))]
                last_page = -(-made["released"] // 100)
                pages = [(http, "home", "/hq"), (http, "review queue", "/hq/review"), (http, "night", "/hq/night"),
                         (http, "readiness", "/hq/readiness"), (http, "release page", "/hq/releases"),
                         (http, "a held precinct", f"/hq/review/p/{some}"), (http, "election", "/hq/election"),
                         (http, "chair roster", "/hq/chairs"), (http, "throttles", "/hq/throttles"),
                         (http, "recanvass", "/hq/recanvass"), (http, "quality", "/hq/quality"),
                         (operator, "hotline desk", "/hq/hotline"), (admin, "staff", "/hq/staff"),
                         (campaign, "released precincts, page 1 (a campaign)", "/hq/precincts"),
                         (campaign, "released precincts, the last page", f"/hq/precincts?page={last_page}"),
                         (campaign, "released precincts of a county", f"/hq/precincts?county={quote(county)}"),
                         (campaign, "released precincts awaiting a correction", "/hq/precincts?state=awaiting"),
                         (campaign, "released precincts, a search", "/hq/precincts?q=99"),
                         (campaign, "released precincts with a finding",
                          "/hq/precincts?finding=duplicate-report"),
                         (campaign, "released precincts of a county as CSV",
                          f"/hq/precincts.csv?county={quote(county)}"),
                         (campaign, "the campaign's recanvass requests", "/hq/campaign/requests"),
                         (campaign, "the campaign's cross-check (no tallies uploaded)", "/hq/campaign"),
                         (campaign, "the campaign's cross-check as CSV", "/hq/campaign/crosscheck.csv"),
                         (tallied, f"a cross-check of {made['campaign tallies']:,} tallies, page 1", "/hq/campaign"),
                         (tallied, f"a cross-check of {made['campaign tallies']:,} tallies as CSV",
                          "/hq/campaign/crosscheck.csv")]
                # (measured --heavy-requests times: seconds each)
                heavy = [(campaign, "every released precinct as CSV", "/hq/precincts.csv")]
                wanted = lambda path: not args.only or any(path.startswith(o) for o in args.only)  # noqa: E731
                for client, name, path in pages:
                    if not wanted(path):
                        continue
                    results.append((f"GET {path} ({name})", cpu_per_request(client, pids, path, args.requests)))
                for client, name, path in heavy:
                    if wanted(path):
                        results.append((f"GET {path} ({name})", cpu_per_request(client, pids, path,
                                                                                 args.heavy_requests)))
                before_the_night(url)
                for name, path in (("readiness, before the night", "/hq/readiness"),
                                   ("release page, before the night", "/hq/releases")):
                    if not wanted(path):
                        continue
                    results.append((f"GET {path} ({name})", cpu_per_request(http, pids, path, args.requests)))
    base = results[0][1][0]
    print(f"\n{args.precincts:,} precincts, {args.engine}, 1 worker\n")
    print("| request | server CPU ms/request | ratio to health | wall ms/request | bytes |")
    print("|---|---:|---:|---:|---:|")
    for name, (cpu, wall, size) in results:
        print(f"| {name} | {cpu:.1f} | {cpu / base:.0f}x | {wall:.1f} | {size:,} |")


if __name__ == "__main__":
    main()
