"""Where a stage report's CPU goes: py-spy attached to the server of ``bench_ingest.py`` while wrk sends reports.

Runs ``benchmarks/bench_ingest.py`` with the given arguments, finds its uvicorn server (a child process running
``caucus.web.app:create_app``), samples it with py-spy (all threads, idle frames left out, so the samples are
CPU) for ``--seconds``, and prints the functions that hold the largest share of the samples, inclusive (a
function and everything it calls) and, separately, the leaf frames (exclusive). Needs the ``dev`` extra
(py-spy) and Debian's ``wrk``.

Also measured exactly, while wrk runs: each server thread's CPU from ``/proc/PID/task`` (user + system time), as
the event loop (the main thread), the ledger writer (the busiest other thread) and the request threads (the rest),
divided by the timed reports (3 per precinct): py-spy's shares are samples, and under load it counts threads
that wait for a core as running, or misses short runs; these are the kernel's own accounting.

Run:
    .venv/bin/python benchmarks/profile_ingest.py [--seconds 30] [--top 40] -- --engine sqlite --precincts 600
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _find_server(root: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack = [root]
        while stack:
            pid = stack.pop()
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"caucus.web.app:create_app" in cmdline:
                return pid
            stack.extend(_children(pid))
        time.sleep(0.2)
    raise SystemExit("no server process appeared")


#: leaf frames of a thread that waits (py-spy on a loaded machine samples some of them as active)
WAITING = ("Condition.wait", "Queue.get", "EpollSelector.select", "Thread._wait_for_tstate_lock", "Event.wait",
           "Future.result", "SimpleQueue.get")


def _frame(text: str) -> str:
    if " (" not in text:
        return text
    name, _, where = text.partition(" (")
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})"


def summarize(raw: Path, top: int) -> str:
    """Inclusive and leaf shares of py-spy's collapsed stacks (``frame;frame;... count`` per line), without the
    samples of waiting threads."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = waiting = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")[1:]]  # the first frame is the thread
        if frames and frames[-1].split(" (")[0] in WAITING:
            waiting += n
            continue
        total += n
        for name in set(frames):
            inclusive[name] += n
        if frames:
            leaf[frames[-1]] += n
    lines = [f"{total} samples of running threads ({waiting} of waiting ones left out)", "",
             "| inclusive % | function |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f} | `{name}` |" for name, n in inclusive.most_common(top)]
    lines += ["", "| leaf % | function |", "|---:|---|"]
    lines += [f"| {100 * n / total:.1f} | `{name}` |" for name, n in leaf.most_common(top // 2)]
    return "\n".join(lines)


_TICK = os.sysconf("SC_CLK_TCK")


def _tasks(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of ``pid``."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _wrk_running(bench: int) -> bool:
    return any(b"wrk" in Path(f"/proc/{p}/cmdline").read_bytes()
               for p in _children(bench) if Path(f"/proc/{p}").exists())


def by_thread(server: int, before: dict[int, float], after: dict[int, float], reports: int) -> str:
    """Per report: the event loop's, the writer's and the request threads' CPU (ms)."""
    spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    others = [tid for tid in spent if tid != server]
    writer = max(others, key=lambda tid: spent[tid]) if others else None
    loop, write = spent.get(server, 0.0), spent.get(writer, 0.0) if writer is not None else 0.0
    rest = sum(spent.values()) - loop - write
    total = sum(spent.values())
    return (f"server CPU per report by thread, from /proc ({reports} reports): "
            f"event loop {1000 * loop / reports:.3f} ms, ledger writer {1000 * write / reports:.3f} ms, "
            f"request threads ({len(others) - 1}) {1000 * rest / reports:.3f} ms, "
            f"total {1000 * total / reports:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("/tmp/caucus-ingest-profile.txt"))
    parser.add_argument("bench", nargs=argparse.REMAINDER, help="arguments for bench_ingest.py (after --)")
    args = parser.parse_args()
    bench_args = [a for a in args.bench if a != "--"]
    bench = subprocess.Popen([sys.executable, str(HERE / "bench_ingest.py"), *bench_args])
    try:
        server = _find_server(bench.pid, 300)
        # wait for the timed part: wrk appears as a child of the benchmark
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not _wrk_running(bench.pid):
            time.sleep(0.05)
        spy = Path(sys.executable).parent / "py-spy"
        recorder = subprocess.Popen([str(spy), "record", "--pid", str(server), "--threads", "--format", "raw",
                                     "--rate", "100", "--duration", str(args.seconds), "--output", str(args.out),
                                     "--nonblocking"])
        before = after = _tasks(server)
        while bench.poll() is None and _wrk_running(bench.pid):  # (the server lives on a little after wrk)
            after = _tasks(server) or after
            time.sleep(0.2)
        if recorder.wait() != 0:
            raise SystemExit("py-spy failed")
        bench.wait()
    finally:
        if bench.poll() is None:
            bench.terminate()
            bench.wait()
    precincts = int(bench_args[bench_args.index("--precincts") + 1]) if "--precincts" in bench_args else 400
    print(by_thread(server, before, after, 3 * precincts))
    print(summarize(args.out, args.top))


if __name__ == "__main__":
    main()
