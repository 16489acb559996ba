"""Files private by default: a new SQLite database, its WAL and shared-memory files and its directory are the
owner's only whatever the umask; the installed ``caucus`` script runs with umask 0077; published snapshot
files stay world-readable (they are public) while a release being staged is private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from caucus.ledger import make_engine, upgrade
from caucus.publish.store import MANIFEST, Snapshot, SnapshotStore, entries_of, manifest_of
from tests.cli.support import write_example_plan

CAUCUS = Path(sys.executable).parent / "caucus"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    before = os.umask(value)
    try:
        yield
    finally:
        os.umask(before)


def test_a_new_sqlite_database_and_its_wal_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "data" / "caucus.db"
    with umask(0o022):
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
            with engine.connect() as conn:  # an open connection keeps the WAL and shared-memory files
                conn.execute(text("CREATE TABLE probe (x INTEGER)"))
                conn.execute(text("INSERT INTO probe VALUES (1)"))
                conn.commit()
                wal, shm = path.with_name("caucus.db-wal"), path.with_name("caucus.db-shm")
                assert wal.is_file() and wal.stat().st_size > 0 and shm.is_file()
                assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
        finally:
            engine.dispose()
    assert mode(path.parent) == 0o700


def test_the_installed_script_creates_private_files_and_directories(tmp_path: Path) -> None:
    database = tmp_path / "state" / "ledger" / "caucus.db"
    env = {**os.environ, "CAUCUS_DATABASE_URL": f"sqlite:///{database}"}
    env.pop("CAUCUS_ELECTION", None)
    done = subprocess.run([str(CAUCUS), "init", "ex", "--plan", str(write_example_plan(tmp_path / "plan"))],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # "state" is created by mkdir(parents=True) under the script's umask 0077, "ledger" and the file explicitly
    assert (mode(tmp_path / "state"), mode(database.parent), mode(database)) == (0o700, 0o700, 0o600)


def test_published_snapshot_files_are_world_readable_and_staging_is_private(tmp_path: Path) -> None:
    root = tmp_path / "snapshots" / "ex"
    files = {"statewide.json": b'{"release": 1}', "precincts/north-1.json": b"{}"}
    snapshot = Snapshot(1, files, manifest_of("ex", 1, "2020-02-04T01:00:00+00:00", files))
    with umask(0o077):
        store = SnapshotStore(root)
        store.write(snapshot)
        store.point_latest(1)
    release = store.release_dir(1)
    assert {str(p.relative_to(release)): mode(p) for p in release.rglob("*")} == {
        "statewide.json": 0o644, "precincts": 0o755, "precincts/north-1.json": 0o644, "manifest.json": 0o644}
    assert (mode(root.parent), mode(root), mode(store.releases), mode(release)) == (0o755, 0o755, 0o755, 0o755)
    assert mode(root / "latest.json") == 0o644
    tree = root / "live" / "1"  # the latest tree: every file, linked
    assert {str(p.relative_to(tree)): mode(p) for p in tree.rglob("*")} == {
        "statewide.json": 0o644, "precincts": 0o755, "precincts/north-1.json": 0o644, "manifest.json": 0o644}
    assert (mode(root / "live"), mode(tree)) == (0o755, 0o755)
    # release 3 brings the spare tree (release 1's) up to date: its new directories are public too
    for number, extra in ((2, {"counties/a.json": b"{}"}), (3, {"counties/a.json": b"{}", "photos/p.png": b"p"})):
        more = {**files, **extra}
        with umask(0o077):
            store.write(Snapshot(number, more, manifest_of("ex", number, "2020-02-04T01:00:00+00:00", more,
                                                           previous=entries_of(store.read(number - 1, MANIFEST)))))
            store.point_latest(number)
    tree = root / "live" / "3"
    assert {str(p.relative_to(tree)): mode(p) for p in tree.rglob("*")} == {
        "statewide.json": 0o644, "precincts": 0o755, "precincts/north-1.json": 0o644, "manifest.json": 0o644,
        "counties": 0o755, "counties/a.json": 0o644, "photos": 0o755, "photos/p.png": 0o644}
    assert sorted(p.name for p in (root / "live").iterdir()) == ["2", "3"]
    assert mode(root / ".staging") == 0o700 and list((root / ".staging").iterdir()) == []
