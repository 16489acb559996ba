"""caucus/deploy/nginx/caucus.conf as shipped, under a real nginx with a throwaway certificate (made by the openssl
command): plain http only redirects to https, every answer over https carries HSTS and the security headers
(feed files, pages, the stream, nginx's own refusals), no version is shown, public pages come from nginx's
cache, streams and sign-ins are limited per address with a JSON 429. And the plain-http variant the rehearsal
runs differs from the shipped file only in its ``deploy:`` lines."""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from caucus.rehearse.nginx import CONF, NGINX, NginxProcess, render
from caucus.rehearse.server import ServerProcess
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, report
from tests.web.support import assert_error

SECURITY = ("strict-transport-security", "content-security-policy", "x-content-type-options", "x-frame-options",
            "referrer-policy")


@pytest.fixture
def served(sqlite_night: Night) -> Iterator[tuple[Night, NginxProcess]]:
    if not Path(NGINX).exists():
        pytest.fail(f"nginx is not installed at {NGINX}: apt-get install nginx")
    night = sqlite_night
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    # the app's own sign-in throttles out of the way: nginx's limit is the one under test
    server = ServerProcess(night.url, SLUG, env={"CAUCUS_SNAPSHOT_DIR": str(night.snapshots.parent),
                                                 "CAUCUS_SIGNIN_CLIENT_FREE_FAILURES": "1000000",
                                                 "CAUCUS_SIGNIN_PAIR_FREE_FAILURES": "1000",
                                                 "CAUCUS_STAFF_CLIENT_FREE_FAILURES": "1000000",
                                                 "CAUCUS_STAFF_PAIR_FREE_FAILURES": "1000"})
    server.start()
    proxy = NginxProcess(night.snapshots, server.base_url.removeprefix("http://"), tls=True)
    try:
        proxy.start()
        yield night, proxy
    finally:
        proxy.stop()
        server.stop()


def _assert_secured(answer: httpx.Response, what: str) -> None:
    headers = answer.headers
    for name in SECURITY:
        assert len(headers.get_list(name)) == 1, (what, name, headers.get_list(name))
    assert headers["strict-transport-security"] == "max-age=63072000", what
    assert headers["x-content-type-options"] == "nosniff", what
    assert headers["x-frame-options"] == "DENY", what
    assert headers["referrer-policy"] == "same-origin", what
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, what
    assert headers.get("server") == "nginx", (what, headers.get("server"))  # no version


def test_https_only_with_hsts_and_the_headers_on_every_answer(served: tuple[Night, NginxProcess]) -> None:
    _night, proxy = served
    # plain http: a redirect to the same URL over https, nothing else
    for path in ("/", "/hq/sign-in", "/feed/v1/statewide.json", "/chair/?precinct=Poweshiek/7"):
        moved = httpx.get(proxy.http_url + path)
        assert moved.status_code == 301, path
        assert moved.headers["location"] == f"https://127.0.0.1:{proxy.port}{path}", path
        assert moved.headers.get("server") == "nginx"
    with httpx.Client(base_url=proxy.base_url, verify=proxy.verify(), timeout=10) as https:
        answers = {
            "feed file": https.get("/feed/v1/statewide.json"),
            "latest": https.get("/feed/v1/latest.json"),
            "release file": https.get("/feed/v1/releases/1/manifest.json"),
            "missing feed file": https.get("/feed/v1/county/nowhere.json"),
            "delta": https.get("/feed/v1/delta/0.json"),
            "page": https.get("/"),
            "missing page": https.get("/county/nowhere"),
            "stream": https.get("/events?release=0"),
            "api": https.get("/api/v1/health"),
            "api docs": https.get("/api/v1/docs"),
            "sign-in form": https.get("/hq/sign-in"),
            "chair app": https.get("/chair/"),
        }
        for what, answer in answers.items():
            _assert_secured(answer, what)
        assert answers["feed file"].status_code == 200 and answers["feed file"].json()["release"] == 1
        assert answers["missing feed file"].status_code == 404
        assert answers["stream"].headers["content-type"].startswith("text/event-stream")
        # the chair app's own policy (its service worker), not a second one from nginx
        assert "worker-src 'self'" in answers["chair app"].headers["content-security-policy"]


