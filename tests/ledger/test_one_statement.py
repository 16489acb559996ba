"""Single-statement reads (``caucus.ledger.db.one_statement``): outside any transaction, on SQLite and PostgreSQL,
and the pool's connections stay usable for ordinary transactions afterwards (issue 15: the write path)."""

from __future__ import annotations

from sqlalchemy import Engine, select, text

from caucus.ledger.db import is_sqlite, one_statement, write_transaction
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
