"""Helpers of the command-line tests: a CliRunner, real SQLite files, a small party plan, PDF inspection."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from caucus.cli import app
from caucus.ledger import sqlite_url_for_dir

runner = CliRunner()

# The example plan of docs/plan-format.md, as a party would write it.
EXAMPLE_PLAN = {
    "plan.toml": """name = "example-2024"
title = "Example County caucuses"
ruleset = "iowa-2020"
candidates = ["Able", "Baker", "Uncommitted"]

[caucus]
party = "Example Party"
date = 2024-01-15
doors_close = 19:00:00
time_zone = "America/Chicago"

[national]
at_large = 2
pleo = 1
threshold_percent = 15

[national.districts]
"1" = 3
""",
    "counties.csv": """county,district,county_delegates,state_delegates,kind
North,1,12,3,county
South,1,5,7/3,county
Satellite,1,0,0.5,satellite-pool
""",
    "precincts.csv": """code,county,name,precinct_id,delegates,kind,expected_attendance
North/1,North,North Ward 1,101,7,precinct,
North/2,North,North Ward 2 &amp; Township,102,5,precinct,
South/1,South,South Town,201,5,precinct,
Satellite/9001,Satellite,"Capital City, ST - Library",9001,,satellite,150
""",
}
EXAMPLE_CODES = ("North/1", "North/2", "South/1", "Satellite/9001")


def write_example_plan(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in EXAMPLE_PLAN.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def db_url(tmp_path: Path) -> str:
    return sqlite_url_for_dir(tmp_path / "data")


def run(*args: str | Path) -> Result:
    """``caucus ARGS`` in-process; stdout and stderr apart."""
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def pdf_content(pdf: bytes) -> bytes:
    """Every page content stream of a ReportLab PDF, decoded (ASCII85 then Flate), concatenated."""
    streams = re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
    assert streams, "no content streams"
    return b"\n".join(zlib.decompress(base64.a85decode(s.strip().removesuffix(b"~>"))) for s in streams)


def qr_runs_in_pdf(content: bytes) -> set[tuple[int, int, int]]:
    """The filled rectangles of a one-card page as (row, column, length) in modules, counted from the
    top-left finder pattern's corner (row 0, column 0). Cut lines are drawn as lines, so every ``re`` is QR."""
    rects = [tuple(map(float, m)) for m in re.findall(rb"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re", content)]
    assert rects, "no rectangles"
    module = min(w for _, _, w, _ in rects)  # a one-module run exists in any QR code
    left = min(x for x, _, _, _ in rects)
    top = max(y for _, y, _, _ in rects)
    return {(round((top - y) / module), round((x - left) / module), round(w / module)) for x, y, w, _ in rects}


def qr_runs_expected(matrix: list[list[bool]]) -> set[tuple[int, int, int]]:
    """The same runs computed from a QR matrix, relative to its first dark module (the finder's corner)."""
    runs: set[tuple[int, int, int]] = set()
    first_row = next(r for r, row in enumerate(matrix) if any(row))
    first_col = min(row.index(True) for row in matrix if any(row))
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.add((r - first_row, start - first_col, c - start))
            else:
                c += 1
    return runs
