"""The single writer: group commit, async callers, shutdown, fault isolation, several writers at once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from caucus.ledger import Ledger, Receipt, Writer, WriterClosed, entries, make_engine, verify_chain
from tests.ledger.support import PRECINCTS, SLUG, sub


def _burst(writer: Writer, count: int, prefix: str = "k") -> list[Receipt | BaseException]:
    results: list[Receipt | BaseException] = [RuntimeError("not run")] * count
    barrier = threading.Barrier(count)

    def worker(n: int) -> None:
        precinct = PRECINCTS[n % len(PRECINCTS)].code
        barrier.wait()
        try:
            results[n] = writer.submit(sub(f"{prefix}-{n}", {"votes": n}, precinct=precinct), timeout=60)
        except BaseException as exc:
            results[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_group_commit_uses_far_fewer_transactions_than_submissions(engine: Engine, election: str) -> None:
    commits = 0

    def count_commit(conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "commit", count_commit)
    with Writer(engine) as writer:
        results = _burst(writer, 200)
    receipts = [r for r in results if isinstance(r, Receipt)]
    assert len(receipts) == 200, [r for r in results if not isinstance(r, Receipt)][:3]
    assert sorted(r.seq for r in receipts) == list(range(1, 201))
    assert commits == writer.stats.commits
    assert commits < 200 / 4, f"{commits} commits for 200 submissions"
    assert writer.stats.written == 200
    stored = {e.idempotency_key: e.seq for e in entries(engine, SLUG)}
    assert stored == {r.idempotency_key: r.seq for r in receipts}
    assert verify_chain(engine, SLUG).ok


def test_submit_async_from_an_event_loop(engine: Engine, ledger: Ledger) -> None:
    async def main() -> list[Receipt]:
        return await asyncio.gather(*(ledger.submit_async(sub(f"a-{n}", {"n": n})) for n in range(30)))

    receipts = asyncio.run(main())
    assert sorted(r.seq for r in receipts) == list(range(1, 31))
    assert [r.idempotency_key for r in receipts] == [f"a-{n}" for n in range(30)]


def test_close_commits_what_is_queued_then_refuses_more(engine: Engine, election: str) -> None:
    writer = Writer(engine)
    futures = [writer.submit_future(sub(f"q-{n}")) for n in range(50)]
    writer.close()
    assert writer.closed
    assert sorted(f.result(0).seq for f in futures) == list(range(1, 51))
    with pytest.raises(WriterClosed, match="the ledger writer is closed; the submission was not recorded"):
        writer.submit(sub("late"))
    writer.close()  # closing twice is fine


def test_a_database_error_fails_only_its_own_submission(engine: Engine, election: str) -> None:
    """A submission the database itself refuses (here: a trigger) must not take its batch down with it."""
    if engine.dialect.name == "sqlite":
        poison = (
            "CREATE TRIGGER poison BEFORE INSERT ON ledger_entries WHEN NEW.payload LIKE '%poison%' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        )
        statements = [poison]
    else:
        statements = [
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.payload LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER poison BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    with Writer(engine) as writer:
        futures = [
            writer.submit_future(sub(f"p-{n}", {"poison" if n == 7 else "votes": n}, precinct=PRECINCTS[n % 4].code))
            for n in range(40)
        ]
        results = [f.exception(60) or f.result() for f in futures]
    failed = [n for n, r in enumerate(results) if not isinstance(r, Receipt)]
    assert failed == [7]
    assert isinstance(results[7], DBAPIError) and "poisoned" in str(results[7])
    assert writer.stats.failed == 1
    assert sorted(r.seq for r in results if isinstance(r, Receipt)) == list(range(1, 40))
    assert verify_chain(engine, SLUG).ok


def test_two_writers_on_two_engines_share_one_chain(engine: Engine, election: str) -> None:
    """Several app workers, each with its own engine and writer: seqs and hashes stay one chain."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with Writer(engine) as first, Writer(other) as second:
            results: dict[str, list[Receipt | BaseException]] = {}

            def run(name: str, writer: Writer) -> None:
                results[name] = _burst(writer, 60, prefix=name)

            threads = [threading.Thread(target=run, args=args) for args in (("one", first), ("two", second))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        other.dispose()
    receipts = [r for got in results.values() for r in got]
    assert all(isinstance(r, Receipt) for r in receipts), receipts
    assert sorted(r.seq for r in receipts if isinstance(r, Receipt)) == list(range(1, 121))
    report = verify_chain(engine, SLUG)
    assert report.ok and report.entries_checked == 120, report
