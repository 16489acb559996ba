"""Bounded live-update streams (``/events``) and the app's security headers.

- ``Last-Event-ID`` is believed only as ASCII digits: ``²``, 5,000 digits and the like are ignored, never a 500;
  a bad ``?release=`` is a 422 in the one error shape.
- A real uvicorn holds at most CAUCUS_EVENTS_PER_CLIENT streams per client address and CAUCUS_EVENTS_MAX in
  all; one more is a 429 naming the limit, and a closed stream frees its place.
- Every kind of answer carries the security headers; HSTS only over HTTPS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from fastapi.testclient import TestClient

from caucus.rehearse.server import ServerProcess
from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, report
from tests.web.support import assert_error

STREAM = {"Accept": "text/event-stream"}


@pytest.fixture
def released(sqlite_night: Night) -> Night:
    report(sqlite_night.reports, all_scripts()[GRINNELL], sqlite_night.clock)
    sqlite_night.releases.release(actor="director:dee")
    return sqlite_night


@pytest.fixture
def site(released: Night) -> Iterator[TestClient]:
    settings = Settings(database_url=released.url, election=SLUG, snapshot_dir=released.snapshots.parent)
    with TestClient(create_app(settings, clock=released.clock), raise_server_exceptions=False) as client:
        yield client


def _announced(text: str) -> list[int]:
    return [json.loads(block.split("data: ", 1)[1])["release"]
            for block in text.split("\n\n") if "event: release" in block]


# as bytes on the wire: b"\xb2" is "²" to a server decoding headers as latin-1 (a digit to str.isdigit())
@pytest.mark.parametrize("header", [b"\xb2", "²".encode(), b"1" * 5000, b"-1", b"1e3", "\uff11".encode(),
                                    b"1.0", b"0x1", b"\xb9\xb2", b""])
def test_a_last_event_id_that_is_not_ascii_digits_is_ignored(site: TestClient, header: bytes) -> None:
    answer = site.get("/events", headers={"Last-Event-ID": header})
    assert answer.status_code == 200, answer.text
    assert _announced(answer.text) == [1]  # as if the browser had seen nothing


def test_a_last_event_id_of_ascii_digits_is_believed(site: TestClient) -> None:
    assert _announced(site.get("/events", headers={"Last-Event-ID": "1"}).text) == []
    assert _announced(site.get("/events", headers={"Last-Event-ID": "0"}).text) == [1]


@pytest.mark.parametrize("value", ["²", "9" * 5000, "1e3"])
def test_a_bad_release_query_is_a_422_naming_it(site: TestClient, value: str) -> None:
    error = assert_error(site.get("/events", params={"release": value}), 422)
    assert [f["field"] for f in error["fields"]] == ["release"]


def test_every_answer_carries_the_security_headers(site: TestClient) -> None:
    answers = {
        "page": site.get("/"),
        "missing page": site.get("/county/nowhere"),
        "feed": site.get("/feed/v1/statewide.json"),
        "event stream": site.get("/events"),
        "api error": site.post("/api/v1/reports", json={}),
        "body too large": site.post("/api/v1/session", content=b"x" * 70_000,
                                    headers={"Content-Type": "application/json"}),
        "api docs": site.get("/api/v1/docs"),
        "hq": site.get("/hq/sign-in"),
        "chair": site.get("/chair/"),
    }
    for what, answer in answers.items():
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", what
        assert headers["referrer-policy"] == "same-origin", what
        assert headers["x-frame-options"] == "DENY", what
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, what
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, what
        assert "strict-transport-security" not in headers, what  # plain http: browsers ignore it
    assert answers["body too large"].status_code == 413
    # the chair app keeps its own, wider policy (its service worker)
    assert "worker-src 'self'" in answers["chair"].headers["content-security-policy"]


def test_hsts_only_over_https(released: Night) -> None:
    settings = Settings(database_url=released.url, election=SLUG, snapshot_dir=released.snapshots.parent)
    with TestClient(create_app(settings), base_url="https://caucus.test") as client:
        assert client.get("/").headers["strict-transport-security"] == "max-age=63072000"


def test_the_api_docs_load_nothing_from_another_origin(site: TestClient) -> None:
    page = site.get("/api/v1/docs").text
    assert "<script>" not in page and "style=" not in page and "//" not in page.replace("<!doctype", "")
    for name, media in (("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                        ("docs.js", "text/javascript")):
        served = site.get(f"/api/v1/docs/static/{name}")
        assert served.status_code == 200 and served.headers["content-type"].startswith(media), name
        assert f"/api/v1/docs/static/{name}" in page
    assert site.get("/api/v1/docs/static/..%2fsettings.py").status_code == 404
    assert "/api/v1/openapi.json" in site.get("/api/v1/docs/static/docs.js").text


def _open(stack: ExitStack, http: httpx.Client, client: str) -> httpx.Response:
    answer = stack.enter_context(http.stream("GET", "/events", headers={**STREAM, "X-Forwarded-For": client}))
    if answer.status_code == 200:
        chunks = answer.iter_text()
        assert next(chunks).startswith("retry: 1000")  # the stream is open
        stack.callback(chunks.close)  # (a reader dropped early would close the connection)
    else:
        answer.read()
    return answer


def test_streams_are_capped_per_address_and_in_all(released: Night) -> None:
    server = ServerProcess(released.url, SLUG, env={"CAUCUS_SNAPSHOT_DIR": str(released.snapshots.parent),
                                                    "CAUCUS_EVENTS_PER_CLIENT": "3", "CAUCUS_EVENTS_MAX": "5"})
    server.start()
    try:
        with ExitStack() as stack, httpx.Client(base_url=server.base_url, timeout=10) as http:
            first = [_open(stack, http, "10.0.0.1") for _ in range(3)]
            assert [a.status_code for a in first] == [200, 200, 200]
            refused = _open(stack, http, "10.0.0.1")
            error = assert_error(refused, 429, "too-many-streams")
            assert "3 per address" in error["message"] and "CAUCUS_EVENTS_PER_CLIENT" in error["message"]
            assert refused.headers["retry-after"] == "30"
            # another address still gets its own, up to the server's limit of 5 in all
            assert [_open(stack, http, "10.0.0.2").status_code for _ in range(2)] == [200, 200]
            error = assert_error(_open(stack, http, "10.0.0.3"), 429, "too-many-streams")
            assert "CAUCUS_EVENTS_MAX" in error["message"]
            # the service still answers everything else
            assert http.get("/api/v1/health").status_code == 200
            # a closed stream frees its place (the server notices the client leaving)
            first[0].close()
            deadline = time.monotonic() + 10
            while True:
                again = _open(stack, http, "10.0.0.1")
                if again.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert again.status_code == 200
    finally:
        server.stop()
