"""Golden folders: one real precinct per folder (``tests/cases/<case>/``), one runner.

Each folder holds the precinct's rows exactly as published (``results.csv``) and ``expected.json``, whose
expected values come from RULES.md §13 or a worked calculation written into its ``source`` field, never
from this program's output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caucus.audit import audit
from caucus.plans import load_plan
from caucus.results_csv import read_results

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden_case(case: Path) -> None:
    expected: dict[str, Any] = json.loads((case / "expected.json").read_text())
    plan = load_plan("iowa-2020")
    (unit,) = audit(plan, read_results(case / "results.csv", plan=plan)).units
    alloc = unit.result.allocation
    assert alloc is not None
    assert unit.verdict == expected["verdict"]
    assert unit.delegates_to_elect == expected["delegates_to_elect"]
    assert alloc.threshold == expected["threshold"]
    assert alloc.awarded == expected["recomputed_delegates"]
    assert {g: n for g, n in unit.reported_delegates.items() if n} == expected["reported_delegates"]
    assert [f.code for f in unit.findings] == expected["findings"]
    if "messages" in expected:
        assert [f.message for f in unit.findings] == expected["messages"]
    if "pending_chance" in expected:
        assert alloc.pending is not None
        want = expected["pending_chance"]
        assert (alloc.pending.kind, list(alloc.pending.among), alloc.pending.count) == (
            want["kind"], want["among"], want["count"])
    if "inferred_chance" in expected:
        assert [{"kind": o.kind, "among": list(o.among), "selected": list(o.selected)}
                for o in unit.result.inferred_chance] == expected["inferred_chance"]
