"""``caucus verify-release URL`` against real servers started here (the caucus app under uvicorn, and a plain
static HTTP server that is not a caucus site): every way the site cannot be read is one line naming the URL
and what went wrong (connection refused, the feed's own HTTP error code, not a caucus feed), exit 2; never a
traceback. A good address verifies (exit 0)."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caucus.cli import app
from caucus.rehearse.server import ServerProcess
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, report

runner = CliRunner()


def _verify(url: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify-release", url])
    return result.exit_code, result.stdout, result.stderr


def _one_line_error(url: str) -> str:
    """verify-release ``url`` fails with exit 2 and exactly one line on stderr (returned), nothing on stdout."""
    code, stdout, stderr = _verify(url)
    lines = stderr.splitlines()
    assert (code, stdout, len(lines)) == (2, "", 1), (code, stdout, stderr)
    assert "Traceback" not in stderr and "developer.mozilla.org" not in stderr
    assert lines[0].startswith(f"error: cannot read the release at {url}: GET ")
    return lines[0]


@pytest.fixture
def caucus_site(sqlite_night: Night) -> Iterator[tuple[Night, str]]:
    server = ServerProcess(sqlite_night.url, SLUG, env={"CAUCUS_SNAPSHOT_DIR": str(sqlite_night.snapshots.parent)})
    server.start()
    try:
        yield sqlite_night, server.base_url
    finally:
        server.stop()


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server of ``tmp_path/site`` (not a caucus site) on a port from the OS."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<html><body>County fair results</body></html>\n")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_caucus_site_before_a_release_a_wrong_path_and_then_a_good_address(caucus_site: tuple[Night, str]
                                                                             ) -> None:
    night, base = caucus_site
    # nothing released yet: the feed's own error code and message
    line = _one_line_error(base)
    assert line.endswith(f"GET {base}/feed/v1/latest.json: HTTP 404 not-released: no results have been released yet")
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    # the address of a page, not the site's root
    wrong = f"{base}/county/poweshiek"
    line = _one_line_error(wrong)
    assert f"GET {wrong}/feed/v1/latest.json: HTTP 404 not-found: no such endpoint" in line
    assert line.endswith(f"(verify-release reads the feed under the site's root, {base}/feed/v1/: give the root, "
                         "not a page's address)")
    code, stdout, stderr = _verify(base + "/")
    assert code == 0 and stderr == "" and stdout.startswith("release 1: ") and stdout.rstrip().endswith(": OK")


def test_a_port_nothing_listens_on_is_connection_refused() -> None:
    with socket.socket() as sock:  # a port from the OS, closed again: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert _one_line_error(url) == (f"error: cannot read the release at {url}: GET {url}/feed/v1/latest.json: "
                                    "connection refused (nothing listens at that address and port)")


def test_a_site_that_is_not_a_caucus_site(static_site: str, tmp_path: Path) -> None:
    # no feed there: a 404 that is not the feed's JSON error
    line = _one_line_error(static_site)
    assert line.endswith(f"GET {static_site}/feed/v1/latest.json: HTTP 404 (not a caucus feed: the answer is not "
                         "the feed's JSON error)")
    # a latest.json that is an HTML page, then JSON without a release number
    feed = tmp_path / "site" / "feed" / "v1"
    feed.mkdir(parents=True)
    (feed / "latest.json").write_text("<html><body>Moved</body></html>\n")
    assert "not a caucus feed (the answer is HTML, not the feed's latest.json)" in _one_line_error(static_site)
    (feed / "latest.json").write_text('[{"release": 3}]\n')
    assert "not a caucus feed (JSON without a release number" in _one_line_error(static_site)


def test_verify_against_a_release_url_that_cannot_be_read_is_one_line(caucus_site: tuple[Night, str]) -> None:
    """``caucus verify --against-release URL`` reads heads with the same one-line errors (it printed httpx's
    multi-line message before)."""
    night, base = caucus_site
    result = runner.invoke(app, ["verify", "--database", night.url, "--against-release", base])
    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (2, 1), result.stderr
    assert lines[0] == (f"error: --against-release {base}: cannot read the release: {base}: GET "
                        f"{base}/feed/v1/latest.json: HTTP 404 not-released: no results have been released yet")
