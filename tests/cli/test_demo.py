"""``caucus demo`` end to end on a small night (``--limit``), without staying up (``--no-serve``)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caucus.cli import app

# two whole demo nights (real servers, Chromium): longer than the suite's default limit on a loaded machine
pytestmark = pytest.mark.timeout(900)


def test_demo_plays_a_night_writes_its_reports_and_sign_ins_and_replaces_only_its_own_directory(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "demo"
    args = ["demo", "--dir", str(directory), "--no-serve", "--limit", "25", "--night", "6", "--app-chairs", "1",
            "--port", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((directory / "rehearsal.json").read_text())
    assert report["ok"] and report["reports"]["lost"] == 0 and report["reports"]["duplicates"] == 0
    assert report["truth"]["units"] == 25 and report["totals"]["identical"]
    access = directory / "access.txt"
    assert stat.S_IMODE(access.stat().st_mode) == 0o600
    text = access.read_text()
    assert "director  director" in text and "Adair/01NW  " in text
    assert "PASS" in (directory / "rehearsal.html").read_text()
    # the chair who used the real app in Chromium finished
    assert any(e["what"].endswith("every report sent from the app holds its receipt") for e in report["events"])
    # a second demo replaces the first (a plain one: the behaviours above were played once already); a
    # directory that is not a demo's is refused
    plain = ["demo", "--dir", str(directory), "--no-serve", "--limit", "5", "--night", "5", "--app-chairs", "0",
             "--port", "0", "--go-live", "0", "--recanvass", "0", "--phone-ties", "0", "--attack", "0"]
    assert CliRunner().invoke(app, plain).exit_code == 0
    replaced = json.loads((directory / "rehearsal.json").read_text())
    assert replaced["ok"] and replaced["truth"]["units"] == 5
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = CliRunner().invoke(app, ["demo", "--dir", str(other), "--no-serve"])
    assert refused.exit_code == 2 and (other / "notes.txt").read_text() == "keep me"
