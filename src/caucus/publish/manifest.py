"""A release's manifest: the sha256, size and location of every file, in parts (docs/feed.md, "manifest.json").

The manifest of a release made since issue 15's chained manifests is two levels deep:

    manifest.json           {"election", "release", "createdAt", "ledgerHead", "partDigits": d,
                             "files": [the entries of the part files]}
    manifest/<k>.json       {"election", "part": k, "files": [the entries of the files of part k]}

Every file other than ``manifest.json`` and the parts belongs to exactly one part: ``k`` is the first ``d``
hex digits of the sha256 of its path (UTF-8). A part lists its files by path; a part with no file is not
written. ``manifest.json`` names each part's sha256, so its own sha256 (the release's content hash) still
commits to every byte of the release. A part is an ordinary file of the release: like any other, its bytes
stay in the directory of the release that wrote them while they do not change. So a release that changes a
hundred precincts writes the few parts those files fall in, and a ``manifest.json`` of one entry per part,
however many precincts the state has (``d`` grows with the plan: :func:`part_digits`).

A release made before parts (no ``partDigits``) lists every file in ``manifest.json`` itself: ``d`` = 0.

Each entry is ``{"path", "sha256", "bytes", "release"}``, ``release`` naming the release whose directory
holds the file's bytes (:func:`locate`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from caucus.publish.model import json_bytes

MANIFEST = "manifest.json"
PART_DIR = "manifest/"
_FILES = b'"\\u0000files\\u0000"'


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part_digits(units: int) -> int:
    """The hex digits of a plan's part keys: 16 parts below 256 units, 256 below 8,192, else 4,096 (about
    40 files a part at 175,000 precincts: a part is a few kilobytes, manifest.json half a megabyte)."""
    return 1 if units < 256 else 2 if units < 8192 else 3


def part_key(path: str, digits: int) -> str:
    """The part ``path`` belongs to: the first ``digits`` hex digits of the sha256 of the path."""
    return hashlib.sha256(path.encode()).hexdigest()[:digits]


def part_path(key: str) -> str:
    return f"{PART_DIR}{key}.json"


def is_part(path: str) -> bool:
    return path.startswith(PART_DIR)


# -- entries --------------------------------------------------------------------------------------------------

def render_entry(path: str, digest: str, size: int, home: int) -> bytes:
    """A file's entry as a manifest lists it: its path, sha256, size and ``release``, the release whose
    directory holds its bytes (the same text as ``json_bytes`` renders inside the list)."""
    return (b'  {\n   "path": ' + json.dumps(path, ensure_ascii=False).encode() + b',\n   "sha256": "'
            + digest.encode() + b'",\n   "bytes": ' + str(size).encode() + b',\n   "release": '
            + str(home).encode() + b"\n  }")


def manifest_entry(path: str, data: bytes, home: int) -> bytes:
    """:func:`render_entry` of ``data``, whose bytes live in release ``home``'s directory."""
    return render_entry(path, sha256(data), len(data), home)


def entry_fields(entry: bytes) -> tuple[str, int]:
    """(sha256, release holding the bytes) of a rendered entry."""
    at = entry.index(b'"sha256": "') + 11
    home = entry.rindex(b'"release": ') + 11
    return entry[at:at + 64].decode(), int(entry[home:entry.index(b"\n", home)])


def located(number: int, path: str, data: bytes, before: bytes | None) -> bytes:
    """The entry of ``path`` (bytes ``data``) in release ``number``: release n-1's entry ``before`` when the
    bytes are the same (they stay where they are), else one naming ``number``."""
    digest = sha256(data)
    if before is not None and entry_fields(before)[0] == digest:
        return before
    return render_entry(path, digest, len(data), number)


def locate(number: int, files: Mapping[str, bytes], previous: Mapping[str, bytes]) -> dict[str, bytes]:
    """The entries of ``files``, built for release ``number``: a file whose bytes are those of release
    ``number - 1``'s (``previous``: its entries; empty for the first release of an epoch) keeps that
    entry, so its bytes stay where they are; every other file's bytes are ``number``'s."""
    return {path: located(number, path, data, previous.get(path)) for path, data in files.items()}


