"""Service tests use the web suite's prepared iowa-2020 election, on SQLite and on PostgreSQL (a test of SQLite's
own behaviour, such as its query plans, takes ``sqlite_database``)."""

from tests.web.conftest import database, postgres_prepared, sqlite_database, sqlite_prepared

__all__ = ["database", "postgres_prepared", "sqlite_database", "sqlite_prepared"]
