"""Incremental releases on SQLite and PostgreSQL: a release after one changed precinct writes only that
precinct's document, its county's documents and the aggregates into its directory (every other file stays
where an earlier release wrote it, and the manifest says where), and its files are byte for byte those of a
full rebuild of the same state, whichever worker made the releases before it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from caucus.publish.store import SnapshotStore
from caucus.publish.verify import dir_fetcher, verify
from caucus.service import StageReport
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, all_scripts, manifest_entries, report, scripts

AGGREGATES = {"release.json", "manifest.json", "feed/statewide.json", "feed/statewide.csv", "feed/counties.json",
              "feed/counties.csv", "feed/precincts.json", "feed/precincts.csv", "feed/changes.json",
              "nist/election-report.json"}


def _tree(directory: Path) -> dict[str, Path]:
    return {str(p.relative_to(directory)): p for p in directory.rglob("*") if p.is_file()}


def _rewritten(night: Night, number: int) -> set[str]:
    """The files release ``number``'s directory holds (the ones whose bytes it changed), each listed in its
    manifest as its own."""
    written = set(_tree(night.snapshots / "releases" / str(number)))
    entries = manifest_entries(lambda path: night.read(number, path))
    assert written - {"manifest.json"} == {e["path"] for e in entries if e["release"] == number}
    # the manifest's parts it wrote are exactly those of the files it changed (docs/feed.md: the part of a
    # path is the first partDigits hex digits of the sha256 of the path)
    digits = json.loads(night.read(number, "manifest.json"))["partDigits"]
    files = {path for path in written if not path.startswith("manifest/") and path != "manifest.json"}
    assert {path for path in written if path.startswith("manifest/")} == {
        f"manifest/{hashlib.sha256(path.encode()).hexdigest()[:digits]}.json" for path in files}
    return files | {"manifest.json"}


def _same_as_full_rebuild(night: Night, number: int, tmp_path: Path) -> None:
    """Release ``number``, read file by file through the store (each from the directory its manifest names),
    is byte for byte a full rebuild of it, and verifies; a store given the full rebuild alone, after the
    releases before it, writes the same directory."""
    snapshot = night.releases.rebuild(number)  # built from every record (raises unless the manifest hashes match)
    paths = [e["path"] for e in manifest_entries(
        lambda path: snapshot.manifest if path == "manifest.json" else snapshot.files[path])]
    assert set(paths) == set(snapshot.files)
    assert [path for path in paths if night.read(number, path) != snapshot.files[path]] == []
    assert night.read(number, "manifest.json") == snapshot.manifest
    copy = tmp_path / f"full-{number}"
    shutil.copytree(night.snapshots / "releases", copy / "releases",
                    ignore=lambda d, names: [n for n in names if Path(d) == night.snapshots / "releases"
                                             and n.isdigit() and int(n) >= number])
    written = SnapshotStore(copy).write(snapshot)
    got, want = _tree(night.snapshots / "releases" / str(number)), _tree(written)
    assert set(got) == set(want)
    assert [path for path in sorted(got) if got[path].read_bytes() != want[path].read_bytes()] == []
    fetch, found = dir_fetcher(night.snapshots / "releases" / str(number))
    result = verify(fetch, found)
    assert result.ok, result.problems
    assert result.files == len(paths)


def test_one_changed_precinct_rewrites_its_documents_its_county_and_the_aggregates(night: Night,
                                                                                   tmp_path: Path) -> None:
    first = [s for s in scripts(["Poweshiek", "Adair", "CD4 Satellite"]) if s.precinct != GRINNELL]
    adams = scripts(["Adams"])
    for script in first:
        report(night.reports, script, night.clock)
    night.releases.release(actor="director:dee")  # a full build: nothing kept yet

    report(night.reports, adams[0], night.clock)  # one new precinct
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")
    county = "feed/county/adams"
    assert _rewritten(night, 2) == AGGREGATES | {f"{county}.json", f"{county}.csv",
                                                 f"feed/precinct/{adams[0].precinct.lower().replace('/', '-')}.json"}
    # an untouched county's document stays in release 1's directory; the latest tree links to those bytes
    untouched = "feed/county/poweshiek.json"
    assert not (night.snapshots / "releases" / "2" / untouched).exists()
    assert os.stat(night.snapshots / "latest" / untouched).st_ino == \
        os.stat(night.snapshots / "releases" / "1" / untouched).st_ino
    assert night.read(2, untouched) == night.read(1, untouched)
    _same_as_full_rebuild(night, 2, tmp_path)

    # a correction of a released precinct: its document, its county's, the aggregates
    grinnell = all_scripts()[GRINNELL]
    report(night.reports, grinnell, night.clock)
    night.releases.release(actor="director:dee")
    seven = json.loads(night.read(3, "feed/precinct/poweshiek-7.json"))
    first_seq = next(s["seq"] for s in seven["stages"] if s["stage"] == "first")
    counts = dict(grinnell.stages[1]["counts"])
    counts["Other"] -= 1
    counts["Bennet"] += 1
    night.reports.submit(GRINNELL, StageReport("first", {"counts": counts}, supersedes_seq=first_seq,
                                               reason="R-1: recanvass"),
                         "recanvass-1", channel="app", actor="chair:Poweshiek/7")
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")
    assert _rewritten(night, 4) == AGGREGATES | {"feed/county/poweshiek.json", "feed/county/poweshiek.csv",
                                                 "feed/precinct/poweshiek-7.json"}
    _same_as_full_rebuild(night, 4, tmp_path)


def test_a_release_after_another_workers_releases_matches_a_full_rebuild(night: Night, tmp_path: Path) -> None:
    """Worker A keeps what it built; worker B releases meanwhile; A's next release catches up with B's."""
    batches = [scripts(["Poweshiek"]), scripts(["Adair"]), scripts(["Adams"]), scripts(["CD4 Satellite"])]
    other = night.second_worker()
    for batch, service in zip(batches, (night.releases, other, other, night.releases), strict=True):
        for script in batch:
            report(night.reports, script, night.clock)
        night.clock.advance(minutes=1)
        service.release(actor="director:dee")
    assert night.store_latest() == 4
    # A's release 4 rebuilt what B's releases 2 and 3 changed (Adair, Adams) along with its own
    assert {"feed/county/adair.json", "feed/county/adams.json", "feed/county/cd4-satellite.json"} <= \
        _rewritten(night, 4) | _rewritten(night, 3) | _rewritten(night, 2)
    for number in (2, 3, 4):
        _same_as_full_rebuild(night, number, tmp_path)
    other.engine.dispose()
    # certifying changes every county document's header (status): all of them are rewritten
    night.releases.certify(actor="director:dee", act="SCC resolution 1",
                           acknowledge=sorted(night.releases.outstanding().codes))
    assert "feed/county/poweshiek.json" in _rewritten(night, 5)
    _same_as_full_rebuild(night, 5, tmp_path)
