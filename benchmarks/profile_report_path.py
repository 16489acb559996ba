"""Where a stage report's CPU goes below HTTP: the service calls of ``POST /api/v1/reports`` (the session's lookup,
the precinct's read, the checks, the durable write, the answer's serialization) from 40 threads at once, in-process
on SQLite, for each of the four stages of ``--precincts`` precincts of the certified 2020 results.

Measured per report: the CPU of the process (``time.process_time``), of the request threads (``time.thread_time``
around each report) and of the ledger writer's thread (from ``/proc``); and, per piece, the request threads' CPU
inside it (``time.thread_time`` around the service functions, wrapped for the run). With a tree from before
``SessionService.authenticate_with_state`` (run with ``PYTHONPATH=that/src``) the session and the precinct are read
separately, as that tree's route did. The machine's load moves every figure: compare trees run one after the other.

Run:
    .venv/bin/python benchmarks/profile_report_path.py [--precincts 400] [--threads 40]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

import caucus.ledger.writer as writer_module
import caucus.service.reports as reports_module
import caucus.service.sessions as sessions_module
from caucus.ledger import make_engine, sqlite_url_for_dir
from caucus.packaged import certified_results
from caucus.rehearse import prepare_election, scripts_from_results
from caucus.web.api.convert import submit_out
from caucus.web.api.schemas import StageRequest
from caucus.web.services import start_services
from caucus.web.settings import load_settings

PIECES: Counter[str] = Counter()
PIECES_LOCK = threading.Lock()


def _timed(owner: Any, name: str, label: str) -> None:
    inner = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return inner(*args, **kwargs)
        finally:
            with PIECES_LOCK:
                PIECES[label] += time.thread_time() - started

    setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precincts", type=int, default=400)
    parser.add_argument("--threads", type=int, default=40)
    args = parser.parse_args()
    one_read = hasattr(sessions_module.SessionService, "authenticate_with_state")
    for owner, name, label in ((sessions_module.SessionService, "authenticate", "session lookup"),
                               (sessions_module.SessionService, "authenticate_with_state", "session and precinct read"),
                               (reports_module, "precinct_state", "precinct read"),
                               (reports_module.ReportService, "_check", "checks"),
                               (writer_module.Writer, "submit", "hand-off to the writer and wait"),
                               (reports_module, "status_after_write", "status after the write")):
        if hasattr(owner, name):
            _timed(owner, name, label)
    adapter: TypeAdapter[Any] = TypeAdapter(StageRequest)
    url = sqlite_url_for_dir(Path(tempfile.mkdtemp(prefix="caucus-report-path-")))
    scripts = scripts_from_results(certified_results(), limit=args.precincts)
    secrets = prepare_election(url, "bench", [s.precinct for s in scripts])
    engine = make_engine(url, pool_size=args.threads + 5, max_overflow=0)
    services = start_services(engine, load_settings(database_url=url, election="bench", release_in_app=False))
    tokens = {s.precinct: services.sessions.sign_in(s.precinct, secrets[s.precinct], "127.0.0.1").token
              for s in scripts}
    spent: list[float] = []

    def report(stage: int) -> Callable[[Any], None]:
        def send(script: Any) -> None:
            started = time.thread_time()
            body = adapter.validate_python(script.stages[stage]).to_report()
            key = f"{script.precinct}/{stage}"
            if one_read:
                session, state = services.sessions.authenticate_with_state(tokens[script.precinct])
                result = services.reports.submit_as_chair(session, body, key, state=state)
            else:
                session = services.sessions.authenticate(tokens[script.precinct])
                result = services.reports.submit_as_chair(session, body, key)
            submit_out(result).model_dump_json()
            spent.append(time.thread_time() - started)
        return send

    def writer_cpu() -> float:
        fields = Path(f"/proc/self/task/{services.writer._thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100

    print(f"{'one statement' if one_read else 'two reads'}; ms per report, {args.threads} threads, SQLite")
    print("| stage | process | request threads | writer | reports per batch | "
          + " | ".join(label for label in ("session lookup", "session and precinct read", "precinct read", "checks",
                                           "hand-off to the writer and wait", "status after the write")) + " |")
    for stage in range(4):
        spent.clear()
        PIECES.clear()
        commits, writer_before, process_before = services.writer.stats.commits, writer_cpu(), time.process_time()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(report(stage), scripts))
        n = len(scripts)
        batches = services.writer.stats.commits - commits
        pieces = " | ".join(f"{1000 * PIECES[label] / n:.3f}" if label in PIECES else "-"
                            for label in ("session lookup", "session and precinct read", "precinct read", "checks",
                                          "hand-off to the writer and wait", "status after the write"))
        print(f"| {stage} | {1000 * (time.process_time() - process_before) / n:.3f} | {1000 * sum(spent) / n:.3f} | "
              f"{1000 * (writer_cpu() - writer_before) / n:.3f} | {n / max(batches, 1):.1f} | {pieces} |")
    services.close()


if __name__ == "__main__":
    main()
