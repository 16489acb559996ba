"""A burst of worksheet-photo uploads against a real server: its memory and ``/health`` while it lasts.

Issue 16 measured sixteen 154 KB uploads of a 6300x6300 PNG taking the server from 251 MB to 1.67 GB, with
``/health`` at 10.2 s. This benchmark replays that burst (sixteen chairs of real 2020 precincts, signed in,
each posting the same real 6300x6300 PNG at once to ``POST /api/v1/chair/photos``) against one uvicorn
worker on 127.0.0.1, then a second burst of sixteen images just under the pixel limit (accepted, so each is
decoded and re-encoded: the decode gate's case), retried on 503 as the chair app does. Reported: the
server's RSS before and after each burst and its peak (VmHWM) from /proc, answers by status, and the
latency of ``/health`` polled every 50 ms during each burst.

Run:
    .venv/bin/python benchmarks/bench_photos.py [--src DIR] [--uploads 16] [--side 6300] [--accepted-side 4900]
``--src`` runs the server (and prepares its database) from another checkout's ``src``, e.g. main before
this change, for a same-machine comparison. Bounded: loopback only, one burst of each kind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from caucus.ledger import sqlite_url_for_dir
from caucus.packaged import certified_results
from caucus.rehearse import ServerProcess, scripts_from_results

CERTIFIED = certified_results()
SLUG = "ia-2020-photos"
PREPARE = ("import json, sys; from caucus.rehearse import prepare_election; "
           "print(json.dumps(prepare_election(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))))")


def png(side: int) -> bytes:
    """A real PNG of side x side pixels: a worksheet-like page (lines of ink on white), compressible."""
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    for y in range(100, side - 100, 150):
        draw.line((100, y, side - 100, y), fill=(30, 30, 80), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of process ``pid`` in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def burst(base: str, tokens: dict[str, str], body: bytes, *, tag: str, retry: bool) -> tuple[dict[int, int], float,
                                                                                             list[float]]:
    """Every chair posts ``body`` at once; returns (final status -> count, seconds, /health latencies)."""
    statuses: dict[int, int] = {}
    shown: set[int] = set()
    lock = threading.Lock()
    done = threading.Event()
    health: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get("/api/v1/health")
                health.append(time.perf_counter() - started)
                time.sleep(0.05)

    def upload(precinct: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png",
                   "Idempotency-Key": f"{tag}-{uuid.uuid4()}"}
        with httpx.Client(base_url=base, timeout=300) as client:
            for _ in range(60):
                answer = client.post("/api/v1/chair/photos", content=body, headers=headers)
                if not (retry and answer.status_code == 503):
                    break
                time.sleep(float(answer.headers.get("retry-after", "2")))
        with lock:
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code >= 400 and answer.status_code not in shown:
                shown.add(answer.status_code)
                print(f"  {answer.status_code}: {answer.json()['error']['message']}")

    poller = threading.Thread(target=poll)
    poller.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=upload, args=item) for item in tokens.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    poller.join()
    return statuses, elapsed, health


def report(label: str, pid: int, before: tuple[float, float], result: tuple[dict[int, int], float, list[float]]
           ) -> dict[str, object]:
    statuses, elapsed, health = result
    after = memory(pid)
    row = {"burst": label, "answers": dict(sorted(statuses.items())), "seconds": round(elapsed, 1),
           "rss_before_mb": round(before[0]), "rss_after_mb": round(after[0]), "peak_rss_mb": round(after[1]),
           "health_p50_ms": round(statistics.median(health) * 1000, 1) if health else None,
           "health_max_ms": round(max(health) * 1000, 1) if health else None, "health_samples": len(health)}
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, help="run the server from this checkout's src (default: this one)")
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--side", type=int, default=6300, help="side of the huge PNG (the issue's 6300)")
    parser.add_argument("--accepted-side", type=int, default=4900,
                        help="side of the accepted PNG (4900x4900 = 24.0 MP, under the 25 MP limit); 0: skip")
    args = parser.parse_args()

    src = (args.src or Path(__file__).parents[1] / "src").resolve()
    env = {**os.environ, "PYTHONPATH": str(src)}
    work = Path(tempfile.mkdtemp(prefix="caucus-bench-photos-"))
    url = sqlite_url_for_dir(work / "data")
    codes = [s.precinct for s in scripts_from_results(CERTIFIED)[:args.uploads]]
    prepared = subprocess.run([sys.executable, "-c", PREPARE, url, SLUG, json.dumps(codes)], env=env, check=True,
                              capture_output=True, text=True)
    secrets: dict[str, str] = json.loads(prepared.stdout)
    huge = png(args.side)
    print(f"server from {src}; {args.uploads} chairs; {args.side}x{args.side} PNG of {len(huge):,} bytes")
    os.environ["PYTHONPATH"] = str(src)  # ServerProcess passes our environment on
    server = ServerProcess(url, SLUG, env={"CAUCUS_SNAPSHOT_DIR": str(work / "snapshots")})
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            tokens = {code: client.post("/api/v1/session", json={"precinct": code, "credential": secret}
                                        ).json()["token"] for code, secret in secrets.items()}
        rows = [report(f"{args.uploads} x {args.side}x{args.side} PNG", pid, memory(pid),
                       burst(server.base_url, tokens, huge, tag="huge", retry=False))]
        if args.accepted_side:
            accepted = png(args.accepted_side)
            print(f"{args.accepted_side}x{args.accepted_side} PNG of {len(accepted):,} bytes")
            rows.append(report(f"{args.uploads} x {args.accepted_side}x{args.accepted_side} PNG (retried on 503)",
                               pid, memory(pid), burst(server.base_url, tokens, accepted, tag="ok", retry=True)))
    finally:
        server.kill()
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
