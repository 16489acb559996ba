"""The reads a stage report's batch makes go along the precinct index, whatever the size of the ledger: with
``ORDER BY seq`` SQLite walked the election's whole ledger along its primary key to skip a sort (0.11 s a batch
at 445,000 entries in the national-size rehearsal, against 0.001 s along the index). SQLite's own EXPLAIN QUERY
PLAN, on a real migrated database, of the statements as they are run says which index each uses."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event

from caucus.ledger import make_engine, sqlite_url_for_dir
from caucus.ledger.batch import _CURRENT
from caucus.ledger.state import counted_states

INDEX = "SEARCH ledger_entries USING INDEX ix_ledger_entries_election_id_precinct_id_seq (election_id=? AND " \
        "precinct_id=? AND seq>?)"


def _plans(template: Path, target: Path, run: Callable[[Connection], object]) -> list[str]:
    """The query plan of each statement ``run`` makes that reads some precincts' ledger entries."""
    shutil.copytree(template, target)
    engine = make_engine(sqlite_url_for_dir(target))
    seen: list[str] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM ledger_entries" in statement and "precinct_id IN" in statement:
            seen.extend(str(row[3]) for row in cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}",
                                                                           parameters).fetchall())

    event.listen(engine, "before_cursor_execute", explain)
    try:
        with engine.connect() as conn:
            run(conn)
    finally:
        engine.dispose()
    return seen


def test_a_batch_reads_its_precincts_entries_along_the_precinct_index(sqlite_template: Path, tmp_path: Path
                                                                      ) -> None:
    for whole in (True, False):
        plans = _plans(sqlite_template, tmp_path / str(whole), lambda conn, w=whole: conn.execute(
            _CURRENT[w], {"election_id": 1, "ids": [1, 2, 3], "after": 0}).all())
        assert [line for line in plans if "ledger_entries" in line] == [INDEX], plans


def test_some_precincts_states_are_read_along_the_precinct_index(sqlite_template: Path, tmp_path: Path) -> None:
    """``counted_states`` of a few codes (the release's re-derivation of the precincts that changed)."""
    plans = _plans(sqlite_template, tmp_path / "data", lambda conn: counted_states(conn, 1, "none", ["A/1", "B/2"]))
    assert INDEX in plans, plans
