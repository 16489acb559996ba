"""The ledger heads published by releases, read from their manifests (a directory or a URL).

``read_heads(source, get)`` accepts:

- a release directory (``.../releases/<n>``, holding ``manifest.json``): that release;
- an election's snapshot directory (``releases/<n>/``, ``archive/releases/<n>/``): every release in it,
  the rehearsal's archived ones too (the chain spans epochs);
- a snapshot root holding several elections' snapshot directories: every release of each;
- ``http(s)://host``: the latest release published there (``/feed/v1/latest.json``);
- ``http(s)://host/feed/v1/releases/<n>`` (or its ``manifest.json``): release ``n``.

A release made before heads were published has none: it is skipped with a note. A source with no head at
all, or a manifest that cannot be read, raises :class:`caucus.publish.verify.Unreadable`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from caucus.publish.verify import Unreadable

Get = Callable[[str], bytes]


@dataclass(frozen=True)
class PublishedHead:
    """The ledger head one release published, and where it was read."""

    source: str
    election: str
    release: int
    seq: int
    hash: str
    #: the release's createdAt: every entry after the head was received at or after it
    created_at: datetime
    manifest_sha256: str

    @property
    def name(self) -> str:
        return f"release {self.release} of {self.election} ({self.source})"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_RELEASE_URL = re.compile(r"^(?P<base>.+)/feed/v1/releases/(?P<n>\d+)(/manifest\.json)?/?$")


def head_of(raw: bytes, source: str) -> PublishedHead | None:
    """The head published in manifest.json ``raw`` (None if the release publishes none)."""
    try:
        manifest: Any = json.loads(raw)
        election, number = str(manifest["election"]), int(manifest["release"])
        created = datetime.strptime(manifest["createdAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"{source}: not a release manifest ({exc})") from exc
    head = manifest.get("ledgerHead")
    if head is None:
        return None
    seq, digest = head.get("seq") if isinstance(head, dict) else None, head.get("hash") if isinstance(head, dict) \
        else None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or not isinstance(digest, str) \
            or not _HEX64.fullmatch(digest):
        raise Unreadable(f"{source}: ledgerHead must be {{\"seq\": an integer >= 0, \"hash\": 64 lowercase hex "
                         f"digits}}, got {json.dumps(head)}")
    return PublishedHead(source=source, election=election, release=number, seq=seq, hash=digest,
                         created_at=created, manifest_sha256=hashlib.sha256(raw).hexdigest())


def _release_dirs(root: Path) -> list[Path]:
    if (root / "manifest.json").is_file():
        return [root]
    found: list[Path] = []
    for releases in (root / "releases", root / "archive" / "releases"):
        if releases.is_dir():
            found += [d for d in releases.iterdir() if d.name.isdigit() and (d / "manifest.json").is_file()]
    if not found and root.is_dir():  # a snapshot root: one directory per election
        for child in sorted(root.iterdir()):
            if child.is_dir() and (child / "releases").is_dir():
                found += _release_dirs(child)
    return sorted(found, key=lambda d: (str(d.parent), int(d.name)))


def read_heads(source: str, get: Get) -> tuple[list[PublishedHead], list[str]]:
    """(the heads published at ``source``, notes on releases that publish none); see the module docstring."""
    raws: list[tuple[str, bytes]] = []
    if source.startswith(("http://", "https://")):
        match = _RELEASE_URL.match(source)
        try:
            if match is not None:
                url = f"{match['base']}/feed/v1/releases/{match['n']}/manifest.json"
            else:
                latest = json.loads(get(f"{source.rstrip('/')}/feed/v1/latest.json"))
                url = f"{source.rstrip('/')}/feed/v1/releases/{int(latest['release'])}/manifest.json"
            raws.append((url, get(url)))
        except Unreadable:
            raise
        except Exception as exc:
            raise Unreadable(f"{source}: {exc}") from exc
    else:
        root = Path(source)
        if not root.is_dir():
            raise Unreadable(f"{source}: no such directory")
        for directory in _release_dirs(root):
            try:
                raws.append((str(directory), (directory / "manifest.json").read_bytes()))
            except OSError as exc:
                raise Unreadable(f"{directory}/manifest.json: {exc}") from exc
        if not raws:
            raise Unreadable(f"{source}: no release here (give a release directory, a snapshot directory or a "
                             "site's URL)")
    heads: list[PublishedHead] = []
    notes: list[str] = []
    for where, raw in raws:
        head = head_of(raw, where)
        if head is None:
            notes.append(f"{where}: this release publishes no ledger head (made before heads were published)")
        else:
            heads.append(head)
    if not heads:
        raise Unreadable(f"{source}: no release there publishes a ledger head (releases made before heads were "
                         "published have none: nothing to check the ledger against)")
    return heads, notes
