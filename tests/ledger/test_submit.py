"""Submitting to the ledger: receipts, idempotency, corrections and the rejected attempts' audit trail."""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from datetime import UTC

import pytest
from sqlalchemy import Engine, func, select

from caucus.ledger import (
    AlreadySuperseded,
    IdempotencyConflict,
    InvalidSubmission,
    Ledger,
    Receipt,
    SupersededEntryNotFound,
    SupersessionMismatch,
    UnknownElection,
    UnknownPrecinct,
    audit_events,
    create_election,
    entries,
    verify_chain,
)
from caucus.ledger.batch import apply_batch
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.schema import ledger_entries
from tests.ledger.support import PRECINCTS, SLUG, sub


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one())


def test_receipt_names_the_durable_row(engine: Engine, ledger: Ledger) -> None:
    receipt = ledger.submit(sub("k1", {"Sanders": 12, "Buttigieg": 10}))
    assert (receipt.seq, receipt.replayed, receipt.supersedes_seq) == (1, False, None)
    assert receipt.received_at.tzinfo == UTC
    assert re.fullmatch(r"[0-9a-f]{64}", receipt.content_hash)
    [entry] = entries(engine, SLUG)
    assert entry.receipt() == receipt
    assert entry.payload_json == '{"Buttigieg":10,"Sanders":12}'
    assert entry.payload == {"Buttigieg": 10, "Sanders": 12}
    assert entry.prev_hash == "0" * 64


def test_same_key_same_content_returns_the_original_receipt(engine: Engine, ledger: Ledger) -> None:
    first = ledger.submit(sub("k1", {"a": 1, "b": 2}))
    again = ledger.submit(sub("k1", {"b": 2, "a": 1}))  # same content, other key order
    assert again.replayed
    assert (again.seq, again.received_at, again.content_hash) == (
        first.seq,
        first.received_at,
        first.content_hash,
    )
    assert _rows(engine) == 1


def test_same_key_different_content_is_a_conflict(engine: Engine, ledger: Ledger) -> None:
    ledger.submit(sub("k1", {"Sanders": 12}))
    ledger.submit(sub("k2", {"Sanders": 12}))
    with pytest.raises(IdempotencyConflict) as caught:
        ledger.submit(sub("k1", {"Sanders": 13}))
    assert str(caught.value) == (
        "idempotency key 'k1' was already used by entry #1 with a different payload; use a new key for new content"
    )
    assert (caught.value.key, caught.value.original_seq, caught.value.code) == (
        "k1",
        1,
        "idempotency_conflict",
    )
    with pytest.raises(IdempotencyConflict, match=r"entry #2 with a different precinct, stage"):
        ledger.submit(sub("k2", {"Sanders": 12}, precinct="Adair/02NE", stage="final"))
    assert _rows(engine) == 2
    [rejected, _] = [e for e in audit_events(engine, SLUG) if e.action == "ledger.submit"]
    assert rejected.outcome == "rejected:idempotency_conflict"
    assert rejected.detail["payload"] == {"Sanders": 13}
    assert rejected.actor == "chair:Adair/01NW"


def test_fifty_threads_with_overlapping_keys_write_one_row_per_key(engine: Engine, ledger: Ledger) -> None:
    keys = [f"key-{n}" for n in range(20)]
    receipts: dict[str, list[Receipt]] = defaultdict(list)
    lock = threading.Lock()
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for key in keys[n % 7 :: 3]:
                receipt = ledger.submit(sub(key, {"votes": int(key.split("-")[1])}))
                with lock:
                    receipts[key].append(receipt)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(receipts) == sorted(keys)
    assert _rows(engine) == len(keys)
    for key, got in receipts.items():
        assert len({(r.seq, r.content_hash, r.received_at) for r in got}) == 1, key
        assert sum(not r.replayed for r in got) == 1, key
    assert sorted(e.seq for e in entries(engine, SLUG)) == list(range(1, len(keys) + 1))
    assert verify_chain(engine, SLUG).ok


def test_concurrent_same_key_different_content_exactly_one_wins(engine: Engine, ledger: Ledger) -> None:
    barrier = threading.Barrier(10)
    outcomes: list[object] = [None] * 10

    def worker(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = ledger.submit(sub("contested", {"votes": n}))
        except IdempotencyConflict as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if isinstance(o, Receipt)]
    assert len(winners) == 1 and not winners[0].replayed
    assert all(isinstance(o, IdempotencyConflict) and o.original_seq == 1 for o in outcomes if o not in winners)
    assert _rows(engine) == 1


