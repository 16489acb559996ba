"""The party's long results layout: the two real Iowa 2020 files, and files that are wrong."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from caucus.packaged import certified_results
from caucus.plans import Plan, load_plan
from caucus.results_csv import PublishedPrecinct, ResultsFileError, read_results

DATA = Path(__file__).resolve().parent.parent / "data" / "iowa2020"
CERTIFIED = certified_results()
RELEASE = DATA / "results-release-2020-02-06.csv"
HEADER = "county,precinct,candidate,measure,value\n"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan("iowa-2020")


@pytest.fixture(scope="module")
def certified(plan: Plan) -> list[PublishedPrecinct]:
    return read_results(CERTIFIED, plan=plan)


def total(units: list[PublishedPrecinct], measure: str, candidate: str | None = None) -> int | Decimal:
    values = [getattr(u, measure)[c] for u in units for c in getattr(u, measure) if candidate in (None, c)]
    return sum(values, Decimal(0) if measure == "sde" else 0)


def write(tmp_path: Path, body: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def errors(path: Path, plan: Plan | None = None) -> tuple[str, ...]:
    with pytest.raises(ResultsFileError) as caught:
        read_results(path, plan=plan)
    return caught.value.errors


@pytest.mark.parametrize("path", [CERTIFIED, RELEASE], ids=["certified", "release"])
def test_real_files_read_cleanly_against_the_plan(plan: Plan, path: Path) -> None:
    units = read_results(path, plan=plan)
    assert len(units) == 1765
    kinds: Counter[str] = Counter()
    for unit in units:
        precinct = plan.find_precinct(unit.county, unit.precinct)
        assert precinct is not None
        kinds[precinct.kind] += 1
        assert set(unit.first) == set(unit.final) == set(unit.sde) == set(plan.candidates)
    assert kinds == {"precinct": 1678, "satellite": 87}
    assert [u.line for u in units] == sorted(u.line for u in units)
    assert (units[0].county, units[0].precinct, units[0].line) == ("Adair", "1NW ADAIR", 2)


def test_certified_statewide_totals(certified: list[PublishedPrecinct]) -> None:
    assert total(certified, "first") == 176352
    assert total(certified, "final") == 172300
    assert total(certified, "first", "Buttigieg") == 37572
    assert total(certified, "final", "Buttigieg") == 43209
    assert round(total(certified, "sde", "Buttigieg"), 3) == Decimal("562.954")
    assert round(total(certified, "sde", "Sanders"), 3) == Decimal("562.021")
    assert round(total(certified, "sde"), 3) == Decimal("2150.832")


def test_release_statewide_totals(plan: Plan) -> None:
    release = read_results(RELEASE, plan=plan)
    assert round(total(release, "sde", "Buttigieg"), 3) == Decimal("564.012")
    assert round(total(release, "sde", "Sanders"), 3) == Decimal("562.497")


def test_values_as_published(certified: list[PublishedPrecinct], plan: Plan) -> None:
    adair = certified[0]
    assert adair.first["Biden"] == 6
    # The scrape wrote 0.15690000000000004: SDEs are read at the 4 decimals the party published.
    assert adair.sde["Klobuchar"] == Decimal("0.1569")
    assert str(adair.sde["Klobuchar"]) == "0.1569"
    assert adair.sde["Bennet"] == 0


def test_names_are_kept_as_written_and_matched_tolerantly(plan: Plan) -> None:
    release = read_results(RELEASE, plan=plan)
    bluffs = [u for u in release if u.precinct == "Council Bluff  04"]  # double space in the 6 Feb file
    assert len(bluffs) == 1
    assert plan.find_precinct(bluffs[0].county, bluffs[0].precinct) is plan.precinct_by_code(
        "Pottawattamie/CB 04"
    )




def test_without_a_plan_units_are_grouped_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "A,P1,X,expression_1,3\nA,P1,X,expression_2,4\nA,P1,X,sde,0.5\nA,Total,X,expression_1,3\n"
        "A,Total_recalc,X,sde,1\nB,P1,X,expression_1,0\n\nA,P1,Y,sde,0\n",
    )
    units = read_results(str(path))
    assert [(u.county, u.precinct, u.line) for u in units] == [("A", "P1", 2), ("B", "P1", 7)]
    assert units[0].first == {"X": 3}
    assert units[0].final == {"X": 4}
    assert units[0].sde == {"X": Decimal("0.5000"), "Y": Decimal(0)}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("county,precinct,candidate,measure", 'missing column(s) "value"'),
        ("county,precinct,candidate,measure,value,note", 'unknown column(s) "note"'),
        (
            "county,precint,candidate,measure,value",
            'missing column(s) "precinct"; unknown column(s) "precint"',
        ),
        ("county,precinct,candidate,measure,value,value", 'repeated column(s) "value"'),
    ],
)
def test_wrong_header(tmp_path: Path, header: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "\nAdair,1NW ADAIR,Biden,expression_1,6\n", encoding="utf-8")
    assert errors(path) == (
        f"bad.csv line 1: header has {expected};"
        " expected columns: county, precinct, candidate, measure, value",
    )


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    assert errors(path) == (
        "empty.csv line 1: the file is empty; expected the header county,precinct,candidate,measure,value",
    )


def test_text_and_fractions_in_counts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Adair,1NW ADAIR,Biden,expression_1,6\n"
        "Adair,1NW ADAIR,Biden,expression_2,abc\n"
        "Adair,1NW ADAIR,Biden,sde,0.0784\n"
        "Adair,1NW ADAIR,Sanders,expression_1,1.5\n"
        "Adair,1NW ADAIR,Sanders,expression_2,-2\n"
        "Adair,1NW ADAIR,Sanders,sde,lots\n"
        "Adair,1NW ADAIR,Warren,sde,0.07845\n",
    )
    assert errors(path) == (
        'bad.csv line 3: "abc" is not a whole, non-negative number of people (column value)',
        'bad.csv line 5: "1.5" is not a whole, non-negative number of people (column value)',
        'bad.csv line 6: "-2" is not a whole, non-negative number of people (column value)',
        'bad.csv line 7: "lots" is not a non-negative decimal number of SDEs (column value)',
        'bad.csv line 8: "0.07845" has more than 4 decimal places (SDEs are published at 4) (column value)',
    )


def test_row_shape_measure_and_empty_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Adair,1NW ADAIR,Biden,expression_3,6\nAdair,1NW ADAIR,Biden,sde\n,1NW ADAIR,Biden,sde,0\n",
    )
    assert errors(path) == (
        'bad.csv line 2: unknown measure "expression_3" (expected one of expression_1, expression_2, sde)'
        " (column measure)",
        "bad.csv line 3: has 4 fields, expected 5 (county, precinct, candidate, measure, value)",
        "bad.csv line 4: empty county (column county)",
    )


def test_duplicate_row(tmp_path: Path, plan: Plan) -> None:
    path = write(
        tmp_path,
        "Adair,1NW ADAIR,Biden,expression_1,6\n"
        "Adair,1NW ADAIR,Biden,expression_2,6\n"
        "Adair,1NW ADAIR,Biden,expression_1,7\n",
    )
    expected = ("bad.csv line 4: Adair / 1NW ADAIR / Biden / expression_1 is given twice (first on line 2)",)
    assert errors(path) == expected
    assert errors(path, plan) == expected


def test_duplicate_under_another_spelling_with_a_plan(tmp_path: Path, plan: Plan) -> None:
    path = write(tmp_path, "Adair,1NW ADAIR,Biden,expression_1,6\nAdair , 1nw  adair,Biden,expression_1,6\n")
    assert len(read_results(path)) == 2  # without a plan these are two names
    assert errors(path, plan) == (
        "bad.csv line 3: Adair / 1nw  adair / Biden / expression_1 is given twice (first on line 2)",
    )


def test_unknown_county_precinct_and_candidate_with_a_plan(tmp_path: Path, plan: Plan) -> None:
    path = write(
        tmp_path,
        "Adair,1NW ADAIR,Biden,expression_1,6\n"
        "Adair,9ZZ NOWHERE,Biden,expression_1,6\n"
        "Adair,9ZZ NOWHERE,Biden,expression_2,6\n"
        "Adiar,1NW ADAIR,Biden,expression_1,6\n"
        "Adiar,2NE STUART,Biden,expression_1,6\n"
        "Adair,1NW ADAIR,Trump,expression_1,6\n"
        "Adair,2NE STUART,Trump,expression_1,6\n",
    )
    found = errors(path, plan)
    assert found[0] == (
        'bad.csv line 3: unknown precinct "9ZZ NOWHERE" in county "Adair"'
        " (not in plan iowa-2020) (column precinct)"
    )
    assert found[1] == 'bad.csv line 5: unknown county "Adiar" (not in plan iowa-2020) (column county)'
    assert found[2].startswith(
        'bad.csv line 7: unknown candidate "Trump" (plan iowa-2020 has: Bennet, Biden,'
    )
    assert found[2].endswith("Uncommitted, Other) (column candidate)")
    assert len(found) == 3  # each unknown name is reported once, at its first line
    assert len(read_results(path)) == 5  # without a plan, nothing is unknown


def test_many_errors_are_all_collected_and_the_message_is_cut(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"Adair,1NW ADAIR,C{i},expression_1,x\n" for i in range(25)))
    with pytest.raises(ResultsFileError) as caught:
        read_results(path)
    assert len(caught.value.errors) == 25
    lines = str(caught.value).splitlines()
    assert len(lines) == 21
    assert lines[0] == 'bad.csv line 2: "x" is not a whole, non-negative number of people (column value)'
    assert lines[19].startswith("bad.csv line 21: ")
    assert lines[20] == "... and 5 more errors"
