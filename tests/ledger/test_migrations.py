"""Schema migrations: from empty, idempotent, linear, forward-only, and matching schema.py."""

from __future__ import annotations

import itertools
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from caucus.ledger import Ledger, current_revision, head_revision, make_engine, upgrade
from caucus.ledger.migrate import script_directory
from caucus.ledger.schema import metadata
from tests.ledger.support import sub

TABLES = {
    "elections", "precincts", "credentials", "ledger_entries", "audit_log", "sessions", "signin_attempts",
    "photos", "hq_messages", "alembic_version",
    # 0004 (hq)
    "staff_users", "staff_sessions", "staff_signin_attempts", "hotline_calls", "review_decisions", "recanvass_requests",
    "releases", "release_precincts", "release_modes",  # 0005 (publish)
    "throttle_failures",  # 0007 (throttles)
    "election_epochs",  # 0008 (golive)
    "photo_copies",  # 0009 (photos)
    "chair_roster",  # 0011 (roster)
    "early_ballots",  # 0014 (early ballots)
    "campaign_tallies",  # 0012 (campaigns)
    "precinct_status", "status_counts",  # 0015 (maintained status, issue 15)
    "precinct_readiness", "readiness_counts",  # 0016 (maintained readiness, issue 15)
    "released_sde_totals",  # 0018 (the statewide released SDEs, issue 15)
    "manifest_parts",  # 0019 (the parts of release manifests, issue 15)
}


def _schema(engine: Engine) -> dict[str, list[str]]:
    inspector = inspect(engine)
    return {table: sorted(c["name"] for c in inspector.get_columns(table)) for table in inspector.get_table_names()}


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        before = _schema(engine)
        upgrade(engine)
        upgrade(db_url)
        assert _schema(engine) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    finally:
        engine.dispose()


