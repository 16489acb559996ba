"""The public site and media feed through the real app, on SQLite and PostgreSQL: nothing before a release,
everything from snapshot files after, ETag / Last-Modified / 304, the delta since release N, live events."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, manifest_entries, report, scripts
from tests.web.support import assert_error

PUBLIC = ("/", "/county/poweshiek", "/precinct/poweshiek-7", "/feed/v1/statewide.json", "/feed/v1/statewide.csv",
          "/feed/v1/counties.json", "/feed/v1/county/poweshiek.json", "/feed/v1/precincts.csv",
          "/feed/v1/precinct/poweshiek-7.json", "/feed/v1/nist.json", "/feed/v1/latest.json")


@pytest.fixture
def site(night: Night) -> Iterator[TestClient]:
    settings = Settings(database_url=night.url, election=SLUG, snapshot_dir=night.snapshots.parent)
    with TestClient(create_app(settings, clock=night.clock), raise_server_exceptions=False) as client:
        yield client


def _grinnell_numbers(client: TestClient) -> bool:
    """Whether any public place shows Grinnell's reported Warren first alignment (115)."""
    return "115" in client.get("/precinct/poweshiek-7").text


def test_nothing_is_public_before_a_release(night: Night, site: TestClient) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    assert night.releases.preview().accepted == 1  # accepted, but not released
    for path in PUBLIC:
        response = site.get(path)
        if path.startswith("/feed/"):
            assert_error(response, 404, "not-released")
        else:
            assert response.status_code in (200, 404), path
            assert "Warren" not in response.text and "115" not in response.text, path
    assert "No results have been released yet" in site.get("/").text
    assert "have not been released yet" in site.get("/precinct/poweshiek-7").text

    night.releases.release(actor="director:dee")
    for path in PUBLIC:
        assert site.get(path).status_code == 200, path
    assert _grinnell_numbers(site)
    statewide = site.get("/feed/v1/statewide.json").json()
    assert (statewide["release"], statewide["precinctsReporting"], statewide["precinctsTotal"]) == (1, 1, 1768)
    assert statewide["test"] is True and statewide["status"] == "unofficial"
    # a report accepted after the release stays private until the next release
    later = scripts(["Adams"])[0]
    report(night.reports, later, night.clock)
    assert site.get("/feed/v1/statewide.json").json()["precinctsReporting"] == 1
    assert site.get("/feed/v1/precinct/adams-ad1.json").status_code == 404


