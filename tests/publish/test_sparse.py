"""Sparse release directories and the latest trees, on SQLite and PostgreSQL: a release directory holds only
the files whose bytes that release changed, every manifest entry names the release directory holding its
bytes (and those bytes hash to the entry), the latest tree is a full rebuild of the latest release byte for
byte after every release of a night with removals and a go-live, a carried file is served by the app from
the directory its manifest names, and verification reads (and catches tampering in) an older directory a
newer release carries a file from."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from caucus.publish.store import Snapshot, SnapshotStore, entries_of, manifest_of, unlocated
from caucus.publish.verify import dir_fetcher, verify
from caucus.service import StageReport
from caucus.service.golive import ElectionModeService
from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, manifest_entries, report, scripts

CARRIED = "feed/county/poweshiek.json"  # Poweshiek's county document, unchanged by a release of Adams


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (shade, shade, shade)).save(out, "PNG")
    return out.getvalue()


def _files(directory: Path) -> dict[str, Path]:
    return {str(p.relative_to(directory)): p for p in directory.rglob("*") if p.is_file()}


def _entries(night: Night, number: int) -> list[dict[str, object]]:
    return manifest_entries(lambda path: night.read(number, path))


def _check(night: Night, number: int) -> None:
    """Release ``number`` is the latest; its directory holds exactly the files its manifest places there;
    every entry's bytes, where the entry says, hash to it; the latest tree holds exactly the files of a full
    rebuild of the release, byte for byte; at most two trees, no half-built one."""
    assert night.store_latest() == number
    snapshot = night.releases.rebuild(number)  # every document built from the records (manifest hash checked)
    assert night.read(number, "manifest.json") == snapshot.manifest
    releases = night.snapshots / "releases"
    entries = _entries(night, number)
    own = {str(e["path"]) for e in entries if e["release"] == number}
    assert set(_files(releases / str(number))) == own | {"manifest.json"}
    for entry in entries:
        home = int(str(entry["release"]))
        assert home <= number and (home == number or str(entry["path"]) not in own)
        data = (releases / str(home) / str(entry["path"])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry
    tree = (night.snapshots / "latest").resolve()
    assert tree == night.snapshots / "live" / str(number)
    want = {**snapshot.files, "manifest.json": snapshot.manifest}
    got = _files(tree)
    assert set(got) - set(want) == set()  # nothing stale
    assert set(want) - set(got) == set()  # nothing missing
    assert [path for path in sorted(got) if got[path].read_bytes() != want[path]] == []
    live = sorted(child.name for child in (night.snapshots / "live").iterdir())
    assert len(live) <= 2 and all(name.isdigit() for name in live), live


def test_the_latest_tree_is_a_full_rebuild_after_every_release_of_a_night(night: Night) -> None:
    steps: list[int] = []

    def released(**kwargs: object) -> None:
        night.clock.advance(minutes=1)
        record = night.releases.release(actor="director:dee", **kwargs)  # type: ignore[arg-type]
        steps.append(record.number)
        _check(night, record.number)

    released(zero=True)  # every precinct present with zeros
    for script in scripts(["Poweshiek"]):
        report(night.reports, script, night.clock)
    night.photos.store(GRINNELL, data=_png(200), content_type="image/png", channel="app",
                       actor=f"chair:{GRINNELL}", idempotency_key="ws-1")
    released()  # the zero documents of every other precinct leave the release
    assert len(_files(night.snapshots / "releases" / "2")) < len(_entries(night, 2))
    for script in scripts(["Adams"]):
        report(night.reports, script, night.clock)
    released()
    assert {e["release"] for e in _entries(night, 3) if e["path"] == CARRIED} == {2}
    first_seq = next(s["seq"] for s in json.loads(night.read(3, "feed/precinct/poweshiek-7.json"))["stages"]
                     if s["stage"] == "first")
    counts = dict(all_scripts()[GRINNELL].stages[1]["counts"])
    counts["Other"] -= 1
    counts["Bennet"] += 1
    night.reports.submit(GRINNELL, StageReport("first", {"counts": counts}, supersedes_seq=first_seq,
                                               reason="R-1: recanvass"), "recanvass-1", channel="app",
                         actor=f"chair:{GRINNELL}")
    night.photos.store(GRINNELL, data=_png(100), content_type="image/png", channel="app",
                       actor=f"chair:{GRINNELL}", idempotency_key="ws-2")
    released()

    ElectionModeService(night.engine, night.context, night.releases, clock=night.clock).go_live(
        "director:dee", confirm=SLUG)
    assert night.store_latest() is None
    for script in scripts(["Adair"]):
        report(night.reports, script, night.clock, prefix="live")
    released()  # the live night's first release: nothing of the rehearsal's (Poweshiek, Adams, photos)
    assert not any(str(e["path"]).startswith(("photos/", "feed/precinct/poweshiek")) for e in _entries(night, 5))
    for script in scripts(["Poweshiek"]):
        report(night.reports, script, night.clock, prefix="live")
    released()  # brings the tree left at rehearsal release 3 (archived) to release 6
    assert steps == [1, 2, 3, 4, 5, 6]


def test_a_release_directory_missing_after_a_crash_is_written_before_latest_moves_past_it(night: Night) -> None:
    for county, number in (("Poweshiek", 1), ("Adams", 2)):
        for script in scripts([county]):
            report(night.reports, script, night.clock)
        night.clock.advance(minutes=1)
        assert night.releases.release(actor="director:dee").number == number
    shutil.rmtree(night.snapshots / "releases" / "2")  # as if release 2's worker died after its commit
    for script in scripts(["Adair"]):
        report(night.reports, script, night.clock)
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")  # release 3 takes Adams' documents from release 2
    assert {e["release"] for e in _entries(night, 3) if e["path"] == "feed/county/adams.json"} == {2}
    assert night.releases.store.has(2)
    _check(night, 3)


@pytest.mark.parametrize("finishes_meanwhile", [False, True], ids=["dead", "finishing"])
def test_a_worker_moving_latest_past_a_release_another_worker_has_not_written_yet(
        night: Night, finishes_meanwhile: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker B, which never read release 2, makes release 3 while release 2's directory is missing. If release
    2's worker died after its commit, B writes release 2 from the database; if it finishes writing just as B
    finds the directory missing (the race CI caught), B goes on with what it wrote."""
    for county, number in (("Poweshiek", 1), ("Adams", 2)):
        for script in scripts([county]):
            report(night.reports, script, night.clock)
        night.clock.advance(minutes=1)
        assert night.releases.release(actor="director:dee").number == number
    second = night.releases.rebuild(2)
    shutil.rmtree(night.snapshots / "releases" / "2")
    for script in scripts(["Adair"]):
        report(night.reports, script, night.clock)
    night.clock.advance(minutes=1)
    other = night.second_worker()
    if finishes_meanwhile:  # release 2's worker renames its directory into place between B's two looks
        has = other.store.has

        def has_after_the_other_worker_wrote(number: int) -> bool:
            if number == 2 and not night.releases.store.has(2):
                night.releases.store.write(second)
            return has(number)
        monkeypatch.setattr(other.store, "has", has_after_the_other_worker_wrote)
    try:
        assert other.release(actor="director:dee").number == 3
    finally:
        other.engine.dispose()
    assert 2 in {e["release"] for e in _entries(night, 3) if str(e["path"]).startswith("manifest/")}
    assert night.releases.store.has(2) and night.releases.store.latest() == 3
    _check(night, 3)


