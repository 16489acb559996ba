"""Snapshot files on disk: sparse release directories, two full trees for the latest release, and the
atomically moved ``latest`` pointer.

Layout of a snapshot directory (one per election)::

    releases/<n>/manifest.json  every file of release n: path, sha256, bytes and ``release``, the release
                                whose directory holds its bytes (n, or an earlier release of the epoch)
    releases/<n>/...            only the files whose bytes release n changed (new, or different from
                                release n-1's), so a release's disk cost grows with the change, not the state
    live/<n>/                   every file of release n (hard links to the release directories holding them):
                                the latest release's tree, and a spare one (the release before it)
    latest -> live/<n>          a symbolic link, replaced atomically (a temporary link, then os.replace)
    latest.json                 {"release": n, "lastUpdated", "manifestSha256", "manifest"}, replaced atomically
    epoch.json                  {"firstRelease": f, "mode": "test"|"live", "epoch": k}: after a go-live or a
                                rehearsal reset, releases before f are the rehearsal's
    archive/releases/<n>/       a release before f (moved out of releases/: never served, kept)

Where a file's bytes live is decided when the manifest is built (:func:`locate`): the entry of release n-1
(same epoch) is kept when the bytes are the same, else the file is n's. It is a function of release n-1's
manifest and release n's files, so a release rebuilt from the database gives the same manifest.

A release directory is staged under ``.staging/`` and renamed into place, so readers never see half a
release. The latest tree is brought up to date without copying the state: the spare tree (release k, two
releases back) gets, for each file whose sha256 differs between k and n, a hard link to its bytes under a
temporary name, then ``os.replace`` onto its path (a download in progress keeps the old inode), and the
files n no longer has are unlinked; the tree is renamed ``live/<n>`` and ``latest`` flipped to it. While it
is changed it is named ``live/.build`` (a tree left so by a crash is removed and built afresh).

File modes: what is published is public, so a release's files are 0644 and its directories 0755, and so are
``latest.json``, ``epoch.json`` and the directories the store creates (the snapshot directory and any missing
parent), whatever the process's umask (the CLI sets 0077): a web server running as another user (nginx as
``www-data``) reads them. ``.staging/`` (a release being written) is 0700 until the finished release is
renamed into place; the archive (rehearsal releases, never served) and the lock file keep the umask's modes.

The pointer only ever moves forward: workers serialize on a lock file (``.latest.lock``, fcntl) and a stale
writer does not move it back, nor to a release before the current epoch's first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caucus.publish.manifest import (
    MANIFEST,
    FileIndex,
    locate,
    manifest_from_entries,
    parse_index,
    rendered_entries,
    sha256,
)
from caucus.publish.model import json_bytes

__all__ = ["MANIFEST", "FileIndex", "MissingRelease", "Snapshot", "SnapshotStore", "entries_of", "manifest_of",
           "unlocated"]
LATEST = "latest"
LATEST_JSON = "latest.json"
EPOCH_JSON = "epoch.json"
ARCHIVE = "archive"
LIVE = "live"
BUILDING = ".build"
INCOMING = ".incoming"
PUBLIC_FILE = 0o644
PUBLIC_DIR = 0o755
PRIVATE_DIR = 0o700
CACHED_INDEXES = 3
_CREATED = re.compile(rb'\n "createdAt": "([0-9TZ:-]+)",\n')
_HOME = re.compile(rb',\n   "release": [0-9]+\n  }')


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


def _public_dirs(root: str, directory: str, done: set[str]) -> None:
    """Create ``root``/``directory`` and its missing parents under ``root``, each 0755 whatever the umask."""
    if not directory or directory in done:
        return
    _public_dirs(root, directory.rpartition("/")[0], done)
    done.add(directory)
    try:
        os.mkdir(f"{root}/{directory}")
    except FileExistsError:
        return
    os.chmod(f"{root}/{directory}", PUBLIC_DIR)


def _publish_tree(root: Path, directories: Iterable[str], written: Iterable[Path]) -> None:
    """Make a staged release readable by everyone before it is renamed into place: its directories (``root``
    and each of ``directories`` under it, with their parents) and the files ``written``."""
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


def entries_of(manifest: bytes) -> dict[str, bytes]:
    """A flat (pre-parts) manifest's entries, rendered (an entry made before entries named where their
    bytes live is the release's own)."""
    return rendered_entries(manifest, int(json.loads(manifest)["release"]))


