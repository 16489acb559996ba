"""Shared test fixtures: a real PostgreSQL server for the session.

``postgres_server`` reads ``CAUCUS_TEST_PG_URL`` (an existing server; the role needs CREATEDB) or else
starts a throwaway cluster (:func:`caucus.ledger.pgcluster.local_cluster`) listening on 127.0.0.1 on a free
port, and stops it at the end. Every database it hands out has a random session prefix and is dropped. If
no server can be had, tests that need one fail, unless ``CAUCUS_ALLOW_NO_PG=1``, which makes them skip.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from caucus.ledger.pgcluster import PostgresServer, local_cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with contextlib.ExitStack() as stack:
        try:
            env_url = os.environ.get("CAUCUS_TEST_PG_URL")
            url = make_url(env_url) if env_url else stack.enter_context(local_cluster())
            server = PostgresServer(url)
            server._admin().close()
        except Exception as exc:
            message = (
                f"no PostgreSQL server for the tests: {exc}. Set CAUCUS_TEST_PG_URL to a server where the "
                "role may CREATE DATABASE, install PostgreSQL (initdb, pg_ctl), or set CAUCUS_ALLOW_NO_PG=1 "
                "to skip the PostgreSQL tests"
            )
            if os.environ.get("CAUCUS_ALLOW_NO_PG") == "1":
                pytest.skip(message)
            pytest.fail(message, pytrace=False)
        try:
            yield server
        finally:
            server.drop_all()