def test_a_tree_left_half_changed_by_a_crash_is_built_afresh(sqlite_night: Night) -> None:
    night = sqlite_night
    for county in ("Poweshiek", "Adams"):
        for script in scripts([county]):
            report(night.reports, script, night.clock)
        night.clock.advance(minutes=1)
        night.releases.release(actor="director:dee")
    live = night.snapshots / "live"
    os.rename(live / "1", live / ".build")  # the spare tree, caught by a crash while it was being changed
    (live / ".build" / "feed" / "statewide.json").write_bytes(b"half-written")
    for script in scripts(["Adair"]):
        report(night.reports, script, night.clock)
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")
    _check(night, 3)
    assert (live / "3" / "feed" / "statewide.json").read_bytes() != b"half-written"


def test_verify_reads_a_carried_file_where_it_is_and_catches_it_tampered(sqlite_night: Night) -> None:
    night = sqlite_night
    for county in ("Poweshiek", "Adams"):
        for script in scripts([county]):
            report(night.reports, script, night.clock)
        night.clock.advance(minutes=1)
        night.releases.release(actor="director:dee")
    releases = night.snapshots / "releases"
    assert {e["release"] for e in _entries(night, 2) if e["path"] == CARRIED} == {1}
    assert not (releases / "2" / CARRIED).exists()
    for source in (releases / "2", night.snapshots):
        result = verify(*dir_fetcher(source))
        assert result.ok and result.release == 2 and result.files == len(_entries(night, 2)), result.problems
    # a new file in release 1's place (the latest tree keeps the inode it links to)
    original = (releases / "1" / CARRIED).read_bytes()
    forged = releases / "1" / "forged.tmp"
    forged.write_bytes(original.replace(b'"Poweshiek"', b'"Poweshiek "', 1))
    os.replace(forged, releases / "1" / CARRIED)
    for source in (releases / "2", night.snapshots):
        result = verify(*dir_fetcher(source))
        assert not result.ok and result.release == 2
        assert [p for p in result.problems if p.startswith(f"{CARRIED}: sha256 ")], result.problems


