"""HQ fixtures: the real app on the prepared iowa-2020 election (SQLite and PostgreSQL), staff cookies
allowed over the test client's plain http."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caucus.web.services import STATE_KEY, Services
from tests.web.conftest import Prepared, Web, database, postgres_prepared, running, sqlite_database, sqlite_prepared

__all__ = ["database", "postgres_prepared", "sqlite_database", "sqlite_prepared"]


@pytest.fixture
def hq(database: Prepared) -> Iterator[Web]:
    """The app on SQLite and on PostgreSQL."""
    yield from running(database, staff_cookie_secure=False)


@pytest.fixture
def hq_sqlite(sqlite_database: Prepared) -> Iterator[Web]:
    yield from running(sqlite_database, staff_cookie_secure=False)



def services_of_app(web: Web) -> Services:
    """The running app's services (the use cases its pages call)."""
    found = web.client.app_state.get(STATE_KEY)
    assert isinstance(found, Services)
    return found


@pytest.fixture
def svc(hq: Web) -> Services:
    return services_of_app(hq)
