"""Incremental releases: what a release with 100 changed precincts costs, and how fast an accepted report
reaches the public feed.

1. ``build``: for each size (synthetic plans, src/caucus/rehearse/synthetic.py; every precinct released but
   200), release 1 is built in full and written, and ``latest`` pointed at it (a new tree: every file
   linked); release 2 adds 100 precincts incrementally (the second tree: every file linked again); then
   release 3, which adds the other 100, is made two ways in the same process: incrementally (the kept
   builder state, the kept manifest entries) and as a full rebuild (every document built and hashed, the
   files' locations from release 2's manifest). CPU seconds of each from ``resource.getrusage`` (user +
   system, this process), the ratio; for the incremental release 3 also the CPU and wall time of writing its
   directory (only the files whose bytes it changed) and of bringing the spare latest tree (release 1's) to
   it, with the files written, links, renames and unlinks the store counted; the peak memory of the
   process (each size runs in its own subprocess). Release 3 is made incrementally twice from the same kept
   state, in the same run: with the whole-state files (NIST export, precincts.json/.csv) rebuilt, as a
   release past the bulk interval does (``incremental_cpu_s``, ``write_*``, ``tree_*``), and carried, as a
   release within it does (``carried_*``), each decided by :func:`caucus.publish.bulk.decide`; each must give
   the manifest of a full rebuild made the same way (checked). This is
   the publish layer (:mod:`caucus.publish`, :mod:`caucus.service.release_feed`): the records are made from
   the synthetic truth, not derived from a ledger.
2. ``latency``: a running server (one uvicorn worker, SQLite) with continuous release on; all precincts but
   ``--burst`` reported beforehand (in process, through the ReportService) and released; the server's first
   continuous release (a full build in its process) is made before measuring; then the ``--burst`` precincts
   are posted over HTTP to 127.0.0.1 (sign-in, four stages each) at ``--rate`` precincts per second while a
   watcher polls ``/feed/v1/latest.json`` and each new release's ``changes.json``. Latency = first seen in the
   feed - the delegates stage acknowledged. p50/p99, and the server's CPU per release from /proc. With
   ``--releaser process`` the loop runs in ``caucus release watch`` (given the snapshot root, as the app
   is); the run fails unless the warm-up precincts reach the app's feed.

Run:
    .venv/bin/python benchmarks/bench_release.py build [--sizes 1765,20000,175000]
    .venv/bin/python benchmarks/bench_release.py latency [--sizes 1765,20000] [--burst 200] [--rate 10]
        [--releaser process] [--bulk-interval SECONDS]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from caucus.ledger import Submission, Writer, make_engine, sqlite_url_for_dir
from caucus.plans import Plan, load_plan
from caucus.publish.bulk import Holder, Standing, decide
from caucus.publish.documents import BULK_FILES, FeedBuilder, plan_documents
from caucus.publish.manifest import is_part
from caucus.publish.model import ReleaseMeta, iso
from caucus.publish.store import Snapshot, SnapshotStore
from caucus.rehearse.server import ReleaserProcess, ServerProcess, prepare_cards
from caucus.rehearse.synthetic import synthetic_truth
from caucus.rehearse.truth import PrecinctTruth
from caucus.rules import published_sdes
from caucus.service import ReportService, StageReport, load_context
from caucus.service.release_feed import FeedCache
from caucus.service.releases import ReleaseService

CHANGED = 100
SLUG = "bench-release"
ROUTINE = Standing("unofficial", True, False, "", None)  # the standing of every release here (meta below)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its children that were waited for, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants (uvicorn's worker runs as a child)."""
    total = proc_cpu(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for kid in child.read_text().split():
            try:
                total += tree_cpu(int(kid))
            except FileNotFoundError:
                continue
    return total


def record_of(plan: Plan, truth: PrecinctTruth, seq: int) -> dict[str, Any]:
    """A released record as the service makes it (numbers from the truth, a plausible provenance)."""
    p = plan.precinct_by_code(truth.code)
    county = plan.counties[p.county]
    delegates = {g: int(truth.delegates.get(g, 0)) for g in sorted(plan.candidates)}
    sde = None
    if county.kind == "county":
        sde = {g: f"{v:.4f}" for g, v in published_sdes(delegates, county.sde_ratio).items()}
    at = "2020-02-04T02:00:00Z"
    return {
        "code": p.code, "county": p.county, "name": p.name, "kind": p.kind,
        "delegatesToElect": p.delegates or sum(delegates.values()), "threshold": 0.15,
        "attendance": truth.attendance, "first": dict(sorted(truth.first.items())),
        "final": dict(sorted(truth.final.items())), "delegates": delegates, "sde": sde,
        "chance": [], "ledgerSeq": seq,
        "stages": [{"stage": s, "channel": "app", "receivedAt": at, "seq": seq - 3 + i}
                   for i, s in enumerate(("attendance", "first", "final", "delegates"))],
        "corrections": [], "findings": [], "acceptedOnReview": False, "photos": [],
    }


def meta(plan: Plan, number: int) -> ReleaseMeta:
    return ReleaseMeta(election=SLUG, title=plan.title, number=number,
                       created_at=datetime(2020, 2, 4, 2, number, tzinfo=UTC), status="unofficial", test=True,
                       zero=False, previous=number - 1 or None, election_date="2020-02-03",
                       ledger_head=(number * 1000, "0" * 64))


def own_mb(store: SnapshotStore, number: int) -> float:
    """Megabytes a release wrote into its own directory (the files whose bytes it changed, its manifest and
    the parts of it that changed)."""
    return round(sum(p.stat().st_size for p in store.release_dir(number).rglob("*") if p.is_file()) / 2**20, 2)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = cpu()
    out = work()
    return out, cpu() - started


def wall_cpu(work: Callable[[], Any]) -> tuple[Any, float, float]:
    started, began = cpu(), time.perf_counter()
    out = work()
    return out, time.perf_counter() - began, cpu() - started


def build_one(size: int) -> dict[str, Any]:
    """Part 1 at one size (in this process)."""
    work = Path(tempfile.mkdtemp(prefix="caucus-bench-release-"))
    truth = synthetic_truth(work / "plan", size)
    plan = load_plan(truth.plan)
    records = {t.code: record_of(plan, t, 4 * (i + 1)) for i, t in enumerate(truth.precincts)}
    held = random.Random(7).sample(sorted(records), 2 * CHANGED)
    batches = {2: set(held[:CHANGED]), 3: set(held[CHANGED:])}  # what releases 2 and 3 add
    released_in = dict.fromkeys(records, 1) | dict.fromkeys(batches[2], 2) | dict.fromkeys(batches[3], 3)
    key = (0, 0)
    fuller = FeedCache(plan)  # its full(): the entries of a full build

    def full(number: int, recs: dict[str, dict[str, Any]], changes: list[Any], store: SnapshotStore,
             previous: dict[str, bytes], *, bulk: bool = True) -> tuple[Snapshot, Any]:
        m = meta(plan, number)
        built = FeedBuilder(plan).build(m, recs, changes, {c: released_in[c] for c in recs}, bulk=bulk)
        files = {**built.files, **plan_documents(plan)}
        pending = fuller.full(built, key, recs, files, number=number, previous=previous,
                                 carried=() if bulk else BULK_FILES)
        manifest, parts = pending.entries.render(SLUG, number, iso(m.created_at), m.head_json())
        snapshot = Snapshot(number, {**files, **parts}, manifest)
        store.write(snapshot)
        return snapshot, pending

    stores = {name: SnapshotStore(work / name) for name in ("incremental", "carried", "full", "full-carried")}
    inc, carry = stores["incremental"], stores["carried"]
    base = {code: r for code, r in records.items() if code not in batches[2] | batches[3]}
    (first, kept), first_cpu = timed(lambda: full(1, base, [], inc, {}))
    for name in ("carried", "full", "full-carried"):
        stores[name].write(first)
    _, first_tree_wall, first_tree_cpu = wall_cpu(lambda: inc.point_latest(1))  # a new tree: every file linked
    carry.point_latest(1)
    cache = FeedCache(plan)
    cache.commit(kept)
    del first, kept

    def incremental(number: int, bulk: bool = True, commit: bool = True) -> Snapshot:
        m = meta(plan, number)
        changed = {code: records[code] for code in sorted(batches[number])}
        changes = [{"code": code, "kind": "new"} for code in changed]
        recs = {code: records[code] for code in cache.builder.affected(changed)}  # with satellite pool peers
        built = cache.builder.build(m, recs, changes, {code: released_in[code] for code in recs},
                                    changed=set(changed), bulk=bulk)
        pending = cache.incremental(built, key, recs, built.files, changed, number=number)
        manifest, parts = pending.entries.render(SLUG, number, iso(m.created_at), m.head_json())
        if commit:
            cache.commit(pending)
        return Snapshot(number, {**pending.files, **parts}, manifest)

    second = incremental(2)
    for name in ("incremental", "carried", "full", "full-carried"):
        stores[name].write(second)
    _, second_tree_wall, _ = wall_cpu(lambda: inc.point_latest(2))  # the second tree: every file linked again
    carry.point_latest(2)
    # release 3 one minute after release 2 (which built the bulk files): the policy of caucus.publish.bulk
    # with an interval of 30 s builds them, with 300 s carries them
    holder = Holder(2, meta(plan, 2).created_at, ROUTINE)
    rebuilt_bulk, carried_bulk = (decide(interval=interval, number=3, created_at=meta(plan, 3).created_at,
                                         standing=ROUTINE, holder=holder).build for interval in (30, 300))
    assert rebuilt_bulk and not carried_bulk
    measured: dict[str, dict[str, Any]] = {}
    profile = cProfile.Profile() if os.environ.get("CAUCUS_BENCH_PROFILE") else None
    for name, store, bulk in (("carried", carry, carried_bulk), ("rebuilt", inc, rebuilt_bulk)):
        before = dict(vars(store.counts))
        if profile is not None:
            profile.enable()
        snap, docs_cpu = timed(lambda b=bulk: incremental(3, bulk=b, commit=False))  # documents, manifest
        _, write_wall, write_cpu = wall_cpu(lambda s=store, n=snap: s.write(n))  # releases/3/: what 3 changed
        _, point_wall, point_cpu = wall_cpu(lambda s=store: s.point_latest(3))  # the spare tree (1) to 3
        if profile is not None:  # CAUCUS_BENCH_PROFILE=1: where release 3's CPU goes, on stderr
            profile.disable()
            print(f"--- release 3, bulk files {name}", file=sys.stderr)
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
            profile = cProfile.Profile()
        measured[name] = {"snapshot": snap, "docs_cpu": docs_cpu, "write_wall": write_wall, "write_cpu": write_cpu,
                          "point_wall": point_wall, "point_cpu": point_cpu,
                          "done": {k: v - before[k] for k, v in vars(store.counts).items()}}
    changes = [{"code": code, "kind": "new"} for code in sorted(batches[3])]
    previous = cache.entries  # release 2's, as the cache committed them (release 3 was not committed)
    del second
    fulls = {}
    for name, bulk in (("rebuilt", True), ("carried", False)):  # each way, a full rebuild: the same manifest
        target = stores["full" if name == "rebuilt" else "full-carried"]
        (whole, _), fulls[name] = timed(lambda b=bulk, t=target: full(3, records, changes, t, previous, bulk=b))
        if measured[name]["snapshot"].manifest != whole.manifest:
            raise SystemExit(f"{size}: the incremental release's manifest (bulk files {name}) differs from the full "
                             "rebuild's")
        manifest_mb = len(whole.manifest) / 2**20
        parts_mb = sum(len(data) for path, data in whole.files.items() if is_part(path)) / 2**20
        files_total = len(whole.files) + 1
        del whole
    rebuilt, carried = measured["rebuilt"], measured["carried"]
    inc_cpu, full_cpu, done = rebuilt["docs_cpu"], fulls["rebuilt"], rebuilt["done"]
    write_wall, write_cpu, point_wall, point_cpu = (rebuilt[k] for k in ("write_wall", "write_cpu", "point_wall",
                                                                          "point_cpu"))
    in_dir = sum(1 for p in (work / "incremental/releases/3").rglob("*") if p.is_file())
    carried_total = carried["docs_cpu"] + carried["write_cpu"] + carried["point_cpu"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"precincts": size, "files": files_total,
              "first_full_cpu_s": round(first_cpu, 3), "incremental_cpu_s": round(inc_cpu, 3),
              "full_cpu_s": round(full_cpu, 3), "ratio": round(inc_cpu / full_cpu, 4),
              "write_wall_s": round(write_wall, 3), "write_cpu_s": round(write_cpu, 3),
              "tree_wall_s": round(point_wall, 3), "tree_cpu_s": round(point_cpu, 3),
              "release_total_cpu_s": round(inc_cpu + write_cpu + point_cpu, 3),
              "files_in_release_dir": in_dir, "files_written": done["written"], "tree_links": done["linked"],
              "tree_renames": done["renamed"], "tree_unlinks": done["unlinked"],
              "new_tree_wall_s": [round(first_tree_wall, 2), round(second_tree_wall, 2)],
              "new_tree_cpu_s": round(first_tree_cpu, 2), "manifest_mb": round(manifest_mb, 2),
              "manifest_parts_mb": round(parts_mb, 1),
              "peak_rss_mb": round(peak),
              # release 3 with the bulk files carried (within the interval), in the same run
              "carried_cpu_s": round(carried["docs_cpu"], 3), "carried_write_cpu_s": round(carried["write_cpu"], 3),
              "carried_write_wall_s": round(carried["write_wall"], 3),
              "carried_tree_cpu_s": round(carried["point_cpu"], 3),
              "carried_tree_wall_s": round(carried["point_wall"], 3),
              "carried_release_total_cpu_s": round(carried_total, 3),
              "carried_files_written": carried["done"]["written"],
              "written_mb": own_mb(inc, 3), "carried_written_mb": own_mb(carry, 3),
              "carried_full_cpu_s": round(fulls["carried"], 3),
              "carried_over_rebuilt": round(carried_total / (inc_cpu + write_cpu + point_cpu), 4)}
    shutil.rmtree(work, ignore_errors=True)
    return result


def post_precinct(client: httpx.Client, truth: PrecinctTruth, credential: str, plan: Plan) -> float:
    """Sign in and post the four stages; the time the delegates stage was acknowledged."""
    token = client.post("/api/v1/session", json={"precinct": truth.code, "credential": credential})
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for body in stages_of(truth, plan):
        response = client.post("/api/v1/reports", json=body,
                               headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{truth.code} {body['stage']}: {response.status_code} {response.text[:300]}")
    return time.monotonic()


def stages_of(truth: PrecinctTruth, plan: Plan) -> list[dict[str, Any]]:
    final: dict[str, Any] = {"stage": "final", "counts": dict(truth.final)}
    if truth.chance:
        final["chance"] = [{"kind": o.kind, "among": list(o.among), "selected": list(o.selected)}
                           for o in truth.chance]
    return [{"stage": "attendance", "attendance": truth.attendance},
            {"stage": "first", "counts": dict(truth.first)}, final,
            {"stage": "delegates", "delegates": dict(truth.delegates)}]


def seed(reports: ReportService, writer: Writer, truths: list[PrecinctTruth], plan: Plan, *, checked: bool) -> None:
    """Report ``truths`` before measuring: through the ReportService (``checked``), or as the same stage
    payloads straight to the ledger writer in large group commits (the synthetic precincts pass every check;
    seeding 80,000 entries through the service would take longer than the measurement)."""
    if checked:
        for t in truths:
            for i, body in enumerate(stages_of(t, plan)):
                stage = dict(body)
                name = stage.pop("stage")
                reports.submit(t.code, StageReport(name, stage), f"base-{t.code}-{i}", channel="app",
                               actor=f"chair:{t.code}")
        return
    for at in range(0, len(truths), 500):
        futures = []
        for t in truths[at:at + 500]:
            for i, body in enumerate(stages_of(t, plan)):
                stage = dict(body)
                name = stage.pop("stage")
                futures.append(writer.submit_future(Submission(
                    election=SLUG, precinct_code=t.code, channel="app", stage=name, payload=stage,
                    actor=f"chair:{t.code}", idempotency_key=f"base-{t.code}-{i}")))
        for future in futures:
            future.result(timeout=300)


def latency_one(size: int, burst: int, rate: float, releaser: str = "app", bulk: float | None = None, *,
                settle: float = 0.0) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="caucus-bench-latency-"))
    truth = synthetic_truth(work / "plan", size)
    plan = load_plan(truth.plan)
    url = sqlite_url_for_dir(work / "data")
    played = list(truth.precincts)
    random.Random(11).shuffle(played)
    warm, measured = played[:5], played[5:5 + burst]
    base = played[5 + burst:]
    cards = prepare_cards(url, SLUG, [t.code for t in warm + measured], plan=truth.plan)
    engine = make_engine(url)
    context = load_context(engine, SLUG)
    writer = Writer(engine)
    reports = ReportService(engine, writer, context)
    started = time.perf_counter()
    seed(reports, writer, base[:50], plan, checked=True)  # the service's checks pass on these ...
    seed(reports, writer, base[50:], plan, checked=False)  # ... so the rest goes straight to the writer
    print(f"{size}: {len(base)} precincts reported in process in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    snapshots = work / "snapshots"
    releases = ReleaseService(engine, context, snapshots / SLUG)
    first = releases.release(actor="bench")
    releases.set_continuous(True, actor="bench")
    writer.close()
    env = {"CAUCUS_SNAPSHOT_DIR": str(snapshots), "CAUCUS_RELEASE_INTERVAL_SECONDS": "0.2"}
    bulk_env = {} if bulk is None else {"CAUCUS_BULK_INTERVAL": f"{bulk:g}"}  # else the default (30 s)
    env.update(bulk_env)
    watcher_process = None
    if releaser == "process":  # `caucus release watch` beside the app worker (docs/publish.md)
        env["CAUCUS_RELEASE_IN_APP"] = "false"
        watcher_process = ReleaserProcess(url, SLUG, snapshots, interval=0.2, env=bulk_env)  # it adds the slug
        watcher_process.start()
    server = ServerProcess(url, SLUG, env=env)
    server.start()
    assert server.process is not None
    pid = server.process.pid
    client = httpx.Client(base_url=server.base_url, timeout=30)
    seen: dict[str, float] = {}
    releases_seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        watcher = httpx.Client(base_url=server.base_url, timeout=30)
        last = watcher.get("/feed/v1/latest.json").json()["release"]
        while not stop.is_set():
            latest = watcher.get("/feed/v1/latest.json").json()["release"]
            if latest != last:
                now = time.monotonic()
                for number in range(last + 1, latest + 1):
                    body = watcher.get(f"/feed/v1/releases/{number}/feed/changes.json").json()
                    for change in body["changes"]:
                        seen.setdefault(change["code"], now)
                    releases_seen.append(number)
                last = latest
            time.sleep(0.02)
        watcher.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        for t in warm:  # the server's first continuous release is a full build in its process
            post_precinct(client, t, cards[t.code].credential, plan)
        deadline = time.monotonic() + 600
        while any(t.code not in seen for t in warm) and time.monotonic() < deadline:
            time.sleep(0.1)
        if any(t.code not in seen for t in warm):  # the releaser does not publish where the app serves
            log = watcher_process.log_path.read_text()[-2000:] if watcher_process is not None else ""
            raise RuntimeError(f"the warm-up precincts never reached the feed ({releaser} releaser) {log}")
        # --settle: let the releaser's first (full) round and the pause after it pass, as on a night whose
        # releaser started before the chairs (0: the burst starts right after the warm-up is published)
        time.sleep(settle)
        cpu_before, releases_before = tree_cpu(pid), len(releases_seen)
        releaser_before_cpu = proc_cpu(watcher_process.process.pid) \
            if watcher_process is not None and watcher_process.process is not None else 0.0
        releaser_cpu_burst = 0.0
        accepted: dict[str, float] = {}
        began = time.monotonic()
        for i, t in enumerate(measured):
            pause = began + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            accepted[t.code] = post_precinct(client, t, cards[t.code].credential, plan)
        deadline = time.monotonic() + 300
        while any(code not in seen for code in accepted) and time.monotonic() < deadline:
            time.sleep(0.05)
        server_cpu = tree_cpu(pid) - cpu_before
        if watcher_process is not None and watcher_process.process is not None:
            releaser_before = releaser_before_cpu
            releaser_cpu_burst = proc_cpu(watcher_process.process.pid) - releaser_before
        made = len(releases_seen) - releases_before
    finally:
        stop.set()
        thread.join(timeout=10)
        client.close()
        server.stop()
        if watcher_process is not None:
            watcher_process.stop()
        engine.dispose()
    latencies = sorted(seen[code] - at for code, at in accepted.items() if code in seen)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))] if latencies else float("nan")
    return {"precincts": size, "released_before": first.precincts_reporting, "burst": burst, "rate_per_s": rate,
            "never_seen": len(accepted) - len(latencies),
            "p50_s": round(statistics.median(latencies), 3) if latencies else None, "p99_s": round(p99, 3),
            "max_s": round(latencies[-1], 3) if latencies else None, "releases": made,
            "releaser": releaser, "bulk_interval": bulk, "app_cpu_s": round(server_cpu, 2),
            "releaser_process_cpu_per_release_s": round(releaser_cpu_burst / made, 3)
            if made and watcher_process is not None else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("build", "latency"))
    parser.add_argument("--sizes", default=None, help="precinct counts, comma-separated")
    parser.add_argument("--burst", type=int, default=200, help="precincts posted while measuring latency")
    parser.add_argument("--rate", type=float, default=10.0, help="precincts posted per second in the burst")
    parser.add_argument("--releaser", choices=("app", "process"), default="app",
                        help="continuous release in the app worker, or in `caucus release watch` beside it")
    parser.add_argument("--bulk-interval", type=float, default=None,
                        help="the server's CAUCUS_BULK_INTERVAL for latency (default: the app's default)")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after the warm-up before the burst (the releaser's first full round)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        result = build_one(args.one) if args.part == "build" else latency_one(args.one, args.burst, args.rate,
                                                                             args.releaser, args.bulk_interval,
                                                                             settle=args.settle)
        print(json.dumps(result))
        return
    sizes = args.sizes or ("1765,20000,175000" if args.part == "build" else "1765,20000")
    for size in (int(s) for s in sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, args.part, "--one", str(size), "--burst", str(args.burst),
                              "--rate", str(args.rate), "--releaser", args.releaser, "--settle", str(args.settle),
                              *([] if args.bulk_interval is None else ["--bulk-interval", str(args.bulk_interval)])],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{size}: failed\n{out.stderr[-3000:]}")
            continue
        if os.environ.get("CAUCUS_BENCH_PROFILE"):
            print(out.stderr[-12000:], file=sys.stderr)
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
