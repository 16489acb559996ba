"""Two workers racing on one precinct, on SQLite and PostgreSQL: each worker is what a server process holds (its
own engine, connections, ledger Writer and services, no lock shared with the other); the database decides.

Real numbers: precincts of the certified 2020 results (data/iowa2020), Grinnell's from RULES.md §13.3 R1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from caucus.ledger import Writer, audit_events, entries, make_engine
from caucus.ledger.epochs import start_epoch
from caucus.packaged import certified_results
from caucus.rehearse import scripts_from_results
from caucus.rehearse.chairs import ChairScript
from caucus.service import (
    Correction,
    CorrectionInvalid,
    ReportService,
    StageAlreadyReported,
    StageCorrection,
    StageReport,
    load_context,
)
from caucus.service.hotline import HotlineService
from tests.web.conftest import Prepared
from tests.web.support import GRINNELL, GRINNELL_FIRST, SLUG

CERTIFIED = certified_results()


@dataclass
class Worker:
    engine: Engine
    writer: Writer
    reports: ReportService
    hotline: HotlineService


@pytest.fixture(scope="module")
def scripts() -> list[ChairScript]:
    return scripts_from_results(CERTIFIED, limit=8)


@pytest.fixture
def workers(database: Prepared) -> Iterator[tuple[Worker, Worker]]:
    made = []
    for name in "ab":
        engine = make_engine(database.url)
        writer = Writer(engine, name=f"worker-{name}")
        context = load_context(engine, SLUG)
        made.append(Worker(engine, writer, ReportService(engine, writer, context),
                           HotlineService(engine, writer, context)))
    yield made[0], made[1]
    for worker in made:
        worker.writer.close()
        worker.engine.dispose()


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once, one thread each; the result or the exception of each."""
    start = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = calls[i]()
        except Exception as error:  # the outcome under test
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def one_won(outcomes: list[Any], loser: type[Exception]) -> tuple[Any, Exception]:
    won = [o for o in outcomes if not isinstance(o, Exception)]
    lost = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert type(lost[0]) is loser, lost[0]
    return won[0], lost[0]


def stage_report(body: dict[str, Any], **extra: Any) -> StageReport:
    return StageReport(body["stage"], {k: v for k, v in body.items() if k != "stage"}, **extra)


def test_two_workers_racing_the_same_stage_store_it_once(
    workers: tuple[Worker, Worker], scripts: list[ChairScript]
) -> None:
    a, b = workers
    for script in scripts:
        code = script.precinct
        attendance = script.stages[0]
        for stage in (attendance, script.stages[1]):
            altered = ({**stage, "attendance": stage["attendance"] + 1} if stage["stage"] == "attendance" else stage)
            outcomes = race(
                lambda w=a, s=stage, c=code: w.reports.submit(c, stage_report(s), f"{c}/{s['stage']}/a",
                                                              channel="app", actor=f"chair:{c}"),
                lambda w=b, s=altered, c=code: w.reports.submit(c, stage_report(s), f"{c}/{s['stage']}/b",
                                                                channel="app", actor=f"chair:{c}"),
            )
            won, lost = one_won(outcomes, StageAlreadyReported)
            assert f"entry #{won.receipt.seq} " in lost.message
            # the status answered with the receipt (derived without reading the precinct again) is the one read
            assert won.status == b.reports.status(code)
    stored = entries(a.engine, SLUG)
    assert sorted((e.precinct_code, e.stage) for e in stored) == sorted(
        (s.precinct, stage) for s in scripts for stage in ("attendance", "first"))
    refused = [e for e in audit_events(a.engine, SLUG) if e.outcome == "rejected:stage-already-reported"]
    assert len(refused) == 2 * len(scripts)