def unlocated(manifest: bytes) -> bytes:
    """The same manifest without the entries' ``release`` (the format of releases made before it: every
    file in the release's own directory); a rebuild of such a release gives these bytes."""
    return _HOME.sub(b"\n  }", manifest)


def manifest_of(election: str, number: int, created_at: str, files: Mapping[str, bytes],
                ledger_head: Mapping[str, Any] | None = None, *, previous: Mapping[str, bytes] | None = None
                ) -> bytes:
    """A flat manifest.json (the format before parts): the ledger head the release was built from (``{"seq",
    "hash"}``, when given) and the sha256, size and location of every file of the release, by path
    (``previous``: release n-1's entries, see :func:`locate`)."""
    return manifest_from_entries(election, number, created_at, locate(number, files, previous or {}),
                                 ledger_head)


@dataclass(frozen=True)
class Snapshot:
    """One release: its manifest and the bytes of (at least) the files whose manifest entries place them in
    this release's directory; the other files' bytes are in the earlier releases' directories the entries
    name."""

    number: int
    files: Mapping[str, bytes]
    manifest: bytes

    @property
    def content_hash(self) -> str:
        """The release's content hash: the sha256 of its manifest.json."""
        return sha256(self.manifest)


class MissingRelease(FileNotFoundError):
    """A release takes a file from release ``number``'s directory, which does not hold it."""

    def __init__(self, number: int, path: str) -> None:
        super().__init__(f"release {number}'s directory has no {path}: write release {number} first")
        self.number = number
        self.path = path


@dataclass
class Counts:
    """What the store did on disk (for the benchmarks): files written into release directories, and for
    the latest tree, hard links made, renames onto a path and files unlinked."""

    written: int = 0
    linked: int = 0
    renamed: int = 0
    unlinked: int = 0
    trees_built: int = 0


