"""The chair app's shell: the page, its manifest, its service worker and its static files."""

from __future__ import annotations

from html.parser import HTMLParser

from caucus.plans import load_plan
from caucus.web.chair.pages import SHELL_FILES, STATIC, shell_version
from tests.web.conftest import Web
from tests.web.support import assert_error

IOWA = load_plan("iowa-2020").settings


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.label_for: list[str] = []
        self.fields: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag == "label" and a.get("for"):
            self.label_for.append(str(a["for"]))
        if tag in ("input", "textarea", "select"):
            self.fields.append(str(a.get("id")))


def test_the_card_address_opens_the_app_with_the_precinct_code(web_sqlite: Web) -> None:
    response = web_sqlite.client.get("/chair?precinct=Adair%2F01NW", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (308, "/chair/?precinct=Adair%2F01NW")
    page = web_sqlite.client.get("/chair/?precinct=Adair%2F01NW")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<link rel="manifest" href="/chair/manifest.webmanifest">' in page.text
    assert f'data-version="{shell_version(IOWA)}"' in page.text
    # the plan's settings: its example code, doors-close time and time zone, and its party
    assert "For example Adair/01NW" in page.text and "in line by 7:00 pm</label>" in page.text
    assert 'data-time-zone="America/Chicago"' in page.text and "Iowa Democratic Party credential card" in page.text


def test_every_field_of_the_shell_has_a_label(web_sqlite: Web) -> None:
    form = _Form()
    form.feed(web_sqlite.client.get("/chair/").text)
    assert form.lang == "en"
    assert form.fields and set(form.fields) <= set(form.label_for)
    assert set(form.label_for) <= form.ids


def test_manifest_and_service_worker_cover_the_shell(web_sqlite: Web) -> None:
    manifest = web_sqlite.client.get("/chair/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/chair/", "/chair/", "standalone")
    worker = web_sqlite.client.get("/chair/sw.js")
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    assert worker.headers["service-worker-allowed"] == "/chair/"
    assert f'"caucus-chair-{shell_version(IOWA)}"' in worker.text
    assert "__SHELL__" not in worker.text and "__VERSION__" not in worker.text
    for name in SHELL_FILES:
        assert f'"/chair/static/{name}"' in worker.text
        served = web_sqlite.client.get(f"/chair/static/{name}")
        assert served.status_code == 200, name
        assert served.content == (STATIC / name).read_bytes()
        assert served.headers["cache-control"] == "no-cache"
    # every module the app imports is in the shell, so it opens offline
    for name in STATIC.glob("*.js"):
        if name.name != "sw.js":
            assert name.name in SHELL_FILES


def test_static_files_are_only_plain_known_names(web_sqlite: Web) -> None:
    for bad in ("nope.js", "..%2Fpages.py", ".hidden.js", "sw.txt", "%2E%2E%2F__init__.py"):
        assert_error(web_sqlite.client.get(f"/chair/static/{bad}"), 404, "not-found")
