"""src/caucus/deploy/nginx/caucus.conf under a real nginx (foreground, temporary prefix, 127.0.0.1, a free port):
the feed straight from the snapshot directory with ETag/Last-Modified/304, the latest pointer followed
across releases, the rest proxied to a real uvicorn app, and verify-release over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from caucus.cli import app as cli
from caucus.rehearse.nginx import NGINX, NginxProcess
from caucus.rehearse.server import ServerProcess
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, report, scripts
from tests.service.images import gps_jpeg


@pytest.fixture
def served(sqlite_night: Night) -> Iterator[tuple[Night, ServerProcess, NginxProcess]]:
    if not Path(NGINX).exists():
        pytest.fail(f"nginx is not installed at {NGINX}: apt-get install nginx")
    night = sqlite_night
    server = ServerProcess(night.url, SLUG, env={"CAUCUS_SNAPSHOT_DIR": str(night.snapshots.parent)})
    server.start()
    proxy = NginxProcess(night.snapshots, server.base_url.removeprefix("http://"))
    try:
        proxy.start()
        yield night, server, proxy
    finally:
        proxy.stop()
        server.stop()


def test_nginx_serves_the_feed_from_the_snapshot_files(served: tuple[Night, ServerProcess, NginxProcess]) -> None:
    night, server, proxy = served
    base = proxy.base_url
    assert httpx.get(f"{base}/feed/v1/statewide.json").status_code == 404  # nothing released yet
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")

    first = httpx.get(f"{base}/feed/v1/statewide.json")
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    on_disk = (night.snapshots / "releases" / "1" / "feed" / "statewide.json").read_bytes()
    assert first.content == on_disk
    assert first.json()["release"] == 1 and first.headers["access-control-allow-origin"] == "*"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(f"{base}/feed/v1/statewide.json", headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(f"{base}/feed/v1/statewide.json", headers={"If-Modified-Since": modified}).status_code == 304
    assert httpx.get(f"{base}/feed/v1/latest.json").json()["release"] == 1
    csv = httpx.get(f"{base}/feed/v1/county/poweshiek.csv")
    assert csv.headers["content-type"].startswith("text/csv") and b"Poweshiek/7" in csv.content
    immutable = httpx.get(f"{base}/feed/v1/releases/1/manifest.json")
    assert immutable.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert httpx.get(f"{base}/feed/v1/releases/1/.staging").status_code == 404

    # the app behind it: pages and the delta, from the same files
    assert "Statewide results" in httpx.get(f"{base}/").text
    # the icon every browser asks for, from the page cache (it was a 404 in every browser's console)
    icon = [httpx.get(f"{base}/favicon.ico") for _ in range(2)]
    assert icon[0].status_code == 200 and icon[0].headers["content-type"] == "image/svg+xml"
    assert icon[0].content.startswith(b"<svg") and icon[1].headers["x-cache-status"] == "HIT"
    report(night.reports, scripts(["Adams"])[0], night.clock)
    night.releases.release(actor="director:dee")
    moved = httpx.get(f"{base}/feed/v1/statewide.json", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.json()["release"] == 2
    assert [c["code"] for c in httpx.get(f"{base}/feed/v1/delta/1.json").json()["changes"]] == ["Adams/AD1"]
    # the same file from the app and from nginx
    assert httpx.get(f"{server.base_url}/feed/v1/statewide.json").content == moved.content

    # live updates pass through nginx (unbuffered): a one-shot client hears the latest release
    events = httpx.get(f"{base}/events?release=1")
    assert events.headers["content-type"].startswith("text/event-stream")
    assert 'event: release\ndata: {"release": 2}' in events.text

    verified = CliRunner().invoke(cli, ["verify-release", base])
    assert verified.exit_code == 0, verified.stdout
    assert "release 2: " in verified.stdout and "2 precincts recomputed" in verified.stdout


def test_nginx_serves_a_released_photo_as_its_image_type_never_sniffed(
    served: tuple[Night, ServerProcess, NginxProcess],
) -> None:
    night, _server, proxy = served
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.photos.store(GRINNELL, data=gps_jpeg(), content_type="image/jpeg", channel="app",
                       actor=f"chair:{GRINNELL}", idempotency_key="ws-1")
    night.releases.release(actor="director:dee")
    record = httpx.get(f"{proxy.base_url}/feed/v1/releases/1/feed/precinct/poweshiek-7.json").json()
    (entry,) = record["photos"]
    photo = httpx.get(f"{proxy.base_url}/feed/v1/releases/1/{entry['path']}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert photo.content.startswith(b"\xff\xd8") and b"Exif" not in photo.content


def test_nginx_serves_a_file_an_older_release_carries_through_the_app(
    served: tuple[Night, ServerProcess, NginxProcess],
) -> None:
    """A release directory holds only the files that release changed: nginx serves those itself and asks the
    app for the others, which it finds through the manifest in the directory of the release that wrote them."""
    night, _server, proxy = served
    base = proxy.base_url
    for county in ("Poweshiek", "Adams", "Adair"):
        for script in scripts([county]):
            report(night.reports, script, night.clock)
        night.releases.release(actor="director:dee")
    carried = "feed/county/poweshiek.json"
    assert not (night.snapshots / "releases" / "3" / carried).exists()
    original = (night.snapshots / "releases" / "1" / carried).read_bytes()
    for number in (1, 2, 3):  # release 1 from its directory, 2 and 3 through the app
        response = httpx.get(f"{base}/feed/v1/releases/{number}/{carried}")
        assert response.status_code == 200 and response.content == original, number
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers.get("x-caucus-release") == (None if number == 1 else str(number))
    assert httpx.get(f"{base}/feed/v1/county/poweshiek.json").content == original  # the latest tree
    own = httpx.get(f"{base}/feed/v1/releases/3/feed/statewide.json")
    assert own.status_code == 200 and own.json()["release"] == 3
    assert "x-caucus-release" not in own.headers  # from the release's directory, not the app
    assert httpx.get(f"{base}/feed/v1/releases/3/feed/county/nowhere.json").status_code == 404
    assert httpx.get(f"{base}/feed/v1/releases/3/.staging").status_code == 404
    assert httpx.get(f"{base}/feed/v1/releases/3/").status_code == 404
    verified = CliRunner().invoke(cli, ["verify-release", base])
    assert verified.exit_code == 0 and "release 3: " in verified.stdout, verified.stdout
