"""The bulk interval (docs/feed.md, "Whole-state files and the bulk interval"), on SQLite and PostgreSQL: the
NIST export and the all-precinct JSON and CSV are built by a release only when the interval has passed since
the release holding them, or the release's standing changes; otherwise the release carries their entries
(bytes, hash and holder unchanged). A full rebuild from the database gives each release's manifest byte for
byte, with any interval setting; continuous release brings carried files up to date when they are due even
with nothing new; interval 0 builds them every release; verification follows a carried file to its holder.
Time is the releases' stored time, driven by the hand-moved clock."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from caucus.cli import app
from caucus.publish.bulk import Holder, Standing, decide
from caucus.publish.documents import BULK_FILES
from caucus.publish.verify import dir_fetcher, verify
from caucus.service.continuous import ContinuousReleaser
from caucus.service.releases import ReleaseService
from caucus.web.app import create_app
from caucus.web.settings import SettingsError, load_settings
from tests.publish.conftest import Night
from tests.publish.support import SLUG, manifest_entries, report, scripts

NIST = "nist/election-report.json"
ROUTINE = Standing("unofficial", True, False, "", None)
T0 = datetime(2020, 2, 4, 2, 0, tzinfo=UTC)


def _service(night: Night, interval: float) -> ReleaseService:
    return ReleaseService(night.engine, night.context, night.snapshots, clock=night.clock, photos=night.photos,
                          bulk_interval=interval)


def _homes(night: Night, number: int) -> dict[str, int]:
    """The release holding each bulk file of release ``number``, as its manifest says."""
    files = manifest_entries(lambda path: night.read(number, path))
    return {f["path"]: f["release"] for f in files if f["path"] in BULK_FILES}


def _rebuilds(night: Night, number: int, interval: float) -> None:
    """A service with a cold cache and bulk interval ``interval`` rebuilds release ``number`` from the
    database to its manifest, byte for byte, building exactly the bulk files the release built."""
    snapshot = _service(night, interval).rebuild(number)
    assert snapshot.manifest == night.read(number, "manifest.json")
    homes = _homes(night, number)
    assert {path: path in snapshot.files for path in BULK_FILES} == {path: homes[path] == number
                                                                      for path in BULK_FILES}


def _precincts(night: Night, number: int) -> tuple[int, int]:
    """(the release that made feed/precincts.json as release ``number`` serves it, precincts it reports)."""
    doc = json.loads(night.read(number, "feed/precincts.json"))
    return doc["release"], sum(1 for p in doc["precincts"] if p["reported"])


def test_the_decision_follows_the_interval_and_the_standing() -> None:
    holder = Holder(3, T0, ROUTINE)

    def at(seconds: float, standing: Standing = ROUTINE, interval: float = 30, number: int = 5) -> tuple[bool, bool,
                                                                                                         str]:
        found = decide(interval=interval, number=number, created_at=T0 + timedelta(seconds=seconds),
                       standing=standing, holder=holder)
        return found.build, found.lagging, found.reason

    assert at(29.999) == (False, True, "within-interval")
    assert at(30) == (True, True, "interval")
    assert at(29, number=4) == (False, False, "within-interval")  # release 4 follows the holder (3) directly
    assert at(1, interval=0) == (True, True, "every-release")
    for changed in (Standing("certified", True, False, "", "resolution 1"),
                    Standing("unofficial", False, False, "", None), Standing("unofficial", True, True, "", None),
                    Standing("unofficial", True, False, "late", None)):
        assert at(1, changed) == (True, True, "standing")
    first = decide(interval=30, number=1, created_at=T0, standing=ROUTINE, holder=None)
    assert (first.build, first.lagging, first.reason) == (True, False, "first")


def test_carried_within_the_interval_and_built_when_it_has_passed(night: Night) -> None:
    releases = _service(night, 600)
    poweshiek = scripts(["Poweshiek"])
    report(night.reports, poweshiek[0], night.clock)
    first = releases.release(actor="director:dee")
    assert _homes(night, 1) == dict.fromkeys(BULK_FILES, 1)
    report(night.reports, poweshiek[1], night.clock)  # 28 s later
    releases.release(actor="director:dee")
    assert _homes(night, 2) == dict.fromkeys(BULK_FILES, 1)
    assert not any((night.snapshots / "releases" / "2" / path).exists() for path in BULK_FILES)
    assert json.loads(night.read(2, "feed/statewide.json"))["precinctsReporting"] == 2  # every release
    assert _precincts(night, 2) == (1, 1)  # the whole-state files as release 1 made them
    nist = json.loads(night.read(2, NIST))
    assert (nist["GeneratedDate"], nist["Notes"]) == (first.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "release 1")
    report(night.reports, poweshiek[2], night.clock)
    night.clock.now = first.created_at + timedelta(seconds=599)
    releases.release(actor="director:dee")
    assert _homes(night, 3) == dict.fromkeys(BULK_FILES, 1) and _precincts(night, 3) == (1, 1)
    night.clock.now = first.created_at + timedelta(seconds=600)
    releases.release(actor="director:dee")  # nothing new, but the interval has passed
    assert _homes(night, 4) == dict.fromkeys(BULK_FILES, 4) and _precincts(night, 4) == (4, 3)
    report(night.reports, poweshiek[3], night.clock)
    _service(night, 600).release(actor="director:dee")  # another worker, cold cache: the same decision
    assert _homes(night, 5) == dict.fromkeys(BULK_FILES, 4)
    for number in range(1, 6):
        for interval in (0, 600, 5):  # whatever the setting now: the recorded decision
            _rebuilds(night, number, interval)


def test_a_change_of_standing_builds_them_within_the_interval(night: Night) -> None:
    releases = _service(night, 3600)
    releases.release(actor="director:dee", zero=True)
    poweshiek = scripts(["Poweshiek"])
    for script, (note, built) in zip(poweshiek, [("", True), ("", False), ("the Adams count is late", True),
                                                 ("", True), ("", False)], strict=False):
        report(night.reports, script, night.clock)
        made = releases.release(actor="director:dee", note=note)
        assert _homes(night, made.number) == dict.fromkeys(BULK_FILES, made.number if built else made.number - 1)
    report(night.reports, poweshiek[5], night.clock)
    certified = releases.certify(actor="director:dee", act="SCC resolution 1",
                                 acknowledge=sorted(releases.outstanding().codes))
    assert _homes(night, certified.number) == dict.fromkeys(BULK_FILES, certified.number)
    assert json.loads(night.read(certified.number, "feed/precincts.json"))["status"] == "certified"
    corrected = releases.release(actor="director:dee", note="R-1: recanvass")
    assert _homes(night, corrected.number) == dict.fromkeys(BULK_FILES, corrected.number)
    assert json.loads(night.read(corrected.number, "feed/precincts.json"))["correctionOf"] == certified.number
    for number in range(1, corrected.number + 1):
        _rebuilds(night, number, 0)


def test_continuous_release_brings_carried_files_up_to_date_with_nothing_new(night: Night) -> None:
    releases = _service(night, 600)
    releases.set_continuous(True, actor="director:dee")
    releaser = ContinuousReleaser(releases)
    adams = scripts(["Adams"])
    report(night.reports, adams[0], night.clock)
    first = releaser.tick()
    assert first is not None and _homes(night, 1) == dict.fromkeys(BULK_FILES, 1)
    report(night.reports, adams[1], night.clock)
    assert releaser.tick().number == 2  # type: ignore[union-attr]
    assert _homes(night, 2) == dict.fromkeys(BULK_FILES, 1)
    assert releaser.tick() is None and releases.bulk_due_at() == first.created_at + timedelta(seconds=600)
    night.clock.now = first.created_at + timedelta(seconds=599)
    assert releaser.tick() is None
    night.clock.now = first.created_at + timedelta(seconds=600)
    caught_up = releaser.tick()
    assert caught_up is not None and (caught_up.number, caught_up.precincts_reporting) == (3, 2)
    assert json.loads(night.read(3, "feed/changes.json"))["changes"] == []
    assert _homes(night, 3) == dict.fromkeys(BULK_FILES, 3) and _precincts(night, 3) == (3, 2)
    night.clock.advance(hours=1)
    assert releaser.tick() is None and releaser.tick() is None  # whole: nothing more to release
    assert releases.bulk_due_at() is None and [r.number for r in releases.list()] == [3, 2, 1]
    _rebuilds(night, 3, 600)


def test_interval_zero_builds_them_every_release(night: Night) -> None:
    releases = _service(night, 0)
    for number, script in enumerate(scripts(["Adams"])[:3], start=1):
        report(night.reports, script, night.clock)
        releases.release(actor="director:dee")
        assert _homes(night, number) == dict.fromkeys(BULK_FILES, number)
        assert _precincts(night, number) == (number, number)
        assert releases.bulk_due_at() is None
        _rebuilds(night, number, 600)


def test_verification_reads_a_carried_file_from_its_holder_and_catches_tampering(sqlite_night: Night) -> None:
    night = sqlite_night
    releases = _service(night, 600)
    for script in scripts(["Adams"])[:2]:
        report(night.reports, script, night.clock)
        releases.release(actor="director:dee")
    assert _homes(night, 2) == dict.fromkeys(BULK_FILES, 1)
    fetch, number = dir_fetcher(night.snapshots)
    assert number == 2 and verify(fetch, number).ok
    holder = night.snapshots / "releases" / "1" / "feed" / "precincts.csv"
    holder.write_bytes(holder.read_bytes().replace(b"Adams", b"Adair", 1))
    problems = verify(*dir_fetcher(night.snapshots)).problems
    assert len(problems) == 1 and problems[0].startswith("feed/precincts.csv: sha256 ")


@pytest.mark.parametrize(("value", "shown"), [("soon", "'soon'"), ("-1", "'-1'"), ("3601", "'3601'"),
                                               ("nan", "'nan'")])
def test_a_bad_interval_is_refused_naming_the_setting(value: str, shown: str, sqlite_night: Night,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    expected = (f"invalid settings: CAUCUS_BULK_INTERVAL={shown}: must be a number of seconds from 0 (every "
                "release builds the whole-state files) to 3600")
    monkeypatch.setenv("CAUCUS_BULK_INTERVAL", value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == expected
    result = CliRunner().invoke(app, ["release", "now", "--database", sqlite_night.url, "--snapshots",
                                      str(sqlite_night.snapshots.parent), "--election", SLUG])
    assert result.exit_code == 2 and expected in " ".join(result.stderr.split())
    assert sqlite_night.releases.list() == []


def test_the_default_interval_is_thirty_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAUCUS_BULK_INTERVAL", raising=False)
    assert load_settings().bulk_interval == 30
    monkeypatch.setenv("CAUCUS_BULK_INTERVAL", "0")
    assert load_settings().bulk_interval == 0


def test_the_running_app_catches_the_whole_state_files_up_by_itself(sqlite_night: Night) -> None:
    night = sqlite_night
    settings = load_settings(database_url=night.url, election=SLUG, snapshot_dir=night.snapshots.parent,
                             release_interval_seconds=0.1, bulk_interval=60)
    adams = scripts(["Adams"])

    def wait_for(number: int) -> dict[str, object]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = client.get("/feed/v1/latest.json")
            if answer.status_code == 200 and answer.json()["release"] >= number:
                break
            time.sleep(0.05)
        return dict(client.get("/feed/v1/latest.json").json())

    with TestClient(create_app(settings, clock=night.clock)) as client:
        night.releases.set_continuous(True, actor="director:dee")
        report(night.reports, adams[0], night.clock)
        assert wait_for(1)["release"] == 1
        report(night.reports, adams[1], night.clock)  # 28 s later: within the interval
        assert wait_for(2)["release"] == 2
        assert client.get("/feed/v1/precincts.json").json()["release"] == 1
        assert client.get("/feed/v1/statewide.json").json()["precinctsReporting"] == 2
        time.sleep(2)  # the loop's rounds find nothing new, and nothing due yet: it goes idle
        assert client.get("/feed/v1/latest.json").json()["release"] == 2
        night.clock.advance(seconds=60)
        assert wait_for(3)["release"] == 3  # nothing new: the loop catches the whole-state files up
        whole = client.get("/feed/v1/precincts.json").json()
        assert (whole["release"], sum(p["reported"] for p in whole["precincts"])) == (3, 2)
        assert client.get("/feed/v1/changes.json").json()["changes"] == []
        # the media page says how far behind a whole-state file may be on this site
        assert "rebuilt at most every 60 seconds on this site" in client.get("/feed").text
    assert [r.actor for r in night.releases.list()] == ["continuous-release"] * 3
