"""The manifest in parts (docs/feed.md, "manifest.json"): which part lists a file, that manifest.json commits to
every byte through its parts, that a file listed in the wrong part is caught, and that an election whose
earlier releases have the flat manifest goes on with parts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from caucus.publish.manifest import Entries
from caucus.publish.model import json_bytes
from caucus.publish.store import Snapshot, SnapshotStore, entries_of, manifest_of
from caucus.publish.verify import dir_fetcher, verify
from caucus.service.releases import ReleaseService
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, all_scripts, manifest_entries, rehash_release, report, scripts

#: computed outside the code: ``printf %s <path> | sha256sum``, first two hex digits (Iowa's 1,768 units: d = 2)
KNOWN_PARTS = {
    "feed/statewide.json": "90",  # 903170fde5cda3bc...
    "feed/precinct/poweshiek-7.json": "0f",  # 0fc15bc0ab40b37b...
    "release.json": "16",  # 16903c7a4898d982...
}


def test_each_file_is_listed_by_the_part_its_path_hashes_to_and_every_byte_is_committed(night: Night) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    recorded = night.releases.release(actor="director:dee").content_hash
    raw = night.read(1, "manifest.json")
    assert hashlib.sha256(raw).hexdigest() == recorded
    manifest = json.loads(raw)
    assert manifest["partDigits"] == 2
    assert all(f["path"].startswith("manifest/") for f in manifest["files"])
    for path, key in KNOWN_PARTS.items():
        part = json.loads(night.read(1, f"manifest/{key}.json"))
        assert part["election"] == manifest["election"] and part["part"] == key
        assert path in [f["path"] for f in part["files"]]
    # manifest.json -> each part's sha256 -> each file's sha256, checked here with hashlib alone
    for listed in manifest["files"]:
        part_bytes = night.read(1, listed["path"])
        assert hashlib.sha256(part_bytes).hexdigest() == listed["sha256"] and len(part_bytes) == listed["bytes"]
        for item in json.loads(part_bytes)["files"]:
            data = night.read(1, item["path"])
            assert hashlib.sha256(data).hexdigest() == item["sha256"], item["path"]
            assert hashlib.sha256(item["path"].encode()).hexdigest()[:2] == listed["path"][9:11]
    listed_paths = [f["path"] for f in manifest_entries(lambda p: night.read(1, p))]
    assert len(listed_paths) == len(set(listed_paths))
    assert {"feed/statewide.json", "feed/precinct/poweshiek-7.json", "nist/election-report.json",
            "plan/plan.toml"} <= set(listed_paths)


def test_a_file_listed_in_another_part_than_its_paths_is_a_verification_problem(night: Night) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    directory = night.snapshots / "releases" / "1"
    home, away = directory / "manifest" / "90.json", directory / "manifest" / "0f.json"
    moved = json.loads(home.read_bytes())
    entry = next(f for f in moved["files"] if f["path"] == "feed/statewide.json")
    moved["files"].remove(entry)
    home.write_bytes(json_bytes(moved))
    other = json.loads(away.read_bytes())
    other["files"] = sorted([*other["files"], entry], key=lambda f: f["path"])
    away.write_bytes(json_bytes(other))
    rehash_release(directory)  # every hash consistent again: only the placement is wrong
    fetch, number = dir_fetcher(directory)
    problems = verify(fetch, number).problems
    assert problems == ["feed/statewide.json: listed in manifest/0f.json, but its path belongs to part 90"]


def test_a_release_with_parts_is_built_on_a_flat_one(tmp_path: Path) -> None:
    """Store level: release 1 with the flat manifest of earlier versions, release 2 with parts built on it
    (its unchanged files stay in release 1's directory); the latest tree holds exactly release 2's files."""
    store = SnapshotStore(tmp_path / "snap")
    files = {f"feed/{name}.json": f'{{"{name}": 1}}'.encode() for name in "abcdefgh"}
    flat = manifest_of("ex", 1, "2020-02-04T01:00:00Z", files)
    store.write(Snapshot(1, files, flat))
    assert store.point_latest(1)
    later = {**files, "feed/a.json": b'{"a": 2}'}
    later.pop("feed/h.json")
    entries = Entries.of(1, {path: entry for path, entry in entries_of(flat).items() if path in later})
    entries.set("feed/a.json", _entry("feed/a.json", later["feed/a.json"], 2))
    manifest, parts = entries.render("ex", 2, "2020-02-04T01:01:00Z", None)
    store.write(Snapshot(2, {**later, **parts}, manifest))
    assert store.point_latest(2)
    written = {str(p.relative_to(store.release_dir(2))) for p in store.release_dir(2).rglob("*") if p.is_file()}
    assert written == {"manifest.json", "feed/a.json", *parts}
    tree = (store.root / "latest").resolve()
    got = {str(p.relative_to(tree)): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    assert got == {**later, **parts, "manifest.json": manifest}
    fetch, number = dir_fetcher(store.release_dir(2))
    checked = verify_files(fetch, number)
    assert checked == sorted([*later, *parts])


def _entry(path: str, data: bytes, home: int) -> bytes:
    return (f'  {{\n   "path": "{path}",\n   "sha256": "{hashlib.sha256(data).hexdigest()}",\n'
            f'   "bytes": {len(data)},\n   "release": {home}\n  }}').encode()


def verify_files(fetch: Callable[[str], bytes], number: int) -> list[str]:
    """Every file the release lists (through its parts), each checked against its entry; their paths."""
    checked = []
    for item in manifest_entries(fetch):
        assert hashlib.sha256(fetch(item["path"])).hexdigest() == item["sha256"], item["path"]
        checked.append(item["path"])
    return sorted(checked)


def test_an_election_whose_releases_had_the_flat_manifest_goes_on_with_parts(night: Night) -> None:
    """Releases 1 and 2 made by a service of the earlier format (no parts); a service of this version makes
    release 3 from the recorded flat manifest (a cold cache), in parts; every release rebuilds to its
    recorded hash, and the latest tree is a full rebuild of release 3."""
    old = ReleaseService(night.engine, night.context, night.snapshots, clock=night.clock, photos=night.photos)
    old._feed.digits = 0  # the earlier version's manifests: every file listed in manifest.json
    old._feed.drop()
    poweshiek, adams = scripts(["Poweshiek"]), scripts(["Adams"])
    report(night.reports, poweshiek[0], night.clock)
    old.release(actor="director:dee")
    report(night.reports, poweshiek[1], night.clock)
    night.clock.advance(minutes=1)
    old.release(actor="director:dee")
    assert "partDigits" not in json.loads(night.read(2, "manifest.json"))
    report(night.reports, adams[0], night.clock)
    night.clock.advance(minutes=1)
    night.releases.release(actor="director:dee")
    assert json.loads(night.read(3, "manifest.json"))["partDigits"] == 2
    fresh = ReleaseService(night.engine, night.context, night.snapshots, clock=night.clock, photos=night.photos)
    for number in (1, 2, 3):
        assert fresh.rebuild(number).manifest == night.read(number, "manifest.json")
    snapshot = fresh.rebuild(3)
    tree = (night.snapshots / "latest").resolve()
    got = {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}
    assert got == {*snapshot.files, "manifest.json"}
    fetch, number = dir_fetcher(night.snapshots / "releases" / "3")
    assert verify(fetch, number).ok
