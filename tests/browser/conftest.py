"""Browser fixtures: Playwright for Python driving Debian's Chromium (never a downloaded browser), headless,
against a real ``uvicorn`` server on 127.0.0.1 serving a real SQLite ledger.

- ``chromium``: one browser per test module (``/usr/bin/chromium``, or ``$CAUCUS_CHROMIUM``).
- ``live_server``: a factory; ``live_server(codes)`` prepares a fresh SQLite election from the bundled
  iowa-2020 plan with credentials for ``codes`` and starts the server; stopped at the end of the test. The
  migrated election (no cards) is made once per session; each server gets its own copy of the file and its
  own cards.
- ``phone``: a new page in a phone-sized context (390x844, touch, mobile); ``desktop`` a 1280x900 one.
- ``shot(page, name)``: saves a full-page screenshot to ``build/screenshots/<name>.png``
  (``$CAUCUS_SCREENSHOTS`` overrides the directory) and returns its path.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from caucus.ledger import issue_cards, make_engine, sqlite_url_for_dir
from caucus.rehearse.browser import CHROMIUM, CHROMIUM_ARGS
from caucus.rehearse.server import REHEARSAL_COST, ServerProcess, prepare_cards

SLUG = "iowa-2020-browser"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CAUCUS_SCREENSHOTS", ROOT / "build" / "screenshots"))
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}


# Module scope: Playwright's sync API runs an event loop in this thread while it is started, and tests
# elsewhere call asyncio.run(); it must not outlive the browser tests' modules.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is not installed at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def chromium(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class LiveServer:
    """A running server: ``base_url``, the database ``url``, the app credentials and hotline codes by
    precinct code."""

    server: ServerProcess
    url: str
    secrets: dict[str, str]
    data_dir: Path
    hotline_codes: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="session")
def browser_election(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of a migrated SQLite ledger holding election ``SLUG`` of the bundled iowa-2020 plan in
    test mode, without cards (what :func:`caucus.rehearse.server.prepare_cards` makes before issuing them)."""
    directory = tmp_path_factory.mktemp("browser-template")
    prepare_cards(sqlite_url_for_dir(directory), SLUG, [])  # migrate, create the election, no cards
    return directory


@pytest.fixture
def live_server(tmp_path: Path, browser_election: Path) -> Iterator[Callable[..., LiveServer]]:
    started: list[ServerProcess] = []

    def start(codes: Iterable[str], *, env: dict[str, str] | None = None) -> LiveServer:
        data_dir = tmp_path / f"data{len(started)}"
        data_dir.mkdir()
        for part in browser_election.iterdir():  # the database file (and any -wal / -shm beside it)
            shutil.copy(part, data_dir / part.name)
        url = sqlite_url_for_dir(data_dir)
        engine = make_engine(url)
        try:
            cards = issue_cards(engine, SLUG, list(codes), cost=REHEARSAL_COST)
        finally:
            engine.dispose()
        server = ServerProcess(url, SLUG, env=env)
        started.append(server)
        server.start()
        return LiveServer(server, url, {code: card.credential for code, card in cards.items()}, data_dir,
                          hotline_codes={code: card.hotline_code for code, card in cards.items()})

    yield start
    for server in started:
        server.stop()


def _context(browser: Browser, **options: object) -> BrowserContext:
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = _context(chromium, **PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(chromium: Browser) -> Iterator[Page]:
    context = _context(chromium, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
