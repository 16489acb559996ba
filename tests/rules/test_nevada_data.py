"""The ``nevada-2020`` rule set on Nevada's real 2020 precinct results (data/nevada2020, vendored).

Nevada reported county delegates, so the allocation can be checked directly. The rule set's policies
(add delegates rather than drop groups, NV-3.3) must explain Nevada's published delegates better than
Iowa's policies do, and explain the great majority of precincts.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

from caucus.rules import IOWA_2020, NEVADA_2020, RuleSet, branches

DATA = Path(__file__).parents[2] / "data" / "nevada2020" / "results-final.csv"


def _whole(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _grouped() -> dict[tuple[str, str], list[dict[str, str]]]:
    grouped: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with DATA.open(newline="") as fh:
        for row in csv.DictReader(fh):
            grouped[(row["county"], row["precinct"])].append(row)
    return grouped


def test_the_file_holds_the_precincts_its_provenance_states() -> None:
    """data/PROVENANCE.md: 2,097 precincts × 12 candidates; no delegates to elect for 130 of them."""
    grouped = _grouped()
    assert len(grouped) == 2097
    assert {len(rows) for rows in grouped.values()} == {12}
    assert sum(1 for rows in grouped.values() if _whole(rows[0]["precinct_delegates"]) is None) == 130


def _precincts() -> list[tuple[int, int, dict[str, int], dict[str, int]]]:
    out = []
    for rows in _grouped().values():
        d, n = _whole(rows[0]["precinct_delegates"]), _whole(rows[0]["total_attendance"])
        if d is None or n is None:
            continue  # 130 precincts whose ids did not match the apportionment (data/PROVENANCE.md)
        final = {r["candidate"]: _whole(r["alignfinal"]) or 0 for r in rows}
        reported = {r["candidate"]: v for r in rows if (v := _whole(r["reported_del_given"]))}
        if sum(final.values()) <= n:
            out.append((d, n, final, reported))
    return out


def _explained(ruleset: RuleSet, precincts: list[tuple[int, int, dict[str, int], dict[str, int]]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for d, n, final, reported in precincts:
        options = branches(d, n, final, ruleset)
        if any(b.allocation.awarded == reported for b in options):
            counts["exact" if len(options) == 1 else "chance"] += 1
        else:
            counts["differ"] += 1
    return counts


def test_nevada_rules_explain_nevada_results() -> None:
    precincts = _precincts()
    assert len(precincts) > 1800
    nv = _explained(NEVADA_2020, precincts)
    ia = _explained(IOWA_2020, precincts)
    assert nv["exact"] + nv["chance"] >= 0.9 * len(precincts)
    assert nv["differ"] < ia["differ"]
