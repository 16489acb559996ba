"""The hash chain: verification passes on an honest ledger and names the first tampered entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, Executable, text, update

from caucus.ledger import GENESIS_HASH, Ledger, UnknownElection, canonical_json, entries, verify_chain
from caucus.ledger.chain import entry_hash
from caucus.ledger.schema import ledger_entries
from tests.ledger.support import SLUG, sub


@pytest.fixture
def filled(engine: Engine, ledger: Ledger) -> Engine:
    """A ledger of five entries, the fifth a correction of the second."""
    for n in range(1, 5):
        ledger.submit(sub(f"k{n}", {"votes": n, "note": "café"}, precinct="Adair/02NE" if n == 2 else "Adair/01NW"))
    ledger.submit(sub("k5", {"votes": 22}, precinct="Adair/02NE", supersedes=2, reason="misread"))
    return engine


def _tamper(engine: Engine, statement: str | Executable, **params: object) -> None:
    """Run ``statement`` with the append-only triggers out of the way, as someone with file access could."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for event in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER ledger_entries_no_{event}")
        else:
            conn.exec_driver_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
        conn.execute(text(statement) if isinstance(statement, str) else statement, params)


def test_an_honest_chain_verifies(filled: Engine) -> None:
    report = verify_chain(filled, SLUG)
    assert (report.ok, report.entries_checked, report.first_bad_seq, report.problem) == (True, 5, None, None)
    stored = entries(filled, SLUG)
    assert report.head_hash == stored[-1].content_hash
    assert [e.prev_hash for e in stored] == [GENESIS_HASH] + [e.content_hash for e in stored[:-1]]
    assert str(report).startswith(f"{SLUG}: chain ok, 5 entries")


def test_an_empty_chain_verifies_and_unknown_elections_raise(engine: Engine, election: str) -> None:
    assert verify_chain(engine, SLUG) == verify_chain(engine, SLUG)
    assert verify_chain(engine, SLUG).head_hash == GENESIS_HASH
    with pytest.raises(UnknownElection):
        verify_chain(engine, "no-such-election")


def test_an_altered_payload_is_found_at_its_seq(filled: Engine) -> None:
    _tamper(filled, "UPDATE ledger_entries SET payload = :p WHERE seq = 3", p='{"note":"café","votes":30}')
    report = verify_chain(filled, SLUG)
    assert (report.ok, report.first_bad_seq, report.entries_checked) == (False, 3, 3)
    assert report.problem is not None and report.problem.startswith("content hash ")
    assert str(report).startswith(f"{SLUG}: chain broken at entry #3: content hash")


def test_a_rehashed_forgery_breaks_the_next_link(filled: Engine) -> None:
    third = entries(filled, SLUG)[2]
    forged_payload = canonical_json({"note": "café", "votes": 30})
    forged_hash = entry_hash(
        election=SLUG,
        seq=3,
        precinct_code=third.precinct_code,
        channel=third.channel,
        stage=third.stage,
        payload_json=forged_payload,
        actor=third.actor,
        idempotency_key=third.idempotency_key,
        received_at=third.received_at,
        supersedes_seq=None,
        reason=None,
        prev_hash=third.prev_hash,
    )
    _tamper(
        filled,
        "UPDATE ledger_entries SET payload = :p, content_hash = :h WHERE seq = 3",
        p=forged_payload,
        h=forged_hash,
    )
    report = verify_chain(filled, SLUG)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.problem is not None and report.problem.startswith("prev_hash ")


def test_a_deleted_entry_is_found(filled: Engine) -> None:
    _tamper(filled, "DELETE FROM ledger_entries WHERE seq = 3")
    report = verify_chain(filled, SLUG)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.problem == "expected entry #3 next, found #4 (an entry is missing)"


def test_a_moved_timestamp_is_found(filled: Engine) -> None:
    moved = entries(filled, SLUG)[0].received_at - timedelta(hours=1)
    _tamper(filled, update(ledger_entries).where(ledger_entries.c.seq == 1).values(received_at=moved))
    assert verify_chain(filled, SLUG).first_bad_seq == 1


def test_a_non_canonical_payload_is_found(filled: Engine) -> None:
    _tamper(filled, "UPDATE ledger_entries SET payload = :p WHERE seq = 2", p='{"votes": 2, "note": "café"}')
    report = verify_chain(filled, SLUG)
    assert (report.first_bad_seq, report.problem) == (2, "payload is not in canonical JSON form")


def test_dropping_the_tail_changes_the_head_hash(filled: Engine) -> None:
    """Truncating the newest entries leaves a valid chain, so publish the head hash to detect it."""
    head = verify_chain(filled, SLUG).head_hash
    _tamper(filled, "DELETE FROM ledger_entries WHERE seq = 5")
    report = verify_chain(filled, SLUG)
    assert report.ok and report.entries_checked == 4 and report.head_hash != head


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5) | st.none(), max_size=6))
def test_canonical_json_ignores_key_order(payload: dict[str, object]) -> None:
    shuffled = dict(reversed(list(payload.items())))
    assert canonical_json(shuffled) == canonical_json(payload)
    assert canonical_json(payload).encode("utf-8").decode("utf-8") == canonical_json(payload)