def test_etag_last_modified_and_304(night: Night, site: TestClient) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    first = site.get("/feed/v1/statewide.json")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    manifest = site.get("/feed/v1/manifest.json").json()
    entries = manifest_entries(lambda path: site.get(f"/feed/v1/releases/1/{path}").content)
    assert manifest == json.loads(site.get("/feed/v1/releases/1/manifest.json").content)
    digest = next(f["sha256"] for f in entries if f["path"] == "feed/statewide.json")
    assert etag == f'"{digest}"'
    assert modified == "Tue, 04 Feb 2020 01:00:28 GMT"  # the release time: four stages at 7 s each
    assert first.headers["x-caucus-release"] == "1" and first.headers["access-control-allow-origin"] == "*"
    unchanged = site.get("/feed/v1/statewide.json", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    assert site.get("/feed/v1/statewide.json", headers={"If-Modified-Since": modified}).status_code == 304
    assert site.get("/feed/v1/statewide.json", headers={"If-None-Match": '"other"'}).status_code == 200
    immutable = site.get("/feed/v1/releases/1/feed/statewide.json")
    assert immutable.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert immutable.content == first.content

    night.clock.advance(minutes=10)
    report(night.reports, scripts(["Adams"])[0], night.clock)
    night.releases.release(actor="director:dee")
    moved = site.get("/feed/v1/statewide.json", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag and moved.json()["release"] == 2
    assert site.get("/feed/v1/statewide.json", headers={"If-Modified-Since": modified}).status_code == 200
    # release 1 is still served as it was
    assert site.get("/feed/v1/releases/1/feed/statewide.json").content == first.content
    head = site.head("/feed/v1/statewide.csv")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_delta_since_release_n(night: Night, site: TestClient) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    adams = scripts(["Adams"])
    for script in adams[:2]:
        report(night.reports, script, night.clock)
    night.releases.release(actor="director:dee")
    report(night.reports, adams[2], night.clock)
    night.releases.release(actor="director:dee")
    since1 = site.get("/feed/v1/delta/1.json").json()
    assert (since1["since"], since1["release"]) == (1, 3)
    assert [c["code"] for c in since1["changes"]] == sorted(s.precinct for s in adams[:3])
    assert all(c["kind"] == "new" and c["before"] is None for c in since1["changes"])
    assert [c["code"] for c in site.get("/feed/v1/delta/2.json").json()["changes"]] == [adams[2].precinct]
    assert site.get("/feed/v1/delta/3.json").json()["changes"] == []
    assert_error(site.get("/feed/v1/delta/9.json"), 404, "not-released")  # a release number, not made yet
    assert [c["code"] for c in site.get("/feed/v1/delta/0.json").json()["changes"]] == sorted(
        [GRINNELL, *(s.precinct for s in adams[:3])])


@pytest.mark.parametrize("given", ["-1", "abc", "1.5", "+1", "%201", "1e3", "9" * 19])
def test_delta_of_what_is_not_a_release_number_is_422_naming_n(night: Night, site: TestClient, given: str) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    for response in (site.get(f"/feed/v1/delta/{given}.json"), site.head(f"/feed/v1/delta/{given}.json")):
        assert response.status_code == 422
    error = assert_error(site.get(f"/feed/v1/delta/{given}.json"), 422, "invalid-request")
    assert [(f["field"], f["code"]) for f in error["fields"]] == [("n", "not-a-release-number")]
    assert "whole number 0 or more" in error["fields"][0]["message"]
    assert "/feed/v1/delta/<n>.json" in error["message"]


def test_pages_show_release_status_and_manifest_hash(night: Night, site: TestClient) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    made = night.releases.release(actor="director:dee")
    page = site.get("/").text
    assert made.content_hash in page and "TEST" in page and "1</strong> of 1768 precincts reporting" in page
    assert 'http-equiv="refresh"' in page  # the no-JavaScript fallback
    assert page.count("<path ") == 99  # every Iowa county on the map
    precinct = site.get("/precinct/poweshiek-7").text
    # attendance: the channel, and the time in the plan's zone (01:00:07 UTC is 7:00:07 pm CST the day before)
    assert "<td>chair&#39;s app</td>" in precinct and "Mon 3 Feb 2020, 7:00:07 pm CST" in precinct
    county = site.get("/county/poweshiek").text
    assert "1</strong> of 10 precincts reporting" in county
    missing = site.get("/county/nowhere")
    assert missing.status_code == 404 and "There is no county here" in missing.text
    assert site.get("/precinct/nowhere").status_code == 404


def test_event_stream_names_the_latest_release(night: Night, site: TestClient) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    events = site.get("/events?release=0")
    assert events.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in events.text.split("\n\n") if "event: release" in b]
    assert len(blocks) == 1 and json.loads(blocks[0].split("data: ")[1]) == {"release": 1}
    # a client already showing release 1 hears nothing until the next one
    assert "event: release" not in site.get("/events?release=1").text


def test_public_reads_never_touch_the_database(night: Night, site: TestClient) -> None:
    """Every public page and feed URL is served from the snapshot files: no SQL at all (the continuous-release
    thread's own polling excluded)."""
    import threading  # noqa: PLC0415

    from sqlalchemy import Engine, event  # noqa: PLC0415

    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    statements: list[str] = []

    def spy(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if threading.current_thread().name != "continuous-release":
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", spy)
    try:
        for path in (*PUBLIC, "/feed", "/feed/v1/delta/0.json", "/feed/v1/changes.json",
                     "/feed/v1/releases/1/manifest.json", "/events", "/county/nowhere", "/precinct/adair-01nw"):
            assert site.get(path).status_code in (200, 404), path
    finally:
        event.remove(Engine, "before_cursor_execute", spy)
    assert statements == []


def test_a_mistyped_county_or_precinct_is_unknown_not_unreleased(night: Night, site: TestClient) -> None:
    """A media client must tell a typo from a precinct that has not reported: both are 404, with different codes."""
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    assert site.get("/feed/v1/county/poweshiek.json").status_code == 200
    typo = assert_error(site.get("/feed/v1/county/nope.json"), 404, "unknown-file")
    assert typo["message"] == ("this election's plan has no county 'nope'; the county slugs are in "
                               "/feed/v1/counties.json")
    assert_error(site.get("/feed/v1/precinct/nope.json"), 404, "unknown-file")
    assert_error(site.get("/feed/v1/releases/1/feed/county/nope.csv"), 404, "unknown-file")
    # a precinct of the plan that has not reported yet is not released, as before
    assert_error(site.get("/feed/v1/precinct/adams-ad1.json"), 404, "not-released")
    assert_error(site.get("/feed/v1/releases/1/feed/precinct/adams-ad1.json"), 404, "not-released")
