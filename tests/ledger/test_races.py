"""Two writers on two engines (what two worker processes are) racing on one precinct, on SQLite and PostgreSQL.

A submission with ``expect_last_seq`` is recorded only if, under the writer's lock, the precinct is as the
sender checked it and its stage has no current entry of the channel (of the operator, on the hotline);
a correction supersedes an entry at most once. The loser gets a typed error and nothing is recorded for it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from caucus.ledger import (
    AlreadySuperseded,
    InvalidSubmission,
    LedgerError,
    PrecinctChanged,
    Receipt,
    StageAlreadyRecorded,
    Submission,
    Writer,
    audit_events,
    entries,
    make_engine,
    verify_chain,
)
from caucus.ledger.batch import apply_batch
from caucus.ledger.db import begin_immediate, utcnow
from caucus.ledger.epochs import start_epoch
from tests.ledger.support import PRECINCTS, SLUG, sub

STAGES = ("attendance", "first", "final", "delegates")


@pytest.fixture
def writers(engine: Engine, election: str) -> Iterator[tuple[Writer, Writer]]:
    """Two writers, each on its own engine (its own connections), on the same database."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    with Writer(engine, name="writer-a") as a, Writer(other, name="writer-b") as b:
        yield a, b
    other.dispose()


def race(writers: tuple[Writer, Writer], subs: tuple[Any, Any]) -> list[Receipt | LedgerError]:
    """Submit ``subs[i]`` (a Submission or a group) through ``writers[i]``, both released at once."""
    start = threading.Barrier(2)
    outcomes: list[Receipt | LedgerError] = [None, None]  # type: ignore[list-item]

    def run(i: int) -> None:
        start.wait()
        try:
            if isinstance(subs[i], Submission):
                outcomes[i] = writers[i].submit(subs[i], timeout=60)
            else:
                outcomes[i] = writers[i].submit_group(subs[i], timeout=60)[0]
        except LedgerError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def one_won(outcomes: list[Receipt | LedgerError], loser: type[LedgerError]) -> tuple[Receipt, LedgerError]:
    won = [o for o in outcomes if isinstance(o, Receipt)]
    lost = [o for o in outcomes if not isinstance(o, Receipt)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], loser), lost[0]
    return won[0], lost[0]


def test_two_writers_racing_the_same_stage_record_it_once(engine: Engine, writers: tuple[Writer, Writer]) -> None:
    last = {p.code: 0 for p in PRECINCTS}
    rounds = 0
    for stage in STAGES:
        for spec in PRECINCTS:
            actor = f"chair:{spec.code}"
            pair = tuple(sub(f"{spec.code}/{stage}/{side}", {"n": n}, precinct=spec.code, stage=stage, actor=actor)
                         for n, side in enumerate("ab"))
            expecting = tuple(dataclasses.replace(s, expect_last_seq=last[spec.code]) for s in pair)
            won, lost = one_won(race(writers, expecting), StageAlreadyRecorded)
            assert isinstance(lost, StageAlreadyRecorded) and lost.seq == won.seq
            last[spec.code] = won.seq
            rounds += 1
    stored = entries(engine, SLUG)
    assert len(stored) == rounds == len(STAGES) * len(PRECINCTS)
    assert len({(e.precinct_code, e.channel, e.stage) for e in stored}) == rounds
    assert verify_chain(engine, SLUG).ok
    refused = [e for e in audit_events(engine, SLUG) if e.outcome == "rejected:stage_already_recorded"]
    assert len(refused) == rounds


def test_each_hotline_operator_keys_a_stage_once(engine: Engine, writers: tuple[Writer, Writer]) -> None:
    """Four eyes: two operators each key the stage (both recorded); one operator racing himself: once."""
    code = "Polk/DSM-12"
    a = sub("op1", {"n": 1}, precinct=code, channel="hotline", stage="attendance", actor="operator:one")
    b = sub("op2", {"n": 1}, precinct=code, channel="hotline", stage="attendance", actor="operator:two")
    first = writers[0].submit(dataclasses.replace(a, expect_last_seq=0))
    second = writers[1].submit(dataclasses.replace(b, expect_last_seq=first.seq))
    with pytest.raises(StageAlreadyRecorded, match="by operator:two"):
        writers[0].submit(dataclasses.replace(b, idempotency_key="op2-again", expect_last_seq=second.seq))
    again = [sub(f"op3-{side}", {"n": 2}, precinct=code, channel="hotline", stage="attendance",
                 actor="operator:three", expect_last_seq=second.seq) for side in "ab"]
    won, lost = one_won(race(writers, (again[0], again[1])), StageAlreadyRecorded)
    assert won.seq == second.seq + 1 and isinstance(lost, StageAlreadyRecorded) and lost.seq == won.seq
    # the app channel's attendance is a stage of its own: the hotline's entries do not stand in its way
    app = writers[0].submit(sub("app", {"n": 1}, precinct=code, stage="attendance", actor="chair:x",
                                expect_last_seq=won.seq))
    assert app.seq == won.seq + 1


