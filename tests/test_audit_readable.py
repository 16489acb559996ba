"""An audit a reporter can read (issue 14, item 5), on the party's real Iowa files.

Expected numbers are worked out here from the files' rows and RULES.md (IA-1.1: 15% of N rounded up for
D >= 4), not copied from the program's output.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from caucus.cli import app
from caucus.packaged import certified_results

RELEASE = Path(__file__).parents[1] / "data" / "iowa2020" / "results-release-2020-02-06.csv"


@cache
def _rows(path: Path) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    """(county, precinct) -> measure -> candidate -> people, from the long file."""
    units: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["measure"] != "sde":
                units[(row["county"], " ".join(row["precinct"].split()))][row["measure"]][row["candidate"]] = int(
                    row["value"])
    return units


@cache
def _text(path: Path) -> str:
    result = CliRunner().invoke(app, ["audit", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def _lines(path: Path, precinct: str) -> list[str]:
    return [" ".join(line.split()) for line in _text(path).splitlines() if f"/ {precinct} (line" in line]


def _threshold_15(n: int) -> int:
    return math.ceil(15 * n / 100)


def test_the_6_feb_release_names_the_four_precincts_with_their_findings() -> None:
    text = _text(RELEASE)
    assert "whatever their verdict" in text
    # Council Bluffs 12 (D=14): Bloomberg viable at first alignment, gone in the final; reproduced all the same
    cb12 = _rows(RELEASE)[("Pottawattamie", "Council Bluff 12")]
    n = sum(cb12["expression_1"].values())
    assert (n, cb12["expression_1"]["Bloomberg"], cb12["expression_2"]["Bloomberg"]) == (119, 24, 0)
    assert _lines(RELEASE, "Council Bluff 12") == [
        f"Pottawattamie / Council Bluff 12 (line 64472, D=14, reproduced): Bloomberg was viable at first alignment "
        f"with 24 people (threshold {_threshold_15(n)}, from N = {n} inferred from the first-alignment total: no "
        "attendance was reported) but has 0 in the final alignment"]
    # Des Moines-55: more people in the final alignment than in the first
    dm55 = _rows(RELEASE)[("Polk", "DES MOINES-55")]
    first, final = sum(dm55["expression_1"].values()), sum(dm55["expression_2"].values())
    assert final > first
    assert [line.split(": ", 1)[1] for line in _lines(RELEASE, "DES MOINES-55")] == [
        f"final alignment total {final} exceeds first alignment total {first}"]
    # Adair 04SE Orient (RULES.md R12): a known reporting error, inconsistent
    orient = _lines(RELEASE, "4SE ORIENT")
    assert orient == ["Adair / 4SE ORIENT (line 128, D=10, inconsistent): reported delegates differ from the "
                      "recomputed ones: Sanders 1 (recomputed 2), Warren 3 (recomputed 2)"]
    # Indianola 2: two groups viable at first alignment lost everyone; listed under that finding once
    ind = _rows(RELEASE)[("Warren", "INDIANOLA 2")]
    n = sum(ind["expression_1"].values())
    t = _threshold_15(n)
    lost = sorted(g for g, c in ind["expression_1"].items() if c >= t and ind["expression_2"].get(g, 0) < t)
    assert lost == ["Patrick", "Steyer"]
    [line] = _lines(RELEASE, "INDIANOLA 2")
    assert line.startswith("Warren / INDIANOLA 2 (line 75980, D=9, reproduced): ")
    for g in lost:
        assert (f"{g} was viable at first alignment with {ind['expression_1'][g]} people (threshold {t}, from N = {n} "
                "inferred from the first-alignment total") in line


def test_the_certified_file_lists_reproduced_precincts_with_blocking_findings() -> None:
    text = _text(certified_results())
    heading = next(line for line in text.splitlines() if "Units with a blocking finding" in line)
    assert "whatever their verdict" in heading
    [cb12] = _lines(certified_results(), "Council Bluff 12")
    assert "reproduced): Bloomberg was viable at first alignment" in cb12
    # after review the certified Indianola 2 has no group that was viable and then vanished: not listed
    ind = _rows(certified_results())[("Warren", "INDIANOLA 2")]
    assert "Patrick" not in {g for g, c in ind["expression_1"].items() if c}
    assert _lines(certified_results(), "INDIANOLA 2") == []
    # grouped: each finding's heading names its rule
    assert "viable-group-lost-viability (V-3):" in text and "final-exceeds-first (V-2):" in text


def test_a_pending_game_of_chance_is_shown_as_its_legal_outcomes() -> None:
    """Adams 2 (6 Feb release): the reported delegates match no outcome of the open tie; the finding lists the
    outcomes the rules allow rather than the state before the game ("recomputed 0")."""
    [line] = [x for x in _lines(RELEASE, "Adams 2") if "delegates (" in x]
    assert "match none of the 2 legal outcomes of the pending game of chance" in line
    assert "recomputed" not in line


def test_recomputed_national_delegates_carry_their_caveat() -> None:
    line = " ".join(next(x for x in _text(RELEASE).split("\n\n") if "National delegates recomputed" in x).split())
    assert "caveat: attendance (N) inferred from the alignment totals in" in line
    assert "open games of chance counted at their expected value" in line
    reported = next(x for x in _text(RELEASE).splitlines() if x.startswith("National delegates from reported"))
    assert "caveat" not in reported
