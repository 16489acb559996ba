"""``caucus release`` and ``caucus verify-release`` on a real SQLite election with real 2020 precincts."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from typer.testing import CliRunner

from caucus.cli import app
from caucus.publish.model import json_bytes
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, SLUG, all_scripts, rehash_release, report, scripts

runner = CliRunner()


def _cli(night: Night, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--database", night.url, "--snapshots", str(night.snapshots.parent),
                                 "--election", SLUG])
    return result.exit_code, result.stdout, result.stderr


def _verify(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify-release", *args])
    return result.exit_code, result.stdout, result.stderr


def test_release_list_certify_continuous(sqlite_night: Night) -> None:
    night = sqlite_night
    code, stdout, _ = _cli(night, "release", "now", "--zero", "--json")  # no --actor: who ran it, as every command
    assert code == 0, stdout
    assert (json.loads(stdout)["number"], json.loads(stdout)["actor"]) == (1, f"cli:{getpass.getuser()}")
    assert "0 of 1768 precincts" in _cli(night, "release", "list")[1]
    for script in scripts(["Poweshiek"]):
        report(night.reports, script, night.clock)
    code, stdout, _ = _cli(night, "release", "now", "--actor", "dee", "--note", "first returns", "--json")
    assert code == 0, stdout
    made = json.loads(stdout)
    assert (made["number"], made["precincts_reporting"], made["actor"], made["test"]) == (2, 10, "dee", True)
    assert (night.snapshots / "releases" / "2" / "manifest.json").is_file()
    # results are out: zeros would replace them on the public site
    code, _, stderr = _cli(night, "release", "now", "--zero", "--actor", "dee")
    assert code == 2 and "only for before the first real release" in stderr
    assert night.store_latest() == 2
    code, _, stderr = _cli(night, "release", "certify", "--act", " ", "--actor", "dee")
    assert code == 2 and "certifying act" in stderr
    # 10 of the plan's 1,768 sites are in: the act must name the other 1,758
    code, _, stderr = _cli(night, "release", "certify", "--act", "SCC resolution 7", "--actor", "dee")
    assert code == 2 and "1758 precincts have no accepted results" in stderr and "not reported (1758)" in stderr
    code, _, stderr = _cli(night, "release", "certify", "--act", "SCC resolution 7", "--actor", "dee",
                           "--acknowledge-counts", "not-reported=1757")
    assert code == 2 and "not-reported=1758 now" in stderr
    code, stdout, _ = _cli(night, "release", "certify", "--act", "SCC resolution 7", "--actor", "dee",
                           "--acknowledge-counts", "not-reported=1758")
    assert code == 0 and "release 3 (certified TEST)" in stdout
    code, stdout, _ = _cli(night, "release", "list", "--json")
    assert [json.loads(line)["number"] for line in stdout.splitlines()] == [3, 2, 1]
    code, _, stderr = _cli(night, "release", "continuous", "on", "--actor", "dee")
    assert code == 0 and "continuous release is on" in stderr
    assert night.releases.continuous() is True


def test_verify_release_passes_then_catches_tampering(sqlite_night: Night) -> None:
    night = sqlite_night
    for script in scripts(["Poweshiek", "Adams"]):
        report(night.reports, script, night.clock)
    made = night.releases.release(actor="dee")
    code, stdout, _ = _verify(str(night.snapshots))
    assert code == 0, stdout
    assert "release 1: " in stdout and "14 precincts recomputed" in stdout and made.content_hash in stdout

    directory = night.snapshots / "releases" / "1"
    # 1. a file changed after publication: its hash no longer matches the manifest
    path = directory / "feed" / "statewide.csv"
    path.write_bytes(path.read_bytes().replace(b"unofficial", b"certified", 1))
    code, stdout, _ = _verify(str(directory), "--json")
    report_ = json.loads(stdout)
    assert code == 1 and not report_["ok"]
    assert any(p.startswith("feed/statewide.csv: sha256") for p in report_["problems"])


def test_verify_release_recomputes_delegates_not_just_hashes(sqlite_night: Night) -> None:
    """Numbers changed consistently (file and manifest rewritten): the recomputation catches it."""
    night = sqlite_night
    report(night.reports, all_scripts()[GRINNELL], night.clock)
    night.releases.release(actor="dee")
    directory = night.snapshots / "releases" / "1"
    target = directory / "feed" / "precinct" / "poweshiek-7.json"
    record = json.loads(target.read_bytes())
    record["delegates"]["Warren"] += 1
    record["delegates"]["Sanders"] -= 1
    target.write_bytes(json_bytes(record))
    rehash_release(directory)
    code, stdout, _ = _verify(str(directory))
    assert code == 1
    assert "FAIL Poweshiek/7: delegates recompute to {'Buttigieg': 3, 'Klobuchar': 4, 'Sanders': 4, 'Warren': 6}" \
        in stdout


def test_verify_release_unreadable_source_exits_2(tmp_path: Path) -> None:
    code, _, stderr = _verify(str(tmp_path / "nowhere"))
    assert code == 2 and "no manifest.json" in stderr
