"""Run the ledger's Alembic migrations from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from caucus.ledger.db import begin_immediate, is_sqlite, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serializes concurrent upgrades (several app workers starting).
MIGRATION_LOCK_KEY = 0x6361_7563_7573  # "caucus"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:
        raise RuntimeError("the ledger has no migrations")
    return head


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (``alembic upgrade head``); a no-op when already there.

    The whole upgrade is one transaction, taken with the write lock on SQLite (``BEGIN IMMEDIATE``) and an
    advisory lock on PostgreSQL, so several processes may call it at once.
    """
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.connect() as conn:
            begin_immediate(conn)
            with conn.begin():
                if not is_sqlite(conn):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                command.upgrade(alembic_config(conn), revision)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