class Entries(Mapping[str, bytes]):
    """Every file's rendered entry of one release, by path, grouped by part (one group when ``digits`` is
    0), with the entries of the part files themselves (``tops``). A copy shares the groups it does not
    change (copy on write), and records which groups it changed (``dirty``): a release renders only those."""

    def __init__(self, digits: int, groups: dict[str, dict[str, bytes]] | None = None,
                 tops: dict[str, bytes] | None = None) -> None:
        self.digits = digits
        self._groups: dict[str, dict[str, bytes]] = groups if groups is not None else {}
        self.tops: dict[str, bytes] = tops if tops is not None else {}
        self._owned: set[str] = set(self._groups)
        # every group, and every part release n-1 had (one with no file now is dropped when rendered)
        self.dirty: set[str] = set(self._groups) | {path[len(PART_DIR):-len(".json")] for path in self.tops}

    @classmethod
    def of(cls, digits: int, flat: Mapping[str, bytes], tops: Mapping[str, bytes] | None = None) -> Entries:
        """Entries grouped from a flat mapping (every group dirty); ``tops``: release n-1's part entries."""
        groups: dict[str, dict[str, bytes]] = {}
        for path, entry in flat.items():
            groups.setdefault(part_key(path, digits), {})[path] = entry
        return cls(digits, groups, dict(tops or {}))

    def copy(self) -> Entries:
        """A copy to change for the next release: nothing dirty, every group shared until changed."""
        other = Entries(self.digits, dict(self._groups), dict(self.tops))
        other._owned, other.dirty = set(), set()
        self._owned = set()  # shared now: this one copies a group before changing it, too
        return other

    def __getitem__(self, path: str) -> bytes:
        return self._groups[part_key(path, self.digits)][path]

    def get(self, path: str, default: Any = None) -> Any:
        group = self._groups.get(part_key(path, self.digits))
        return default if group is None else group.get(path, default)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    def __iter__(self) -> Iterator[str]:
        for group in self._groups.values():
            yield from group

    def __len__(self) -> int:
        return sum(len(group) for group in self._groups.values())

    def _writable(self, key: str) -> dict[str, bytes]:
        if key not in self._owned:
            self._groups[key] = dict(self._groups.get(key, {}))
            self._owned.add(key)
        return self._groups[key]

    def set(self, path: str, entry: bytes) -> None:
        key = part_key(path, self.digits)
        if self._groups.get(key, {}).get(path) != entry:
            self._writable(key)[path] = entry
            self.dirty.add(key)

    def update(self, entries: Mapping[str, bytes]) -> None:
        for path, entry in entries.items():
            self.set(path, entry)

    def pop(self, path: str) -> bytes | None:
        key = part_key(path, self.digits)
        if path not in self._groups.get(key, {}):
            return None
        self.dirty.add(key)
        return self._writable(key).pop(path)

    def group(self, key: str) -> Mapping[str, bytes]:
        return self._groups.get(key, {})

    # -- rendering ----------------------------------------------------------------------------------------

    def render(self, election: str, number: int, created_at: str, ledger_head: Mapping[str, Any] | None
               ) -> tuple[bytes, dict[str, bytes]]:
        """Release ``number``'s manifest.json and the parts it rendered (path → bytes): the dirty groups,
        each located against release n-1's part entries (``tops``, updated to release n's: a part whose bytes
        did not change keeps its entry, and stays where it is). ``digits`` 0: the flat manifest of releases
        made before parts, no part."""
        head = {"election": election, "release": number, "createdAt": created_at,
                **({"ledgerHead": dict(ledger_head)} if ledger_head is not None else {})}
        if self.digits == 0:
            return _with_files(head, self), {}
        written: dict[str, bytes] = {}
        for key in sorted(self.dirty):
            path = part_path(key)
            group = self._groups.get(key)
            if not group:
                self.tops.pop(path, None)
                self._groups.pop(key, None)
                continue
            written[path] = _with_files({"election": election, "part": key}, group)
            self.tops[path] = located(number, path, written[path], self.tops.get(path))
        self.dirty = set()
        return _with_files({**head, "partDigits": self.digits}, self.tops), written


def _with_files(head: Mapping[str, Any], entries: Mapping[str, bytes]) -> bytes:
    """``head`` then ``"files"``: the rendered entries by path (the same text as ``json_bytes`` of the whole)."""
    text = json_bytes({**head, "files": "\x00files\x00"})
    listed = b"[\n" + b",\n".join([entries[path] for path in sorted(entries)]) + b"\n ]" if entries else b"[]"
    return text.replace(_FILES, listed, 1)


def manifest_from_entries(election: str, number: int, created_at: str, entries: Mapping[str, bytes],
                          ledger_head: Mapping[str, Any] | None = None) -> bytes:
    """A flat manifest.json (every file listed in it: the format before parts) from rendered entries."""
    head = {"election": election, "release": number, "createdAt": created_at,
            **({"ledgerHead": dict(ledger_head)} if ledger_head is not None else {})}
    return _with_files(head, entries)


