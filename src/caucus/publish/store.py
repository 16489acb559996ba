"""Snapshot files on disk: immutable release directories and the atomically moved ``latest`` pointer.

Layout of a snapshot directory (one per election)::

    releases/<n>/...        every file of release n (see caucus.publish.documents), manifest.json last
    latest -> releases/<n>  a symbolic link, replaced atomically (a temporary link, then os.replace)
    latest.json             {"release": n, "lastUpdated", "manifestSha256", "manifest"}, replaced atomically
    epoch.json              {"firstRelease": f, "mode": "test"|"live", "epoch": k}: after a go-live or a
                            rehearsal reset, releases before f are the rehearsal's
    archive/releases/<n>/   a release before f (moved out of releases/: never served, kept)

A release directory is staged under ``.staging/`` and renamed into place, so readers never see half a
release.

File modes: what is published is public, so a release's files are 0644 and its directories 0755, and so are
``latest.json``, ``epoch.json`` and the directories the store creates (the snapshot directory and any missing
parent), whatever the process's umask (the CLI sets 0077): a web server running as another user (nginx as
``www-data``) reads them. ``.staging/`` (a release being written) is 0700 until the finished release is
renamed into place; the archive (rehearsal releases, never served) and the lock file keep the umask's modes.

A file identical to the previous release's (same path, same sha256) is hard-linked to it rather
than copied. The pointer only ever moves forward: workers serialize on a lock file (``.latest.lock``,
fcntl) and a stale writer does not move it back, nor to a release before the current epoch's first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caucus.publish.model import json_bytes

MANIFEST = "manifest.json"
LATEST = "latest"
LATEST_JSON = "latest.json"
EPOCH_JSON = "epoch.json"
ARCHIVE = "archive"
PUBLIC_FILE = 0o644
PUBLIC_DIR = 0o755
PRIVATE_DIR = 0o700
_CREATED = re.compile(rb'\n "createdAt": "([0-9TZ:-]+)",\n')


def make_public_dir(path: Path) -> None:
    """Create ``path`` and its missing parents 0755 whatever the umask (existing ones are left as they are)."""
    if path.is_dir():
        return
    make_public_dir(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return
    os.chmod(path, PUBLIC_DIR)


def _publish_tree(root: Path, directories: Iterable[str], written: Iterable[Path]) -> None:
    """Make a staged release readable by everyone before it is renamed into place: its directories (``root``
    and each of ``directories`` under it, with their parents) and the files ``written`` (hard-linked files
    are already public)."""
    done: set[str] = set()
    for made in directories:
        directory = made
        while directory and directory not in done:
            done.add(directory)
            os.chmod(root / directory, PUBLIC_DIR)
            directory = os.path.dirname(directory)
    os.chmod(root, PUBLIC_DIR)
    for path in written:
        os.chmod(path, PUBLIC_FILE)


def _created_at(manifest: bytes) -> str:
    """A manifest's createdAt, read from its head (the file list after it can be tens of megabytes)."""
    found = _CREATED.search(manifest, 0, 4096)
    return found.group(1).decode() if found is not None else str(json.loads(manifest)["createdAt"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_of(election: str, number: int, created_at: str, files: Mapping[str, bytes],
                ledger_head: Mapping[str, Any] | None = None) -> bytes:
    """manifest.json: the ledger head the release was built from (``{"seq", "hash"}``, when given) and the
    sha256 and size of every file of the release, by path."""
    return manifest_from_entries(election, number, created_at,
                                 {path: manifest_entry(path, data) for path, data in files.items()}, ledger_head)


def manifest_entry(path: str, data: bytes) -> bytes:
    """A file's entry in manifest.json, as :func:`manifest_from_entries` joins them (kept between releases for
    the files that did not change)."""
    return (b'  {\n   "path": ' + json.dumps(path, ensure_ascii=False).encode() + b',\n   "sha256": "'
            + sha256(data).encode() + b'",\n   "bytes": ' + str(len(data)).encode() + b"\n  }")


def manifest_from_entries(election: str, number: int, created_at: str, entries: Mapping[str, bytes],
                          ledger_head: Mapping[str, Any] | None = None) -> bytes:
    """manifest.json from each file's :func:`manifest_entry` (the same text as ``json_bytes`` of the whole)."""
    text = json_bytes({
        "election": election,
        "release": number,
        "createdAt": created_at,
        **({"ledgerHead": dict(ledger_head)} if ledger_head is not None else {}),
        "files": "\x00files\x00",
    })
    listed = b"[\n" + b",\n".join([entry for _, entry in sorted(entries.items())]) + b"\n ]" if entries else b"[]"
    return text.replace(b'"\\u0000files\\u0000"', listed, 1)


@dataclass(frozen=True)
class Snapshot:
    """One release's files (``files``, without the manifest) and its manifest, in memory; ``carried``: the
    paths of files identical to release ``base``'s, hard-linked from it (not held in memory)."""

    number: int
    files: Mapping[str, bytes]
    manifest: bytes
    carried: frozenset[str] = frozenset()
    base: int | None = None

    @property
    def content_hash(self) -> str:
        """The release's content hash: the sha256 of its manifest.json."""
        return sha256(self.manifest)


class SnapshotStore:
    """The snapshot directory of one election."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    def release_dir(self, number: int) -> Path:
        return self.releases / str(number)

    def archived_dir(self, number: int) -> Path:
        return self.root / ARCHIVE / "releases" / str(number)

    def epoch(self) -> dict[str, Any]:
        """epoch.json (``{}`` before any go-live or rehearsal reset)."""
        try:
            return dict(json.loads((self.root / EPOCH_JSON).read_bytes()))
        except FileNotFoundError:
            return {}

    def first_release(self) -> int:
        """The first release of the current epoch (1 before any go-live or reset)."""
        return int(self.epoch().get("firstRelease", 1))

    def start_epoch(self, first_release: int, *, mode: str, epoch: int) -> None:
        """Archive every release before ``first_release`` (moved under ``archive/``, never served) and remove
        the ``latest`` pointer if it names one: the public side has nothing to show until the epoch's first
        release. Idempotent (a repair after a crash runs it again)."""
        with self._pointer_lock():
            text = json_bytes({"firstRelease": first_release, "mode": mode, "epoch": epoch})
            temporary = self.root / f".epoch-{uuid.uuid4().hex}.json"
            temporary.write_bytes(text)
            os.chmod(temporary, PUBLIC_FILE)
            os.replace(temporary, self.root / EPOCH_JSON)
            current = self.latest()
            if current is not None and current < first_release:
                (self.root / LATEST).unlink(missing_ok=True)
                (self.root / LATEST_JSON).unlink(missing_ok=True)
            if self.releases.is_dir():
                for child in sorted(self.releases.iterdir()):
                    if child.name.isdigit() and int(child.name) < first_release:
                        target = self.archived_dir(int(child.name))
                        target.parent.mkdir(parents=True, exist_ok=True)
                        if target.exists():
                            shutil.rmtree(child)
                        else:
                            os.rename(child, target)

    def has(self, number: int) -> bool:
        return (self.release_dir(number) / MANIFEST).is_file()

    def latest(self) -> int | None:
        """The number of the release the ``latest`` pointer names (None before the first release)."""
        try:
            target = os.readlink(self.root / LATEST)
        except (FileNotFoundError, OSError):
            return None
        name = Path(target).name
        return int(name) if name.isdigit() else None

    def manifest(self, number: int) -> dict[str, Any]:
        return dict(json.loads((self.release_dir(number) / MANIFEST).read_bytes()))

    def write(self, snapshot: Snapshot) -> Path:
        """Write a release's directory (a no-op if it is already there with the same manifest). A release
        before the current epoch's first (committed just before a go-live) goes straight to the archive."""
        if snapshot.number < self.first_release():
            return self._write_archived(snapshot)
        target = self.release_dir(snapshot.number)
        if self.has(snapshot.number):
            existing = (target / MANIFEST).read_bytes()
            if existing != snapshot.manifest:
                raise FileExistsError(f"{target} already holds a different release {snapshot.number}")
            return target
        previous = {} if snapshot.base is not None else self._previous_hashes(snapshot.number)
        staging = self._staging() / f"{snapshot.number}-{uuid.uuid4().hex}"
        made: set[str] = set()
        written: list[Path] = []
        into = f"{staging}/"

        def place(path: str) -> str:  # plain strings: tens of thousands of files per release
            parent = path.rpartition("/")[0]
            if parent not in made:
                os.makedirs(into + parent, exist_ok=True)
                made.add(parent)
            return into + path

        try:
            if snapshot.carried:
                base = f"{self.release_dir(int(snapshot.base or 0))}/"
                for path in snapshot.carried:
                    linked = place(path)
                    try:
                        os.link(base + path, linked)
                    except FileNotFoundError:
                        raise
                    except OSError:  # another file system, no hard links or too many: copy instead
                        shutil.copyfile(base + path, linked)
                        written.append(Path(linked))
            for path, data in snapshot.files.items():
                out = Path(place(path))
                before = previous.get(path)
                if before is not None and before[1] == sha256(data):
                    try:
                        os.link(before[0], out)
                        continue
                    except OSError:
                        pass  # another file system or no hard links: copy instead
                out.write_bytes(data)
                written.append(out)
            (staging / MANIFEST).write_bytes(snapshot.manifest)
            written.append(staging / MANIFEST)
            _publish_tree(staging, made, written)
            make_public_dir(self.releases)
            try:
                os.rename(staging, target)
            except OSError:
                if not self.has(snapshot.number):
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _write_archived(self, snapshot: Snapshot) -> Path:
        target = self.archived_dir(snapshot.number)
        if (target / MANIFEST).is_file():
            return target
        staging = self._staging() / f"{snapshot.number}-{uuid.uuid4().hex}"
        try:
            for path, data in {**snapshot.files, MANIFEST: snapshot.manifest}.items():
                out = staging / path
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, target)
            except OSError:
                if not (target / MANIFEST).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _staging(self) -> Path:
        """``.staging/``: private (0700) while releases are written in it."""
        make_public_dir(self.root)
        staging = self.root / ".staging"
        try:
            staging.mkdir()
        except FileExistsError:
            return staging
        os.chmod(staging, PRIVATE_DIR)
        return staging

    def _previous_hashes(self, number: int) -> dict[str, tuple[Path, str]]:
        for earlier in range(number - 1, max(0, number - 4), -1):
            if self.has(earlier):
                base = self.release_dir(earlier)
                files = self.manifest(earlier)["files"]
                return {f["path"]: (base / f["path"], f["sha256"]) for f in files}
        return {}

    @contextmanager
    def _pointer_lock(self) -> Iterator[None]:
        make_public_dir(self.root)
        with open(self.root / ".latest.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def point_latest(self, number: int) -> bool:
        """Move ``latest`` to release ``number`` if that is newer than where it points; True if moved."""
        if number < self.first_release():
            return False  # a rehearsal's release, archived at go-live
        if not self.has(number):
            raise FileNotFoundError(f"release {number} is not written under {self.releases}")
        with self._pointer_lock():
            current = self.latest()
            if (current is not None and current >= number) or number < self.first_release():
                return False
            temporary = self.root / f".latest-{uuid.uuid4().hex}"
            os.symlink(f"releases/{number}", temporary)
            os.replace(temporary, self.root / LATEST)
            # latest.json beside it, for web servers serving the directory directly (same lock, same order)
            manifest = (self.release_dir(number) / MANIFEST).read_bytes()
            created = _created_at(manifest)
            text = json_bytes({"release": number, "lastUpdated": created, "manifestSha256": sha256(manifest),
                               "manifest": f"/feed/v1/releases/{number}/manifest.json"})
            temporary = self.root / f".latest-{uuid.uuid4().hex}.json"
            temporary.write_bytes(text)
            os.chmod(temporary, PUBLIC_FILE)
            os.replace(temporary, self.root / LATEST_JSON)
            return True

    def read(self, number: int, path: str) -> bytes:
        """A file of release ``number`` (``path`` relative to the release directory, no ``..``)."""
        parts = Path(path).parts
        if not parts or any(part in ("..", "") or part.startswith(".") for part in parts) or Path(path).is_absolute():
            raise FileNotFoundError(path)
        return (self.release_dir(number) / path).read_bytes()
