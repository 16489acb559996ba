"""The CLI paths release what the server does: worksheet photos included (``caucus release now`` used to
publish none), a release lists only precincts whose published content changed, certification names what is
outstanding, a release after certification is "certified, corrected"; ``caucus election go-live`` and
``reset-rehearsal`` on a real SQLite election with real 2020 precincts."""

from __future__ import annotations

import hashlib
import io
import json

from PIL import Image
from typer.testing import CliRunner

from caucus.cli import app
from caucus.ledger import verify_chain
from caucus.publish.model import slug
from caucus.service import StageReport
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, report, scripts

runner = CliRunner()


def _cli(night: Night, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--database", night.url, "--snapshots", str(night.snapshots.parent)],
                           input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _release(night: Night, *args: str) -> dict[str, object]:
    code, stdout, stderr = _cli(night, "release", "now", "--election", SLUG, "--actor", "dee", "--json", *args)
    assert code == 0, stderr
    return dict(json.loads(stdout))


def _read(night: Night, number: int, path: str) -> dict[str, object]:
    return dict(json.loads((night.snapshots / "releases" / str(number) / path).read_bytes()))


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (shade, shade, shade)).save(out, "PNG")
    return out.getvalue()


def test_cli_releases_carry_the_photos_and_list_only_real_changes(sqlite_night: Night) -> None:
    night = sqlite_night
    for script in scripts(["Poweshiek"]):
        report(night.reports, script, night.clock)
    worksheet = _png(250)
    night.photos.store(GRINNELL, data=worksheet, content_type="image/png", channel="app",
                       actor=f"chair:{GRINNELL}", idempotency_key="ws-1")
    assert _release(night)["number"] == 1
    detail = _read(night, 1, f"feed/precinct/{slug(GRINNELL)}.json")
    (photo,) = detail["photos"]  # type: ignore[misc]
    digest = hashlib.sha256(worksheet).hexdigest()
    assert photo["sha256"] == digest
    assert (night.snapshots / "releases" / "1" / f"photos/{digest}.png").read_bytes() == worksheet
    # the server's path (the app's ReleaseService) sees nothing to release: the same records
    assert night.releases.preview().new == 0 and night.releases.release_if_new() is None
    # nothing new: the CLI says so and makes no release, unless asked to (then it lists no change)
    code, stdout, stderr = _cli(night, "release", "now", "--election", SLUG, "--actor", "dee")
    message = " ".join(stderr.split())
    assert code == 2 and stdout == "" and "nothing changed since release 1: no precinct is newly accepted" in message
    assert "to publish release 2 anyway pass --even-if-unchanged" in message
    assert [r.number for r in night.releases.list()] == [1] and night.store_latest() == 1
    assert _release(night, "--even-if-unchanged")["number"] == 2
    assert _read(night, 2, "feed/changes.json")["changes"] == []
    # a second photo for one precinct: only that precinct changed (its numbers did not)
    night.photos.store("Poweshiek/2", data=_png(200), content_type="image/png", channel="paper",
                       actor="reviewer:rita", idempotency_key="ws-2")
    assert _release(night)["number"] == 3
    (change,) = _read(night, 3, "feed/changes.json")["changes"]  # type: ignore[misc]
    assert change["code"] == "Poweshiek/2" and change["before"] == change["after"]