# -- reading --------------------------------------------------------------------------------------------------

def parse_entries(raw: bytes, number: int) -> dict[str, tuple[str, int]]:
    """A manifest's or a part's files: path → (sha256, release holding the bytes; ``number`` when the entry
    does not say, as in releases made before entries named it)."""
    return {str(f["path"]): (str(f["sha256"]), int(f.get("release", number))) for f in json.loads(raw)["files"]}


def rendered_entries(raw: bytes, number: int) -> dict[str, bytes]:
    """A manifest's or a part's files as :func:`render_entry` renders them."""
    return {str(f["path"]): render_entry(str(f["path"]), str(f["sha256"]), int(f["bytes"]),
                                         int(f.get("release", number))) for f in json.loads(raw)["files"]}


PartReader = Callable[[str, str, int], bytes]  # (part path, sha256, release holding it) -> its bytes


class Files(Mapping[str, tuple[str, int]]):
    """Every file of a release: path → (sha256, release holding its bytes), manifest.json and the parts
    included; a lookup reads only the part the path belongs to."""

    def __init__(self, top: dict[str, tuple[str, int]], digits: int,
                 parts: Mapping[str, Mapping[str, tuple[str, int]]]) -> None:
        self.top = top
        self.digits = digits
        self.parts = parts  # part path -> its files

    def __getitem__(self, path: str) -> tuple[str, int]:
        found = self.top.get(path)
        if found is not None:
            return found
        if self.digits:
            part = self.parts.get(part_path(part_key(path, self.digits)))
            if part is not None and path in part:
                return part[path]
        raise KeyError(path)

    def __contains__(self, path: object) -> bool:
        try:
            self[path]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        yield from self.top
        for part in self.parts.values():
            yield from part

    def __len__(self) -> int:
        return len(self.top) + sum(len(part) for part in self.parts.values())

    def changed_since(self, before: Files) -> tuple[list[tuple[str, int]], list[str]]:
        """The files whose bytes differ from ``before``'s (path, release holding them) and the files
        ``before`` has that this has not. A part whose sha256 did not change is not looked into."""
        if before.digits != self.digits:  # a change of format (the first release with parts): every file
            return ([(path, home) for path, (digest, home) in self.items()
                     if (was := before.get(path)) is None or was[0] != digest],
                    [path for path in before if path not in self])
        changed = [(path, home) for path, (digest, home) in self.top.items()
                   if (was := before.top.get(path)) is None or was[0] != digest]
        removed = [path for path in before.top if path not in self.top]
        same = {path for path, (digest, _) in self.top.items()
                if is_part(path) and (was := before.top.get(path)) is not None and was[0] == digest}
        for path, part in self.parts.items():
            if path not in same:
                old = before.parts.get(path, {})
                changed.extend((file, home) for file, (digest, home) in part.items()
                               if (was := old.get(file)) is None or was[0] != digest)
        for path, part in before.parts.items():
            if path not in same:
                new = self.parts.get(path, {})
                removed.extend(file for file in part if file not in new)
        return changed, removed


@dataclass(frozen=True)
class FileIndex:
    """A release's files as its manifest lists them (:class:`Files`), manifest.json itself included (its own
    sha256, in the release's directory)."""

    number: int
    created_at: str
    manifest_sha256: str
    files: Files


def parse_index(raw: bytes, read_part: PartReader | None = None,
                known: Mapping[str, Mapping[str, tuple[str, int]]] | None = None) -> FileIndex:
    """A release's :class:`FileIndex` from its manifest.json ``raw``; its parts read by ``read_part``, or
    taken from ``known`` (sha256 → parsed part: the parts of releases read before, which most of a release's
    parts are)."""
    manifest = json.loads(raw)
    number = int(manifest["release"])
    digest = sha256(raw)
    top = {str(f["path"]): (str(f["sha256"]), int(f.get("release", number))) for f in manifest["files"]}
    digits = int(manifest.get("partDigits", 0))
    parts: dict[str, Mapping[str, tuple[str, int]]] = {}
    if digits:
        for path, (sha, home) in top.items():
            cached = known.get(sha) if known is not None else None
            if cached is None:
                if read_part is None:
                    raise ValueError(f"release {number}: part {path} is needed to read the manifest")
                data = read_part(path, sha, home)
                if sha256(data) != sha:
                    raise ValueError(f"release {number}: {path} has sha256 {sha256(data)}, the manifest says {sha}")
                cached = parse_entries(data, number)
            parts[path] = cached
    top[MANIFEST] = (digest, number)
    return FileIndex(number, str(manifest["createdAt"]), digest, Files(top, digits, parts))
