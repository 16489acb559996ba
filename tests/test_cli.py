"""The command line: output, the JSON schema, exit codes and errors that name the line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from caucus.cli import app
from caucus.packaged import certified_results

runner = CliRunner()


def test_audit_json_schema_on_a_golden_case() -> None:
    case = Path(__file__).parent / "cases" / "adair-4se-orient-reporting-error" / "results.csv"
    result = runner.invoke(app, ["audit", str(case), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "caucus.audit/1"
    assert set(doc) == {"schema", "plan", "ruleset", "source", "summary", "finding_counts", "totals",
                        "national_delegates", "units", "blocking_by_finding", "recomputed_caveat"}
    assert doc["blocking_by_finding"] == {"delegates-differ": ["Adair/04SE"]}
    assert doc["recomputed_caveat"].startswith("attendance (N) inferred from the alignment totals in 1 units")
    assert doc["summary"]["precincts"] == {"total": 1, "reproduced": 0, "reproduced-given-chance": 0,
                                           "inconsistent": 1, "unattended": 0}
    (unit,) = doc["units"]
    assert unit["code"] == "Adair/04SE"
    assert unit["findings"][0]["code"] == "delegates-differ"
    assert doc["totals"]["Warren"]["sde_reported"] == "0.2353"


# the party's certified rows (non-zero ones) of Cherokee #4 and Johnson Graham Township
TWO_PRECINCTS = """county,precinct,candidate,measure,value
Cherokee,#4 Cherokee,Biden,expression_1,8
Cherokee,#4 Cherokee,Biden,expression_2,8
Cherokee,#4 Cherokee,Biden,sde,0.1091
Cherokee,#4 Cherokee,Buttigieg,expression_1,4
Cherokee,#4 Cherokee,Buttigieg,expression_2,4
Cherokee,#4 Cherokee,Buttigieg,sde,0.1091
Cherokee,#4 Cherokee,Klobuchar,expression_1,4
Cherokee,#4 Cherokee,Klobuchar,expression_2,4
Cherokee,#4 Cherokee,Klobuchar,sde,0.1091
Cherokee,#4 Cherokee,Sanders,expression_1,4
Cherokee,#4 Cherokee,Sanders,expression_2,4
Cherokee,#4 Cherokee,Sanders,sde,0.1091
Cherokee,#4 Cherokee,Warren,expression_1,4
Cherokee,#4 Cherokee,Warren,expression_2,4
Cherokee,#4 Cherokee,Warren,sde,0.1091
Johnson,GRAHAM TOWNSHIP,Biden,expression_1,10
Johnson,GRAHAM TOWNSHIP,Buttigieg,expression_1,11
Johnson,GRAHAM TOWNSHIP,Klobuchar,expression_1,13
Johnson,GRAHAM TOWNSHIP,Klobuchar,sde,0.405
Johnson,GRAHAM TOWNSHIP,Sanders,expression_1,9
Johnson,GRAHAM TOWNSHIP,Steyer,expression_1,1
Johnson,GRAHAM TOWNSHIP,Warren,expression_1,8
Johnson,GRAHAM TOWNSHIP,Yang,expression_1,2
"""


def test_audit_json_reconciliation_fields(tmp_path: Path) -> None:
    """docs/audit.md "Reconciliation": the precincts outside a count that needs both alignments, and those
    whose reported split is the rules' allocation of a total other than D (Cherokee #4: D 6 by the plan,
    5 delegates reported at 6/55 = 0.1091 SDE each; Graham Township: D 1, no final alignment)."""
    path = tmp_path / "results.csv"
    path.write_text(TWO_PRECINCTS)
    result = runner.invoke(app, ["audit", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["precincts"]["inconsistent"] == 2
    assert summary["precincts_both_alignments"] == {"total": 1, "reproduced": 0, "reproduced-given-chance": 0,
                                                    "inconsistent": 1, "unattended": 0}
    assert summary["one_alignment_only"] == [{"code": "Johnson/GR", "missing": "final", "status": "inconsistent"}]
    assert summary["total_other_than_d"] == {"reproduced": ["Cherokee/4 CHER"]}
    human = runner.invoke(app, ["audit", str(path)])
    assert "Johnson/GR (final alignment empty, inconsistent)" in human.output
    assert "split is the rules' allocation of that total" in human.output


def test_audit_fail_on_inconsistent_exits_1() -> None:
    case = Path(__file__).parent / "cases" / "adair-4se-orient-reporting-error" / "results.csv"
    assert runner.invoke(app, ["audit", str(case), "--fail-on-inconsistent"]).exit_code == 1
    good = Path(__file__).parent / "cases" / "poweshiek-grinnell-2nd-ward-07" / "results.csv"
    assert runner.invoke(app, ["audit", str(good), "--fail-on-inconsistent"]).exit_code == 0


def test_audit_bad_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("county,precinct,candidate,measure,value\n"
                   "Adair,1NW ADAIR,Biden,expression_1,6\n"
                   "Adair,1NW ADAIR,Biden,expression_2,six\n")
    result = runner.invoke(app, ["audit", str(bad)])
    assert result.exit_code == 2
    assert "line 3" in result.stderr
    assert "six" in result.stderr


def test_audit_wrong_columns_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "cols.csv"
    bad.write_text("county,precinct,candidate,value\nAdair,1NW ADAIR,Biden,6\n")
    result = runner.invoke(app, ["audit", str(bad)])
    assert result.exit_code == 2
    assert "measure" in result.stderr
    missing = runner.invoke(app, ["audit", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr


def test_audit_without_a_file_needs_the_plan_that_ships_one(tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    for name in ("plan.toml", "counties.csv", "precincts.csv"):
        (plan / name).write_bytes((certified_results().parent / name).read_bytes())
    result = runner.invoke(app, ["audit", "--plan", str(plan)])
    assert result.exit_code == 2
    assert "RESULTS: name the results file to audit (only the iowa-2020 plan ships one)" in result.stderr


def test_tabulate_reports_the_coin_toss_and_takes_its_outcome() -> None:
    args = ["tabulate", "-d", "12", "Klobuchar=19", "Warren=19", "Buttigieg=14", "Biden=10", "--json"]
    pending = json.loads(runner.invoke(app, args).stdout)
    assert pending["threshold"] == 10
    assert pending["pending_chance"]["among"] == ["Klobuchar", "Warren"]
    done = json.loads(runner.invoke(app, [*args, "--chance", "lose:Klobuchar", "--county", "Hardin"]).stdout)
    assert done["status"] == "complete"
    assert {g: v["delegates"] for g, v in done["groups"].items()} == {
        "Klobuchar": 3, "Warren": 4, "Buttigieg": 3, "Biden": 2}


def test_tabulate_csv_with_first_alignment_runs_the_checks(tmp_path: Path) -> None:
    sheet = tmp_path / "p.csv"
    sheet.write_text("group,first,final\nSanders,78,78\nWarren,124,120\nButtigieg,55,55\nKlobuchar,70,70\n"
                     "Yang,1,0\n")
    result = runner.invoke(app, ["tabulate", "-d", "17", "--csv", str(sheet), "--ratio", "14/100"])
    assert result.exit_code == 0, result.output
    assert "viable-group-lost-members" in result.stdout
    bad = tmp_path / "b.csv"
    bad.write_text("group,final\nSanders,7.5\n")
    err = runner.invoke(app, ["tabulate", "-d", "3", "--csv", str(bad)])
    assert err.exit_code == 2
    assert "line 2" in err.stderr


def test_satellite_tier_in_tabulate() -> None:
    result = runner.invoke(app, ["tabulate", "--satellite", "-n", "318", "Sanders=142", "Warren=93", "Yang=72",
                                 "Other=11", "--json"])
    doc = json.loads(result.stdout)
    assert doc["delegates_to_elect"] == 9
    assert {g: v["delegates"] for g, v in doc["groups"].items() if v["delegates"]} == {
        "Sanders": 4, "Warren": 3, "Yang": 2}


def test_installed_script_runs_the_main_job() -> None:
    """The README's main job, through the installed console script: with no file named, the certified 2020
    results shipped in the package (the party's own national delegate figures)."""
    exe = Path(sys.executable).with_name("caucus")
    proc = subprocess.run([str(exe), "audit", "--json"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert Path(doc["source"]).parts[-3:] == ("plans", "iowa-2020", "results-certified.csv")
    assert doc["national_delegates"]["from_reported_sde"] == {
        "Buttigieg": 14, "Sanders": 12, "Warren": 8, "Biden": 6, "Klobuchar": 1}