@pytest.fixture
def site(night: Night) -> Iterator[TestClient]:
    settings = Settings(database_url=night.url, election=SLUG, snapshot_dir=night.snapshots.parent)
    with TestClient(create_app(settings, clock=night.clock), raise_server_exceptions=False) as client:
        yield client


def test_the_app_serves_a_carried_file_from_the_release_that_holds_it(night: Night, site: TestClient) -> None:
    for county in ("Poweshiek", "Adams", "Adair"):
        for script in scripts([county]):
            report(night.reports, script, night.clock)
        night.clock.advance(minutes=1)
        night.releases.release(actor="director:dee")
    assert {e["release"] for e in _entries(night, 3) if e["path"] == CARRIED} == {1}
    original = (night.snapshots / "releases" / "1" / CARRIED).read_bytes()
    for number in (1, 2, 3):
        response = site.get(f"/feed/v1/releases/{number}/{CARRIED}")
        assert response.status_code == 200 and response.content == original
        assert response.headers["etag"] == f'"{hashlib.sha256(original).hexdigest()}"'
        assert response.headers["x-caucus-release"] == str(number)
    assert site.get("/feed/v1/county/poweshiek.json").content == original
    adams = site.get("/feed/v1/releases/3/feed/county/adams.json")
    assert adams.status_code == 200 and adams.content == (night.snapshots / "releases" / "2" /
                                                          "feed" / "county" / "adams.json").read_bytes()
    before = site.get("/feed/v1/releases/1/feed/county/adams.json")  # before Adams reported: release 1's bytes
    assert before.content == night.read(1, "feed/county/adams.json") != adams.content
    assert site.get("/feed/v1/releases/3/feed/county/nowhere.json").status_code == 404


def test_a_release_written_before_entries_named_their_release_reads_and_is_built_on(tmp_path: Path) -> None:
    """A snapshot directory from before: release 1's manifest has no ``release`` in its entries and its
    directory holds every file, ``latest -> releases/1``. It reads the same, and release 2 is built on it:
    its unchanged files stay in release 1's directory, and the first latest tree is made."""
    store = SnapshotStore(tmp_path / "old")
    files = {"feed/a.json": b'{"a": 1}', "feed/b.json": b'{"b": 1}'}
    legacy = unlocated(manifest_of("ex", 1, "2020-02-04T01:00:00Z", files))
    assert b'"release": 1,' in legacy and b'   "release"' not in legacy  # the header's, not the entries'
    store.write(Snapshot(1, files, legacy))
    os.symlink("releases/1", tmp_path / "old" / "latest")
    assert store.latest() == 1 and store.read(1, "feed/b.json") == b'{"b": 1}'
    assert set(_files(store.release_dir(1))) == {"manifest.json", *files}
    later = {**files, "feed/a.json": b'{"a": 2}'}
    manifest = manifest_of("ex", 2, "2020-02-04T01:01:00Z", later, previous=entries_of(legacy))
    assert [e["release"] for e in json.loads(manifest)["files"]] == [2, 1]
    store.write(Snapshot(2, later, manifest))
    assert store.point_latest(2) and store.latest() == 2
    assert set(_files(store.release_dir(2))) == {"manifest.json", "feed/a.json"}
    assert {p: f.read_bytes() for p, f in _files(tmp_path / "old" / "latest").items()} == {
        **later, "manifest.json": manifest}
    assert verify_files(store, 2) == []


def verify_files(store: SnapshotStore, number: int) -> list[str]:
    """The manifest's files of release ``number`` whose bytes, read where the entries say, do not hash."""
    fetch, _ = dir_fetcher(store.release_dir(number))
    return [str(e["path"]) for e in store.manifest(number)["files"]
            if hashlib.sha256(fetch(str(e["path"]))).hexdigest() != e["sha256"]]
