"""ReleaseService on SQLite and PostgreSQL: numbered immutable releases of the accepted precincts only, the
zero-count rehearsal, certification, corrections published with before/after and reasons, several workers,
repair after a crash between commit and files, append-only tables, continuous mode."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from caucus.ledger import audit_events
from caucus.service import StageReport
from caucus.service.continuous import ContinuousReleaser
from caucus.service.releases import ReleaseInvalid
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, all_scripts, manifest_entries, report, scripts

GRINNELL_DELEGATES = {"Buttigieg": 3, "Klobuchar": 4, "Sanders": 4, "Warren": 6}  # RULES.md §13.3 R1
GRINNELL_SDE = {"Buttigieg": "0.4200", "Klobuchar": "0.5600", "Sanders": "0.5600", "Warren": "0.8400"}


def _read(night: Night, number: int, path: str) -> dict:  # type: ignore[type-arg]
    return dict(json.loads(night.read(number, path)))


def _manifest_ok(directory: Path) -> str:
    """Every file listed with its sha256, read from the release directory its entry names (this one or an
    earlier one); this directory holds exactly the files the manifest places in it; returns the manifest's
    sha256."""
    manifest_bytes = (directory / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    number = manifest["release"]
    homes = {f["path"]: f["release"] for f in manifest["files"]}  # the parts, where their bytes are
    entries = manifest_entries(lambda path: manifest_bytes if path == "manifest.json"
                               else (directory.parent / str(homes[path]) / path).read_bytes())
    listed = {f["path"]: (f["sha256"], f["release"]) for f in entries}
    on_disk = {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()} - {"manifest.json"}
    assert {path for path, (_, home) in listed.items() if home == number} == on_disk
    for path, (digest, home) in listed.items():
        assert home <= number
        assert hashlib.sha256((directory.parent / str(home) / path).read_bytes()).hexdigest() == digest, path
    return hashlib.sha256(manifest_bytes).hexdigest()


def test_release_publishes_accepted_precincts_only(night: Night) -> None:
    poweshiek = scripts(["Poweshiek"])
    assert len(poweshiek) == 10
    for script in poweshiek:
        report(night.reports, script, night.clock)
    # a half-reported precinct and one whose channels disagree are held back
    adair = scripts(["Adair"])
    report(night.reports, adair[0], night.clock)
    night.reports.submit(adair[0].precinct, StageReport("attendance", {"attendance": 1}), "hot-1",
                         channel="hotline", actor="operator:ann")
    half = scripts(["Adams"])[0]
    night.reports.submit(half.precinct, StageReport("attendance", {"attendance": 40}), "half-1", channel="app",
                         actor="chair")

    preview = night.releases.preview()
    assert (preview.accepted, preview.new, preview.last_release) == (10, 10, None)
    assert {h.code: h.state for h in preview.held} == {adair[0].precinct: "conflicting", half.precinct: "reported"}

    night.clock.advance(minutes=1)
    first = night.releases.release(actor="director:dee", note="first returns")
    assert (first.number, first.status, first.test, first.zero) == (1, "unofficial", True, False)
    assert (first.precincts_reporting, first.precincts_total) == (10, 1768)
    assert first.created_at == night.clock()
    directory = night.snapshots / "releases" / "1"
    assert _manifest_ok(directory) == first.content_hash
    assert night.store_latest() == 1 and (night.snapshots / "latest").resolve() == night.snapshots / "live" / "1"

    grinnell = _read(night, 1, "feed/precinct/poweshiek-7.json")
    assert grinnell["delegates"] == GRINNELL_DELEGATES and grinnell["sde"] == GRINNELL_SDE
    assert [s["stage"] for s in grinnell["stages"]] == ["attendance", "first", "final", "delegates"]
    assert {s["channel"] for s in grinnell["stages"]} == {"app"}
    assert not (directory / "feed" / "precinct" / "adair-01nw.json").exists()
    statewide = _read(night, 1, "feed/statewide.json")
    assert (statewide["release"], statewide["precinctsReporting"], statewide["precinctsTotal"]) == (1, 10, 1768)
    assert statewide["test"] is True and statewide["status"] == "unofficial" and statewide["note"] == "first returns"
    changes = _read(night, 1, "feed/changes.json")["changes"]
    assert sorted(c["code"] for c in changes) == sorted(s.precinct for s in poweshiek)
    assert {c["kind"] for c in changes} == {"new"}

    # nothing new: a release is still possible (same records), continuous release skips it
    assert night.releases.release_if_new() is None
    assert [r.number for r in night.releases.list()] == [1]
    events = [e for e in audit_events(night.engine) if e.action == "release"]
    assert events[-1].actor == "director:dee" and events[-1].detail["content_hash"] == first.content_hash


def test_zero_release_and_certification(night: Night) -> None:
    zero = night.releases.release(actor="director:dee", zero=True, note="media rehearsal")
    assert (zero.number, zero.zero, zero.precincts_reporting) == (1, True, 0)
    statewide = _read(night, 1, "feed/statewide.json")
    assert statewide["precinctsReporting"] == 0 and statewide["zero"] is True
    assert {c["sde"] for c in statewide["candidates"]} == {"0.0000"}
    assert len(_read(night, 1, "feed/precincts.json")["precincts"]) == 1768
    assert all(p["reported"] for p in _read(night, 1, "feed/precincts.json")["precincts"])

    with pytest.raises(ReleaseInvalid, match="certifying act"):
        night.releases.certify(actor="director:dee", act="  ")
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    # 1 of the plan's 1,768 sites reported: the other 1,767 must be named in the act
    with pytest.raises(ReleaseInvalid, match=r"1767 precincts have no accepted results: not reported \(1767\)"):
        night.releases.certify(actor="director:dee", act="State Central Committee resolution 2020-7")
    certified = night.releases.certify(actor="director:dee", act="State Central Committee resolution 2020-7",
                                       counts={"not-reported": 1767})
    assert (certified.number, certified.status, certified.certified_act) == (
        2, "certified", "State Central Committee resolution 2020-7")
    # the zero release changed nothing real: Grinnell is new in release 2
    assert [c["code"] for c in _read(night, 2, "feed/changes.json")["changes"]] == [GRINNELL]
    assert _read(night, 2, "feed/statewide.json")["status"] == "certified"
    assert [r.number for r in night.releases.list()] == [2, 1]


def test_correction_is_published_with_before_after_and_reason(night: Night) -> None:
    seqs = report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    first = all_scripts()[GRINNELL].stages[1]["counts"]
    corrected = {**first, "Other": first["Other"] - 1, "Bennet": first["Bennet"] + 1}
    night.reports.submit(GRINNELL, StageReport("first", {"counts": corrected}, supersedes_seq=seqs[1],
                                               reason="R-3: recanvass found a Bennet card filed as Other"),
                         "fix-1", channel="app", actor="chair:Poweshiek/7")
    assert night.releases.preview().changed == (GRINNELL,)
    second = night.releases.release(actor="director:dee")
    (change,) = _read(night, second.number, "feed/changes.json")["changes"]
    assert change["kind"] == "changed"
    assert change["before"]["first"]["Other"] == first["Other"]
    assert change["after"]["first"]["Other"] == first["Other"] - 1
    assert change["reasons"] == ["R-3: recanvass found a Bennet card filed as Other"]
    detail = _read(night, second.number, "feed/precinct/poweshiek-7.json")
    (correction,) = detail["corrections"]
    assert (correction["supersedes"], correction["reason"]) == (seqs[1], change["reasons"][0])
    assert detail["releasedIn"] == 2
    # release 1 is untouched: immutable files, the old number still there
    assert _read(night, 1, "feed/precinct/poweshiek-7.json")["first"]["Other"] == first["Other"]


def test_two_workers_never_write_the_same_number(night: Night) -> None:
    for script in scripts(["Poweshiek"]):
        report(night.reports, script, night.clock)
    other = night.second_worker()
    numbers: list[int] = []
    errors: list[BaseException] = []

    def run(service: object) -> None:
        try:
            for _ in range(3):
                numbers.append(service.release(actor="director:dee").number)  # type: ignore[attr-defined]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in (night.releases, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.engine.dispose()
    assert not errors
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    assert [r.number for r in night.releases.list()] == [6, 5, 4, 3, 2, 1]
    assert night.store_latest() == 6
    for number in range(1, 7):
        assert _manifest_ok(night.snapshots / "releases" / str(number)) == night.releases.get(number).content_hash


def test_missing_files_are_rebuilt_byte_for_byte(sqlite_night: Night) -> None:
    night = sqlite_night
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    record = night.releases.release(actor="director:dee")
    directory = night.snapshots / "releases" / "1"
    before = {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    shutil.rmtree(directory)
    assert night.releases.repair() == [1]
    after = {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    assert after == before
    assert _manifest_ok(directory) == record.content_hash


def test_release_tables_are_append_only(night: Night) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="director:dee")
    night.releases.set_continuous(True, actor="director:dee")
    for table in ("releases", "release_precincts", "release_modes"):
        for statement in (f"UPDATE {table} SET election_id = election_id", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), night.engine.begin() as conn:
                conn.execute(text(statement))


def test_continuous_switch_and_release_if_new(night: Night) -> None:
    assert night.releases.continuous() is False
    night.releases.set_continuous(True, actor="director:dee")
    assert night.releases.continuous() is True
    assert night.releases.release_if_new() is None  # nothing accepted yet
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    made = night.releases.release_if_new()
    assert made is not None and made.actor == "continuous-release" and made.precincts_reporting == 1
    night.releases.set_continuous(False, actor="director:dee")
    assert night.releases.continuous() is False
    assert night.releases.preview().continuous is False


def _png(width: int, height: int, note: str = "") -> bytes:
    from PIL import Image, PngImagePlugin  # noqa: PLC0415

    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    if note:
        info.add_text("Comment", note)
    Image.new("RGB", (width, height), (250, 250, 240)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_worksheet_photos_are_released_with_their_precinct(night: Night) -> None:
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    held = scripts(["Adams"])[0]
    night.reports.submit(held.precinct, StageReport("attendance", {"attendance": 40}), "half-1", channel="app",
                         actor="chair")
    data = _png(800, 600, note="taken at 41.5909 N, 93.6037 W")
    photo = night.photos.store(GRINNELL, data=data, content_type="image/png", channel="app",
                               actor="chair:Poweshiek/7", idempotency_key="photo-1")
    night.photos.store(held.precinct, data=_png(700, 700), content_type="image/png", channel="app", actor="chair",
                       idempotency_key="photo-2")
    night.releases.release(actor="director:dee")
    directory = night.snapshots / "releases" / "1"
    (entry,) = _read(night, 1, "feed/precinct/poweshiek-7.json")["photos"]
    published = (directory / entry["path"]).read_bytes()
    # the public copy: the same pixels, without the upload's text chunk; the original stays for HQ
    assert b"93.6037" in data and b"93.6037" not in published
    assert (entry["sha256"], entry["width"], entry["height"]) == (hashlib.sha256(published).hexdigest(), 800, 600)
    assert entry["sha256"] != photo.sha256 and entry["bytes"] == len(published)
    assert entry["path"] == f"photos/{entry['sha256']}.png" and entry["contentType"] == "image/png"
    assert published == _png(800, 600)  # what Pillow writes for these pixels alone
    assert [p.name for p in (directory / "photos").iterdir()] == [f"{entry['sha256']}.png"]  # not the held one's
    _manifest_ok(directory)


def test_a_precinct_accepted_on_review_is_released_with_its_findings(night: Night) -> None:
    """HQ's review decisions count: a warning held the precinct, a reviewer accepted it, the release has it."""
    from caucus.service.review import ReviewService  # noqa: PLC0415

    nobody = {"Biden": 0}
    for i, (stage, numbers) in enumerate([("attendance", {"attendance": 0}), ("first", {"counts": nobody}),
                                          ("final", {"counts": nobody}), ("delegates", {"delegates": nobody})]):
        night.reports.submit("Adams/AD1", StageReport(stage, numbers), f"nobody-{i}", channel="app",  # type: ignore[arg-type]
                             actor="chair:Adams/AD1")
    preview = night.releases.preview()
    assert preview.accepted == 0 and [h.state for h in preview.held] == ["held-for-review"]
    review = ReviewService(night.engine, night.writer, night.context, night.reports, clock=night.clock)
    review.accept_precinct("reviewer:rae", "Adams/AD1", 4, "nobody came: confirmed by phone")
    assert night.releases.preview().accepted == 1
    night.releases.release(actor="director:dee")
    record = _read(night, 1, "feed/precinct/adams-ad1.json")
    assert record["acceptedOnReview"] is True and record["attendance"] == 0
    assert [f["code"] for f in record["findings"]] == ["no-attendance"]
    assert "reviewer:rae" not in json.dumps(record)  # staff names stay internal


def test_continuous_release_publishes_a_precinct_accepted_while_a_release_was_being_built(night: Night) -> None:
    """A report committed after a release read its precincts but before the round ended must be released by
    a later round (it is newer than the release, whatever the release itself added to the database)."""
    night.releases.set_continuous(True, actor="director:dee")
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    releaser = ContinuousReleaser(night.releases)
    build = night.releases.release_if_new
    late = next(s for s in scripts() if s.precinct != GRINNELL)

    def release_while_a_report_arrives() -> object:
        made = build()
        report(night.reports, late, night.clock, prefix="late")  # arrives during the round
        return made

    night.releases.release_if_new = release_while_a_report_arrives  # type: ignore[method-assign]
    first = releaser.tick()
    night.releases.release_if_new = build  # type: ignore[method-assign]
    assert first is not None and first.precincts_reporting == 1
    second = releaser.tick()
    assert second is not None and second.precincts_reporting == 2
    assert releaser.tick() is None  # and then nothing new