def test_concurrent_upgrades_from_several_workers_agree(db_url: str) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            upgrade(db_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrated_schema_matches_schema_module(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_history_is_linear_and_forward_only() -> None:
    scripts = script_directory()
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1
    revisions = list(scripts.walk_revisions())  # head first
    assert revisions, "no migrations"
    for newer, older in itertools.pairwise(revisions):
        assert newer.down_revision == older.revision, f"{newer.revision} does not follow {older.revision}"
        assert not newer.branch_labels and not newer.dependencies
    for revision in revisions:
        assert not revision.is_merge_point
        with pytest.raises(NotImplementedError, match="forward-only"):
            revision.module.downgrade()


@pytest.mark.parametrize("table", ["ledger_entries", "audit_log"])
def test_append_only_tables_reject_update_and_delete(engine: Engine, election: str, table: str) -> None:
    with Ledger(engine) as ledger:
        ledger.submit(sub("k1"))
    with engine.begin() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() >= 1
    statements = [f"UPDATE {table} SET actor = 'mallory'", f"DELETE FROM {table}"]
    if engine.dialect.name == "postgresql":
        statements.append(f"TRUNCATE {table}")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def test_0016_fills_readiness_from_what_the_database_holds_and_makes_status_rows_stale(db_url: str) -> None:
    """A database at 0015 with cards, sign-ins, a test of the sign-in and a status row: 0016 derives the readiness
    rows and counts from them (equal to a fresh derivation) and leaves the status row to be derived again."""
    import json  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from caucus.ledger import create_election, readiness  # noqa: PLC0415
    from tests.ledger.support import PRECINCTS, SLUG  # noqa: PLC0415

    upgrade(db_url, "0015")
    engine = make_engine(db_url)
    try:
        election_id = create_election(engine, SLUG, "iowa-2020", "test", PRECINCTS)
        at = datetime(2028, 2, 3, 18, tzinfo=UTC).isoformat()
        with engine.begin() as conn:
            ids = dict(conn.execute(text("SELECT code, id FROM precincts")).all())
            for code in ("Adair/01NW", "Adair/02NE", "Polk/DSM-12"):
                conn.execute(text("INSERT INTO credentials (election_id, precinct_id, secret_hash, status, created_at) "
                                  "VALUES (:e, :p, 'x', 'active', :at)"), {"e": election_id, "p": ids[code], "at": at})
            for code, outcome in (("Adair/01NW", "ok"), ("Adair/02NE", "bad-credential"),
                                  ("Adair/02NE", "bad-credential"), ("Polk/DSM-13", "bad-credential")):
                conn.execute(text("INSERT INTO signin_attempts (election_id, precinct_code, client, at, ok, outcome) "
                                  "VALUES (:e, :c, '10.0.0.1', :at, :ok, :o)"),
                             {"e": election_id, "c": code, "at": at, "ok": outcome == "ok", "o": outcome})
            conn.execute(text("INSERT INTO audit_log (election_id, at, actor, action, detail, outcome) VALUES "
                              "(:e, :at, 'chair:Adair/01NW', 'session.test', :d, 'ok')"),
                         {"e": election_id, "at": at, "d": json.dumps({"precinct": "Adair/01NW"})})
            conn.execute(text("INSERT INTO precinct_status (precinct_id, election_id, state, county, why, reasons, "
                              "last_seq) VALUES (:p, :e, 'reported', 'Adair', '', '[]', 1)"),
                         {"p": ids["Adair/01NW"], "e": election_id})
        upgrade(db_url)
        with engine.connect() as conn:
            rows = {row.code: (row.credential, row.signed_in, row.tested, row.failed)
                    for row in readiness.stored(conn, election_id).values()}
            assert rows == {"Adair/01NW": (True, True, True, 0), "Adair/02NE": (True, False, False, 2),
                            "Polk/DSM-12": (True, False, False, 0), "Polk/DSM-13": (False, False, False, 1)}
            assert readiness.differences(conn, election_id) == []
            assert readiness.stored_counts(conn, election_id) == {
                ("Adair", "credential"): 2, ("Adair", "signed-in"): 1, ("Adair", "tested"): 1,
                ("Polk", "credential"): 1}
            assert conn.execute(text("SELECT state FROM precinct_status")).scalars().all() == [None]  # stale
    finally:
        engine.dispose()


def test_0018_sums_every_precincts_newest_released_sdes(db_url: str) -> None:
    """A database at 0017 with two releases (one precinct released twice): 0018 fills ``released_sde_totals`` with
    the SDEs of each precinct's newest record summed (figures worked out by hand)."""
    import json  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    from caucus.ledger import create_election, derived  # noqa: PLC0415
    from tests.ledger.support import PRECINCTS, SLUG  # noqa: PLC0415

    upgrade(db_url, "0017")
    engine = make_engine(db_url)
    try:
        election_id = create_election(engine, SLUG, "iowa-2020", "test", PRECINCTS)
        at = datetime(2028, 2, 3, 22, tzinfo=UTC).isoformat()
        records = ((1, "Adair/01NW", {"Warren": "1.0000"}), (1, "Adair/02NE", {"Warren": "0.2500"}),
                   (2, "Adair/01NW", {"Warren": "0.8400", "Sanders": "0.5600"}))
        with engine.begin() as conn:
            for number in (1, 2):
                conn.execute(text(
                    "INSERT INTO releases (election_id, number, created_at, actor, test, status, zero, content_hash, "
                    "precincts_reporting, precincts_total, ledger_seq, note, manifest) VALUES (:e, :n, :at, 'd', "
                    ":t, 'unofficial', :z, :h, 1, 2, 0, '', '{}')"),
                    {"e": election_id, "n": number, "at": at, "t": True, "z": False, "h": "0" * 64})
            for number, code, sde in records:
                conn.execute(text("INSERT INTO release_precincts (election_id, number, precinct_code, ledger_seq, "
                                  "record) VALUES (:e, :n, :c, 1, :r)"),
                             {"e": election_id, "n": number, "c": code,
                              "r": json.dumps({"code": code, "ledgerSeq": 1, "sde": sde})})
        upgrade(db_url)
        with engine.connect() as conn:
            assert derived.stored_sde(conn, election_id) == {"Warren": Decimal("1.09"), "Sanders": Decimal("0.56")}
            assert derived.released_sde(conn, election_id, 0) == derived.stored_sde(conn, election_id)
    finally:
        engine.dispose()
