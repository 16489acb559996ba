"""Web fixtures: the real app (create_app) on a real database holding the real iowa-2020 election.

A database is prepared once per session and engine (migrated, the election created from the bundled plan,
cheap credentials issued); every test gets its own copy: a copied SQLite file, or a PostgreSQL database
created from the prepared one as a template (the PostgreSQL server is the session's ``postgres_server``
from tests/conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from caucus.ledger import PrecinctSpec, create_election, issue_cards, make_engine, sqlite_url_for_dir, upgrade
from caucus.plans import load_plan
from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.ledger.support import FAST_COST
from tests.web.support import SLUG, WITH_CREDENTIALS, Chair, Clock

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Prepared:
    url: str
    secrets: dict[str, str]
    #: the hotline code on each card (verifies hotline calls only)
    hotline_codes: dict[str, str]


def _prepare(url: str) -> tuple[dict[str, str], dict[str, str]]:
    upgrade(url)
    engine = make_engine(url)
    try:
        plan = load_plan("iowa-2020")
        specs = [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in plan.precincts]
        create_election(engine, SLUG, "iowa-2020", "test", specs)
        cards = issue_cards(engine, SLUG, WITH_CREDENTIALS, cost=FAST_COST)
        return ({code: card.credential for code, card in cards.items()},
                {code: card.hotline_code for code, card in cards.items()})
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    directory = tmp_path_factory.mktemp("web-template")
    url = sqlite_url_for_dir(directory)
    return Prepared(url, *_prepare(url))


@pytest.fixture(scope="session")
def postgres_prepared(postgres_server: Any) -> Prepared:
    url = postgres_server.create_database()
    return Prepared(url, *_prepare(url))


def _database(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Iterator[Prepared]:
    if kind == "sqlite":
        prepared: Prepared = request.getfixturevalue("sqlite_prepared")
        source = Path(str(make_url(prepared.url).database))
        target = tmp_path / "data"
        target.mkdir()
        for part in source.parent.glob(source.name + "*"):  # the file and any -wal / -shm beside it
            shutil.copy(part, target / part.name)
        yield Prepared(sqlite_url_for_dir(target), prepared.secrets, prepared.hotline_codes)
        return
    prepared = request.getfixturevalue("postgres_prepared")
    server: Any = request.getfixturevalue("postgres_server")
    url = server.create_database(template=make_url(prepared.url).database)
    try:
        yield Prepared(url, prepared.secrets, prepared.hotline_codes)
    finally:
        server.drop_database(url)


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Prepared]:
    """A fresh copy of the prepared election, on SQLite and on PostgreSQL."""
    yield from _database(request, request.param, tmp_path)


@pytest.fixture
def sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Prepared]:
    """A fresh copy of the prepared election on SQLite only."""
    yield from _database(request, "sqlite", tmp_path)


class Web:
    """A running app (lifespan started) with its test client, clock and the credentials issued."""

    def __init__(self, app: FastAPI, client: TestClient, clock: Clock, prepared: Prepared) -> None:
        self.app = app
        self.client = client
        self.clock = clock
        self.url = prepared.url
        self.secrets = prepared.secrets
        self.hotline_codes = prepared.hotline_codes
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """A separate engine on the same database, for looking at what the app stored."""
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def sign_in(self, precinct: str) -> Chair:
        response = self.client.post("/api/v1/session", json={"precinct": precinct,
                                                             "credential": self.secrets[precinct]})
        assert response.status_code == 201, response.text
        return Chair(self.client, precinct, response.json()["token"])

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def running(prepared: Prepared, **settings: Any) -> Iterator[Web]:
    clock = Clock()
    app = create_app(Settings(database_url=prepared.url, election=SLUG, **settings), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        web = Web(app, client, clock, prepared)
        try:
            yield web
        finally:
            web.close()


@pytest.fixture
def web(database: Prepared) -> Iterator[Web]:
    """The app on SQLite and on PostgreSQL."""
    yield from running(database)


@pytest.fixture
def web_sqlite(sqlite_database: Prepared) -> Iterator[Web]:
    """The app on SQLite."""
    yield from running(sqlite_database)
