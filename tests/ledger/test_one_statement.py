"""Single-statement reads (``caucus.ledger.db.one_statement``): outside any transaction, on SQLite and PostgreSQL,
and the pool's connections stay usable for ordinary transactions afterwards (issue 15: the write path)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, bindparam, literal, select, text
from sqlalchemy.exc import DBAPIError

from caucus.ledger.db import RawRead, is_sqlite, one_statement, write_transaction
from caucus.ledger.schema import elections
from tests.ledger.support import SLUG


def _in_transaction(engine: Engine, conn: object) -> bool:
    dbapi = conn.connection.dbapi_connection  # type: ignore[attr-defined]
    if is_sqlite(engine):
        return bool(dbapi.in_transaction)
    return str(dbapi.info.transaction_status.name) != "IDLE"


def test_a_single_statement_reads_outside_a_transaction(engine: Engine, election: str) -> None:
    for _ in range(3):  # (the same pooled connections again: the pool pings them before lending them)
        with one_statement(engine) as conn:
            assert conn.execute(select(elections.c.slug).where(elections.c.slug == SLUG)).scalar_one() == SLUG
            assert not _in_transaction(engine, conn)
        with engine.connect() as conn:  # an ordinary connection still reads in a transaction
            conn.execute(text("SELECT 1")).scalar_one()
            assert _in_transaction(engine, conn)


def test_a_write_after_single_statement_reads_is_one_transaction(engine: Engine, election: str) -> None:
    with one_statement(engine) as conn:
        before = conn.execute(select(elections.c.mode).where(elections.c.slug == SLUG)).scalar_one()
    try:
        with write_transaction(engine) as conn:
            conn.execute(elections.update().where(elections.c.slug == SLUG).values(mode="live"))
            assert _in_transaction(engine, conn)
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    with one_statement(engine) as conn:  # the write was rolled back as a whole
        assert conn.execute(select(elections.c.mode).where(elections.c.slug == SLUG)).scalar_one() == before


def test_a_raw_read_gives_what_sqlalchemy_gives_outside_a_transaction(engine: Engine, election: str) -> None:
    statement = (select(elections.c.id, elections.c.slug, elections.c.created_at.label("made"),
                        literal(7).label("seven")).where(elections.c.slug == bindparam("slug")).limit(1))
    read = RawRead(statement)
    for _ in range(3):  # (the same pooled connections again)
        rows = read.all(engine, {"slug": SLUG})
        with engine.connect() as conn:
            expected = conn.execute(statement, {"slug": SLUG}).all()
        assert [tuple(row) for row in rows] == [tuple(row) for row in expected] and len(rows) == 1
        assert rows[0].made.tzinfo is not None and rows[0]._asdict()["seven"] == 7  # the columns' own types
        assert read.all(engine, {"slug": "no-such-election"}) == []


def test_a_raw_read_fails_with_sqlalchemys_errors(engine: Engine, election: str) -> None:
    broken = RawRead(select(text("nothing_here.x")).select_from(text("nothing_here")))
    with pytest.raises(DBAPIError) as caught:
        broken.all(engine, {})
    assert "nothing_here" in str(caught.value)
    assert RawRead(select(elections.c.slug)).all(engine, {})[0].slug == SLUG  # the pool is still usable
