"""Service tests use the web suite's prepared iowa-2020 election, on SQLite and on PostgreSQL."""

from tests.web.conftest import database, postgres_prepared, sqlite_prepared

__all__ = ["database", "postgres_prepared", "sqlite_prepared"]
