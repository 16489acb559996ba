"""Alembic environment. Run it through :func:`caucus.ledger.migrate.upgrade`, which passes a connection
(already inside a locked transaction) in ``config.attributes["connection"]``; offline (``--sql``) mode
is not supported."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from caucus.ledger.schema import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run ledger migrations with caucus.ledger.migrate.upgrade(engine_or_url)")
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported for the caucus ledger")
run_migrations_online()
