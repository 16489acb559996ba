"""The web fixtures (the real app on SQLite and PostgreSQL), shared with tests/web."""

from tests.web.conftest import (  # noqa: F401  (pytest fixtures, re-exported)
    database,
    postgres_prepared,
    sqlite_database,
    sqlite_prepared,
    web,
    web_sqlite,
)