class SnapshotStore:
    """The snapshot directory of one election."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.counts = Counts()
        self._indexes: OrderedDict[int, FileIndex] = OrderedDict()
        self._parts: dict[str, Mapping[str, tuple[str, int]]] = {}  # sha256 -> a part the cached indexes hold
        self._cache_lock = threading.Lock()

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def live(self) -> Path:
        return self.root / LIVE

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
        release. Idempotent (a repair after a crash runs it again). The latest trees stay (unserved): the
        epoch's first release brings one of them up to date by content, like any release."""
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
        """The number of the release the ``latest`` pointer names (None before the first release): the tree
        ``live/<n>`` is named by the release it holds, so one readlink tells (and a snapshot directory
        written before the trees, ``latest -> releases/<n>``, reads the same)."""
        try:
            target = os.readlink(self.root / LATEST)
        except (FileNotFoundError, OSError):
            return None
        name = Path(target).name
        return int(name) if name.isdigit() else None

    def manifest(self, number: int) -> dict[str, Any]:
        return dict(json.loads((self.release_dir(number) / MANIFEST).read_bytes()))

    def index(self, number: int) -> FileIndex:
        """Release ``number``'s :class:`FileIndex` (the last few are kept, and the parts they read: a release
        shares most of its parts with the one before). FileNotFoundError if the release is not written."""
        with self._cache_lock:
            cached = self._indexes.get(number)
            if cached is not None:
                self._indexes.move_to_end(number)
                return cached
        return self._remember(self._parse((self.release_dir(number) / MANIFEST).read_bytes()))

    def _parse(self, raw: bytes, given: Mapping[str, bytes] | None = None) -> FileIndex:
        """A manifest's index, its parts from ``given`` (a release being written), the parts already read,
        or the release directories holding them."""
        def read_part(path: str, digest: str, home: int) -> bytes:
            data = given.get(path) if given is not None else None
            if data is not None:
                return data
            try:
                return self.located(home, path).read_bytes()
            except FileNotFoundError:
                raise MissingRelease(home, path) from None

        with self._cache_lock:
            known = dict(self._parts)
        return parse_index(raw, read_part, known)

    def _remember(self, index: FileIndex) -> FileIndex:
        with self._cache_lock:
            self._indexes[index.number] = index
            self._indexes.move_to_end(index.number)
            while len(self._indexes) > CACHED_INDEXES:
                self._indexes.popitem(last=False)
            self._parts = {cached.files.top[path][0]: part for cached in self._indexes.values()
                           for path, part in cached.files.parts.items()}
        return index

    def located(self, home: int, path: str) -> Path:
        """Where the bytes of ``path`` are when its manifest entry names release ``home``."""
        return self.release_dir(home) / path

    def write(self, snapshot: Snapshot) -> Path:
        """Write a release's directory: its manifest and the files its manifest places in it (a no-op if it
        is already there with the same manifest). A release before the current epoch's first (committed just
        before a go-live) goes straight to the archive."""
        if snapshot.number < self.first_release():
            return self._write_archived(snapshot)
        target = self.release_dir(snapshot.number)
        if self.has(snapshot.number):
            existing = (target / MANIFEST).read_bytes()
            if existing != snapshot.manifest:
                raise FileExistsError(f"{target} already holds a different release {snapshot.number}")
            return target
        index = self._parse(snapshot.manifest, snapshot.files)
        own = self._own(snapshot, index)
        staging = self._staging() / f"{snapshot.number}-{uuid.uuid4().hex}"
        made: set[str] = set()
        written: list[Path] = []
        into = f"{staging}/"
        try:
            for path, data in own.items():
                parent = path.rpartition("/")[0]
                if parent not in made:
                    os.makedirs(into + parent, exist_ok=True)
                    made.add(parent)
                out = Path(into + path)
                out.write_bytes(data)
                written.append(out)
            self.counts.written += len(written)
            _publish_tree(staging, made, written)
            make_public_dir(self.releases)
            try:
                os.rename(staging, target)
            except OSError:
                if not self.has(snapshot.number):
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._remember(index)
        return target

    @staticmethod
    def _own(snapshot: Snapshot, index: FileIndex) -> dict[str, bytes]:
        """The files release ``snapshot.number``'s directory holds (manifest.json last): in a manifest with
        parts, only a part this release wrote can list a file it holds."""
        own: dict[str, bytes] = {}
        files = index.files
        listed: list[tuple[str, tuple[str, int]]] = list(files.top.items())
        for path, part in files.parts.items():
            if files.top[path][1] == snapshot.number:
                listed.extend(part.items())
        for path, (_, home) in listed:
            if home == snapshot.number and path != MANIFEST:
                data = snapshot.files.get(path)
                if data is None:
                    raise ValueError(f"release {snapshot.number}: the manifest places {path} in this release, "
                                     "but its bytes were not given")
                own[path] = data
            elif home > snapshot.number:
                raise ValueError(f"release {snapshot.number}: the manifest places {path} in a later release "
                                 f"({home})")
        own[MANIFEST] = snapshot.manifest
        return own

    def _write_archived(self, snapshot: Snapshot) -> Path:
        target = self.archived_dir(snapshot.number)
        if (target / MANIFEST).is_file():
            return target
        staging = self._staging() / f"{snapshot.number}-{uuid.uuid4().hex}"
        try:
            for path, data in self._own(snapshot, self._parse(snapshot.manifest, snapshot.files)).items():
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
        """Move ``latest`` to release ``number`` if that is newer than where it points; True if moved. The
        spare tree is brought to release ``number`` first (MissingRelease if a release it takes files from
        has no directory: the tree is left as it was)."""
        if number < self.first_release():
            return False  # a rehearsal's release, archived at go-live
        if not self.has(number):
            raise FileNotFoundError(f"release {number} is not written under {self.releases}")
        with self._pointer_lock():
            current = self.latest()
            if (current is not None and current >= number) or number < self.first_release():
                return False
            index = self.index(number)
            self._bring_tree(index)
            temporary = self.root / f".latest-{uuid.uuid4().hex}"
            os.symlink(f"{LIVE}/{number}", temporary)
            os.replace(temporary, self.root / LATEST)
            # latest.json beside it, for web servers serving the directory directly (same lock, same order)
            text = json_bytes({"release": number, "lastUpdated": index.created_at,
                               "manifestSha256": index.manifest_sha256,
                               "manifest": f"/feed/v1/releases/{number}/manifest.json"})
            temporary = self.root / f".latest-{uuid.uuid4().hex}.json"
            temporary.write_bytes(text)
            os.chmod(temporary, PUBLIC_FILE)
            os.replace(temporary, self.root / LATEST_JSON)
            return True

    # -- the latest trees (under the pointer lock) ----------------------------------------------------------

    def _bring_tree(self, index: FileIndex) -> Path:
        """``live/<n>``, every file of release n: the spare tree brought up to date, or a new one."""
        make_public_dir(self.live)
        building = self.live / BUILDING
        if building.exists():  # a crash while a tree was changed: its state is unknown
            shutil.rmtree(building)
        done = self.live / str(index.number)
        if (done / MANIFEST).is_file():
            return done  # built, and the pointer not yet flipped (a crash in between)
        if done.exists():
            shutil.rmtree(done)
        active = self._active_tree()
        spares = sorted((int(c.name) for c in self.live.iterdir() if c.name.isdigit() and c.name != active),
                        reverse=True)
        for spare in spares:
            tree = self.live / str(spare)
            try:
                before = self._tree_index(tree, spare)
            except (FileNotFoundError, ValueError):
                shutil.rmtree(tree)
                continue
            self._update_tree(tree, before, index)
            return done
        self._new_tree(index)
        return done

    def _active_tree(self) -> str | None:
        try:
            target = os.readlink(self.root / LATEST)
        except (FileNotFoundError, OSError):
            return None
        parent, _, name = target.rstrip("/").rpartition("/")
        return name if parent == LIVE else None

    def _tree_index(self, tree: Path, number: int) -> FileIndex:
        if self.has(number):
            return self.index(number)
        # an archived (rehearsal) release's tree: its parts are in the tree itself
        return parse_index((tree / MANIFEST).read_bytes(), lambda path, digest, home: (tree / path).read_bytes())

    def _source(self, path: str, home: int) -> str:
        return f"{self.releases}/{home}/{path}"

    def _link(self, path: str, home: int, to: str) -> None:
        source = self._source(path, home)
        try:
            os.link(source, to)
            return
        except FileNotFoundError:
            raise MissingRelease(home, path) from None
        except OSError:  # another file system, no hard links or too many: copy instead
            pass
        try:
            shutil.copyfile(source, to)
        except FileNotFoundError:
            raise MissingRelease(home, path) from None
        os.chmod(to, PUBLIC_FILE)

    def _new_tree(self, index: FileIndex) -> None:
        building = self.live / BUILDING
        building.mkdir()
        os.chmod(building, PUBLIC_DIR)
        root = str(building)
        made: set[str] = set()
        try:
            for path, (_, home) in index.files.items():
                _public_dirs(root, path.rpartition("/")[0], made)
                self._link(path, home, f"{root}/{path}")
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        self.counts.linked += len(index.files)
        self.counts.trees_built += 1
        os.rename(building, self.live / str(index.number))

    def _update_tree(self, tree: Path, before: FileIndex, after: FileIndex) -> None:
        changed, removed = after.files.changed_since(before.files)
        incoming = tree / INCOMING
        if incoming.exists():
            shutil.rmtree(incoming)
        incoming.mkdir()
        staged = str(incoming)
        try:  # every new file linked under a temporary name first: a missing source leaves the tree as it was
            for i, (path, home) in enumerate(changed):
                self._link(path, home, f"{staged}/{i}")
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        building = self.live / BUILDING
        os.rename(tree, building)
        root = str(building)
        made: set[str] = set()
        for i, (path, _) in enumerate(changed):
            _public_dirs(root, path.rpartition("/")[0], made)
            os.replace(f"{root}/{INCOMING}/{i}", f"{root}/{path}")
        for path in removed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{root}/{path}")
        os.rmdir(f"{root}/{INCOMING}")
        self.counts.linked += len(changed)
        self.counts.renamed += len(changed)
        self.counts.unlinked += len(removed)
        os.rename(building, self.live / str(after.number))

    def read(self, number: int, path: str) -> bytes:
        """A file of release ``number`` (``path`` as listed in its manifest), from the release directory its
        manifest entry names."""
        parts = Path(path).parts
        if not parts or any(part in ("..", "") or part.startswith(".") for part in parts) or Path(path).is_absolute():
            raise FileNotFoundError(path)
        entry = self.index(number).files.get(path)
        if entry is None:
            raise FileNotFoundError(f"release {number} has no file {path}")
        return self.located(entry[1], path).read_bytes()
