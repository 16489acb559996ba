"""A release that would publish the latest release again is refused unless asked for (``even_if_unchanged``),
on SQLite and PostgreSQL; a release is not "unchanged" when a precinct is new or changed, a carried
whole-state file is due (the bulk interval's catch-up release), the note or standing differs, or it is the
epoch's first. The preview says the same (``unchanged``) for the HQ page."""

from __future__ import annotations

import json

import pytest

from caucus.service.releases import NothingToRelease, ReleaseService
from tests.publish.conftest import Night
from tests.publish.support import report, scripts


def _service(night: Night, interval: float) -> ReleaseService:
    return ReleaseService(night.engine, night.context, night.snapshots, clock=night.clock, photos=night.photos,
                          bulk_interval=interval)


def _precincts_release(night: Night, number: int) -> int:
    """The release that built feed/precincts.json as release ``number`` serves it."""
    return int(json.loads(night.read(number, "feed/precincts.json"))["release"])


def test_nothing_changed_is_refused_and_a_note_or_a_new_precinct_is_not(night: Night) -> None:
    adams = scripts(["Adams"])
    releases = night.releases
    report(night.reports, adams[0], night.clock)
    first = releases.release(actor="director:dee", even_if_unchanged=False)  # the epoch's first: always
    assert first.number == 1 and releases.preview().unchanged and releases.derived_preview().unchanged
    night.clock.advance(seconds=5)
    with pytest.raises(NothingToRelease) as refused:
        releases.release(actor="director:dee", even_if_unchanged=False)
    assert refused.value.message.startswith("nothing changed since release 1: no precinct is newly accepted")
    assert [r.number for r in releases.list()] == [1] and night.store_latest() == 1
    # a new note is a different release (the note is published); the same note again is not
    noted = releases.release(actor="director:dee", note="counting continues in Adams", even_if_unchanged=False)
    assert noted.number == 2
    with pytest.raises(NothingToRelease, match="since release 2"):
        releases.release(actor="director:dee", note="counting continues in Adams", even_if_unchanged=False)
    # a newly accepted precinct
    report(night.reports, adams[1], night.clock)
    assert not releases.preview().unchanged and not releases.derived_preview().unchanged
    assert releases.release(actor="director:dee", even_if_unchanged=False).number == 3
    # asked for explicitly: made, with no change listed
    again = releases.release(actor="director:dee", even_if_unchanged=True)
    assert again.number == 4 and json.loads(night.read(4, "feed/changes.json"))["changes"] == []


def test_after_a_zero_release_a_release_of_nothing_is_not_unchanged(night: Night) -> None:
    releases = night.releases
    releases.release(actor="director:dee", zero=True, note="media rehearsal")
    assert not releases.preview().unchanged  # the latest is a zero-count release
    made = releases.release(actor="director:dee", even_if_unchanged=False)  # zero: false, the standing differs
    assert (made.number, made.zero, made.precincts_reporting) == (2, False, 0)
    assert releases.preview().unchanged
    with pytest.raises(NothingToRelease, match="since release 2"):
        releases.release(actor="director:dee", even_if_unchanged=False)


def test_the_bulk_interval_catch_up_release_is_allowed_once_due(night: Night) -> None:
    releases = _service(night, 600)
    adams = scripts(["Adams"])
    report(night.reports, adams[0], night.clock)
    releases.release(actor="director:dee", even_if_unchanged=False)
    night.clock.advance(seconds=60)
    report(night.reports, adams[1], night.clock)
    second = releases.release(actor="director:dee", even_if_unchanged=False)  # within the interval: carries
    assert _precincts_release(night, second.number) == 1
    night.clock.advance(seconds=60)
    preview = releases.preview()
    assert preview.unchanged and not preview.bulk_due and releases.derived_preview() == preview
    with pytest.raises(NothingToRelease) as refused:  # not due yet: a release now would carry them again
        releases.release(actor="director:dee", even_if_unchanged=False)
    assert "are due at" in refused.value.message
    night.clock.advance(seconds=480)  # 600 s after release 1, which holds them
    preview = releases.preview()
    assert preview.bulk_due and not preview.unchanged and releases.derived_preview() == preview
    third = releases.release(actor="director:dee", even_if_unchanged=False)
    assert third.number == 3 and _precincts_release(night, 3) == 3
    assert json.loads(night.read(3, "feed/changes.json"))["changes"] == []
    with pytest.raises(NothingToRelease, match="since release 3"):
        releases.release(actor="director:dee", even_if_unchanged=False)