def test_zero_refused_after_results_certification_and_corrected_releases(sqlite_night: Night) -> None:
    night = sqlite_night
    for script in scripts(["Adams"]):
        report(night.reports, script, night.clock)
    assert _release(night, "--zero")["zero"] is True  # before any real release: fine
    first = _release(night)
    code, _, stderr = _cli(night, "release", "now", "--zero", "--election", SLUG)
    assert code == 2 and "zeros would replace them" in stderr
    assert night.store_latest() == first["number"]
    statewide = _read(night, int(first["number"]), "feed/statewide.json")  # type: ignore[call-overload]
    assert statewide["precinctsReporting"] == 4  # the four Adams precincts whose 2020 numbers pass the checks
    # Grinnell reports its attendance and first alignment only: incomplete; the other 1,763 are not reported
    grinnell = all_scripts()[GRINNELL]
    for i, stage in enumerate(grinnell.stages[:2]):
        body = dict(stage)
        night.reports.submit(GRINNELL, StageReport(body.pop("stage"), body), f"g-{i}", channel="app",
                             actor="chair:g")
    outstanding = night.releases.outstanding()
    assert (len(outstanding.not_reported), outstanding.incomplete, len(outstanding.held)) == (1763, (GRINNELL,), 0)
    code, _, stderr = _cli(night, "release", "certify", "--election", SLUG, "--act", "SCC 7",
                           "--acknowledge-counts", "not-reported=1763")
    assert code == 2 and "incomplete (1): Poweshiek/7" in stderr
    code, stdout, _ = _cli(night, "release", "certify", "--election", SLUG, "--act", "SCC 7", "--json",
                           "--acknowledge-counts", "not-reported=1763,incomplete=1")
    certified = json.loads(stdout)
    assert code == 0 and certified["status"] == "certified" and "incomplete (1): Poweshiek/7" in certified["note"]
    # after certification: no silent "unofficial"; a correction must say why; continuous release stops
    code, _, stderr = _cli(night, "release", "now", "--election", SLUG)
    assert code == 2 and "say why in the note" in stderr
    for stage in grinnell.stages[2:]:
        body = dict(stage)
        night.reports.submit(GRINNELL, StageReport(body.pop("stage"), body), f"g-{body}", channel="app",
                             actor="chair:g")
    assert night.releases.release_if_new() is None
    corrected = _release(night, "--note", "Grinnell's worksheet arrived after certification")
    assert (corrected["status"], corrected["correction_of"]) == ("certified", certified["number"])
    header = _read(night, int(corrected["number"]), "feed/statewide.json")  # type: ignore[call-overload]
    assert (header["status"], header["correctionOf"], header["certifiedAct"]) == ("certified", certified["number"],
                                                                                  "SCC 7")
    assert [c["code"] for c in _read(night, int(corrected["number"]), "feed/changes.json")["changes"]] == [GRINNELL]  # type: ignore[call-overload,index]


def test_election_go_live_and_reset_from_the_command_line(sqlite_night: Night) -> None:
    night = sqlite_night
    for script in scripts(["Adams"]):
        report(night.reports, script, night.clock)
    _release(night)
    code, _, stderr = _cli(night, "election", "reset-rehearsal", SLUG, stdin="nope\n")
    assert code == 2 and "type the election's name" in stderr
    code, stdout, _ = _cli(night, "election", "reset-rehearsal", SLUG, stdin=f"{SLUG}\n")
    assert code == 0 and "rehearsal reset (test mode)" in stdout and "show no results until release 2" in stdout
    assert night.store_latest() is None and (night.snapshots / "archive" / "releases" / "1").is_dir()
    for script in scripts(["Adams"]):
        report(night.reports, script, night.clock, prefix="second")
    code, stdout, _ = _cli(night, "election", "go-live", SLUG, "--yes", "--json")
    result = json.loads(stdout)
    assert code == 0 and (result["mode"], result["entries_set_aside"], result["first_release_of_epoch"]) == (
        "live", 16, 2)
    code, _, stderr = _cli(night, "election", "go-live", SLUG, "--yes")
    assert code == 2 and "already live" in stderr
    code, _, stderr = _cli(night, "election", "reset-rehearsal", SLUG, "--yes")
    assert code == 2 and "never reset" in stderr
    verified = runner.invoke(app, ["verify", SLUG, "--database", night.url])
    assert verified.exit_code == 0 and "32 entries checked" in verified.stdout and verify_chain(night.engine, SLUG).ok
    code, _, stderr = _cli(night, "release", "now", "--election", SLUG, "--zero")
    assert code == 0  # the live night has had no real release yet: the media's zero-count rehearsal is fine
