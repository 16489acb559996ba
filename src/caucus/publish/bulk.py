"""The bulk interval: when a release builds the whole-state files that hold every precinct
(:data:`caucus.publish.documents.BULK_FILES`: the NIST export and the all-precinct JSON and CSV, ~70 % of a
release's bytes at any size) and when it carries release m's unchanged.

Pure: the decision is a function of release n-1's manifest entries (which release holds the bulk files'
bytes: the holder, m), the holder's stored time and standing, and release n's time and standing. So a
release rebuilt from the database, or made by another worker with a cold cache, decides the same way and
gives the same manifest. Formats and guarantees: docs/feed.md ("Whole-state files and the bulk interval").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from caucus.publish.documents import BULK_FILES
from caucus.publish.manifest import entry_fields

#: the default: a 505 MB NIST export (175,000 precincts) is written at most every 30 s by a routine release,
#: so a release costs what its changes cost, while a reader is never more than ~half a minute (and one
#: release) behind in the whole-state files; the statewide, county and precinct files stay every release
DEFAULT_INTERVAL = 30.0
MAX_INTERVAL = 3600.0


@dataclass(frozen=True)
class Standing:
    """A release's facts that the bulk files' headers carry besides its number, time and counts: when they
    differ from the holder's, the bulk files are rebuilt whatever the interval."""

    status: str
    test: bool
    zero: bool
    note: str
    certified_act: str | None


@dataclass(frozen=True)
class Holder:
    """The release whose directory holds release n-1's bulk files (the oldest, if they differ), with its
    stored time and standing."""

    number: int
    created_at: datetime
    standing: Standing


@dataclass(frozen=True)
class Decision:
    """``build``: release n builds the bulk files; ``lagging``: release n-1 carries them from an earlier
    release (so a release with no precinct changed brings them up to date once ``build`` is true)."""

    build: bool
    lagging: bool
    reason: str  # every-release | first | standing | interval | within-interval


def holder_number(previous: Mapping[str, bytes]) -> int | None:
    """The oldest release holding one of the bulk files in release n-1's manifest ``previous`` (its
    rendered entries); None when it has none of them (an epoch's first release)."""
    homes = [entry_fields(previous[path])[1] for path in BULK_FILES if path in previous]
    if len(homes) < len(BULK_FILES):
        return None
    return min(homes)


def decide(*, interval: float, number: int, created_at: datetime, standing: Standing, holder: Holder | None
           ) -> Decision:
    """Whether release ``number`` (made at ``created_at`` with ``standing``) builds the bulk files."""
    lagging = holder is not None and holder.number < number - 1
    if interval <= 0:
        return Decision(True, lagging, "every-release")
    if holder is None:
        return Decision(True, lagging, "first")
    if standing.zero or standing.status == "certified" or standing != holder.standing:
        return Decision(True, lagging, "standing")
    if created_at - holder.created_at >= timedelta(seconds=interval):
        return Decision(True, lagging, "interval")
    return Decision(False, lagging, "within-interval")


def built_in(entries: Mapping[str, bytes], number: int) -> bool:
    """Whether recorded release ``number`` built its bulk files (``entries``: its manifest's rendered entries
    of them): a release made before the interval (or before entries named where their bytes live) always
    did."""
    homes = [entry_fields(entries[path])[1] for path in BULK_FILES if path in entries]
    return not homes or any(home == number for home in homes)