def test_two_workers_racing_to_correct_one_entry_store_one_correction(
    workers: tuple[Worker, Worker], scripts: list[ChairScript]
) -> None:
    a, b = workers
    for script in scripts[:4]:
        code, body = script.precinct, script.stages[0]
        original = a.reports.submit(code, stage_report(body), f"{code}/att", channel="app", actor=f"chair:{code}")
        seq = original.receipt.seq

        def fix(worker: Worker, side: str, add: int, *, code: str = code, body: dict[str, Any] = body,
                seq: int = seq) -> Any:
            report = stage_report({**body, "attendance": body["attendance"] + add}, supersedes_seq=seq,
                                  reason=f"recounted ({side})")
            return worker.reports.submit(code, report, f"{code}/fix-{side}", channel="app", actor=f"chair:{code}")

        won, lost = one_won(race(lambda: fix(a, "a", 1), lambda: fix(b, "b", 2)), CorrectionInvalid)
        assert f"already corrected by entry #{won.receipt.seq}" in lost.message

        # a correction of several stages at once (the chair's and HQ's correction forms)
        def correct(worker: Worker, side: str, add: int, *, code: str = code, body: dict[str, Any] = body,
                    seq: int = won.receipt.seq) -> Any:
            fixed = StageCorrection("attendance", {"attendance": body["attendance"] + add}, supersedes_seq=seq)
            return worker.reports.correct(code, Correction((fixed,), f"worksheet ({side})"), f"{code}/corr-{side}",
                                          actor=f"chair:{code}", channel="app")

        again, refused = one_won(race(lambda: correct(a, "a", 3), lambda: correct(b, "b", 4)), CorrectionInvalid)
        assert f"corrected by entry #{again.receipts[0].seq}" in refused.message
        assert again.status == b.reports.status(code)
    stored = entries(a.engine, SLUG)
    assert len(stored) == 3 * 4
    assert len({e.supersedes_seq for e in stored if e.supersedes_seq}) == 2 * 4


def test_hotline_operators_racing_each_key_a_stage_once(database: Prepared, workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    code = database.hotline_codes[GRINNELL]
    kim = a.hotline.verify_caller("kim", GRINNELL, code).id
    lee = b.hotline.verify_caller("lee", GRINNELL, code).id
    attendance = StageReport("attendance", {"attendance": 328})
    # the same operator's form sent from two consoles (two workers) with two keys: keyed once
    won, lost = one_won(race(lambda: a.hotline.enter("kim", kim, attendance, "kim-1"),
                             lambda: b.hotline.enter("kim", kim, attendance, "kim-2")), CorrectionInvalid)
    assert f"you already keyed in the attendance (entry #{won.receipt.seq})" in lost.message
    # two operators at once, one the attendance and the other the first alignment: both keyed (four eyes; the
    # one whose precinct changed under it is checked again, not refused)
    first = StageReport("first", {"counts": GRINNELL_FIRST})
    outcomes = race(lambda: a.hotline.enter("kim", kim, first, "kim-3"),
                    lambda: b.hotline.enter("lee", lee, attendance, "lee-1"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    stored = [(e.actor, e.stage) for e in entries(a.engine, SLUG)]
    assert sorted(stored) == [("operator:kim", "attendance"), ("operator:kim", "first"),
                              ("operator:lee", "attendance")]


def test_after_go_live_a_stage_reported_in_the_rehearsal_is_accepted(
    workers: tuple[Worker, Worker], scripts: list[ChairScript]
) -> None:
    a, b = workers
    code, body = scripts[0].precinct, scripts[0].stages[0]
    rehearsal = a.reports.submit(code, stage_report(body), "rehearsal", channel="app", actor=f"chair:{code}")
    start_epoch(a.engine, SLUG, "go-live", actor="director:test")
    won, _ = one_won(race(
        lambda: a.reports.submit(code, stage_report(body), "live-a", channel="app", actor=f"chair:{code}"),
        lambda: b.reports.submit(code, stage_report(body), "live-b", channel="app", actor=f"chair:{code}"),
    ), StageAlreadyReported)
    assert won.receipt.seq > rehearsal.receipt.seq
    assert won.status.stages["attendance"][0].seq == won.receipt.seq
