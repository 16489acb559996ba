"""A plan's own settings (``[caucus]`` in plan.toml) and its county boundaries: who runs the caucus, when,
where the hotline is, and how times are shown to people.

Pure data and formatting: no I/O (the loader reads the files). Times are stored and published in UTC (the
feed keeps ISO 8601 with its offset); every time shown to people goes through :meth:`PlanSettings.clock`
or :meth:`PlanSettings.moment`, in the plan's own time zone with its abbreviation ("7:45 pm CST").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

#: a phone number as a party prints it: digits, spaces, and + - ( ) . only
PHONE = re.compile(r"^\+?[0-9 ()./-]+$")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15  # ITU-T E.164 numbers have at most 15 digits

Ring = tuple[tuple[float, float], ...]
"""A closed ring of (longitude, latitude) points in degrees (WGS84)."""
Polygon = tuple[Ring, ...]
"""The outer ring, then any holes."""


def twelve_hour(moment: dt.time | dt.datetime, *, seconds: bool = False) -> str:
    """``7:00 pm`` (``7:00:05 pm`` with seconds): the clock time as people say it in the United States."""
    hour = moment.hour % 12 or 12
    text = f"{hour}:{moment.minute:02d}" + (f":{moment.second:02d}" if seconds else "")
    return f"{text} {'am' if moment.hour < 12 else 'pm'}"


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """The ``[caucus]`` table of plan.toml (docs/plan-format.md)."""

    party: str
    """The party that runs the caucus, as printed on cards and pages ("Iowa Democratic Party")."""
    date: dt.date
    """Caucus day, in the plan's time zone (the NIST export's election date)."""
    doors_close: dt.time
    """When the doors close: who is in the room or in line by then may take part."""
    time_zone: str
    """The IANA time zone ("America/Chicago") in which every time is shown to people."""
    hotline: tuple[str, ...] = ()
    """The hotline's phone number(s), as printed; empty when the plan sets none (cards then say so)."""
    example_code: str = ""
    """A precinct code shown as the example in the chair app's sign-in form."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` (timezone-aware) in the plan's time zone."""
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment!r}: times must be timezone-aware")
        return moment.astimezone(self.zone)

    def clock(self, moment: dt.datetime | None, *, seconds: bool = False) -> str:
        """``7:45 pm CST``: the local time of day with the zone's abbreviation ("" for None)."""
        if moment is None:
            return ""
        local = self.local(moment)
        return f"{twelve_hour(local, seconds=seconds)} {local.tzname()}"

    def moment(self, moment: dt.datetime | None, *, seconds: bool = True) -> str:
        """``Mon 3 Feb 2020, 7:45:07 pm CST``: the local date and time with the zone ("" for None)."""
        if moment is None:
            return ""
        local = self.local(moment)
        return f"{local:%a} {local.day} {local:%b %Y}, {twelve_hour(local, seconds=seconds)} {local.tzname()}"

    @property
    def doors_close_text(self) -> str:
        """``7:00 pm``: the doors-close time as the chair app and the cards say it."""
        return twelve_hour(self.doors_close)

    @property
    def date_text(self) -> str:
        """``Monday 3 February 2020``."""
        return f"{self.date:%A} {self.date.day} {self.date:%B %Y}"

    @property
    def hotline_text(self) -> str:
        """The hotline number(s) joined with " or " ("" when none is set)."""
        return " or ".join(self.hotline)


@dataclass(frozen=True)
class Boundaries:
    """A plan's county boundaries (``boundaries.geojson``): polygons by county name, in plan order."""

    counties: Mapping[str, tuple[Polygon, ...]]

    def __hash__(self) -> int:
        return hash(tuple(self.counties))

    @cached_property
    def extent(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        points = [p for polys in self.counties.values() for poly in polys for ring in poly for p in ring]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return min(xs), min(ys), max(xs), max(ys)


def phone_problem(value: object) -> str | None:
    """Why ``value`` is not a phone number as a party prints it (None if it is one)."""
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a phone number (text such as \"+1 515 555 0100\")"
    digits = sum(c.isdigit() for c in value)
    if not PHONE.match(value.strip()):
        return f'"{value}" is not a phone number: only digits, spaces and + - ( ) . may be used'
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return f'"{value}" has {digits} digits; a phone number has {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS}'
    return None


__all__ = ["Boundaries", "PlanSettings", "Polygon", "Ring", "phone_problem", "twelve_hour"]