def test_two_writers_racing_to_correct_one_entry_record_one_correction(
    engine: Engine, writers: tuple[Writer, Writer]
) -> None:
    for spec in PRECINCTS:
        original = writers[0].submit(sub(f"{spec.code}/o", {"n": 1}, precinct=spec.code, expect_last_seq=0))
        pair = tuple(sub(f"{spec.code}/fix-{side}", {"n": n}, precinct=spec.code, supersedes=original.seq,
                         reason=f"recount {side}", expect_last_seq=original.seq) for n, side in enumerate("ab", 2))
        won, _ = one_won(race(writers, pair), AlreadySuperseded)
        assert won.supersedes_seq == original.seq
        # the same race between corrections of several stages (groups): one recorded whole, the other not at all
        group = [tuple(dataclasses.replace(s, correction_id=f"C-{spec.code}-{side}",
                                           idempotency_key=f"{s.idempotency_key}/g{side}", reason="group")
                       for s in (sub(f"{spec.code}/g", {"n": 9}, precinct=spec.code, supersedes=won.seq, reason="x",
                                     expect_last_seq=won.seq),))
                 for side in "ab"]
        one_won(race(writers, (group[0], group[1])), AlreadySuperseded)
    stored = entries(engine, SLUG)
    assert len(stored) == 3 * len(PRECINCTS)
    assert len({e.supersedes_seq for e in stored if e.supersedes_seq}) == 2 * len(PRECINCTS)


def test_a_submission_checked_against_an_older_precinct_is_refused_and_nothing_recorded(
    engine: Engine, writers: tuple[Writer, Writer]
) -> None:
    attendance = writers[0].submit(sub("att", {"n": 50}, stage="attendance", expect_last_seq=0))
    with pytest.raises(PrecinctChanged) as refused:
        writers[1].submit(sub("first", {"n": 1}, stage="first", expect_last_seq=0))
    assert (refused.value.expected, refused.value.found) == (0, attendance.seq)
    assert [e.seq for e in entries(engine, SLUG)] == [attendance.seq]
    # another precinct's entries change nothing for this one
    writers[1].submit(sub("elsewhere", {"n": 1}, precinct="Adair/02NE", expect_last_seq=0))
    first = writers[1].submit(sub("first", {"n": 1}, stage="first", expect_last_seq=attendance.seq))
    # a correction of several stages is checked against the precinct before its first entry
    group = [dataclasses.replace(sub(f"g/{st}", {"n": 2}, stage=st, supersedes=seq, reason="recount",
                                     expect_last_seq=first.seq), correction_id="C-1")
             for st, seq in (("attendance", attendance.seq), ("first", first.seq))]
    assert [r.supersedes_seq for r in writers[0].submit_group(group)] == [attendance.seq, first.seq]
    with pytest.raises(InvalidSubmission):
        sub("bad", expect_last_seq=-1)


def test_after_go_live_a_stage_reported_in_the_rehearsal_is_accepted_again(
    engine: Engine, writers: tuple[Writer, Writer]
) -> None:
    rehearsal = writers[0].submit(sub("r/att", {"n": 50}, stage="attendance", expect_last_seq=0))
    with pytest.raises(StageAlreadyRecorded):
        writers[1].submit(sub("r/att2", {"n": 51}, stage="attendance", expect_last_seq=rehearsal.seq))
    start_epoch(engine, SLUG, "go-live", actor="director:test")
    # checked against the rehearsal's entries, which no longer count: read again
    with pytest.raises(PrecinctChanged):
        writers[1].submit(sub("live/att", {"n": 52}, stage="attendance", expect_last_seq=rehearsal.seq))
    pair = tuple(sub(f"live/att-{side}", {"n": 53}, stage="attendance", expect_last_seq=0) for side in "ab")
    won, _ = one_won(race(writers, pair), StageAlreadyRecorded)
    assert won.seq > rehearsal.seq


def test_a_refused_submission_does_not_fail_the_others_of_its_batch(engine: Engine, election: str) -> None:
    batch = [
        sub("a", {"n": 50}, stage="attendance", expect_last_seq=0),
        sub("b", {"n": 51}, stage="attendance", expect_last_seq=0),  # the same stage again
        sub("c", {"n": 9}, precinct="Adair/02NE", stage="attendance", expect_last_seq=0),
        sub("d", {"n": 1}, stage="first", expect_last_seq=0),  # checked before "a" was recorded
        sub("e", {"n": 1}, stage="first", expect_last_seq=1),
    ]
    conn = begin_immediate(engine.connect())
    with conn, conn.begin():
        outcomes = apply_batch(conn, batch, utcnow())
    assert [o.seq if isinstance(o, Receipt) else type(o) for o in outcomes] == [
        1, StageAlreadyRecorded, 2, PrecinctChanged, 3]
    assert [(e.seq, e.idempotency_key) for e in entries(engine, SLUG)] == [(1, "a"), (2, "c"), (3, "e")]
    assert sorted(e.outcome for e in audit_events(engine, SLUG) if e.action == "ledger.submit") == [
        "rejected:precinct_changed", "rejected:stage_already_recorded"]
