"""CPU per chair sign-in (``SessionService.sign_in``: throttles, the argon2id check, the session, the sign-in
attempt, the readiness row and its county counts, the audit event), against a baseline of the same work's
irreducible parts in the same run: the argon2id verification at the cards' cost plus one write transaction
appending one row.

Every precinct of Iowa's plan (1,765) gets a card at the synthetic hash cost (64 KiB, one pass, as
``caucus rehearse --synthetic`` uses), then each chair signs in once (``--tests`` of them with the app's "test
your sign-in"), ``--rounds`` times over fresh databases; CPU is the process's user + system time
(``time.process_time``) around the sign-ins only. A caucus night has one sign-in per precinct at least: at
175,000 precincts the sign-ins are as many as a quarter of the stage reports.

Run:
    .venv/bin/python benchmarks/bench_signin.py [--engine sqlite|postgres] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from bench_ingest import postgres
from sqlalchemy import insert

from caucus.ledger import make_engine, sqlite_url_for_dir
from caucus.ledger.db import write_transaction
from caucus.ledger.schema import audit_log
from caucus.plans import load_plan
from caucus.rehearse.server import SYNTHETIC_COST, prepare_cards
from caucus.service.context import load_context
from caucus.service.sessions import SessionService

SLUG = "signin-bench"


def one_round(url: str, tests: int) -> tuple[float, float, int]:
    """(CPU of the sign-ins, CPU of the baseline, sign-ins) on a fresh election at ``url``."""
    codes = [p.code for p in load_plan("iowa-2020").precincts]
    cards = prepare_cards(url, SLUG, codes, cost=SYNTHETIC_COST)
    engine = make_engine(url)
    try:
        context = load_context(engine, SLUG)
        service = SessionService(engine, context)
        start = time.process_time()
        for n, code in enumerate(codes):
            service.sign_in(code, cards[code].credential, f"10.{n // 250}.{n % 250}.1",
                            purpose="test" if n < tests else "report")
        signed = time.process_time() - start
        hasher = PasswordHasher(time_cost=SYNTHETIC_COST.time_cost, memory_cost=SYNTHETIC_COST.memory_cost_kib,
                                parallelism=SYNTHETIC_COST.parallelism)
        stored = hasher.hash("bench credential")
        at = datetime(2028, 2, 8, 1, 0, tzinfo=UTC)
        start = time.process_time()
        for _ in codes:
            hasher.verify(stored, "bench credential")
            with write_transaction(engine) as conn:
                conn.execute(insert(audit_log).values(election_id=None, at=at, actor="bench", action="bench",
                                                      detail="{}", outcome="ok"))
        baseline = time.process_time() - start
        return signed, baseline, len(codes)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", type=int, default=300, help="chairs who sign in with the app's test")
    args = parser.parse_args()
    results = []
    for _ in range(args.rounds):
        if args.engine == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results.append(one_round(sqlite_url_for_dir(Path(tmp)), args.tests))
        else:
            with postgres() as url:
                results.append(one_round(url, args.tests))
    for signed, baseline, n in results:
        print(f"{args.engine}: {n} sign-ins, {signed / n * 1000:.2f} ms CPU each; baseline (argon2id verify + "
              f"one-row write transaction) {baseline / n * 1000:.2f} ms; ratio {signed / baseline:.2f}x")
    print(f"median: {statistics.median(s / n * 1000 for s, _, n in results):.2f} ms per sign-in, ratio "
          f"{statistics.median(s / b for s, b, _ in results):.2f}x")


if __name__ == "__main__":
    main()
