"""Continuous release: the loop releases newly accepted precincts, skips cheaply when nothing moved, and
several workers never write the same release number; in the running app, an accepted report reaches the
public feed by itself. Settings: where snapshots go by default."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caucus.service import StageReport
from caucus.service.continuous import ContinuousReleaser
from caucus.web.app import create_app
from caucus.web.settings import load_settings
from tests.publish.conftest import Night
from tests.publish.support import SLUG, report, scripts


def test_tick_releases_new_acceptances_and_skips_when_nothing_moved(night: Night) -> None:
    releaser = ContinuousReleaser(night.releases)
    poweshiek = scripts(["Poweshiek"])
    report(night.reports, poweshiek[0], night.clock)
    assert releaser.tick() is None  # switched off
    night.releases.set_continuous(True, actor="director:dee")
    made = releaser.tick()
    assert made is not None and (made.number, made.precincts_reporting) == (1, 1)
    assert releaser.tick() is None  # nothing moved since
    report(night.reports, poweshiek[1], night.clock)
    assert releaser.tick().number == 2  # type: ignore[union-attr]
    # a report that is not yet accepted moves the ledger but releases nothing
    night.reports.submit(poweshiek[2].precinct, StageReport("attendance", {"attendance": 50}), "half",
                         channel="app", actor="chair")
    assert releaser.tick() is None
    assert [r.number for r in night.releases.list()] == [2, 1]


def test_the_loop_waits_so_that_rounds_take_at_most_their_share_of_the_time(night: Night) -> None:
    """By default a round of 3 s is followed by 3 s of rest (half the time busy); a watcher on its own core
    (busy_share 1) waits only the interval; a short round waits the interval."""
    half = ContinuousReleaser(night.releases, 1.0)
    assert (half.pause_after(3.0), half.pause_after(0.2)) == (3.0, 1.0)
    alone = ContinuousReleaser(night.releases, 1.0, busy_share=1.0)
    assert (alone.pause_after(3.0), alone.pause_after(0.2)) == (1.0, 1.0)
    most = ContinuousReleaser(night.releases, 0.5, busy_share=0.8)
    assert most.pause_after(4.0) == pytest.approx(1.0)  # 4 s busy, 1 s rest: 80 % of the time
    for wrong in (0.0, 1.5, -1.0):
        with pytest.raises(ValueError, match="busy_share must be more than 0 and at most 1"):
            ContinuousReleaser(night.releases, busy_share=wrong)


def test_workers_racing_release_each_precinct_once(night: Night) -> None:
    night.releases.set_continuous(True, actor="director:dee")
    workers = [ContinuousReleaser(night.releases), ContinuousReleaser(night.second_worker())]
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop(releaser: ContinuousReleaser) -> None:
        while not stop.is_set():
            try:
                releaser.tick()
            except BaseException as exc:
                errors.append(exc)
                return
            time.sleep(0.01)

    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    poweshiek = scripts(["Poweshiek"])
    for script in poweshiek:
        report(night.reports, script, night.clock)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and night.releases.preview().new:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    workers[1].service.engine.dispose()
    assert not errors
    records = night.releases.list()
    assert [r.number for r in records] == list(range(len(records), 0, -1))  # 1..n, no gap, no duplicate
    assert records[0].precincts_reporting == len(poweshiek)
    released_in = {}
    for record in reversed(records):
        changes = (night.snapshots / "releases" / str(record.number) / "feed" / "changes.json").read_text()
        for script in poweshiek:
            if f'"code": "{script.precinct}"' in changes:
                released_in.setdefault(script.precinct, []).append(record.number)
    assert all(len(numbers) == 1 for numbers in released_in.values()) and len(released_in) == len(poweshiek)


def test_the_running_app_publishes_accepted_reports_by_itself(night: Night) -> None:
    settings = load_settings(database_url=night.url, election=SLUG, snapshot_dir=night.snapshots.parent,
                             release_interval_seconds=0.1)
    with TestClient(create_app(settings, clock=night.clock)) as client:
        night.releases.set_continuous(True, actor="director:dee")
        assert client.get("/feed/v1/statewide.json").status_code == 404
        report(night.reports, scripts(["Adams"])[0], night.clock)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and client.get("/feed/v1/latest.json").status_code != 200:
            time.sleep(0.05)
        statewide = client.get("/feed/v1/statewide.json").json()
        assert statewide["precinctsReporting"] == 1
        assert night.releases.list()[0].actor == "continuous-release"


def test_snapshot_dir_defaults_beside_the_sqlite_database(tmp_path: Path) -> None:
    beside = load_settings(database_url=f"sqlite:///{tmp_path}/data/caucus.db")
    assert beside.snapshots == tmp_path / "data" / "snapshots"
    assert load_settings(database_url="postgresql://u@h/db").snapshots == Path("var") / "snapshots"
    chosen = load_settings(database_url="postgresql://u@h/db", snapshot_dir=str(tmp_path / "snap"))
    assert chosen.snapshots == tmp_path / "snap"