def test_public_pages_are_served_from_the_cache(served: tuple[Night, NginxProcess]) -> None:
    _night, proxy = served
    with httpx.Client(base_url=proxy.base_url, verify=proxy.verify(), timeout=10) as https:
        started = time.monotonic()
        statuses = [https.get("/county/poweshiek", params={"bust": str(n)}).headers["x-cache-status"]
                    for n in range(20)]
        seconds = time.monotonic() - started
        # the page reaches the app at most once a second (whatever the query string): the first time, then
        # once for each second the copy has expired (served stale meanwhile)
        assert statuses[0] == "MISS" and "HIT" in statuses[1:], statuses
        assert statuses.count("MISS") + statuses.count("EXPIRED") + statuses.count("UPDATING") <= 2 + seconds, \
            (statuses, seconds)
        page = https.get("/county/poweshiek")
        assert "Poweshiek" in page.text and "set-cookie" not in page.headers
        assert page.headers["x-cache-status"] in ("HIT", "UPDATING", "EXPIRED")
        _assert_secured(page, "cached page")  # the app's headers kept with the copy, none added twice


def test_streams_and_sign_ins_are_limited_per_address(served: tuple[Night, NginxProcess]) -> None:
    _night, proxy = served
    with ExitStack() as stack, httpx.Client(base_url=proxy.base_url, verify=proxy.verify(), timeout=10) as https:
        opened = []
        for _ in range(11):
            answer = stack.enter_context(https.stream("GET", "/events", headers={"Accept": "text/event-stream"}))
            if answer.status_code == 200:
                chunks = answer.iter_text()
                next(chunks)
                stack.callback(chunks.close)
            else:
                answer.read()
            opened.append(answer)
        assert [a.status_code for a in opened[:10]] == [200] * 10
        refused = opened[10]
        assert_error(refused, 429, "too-many-requests")
        _assert_secured(refused, "refused stream")
        assert refused.headers["retry-after"] == "10"
    # sign-in: 61 at once per address (one and a burst of 60), then one a second
    with httpx.Client(base_url=proxy.base_url, verify=proxy.verify(), timeout=10) as https:
        codes = []
        started = time.monotonic()
        while len(codes) < 200 and (not codes or codes[-1] != 429):
            codes.append(https.post("/api/v1/session", json={"precinct": "Poweshiek/7",
                                                             "credential": "AAAA-AAAA-AAAA-AAAA-AAAA"}).status_code)
        seconds = time.monotonic() - started
        assert codes[-1] == 429 and set(codes[:-1]) == {401}, codes
        assert 61 <= len(codes) - 1 <= 61 + seconds + 1, (len(codes), seconds)
        assert_error(https.post("/api/v1/session", json={}), 429, "too-many-requests")
        # HQ's sign-in shares the address's allowance
        refused = https.post("/hq/sign-in", data={"username": "nobody", "password": "x" * 12})
        assert_error(refused, 429, "too-many-requests")
        _assert_secured(refused, "refused sign-in")


def test_the_rehearsal_runs_the_shipped_file_but_for_its_deploy_lines(tmp_path: Path) -> None:
    shipped = CONF.read_text().splitlines()
    plain = render(CONF.read_text(), port=1, root=tmp_path, app="127.0.0.1:2", http_port=3, cache=tmp_path / "c",
                   unlimited=("127.0.0.1",)).splitlines()
    changed = [line for line in difflib.unified_diff(shipped, plain, lineterm="", n=0)
               if line.startswith("-") and not line.startswith("---")]
    allowed = re.compile(r"-\s*(listen |server 127\.0\.0\.1:8000;|root /var/lib/caucus/snapshots/|"
                         r"proxy_cache_path |ssl_certificate |ssl_certificate_key |# deploy: exempt|"
                         r"return 301 https://\$host\$request_uri;)")
    assert changed and all(allowed.match(line) for line in changed), changed
    assert "127.0.0.1 1;" in "\n".join(plain)
