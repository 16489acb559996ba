"""Publish fixtures: a real election (the bundled iowa-2020 plan) on SQLite and PostgreSQL, the real
ReportService behind the real Writer, and a ReleaseService writing into a temporary snapshot directory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from caucus.ledger import PrecinctSpec, Writer, create_election, make_engine, sqlite_url_for_dir, upgrade
from caucus.plans import load_plan
from caucus.service import ElectionContext, ReportService, load_context
from caucus.service.media import PhotoService
from caucus.service.releases import ReleaseService
from tests.publish.support import SLUG, START, Clock

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _prepare(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        plan = load_plan("iowa-2020")
        specs = [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in plan.precincts]
        create_election(engine, SLUG, "iowa-2020", "test", specs, now=START)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def publish_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = sqlite_url_for_dir(tmp_path_factory.mktemp("publish-template"))
    _prepare(url)
    return url


@pytest.fixture(scope="session")
def publish_postgres_template(postgres_server: Any) -> str:
    url = str(postgres_server.create_database())
    _prepare(url)
    return url


@dataclass
class Night:
    """One election night: engine, writer, reports, releases, a hand-moved clock and the snapshot dir."""

    url: str
    engine: Engine
    writer: Writer
    context: ElectionContext
    reports: ReportService
    releases: ReleaseService
    clock: Clock
    snapshots: Path
    photos: PhotoService

    def store_latest(self) -> int | None:
        """The release the snapshot directory's ``latest`` pointer names."""
        return self.releases.store.latest()

    def read(self, number: int, path: str) -> bytes:
        """A file of release ``number``, from the release directory its manifest entry names."""
        return self.releases.store.read(number, path)

    def second_worker(self) -> ReleaseService:
        """Another worker's ReleaseService: its own engine on the same database and snapshot dir."""
        engine = make_engine(self.url)
        context = load_context(engine, SLUG)
        return ReleaseService(engine, context, self.snapshots, clock=self.clock,
                              photos=PhotoService(engine, context, clock=self.clock))


def _copy(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        template: str = request.getfixturevalue("publish_sqlite_template")
        source = Path(str(make_url(template).database))
        target = tmp_path / "data"
        target.mkdir()
        for part in source.parent.glob(source.name + "*"):
            shutil.copy(part, target / part.name)
        yield sqlite_url_for_dir(target)
        return
    template = request.getfixturevalue("publish_postgres_template")
    server: Any = request.getfixturevalue("postgres_server")
    url = server.create_database(template=make_url(template).database)
    try:
        yield str(url)
    finally:
        server.drop_database(url)


def _night(url: str, tmp_path: Path) -> Iterator[Night]:
    clock = Clock()
    engine = make_engine(url)
    writer = Writer(engine, clock=clock)
    context = load_context(engine, SLUG)
    snapshots = tmp_path / "snapshots" / SLUG
    photos = PhotoService(engine, context, clock=clock)
    night = Night(url, engine, writer, context, ReportService(engine, writer, context, clock=clock),
                  ReleaseService(engine, context, snapshots, clock=clock, photos=photos), clock, snapshots, photos)
    try:
        yield night
    finally:
        writer.close()
        engine.dispose()


@pytest.fixture(params=ENGINES)
def night(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Night]:
    """A fresh election night on SQLite and on PostgreSQL."""
    for url in _copy(request, request.param, tmp_path):
        yield from _night(url, tmp_path)


@pytest.fixture
def sqlite_night(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Night]:
    for url in _copy(request, "sqlite", tmp_path):
        yield from _night(url, tmp_path)
