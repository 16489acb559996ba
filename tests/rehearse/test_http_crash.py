"""Durability over real HTTP: SIGKILL the server in the middle of a burst of concurrent submissions,
restart it, and check that every acknowledged receipt is in the ledger with its seq, that retries with the
same idempotency key created no duplicates, and that the hash chain verifies. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from caucus.ledger import entries, make_engine, sqlite_url_for_dir, verify_chain
from caucus.packaged import certified_results
from caucus.rehearse import Outcome, ServerProcess, play_chair, prepare_election, scripts_from_results

CERTIFIED = certified_results()
SLUG = "crash-night"
CHAIRS = 48
KILL_AFTER = 60  # acknowledged receipts before the kill


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url_for_dir(tmp_path / "data")
        return
    server: Any = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


async def _night(server: ServerProcess, secrets: dict[str, str], scripts: list[Any]) -> tuple[
        list[Outcome], dict[str, int]]:
    outcomes = [Outcome(s.precinct) for s in scripts]
    before_kill: dict[str, int] = {}

    async def killer() -> None:
        while sum(len(o.acknowledged) for o in outcomes) < KILL_AFTER:
            await asyncio.sleep(0.005)
        for o in outcomes:
            before_kill.update(o.acknowledged)
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(server.start)

    limits = httpx.Limits(max_connections=CHAIRS)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        await asyncio.gather(killer(), *(play_chair(client, s, secrets[s.precinct], outcome=o, retry_for=90)
                                         for s, o in zip(scripts, outcomes, strict=True)))
    return outcomes, before_kill


def test_sigkill_mid_burst_loses_no_acknowledged_report(database_url: str, tmp_path: Path) -> None:
    scripts = scripts_from_results(CERTIFIED, limit=CHAIRS)
    secrets = prepare_election(database_url, SLUG, [s.precinct for s in scripts])
    server = ServerProcess(database_url, SLUG, cwd=tmp_path)
    server.start()
    try:
        outcomes, before_kill = asyncio.run(_night(server, secrets, scripts))
    finally:
        server.stop()
    assert len(before_kill) >= KILL_AFTER
    assert [o.refused for o in outcomes if o.refused] == []
    retried = sum(o.retries for o in outcomes)
    assert retried > 0, "the kill happened mid-burst: some chairs had to retry"
    acknowledged = {k: v for o in outcomes for k, v in o.acknowledged.items()}
    assert len(acknowledged) == sum(len(s.stages) for s in scripts)  # every stage acknowledged in the end
    engine = make_engine(database_url)
    try:
        rows = {e.idempotency_key: e.seq for e in entries(engine, SLUG)}
        chain = verify_chain(engine, SLUG)
    finally:
        engine.dispose()
    lost = {k: s for k, s in before_kill.items() if rows.get(k) != s}
    assert lost == {}, f"acknowledged before the kill but missing or changed: {lost}"
    assert rows == acknowledged  # every receipt present with its seq, and nothing else: no duplicates
    assert chain.ok, chain
    assert chain.entries_checked == len(acknowledged)