def test_correction_supersedes_an_entry_of_the_same_precinct(engine: Engine, ledger: Ledger) -> None:
    original = ledger.submit(sub("k1", {"Sanders": 12}))
    fixed = ledger.submit(sub("k2", {"Sanders": 21}, channel="paper", supersedes=1, reason="digits swapped"))
    assert (fixed.seq, fixed.supersedes_seq) == (2, original.seq)
    again = ledger.submit(sub("k2", {"Sanders": 21}, channel="paper", supersedes=1, reason="digits swapped"))
    assert again.replayed and again.seq == 2
    with pytest.raises(AlreadySuperseded) as caught:
        ledger.submit(sub("k3", {"Sanders": 22}, supersedes=1, reason="again"))
    assert str(caught.value) == "entry #1 was already superseded by entry #2; supersede #2 instead"
    assert ledger.submit(sub("k3", {"Sanders": 22}, supersedes=2, reason="recount")).seq == 3


def test_bad_corrections_are_rejected_with_exact_messages(engine: Engine, ledger: Ledger) -> None:
    create_election(engine, "other", "iowa-2020", "test", PRECINCTS)
    ledger.submit(sub("k1"))
    ledger.submit(sub("o1", election="other"))
    ledger.submit(sub("o2", election="other"))
    with pytest.raises(SupersededEntryNotFound) as missing:
        ledger.submit(sub("k2", supersedes=2, reason="typo"))
    assert str(missing.value) == f"election '{SLUG}' has no ledger entry #2 to supersede"
    assert missing.value.field == "supersedes_seq"
    with pytest.raises(SupersessionMismatch) as mismatch:
        ledger.submit(sub("k3", precinct="Polk/DSM-12", supersedes=1, reason="typo"))
    assert str(mismatch.value) == (
        "entry #1 belongs to precinct 'Adair/01NW', not 'Polk/DSM-12'; "
        "a correction may only supersede an entry of the same precinct"
    )
    with pytest.raises(UnknownPrecinct, match=r"^election 'ia-2020-test' has no precinct 'Nowhere/1'$"):
        ledger.submit(sub("k4", precinct="Nowhere/1"))
    with pytest.raises(UnknownElection, match=r"^no election with slug 'nope'$"):
        ledger.submit(sub("k5", election="nope"))
    assert [e.seq for e in entries(engine, SLUG)] == [1]
    outcomes = [e.outcome for e in audit_events(engine) if e.action == "ledger.submit"]
    assert outcomes == [
        "rejected:superseded_entry_not_found",
        "rejected:supersession_mismatch",
        "rejected:unknown_precinct",
        "rejected:unknown_election",
    ]


def test_one_bad_submission_does_not_fail_its_batch(engine: Engine, election: str) -> None:
    batch = [
        sub("a"),
        sub("b", precinct="Nowhere/1"),
        sub("c", precinct="Adair/02NE"),
        sub("a", {"other": 1}),
        sub("d", supersedes=99, reason="x"),
        sub("a"),
        sub("e", supersedes=1, reason="fix", channel="hotline"),
    ]
    with write_transaction(engine) as conn:
        outcomes = apply_batch(conn, batch, utcnow())
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == [
        "Receipt",
        "UnknownPrecinct",
        "Receipt",
        "IdempotencyConflict",
        "SupersededEntryNotFound",
        "Receipt",
        "Receipt",
    ]
    receipts = [o for o in outcomes if isinstance(o, Receipt)]
    assert [(r.seq, r.replayed) for r in receipts] == [(1, False), (2, False), (1, True), (3, False)]
    assert verify_chain(engine, SLUG).entries_checked == 3


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"channel": "fax"}, "channel", "channel must be one of app, hotline, paper, import, got 'fax'"),
        (
            {"stage": "second"},
            "stage",
            "stage must be one of attendance, first, final, delegates, got 'second'",
        ),
        ({"key": " "}, "idempotency_key", "idempotency_key must be a non-empty string, got ' '"),
        (
            {"payload": {"x": math.nan}},
            "payload",
            "payload value at payload.x is nan; JSON has no NaN or Infinity",
        ),
        ({"payload": {"x": {1, 2}}}, "payload", "payload is not JSON-serializable"),
        ({"supersedes": 3}, "reason", "a correction (superseding entry #3) needs a non-empty reason"),
        ({"supersedes": 0, "reason": "x"}, "supersedes_seq", "supersedes_seq must be 1 or more, got 0"),
    ],
    ids=["channel", "stage", "key", "nan", "not-json", "no-reason", "seq-zero"],
)
def test_malformed_submissions_are_refused_before_queueing(change: dict[str, object], field: str, message: str) -> None:
    args: dict[str, object] = {"key": "k", "payload": {"a": 1}} | change
    with pytest.raises(InvalidSubmission) as caught:
        sub(args.pop("key"), args.pop("payload"), **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(message)
