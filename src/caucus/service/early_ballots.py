"""Nevada's early ranked ballots: imported before the night from the party's early-vote export, read per
precinct by the report service, the chair app, the hotline console and review (docs/early-ballots.md).

The CSV has a header row naming the columns ``county``, ``precinct``, ``ballot_id`` and ``rank1`` ..
``rank5`` (``rank4`` and ``rank5`` optional; other columns are ignored and named). A precinct is found by
``county/precinct`` (the plan's code) or by its code alone, and must lie in the county named. Ranks are
candidate names of the plan (case ignored), in order: a blank rank may only be followed by blanks. A ballot
with fewer than 3 different names is void under NV-2: it is imported and shown, but never joins a group.
Every bad line is reported at once, with its line number, the column and the rule; a file with any bad line
changes nothing. A ballot id already imported with the same precinct and ranks is left as it is (so an
export can be imported again); with anything different it is refused. A precinct that has reported anything
(any ledger entry, any channel) takes no more early ballots: its first alignment is fixed. Every import is
audited (``early-ballots.import``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from caucus.ledger import audit, precinct_state
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.schema import early_ballots, ledger_entries, precincts
from caucus.rules import (
    MAX_RANKS,
    distinct_ranks,
    early_moves,
    first_choices,
    realign_early_ballots,
    valid_ballots,
    viable_at_first,
    void_ballot,
)
from caucus.service.context import ElectionContext
from caucus.service.errors import ServiceError, UnknownPrecinctCode

__all__ = ["EarlyBallot", "EarlyBallotService", "EarlyBallotsInvalid", "EarlyImportSummary", "EarlySummary",
           "ballots_of"]

RANK_COLUMNS = tuple(f"rank{i}" for i in range(1, MAX_RANKS + 1))
COLUMNS = ("county", "precinct", "ballot_id", *RANK_COLUMNS)
REQUIRED = ("county", "precinct", "ballot_id", "rank1", "rank2", "rank3")
ALIASES = {"ballot": "ballot_id", "ballot id": "ballot_id", "id": "ballot_id", "precinct code": "precinct",
           **{f"rank {i}": f"rank{i}" for i in range(1, MAX_RANKS + 1)},
           **{f"choice {i}": f"rank{i}" for i in range(1, MAX_RANKS + 1)}}
MAX_BALLOT_ID = 64
MAX_BYTES = 50_000_000
MAX_PROBLEMS = 50


class EarlyBallotsInvalid(ServiceError):
    """An early-ballot file breaks a rule: every problem named (line, column, rule)."""

    code = "invalid-input"


@dataclass(frozen=True)
class EarlyBallot:
    ballot_id: str
    ranks: tuple[str, ...]

    @property
    def void(self) -> bool:
        """NV-2: fewer than 3 different preferences."""
        return void_ballot(self.ranks)

    @property
    def distinct(self) -> tuple[str, ...]:
        return distinct_ranks(self.ranks)


@dataclass(frozen=True)
class EarlySummary:
    """A precinct's early ballots as HQ sees them beside the numbers: valid and void, first choices, and (once
    the first alignment is reported) where each counts at the final alignment."""

    valid: int
    void: int
    first: dict[str, int]
    #: early ballots per group at the final alignment; None until attendance and first alignment are reported
    final: dict[str, int] | None
    #: (first choice, group at the final alignment or None, ballots), for the ballots that moved or dropped
    moves: tuple[tuple[str, str | None, int], ...]

    def groups(self) -> list[str]:
        return sorted(set(self.first) | set(self.final or {}))


@dataclass(frozen=True)
class EarlyImportSummary:
    added: int
    unchanged: int
    void: int
    precincts: int
    ignored_columns: tuple[str, ...]

    def describe(self) -> str:
        text = (f"{self.added} early ballots added ({self.void} void under NV-2) for {self.precincts} precincts, "
                f"{self.unchanged} already imported")
        if self.ignored_columns:
            text += f" (columns ignored: {', '.join(self.ignored_columns)})"
        return text


@dataclass(frozen=True)
class _Line:
    number: int
    code: str
    ballot: EarlyBallot


def _column(title: str) -> str:
    folded = " ".join(title.replace("_", " ").replace("-", " ").split()).casefold()
    return ALIASES.get(folded, folded.replace(" ", "_"))


def ballots_of(engine: Engine, context: ElectionContext, code: str) -> tuple[EarlyBallot, ...]:
    """A precinct's early ballots in import order (none for a rule set without early ballots)."""
    if not context.ruleset.early_ballots:
        return ()
    with engine.connect() as conn:
        rows = conn.execute(
            select(early_ballots.c.ballot_id, early_ballots.c.ranks)
            .join(precincts, precincts.c.id == early_ballots.c.precinct_id)
            .where(early_ballots.c.election_id == context.election_id, precincts.c.code == code)
            .order_by(early_ballots.c.id)).all()
    return tuple(EarlyBallot(r.ballot_id, tuple(json.loads(r.ranks))) for r in rows)


class EarlyBallotService:
    """Import and read one election's early ballots."""

    def __init__(self, engine: Engine, context: ElectionContext, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.context = context
        self.clock = clock
        folded = {}
        for name in context.candidates:
            folded[name.casefold()] = name
        self._names = folded

    def for_precinct(self, code: str) -> tuple[EarlyBallot, ...]:
        return ballots_of(self.engine, self.context, self.context.precinct(code).code)

    def summary(self, code: str) -> EarlySummary | None:
        """The precinct's early ballots beside its current numbers (None: it has none)."""
        info = self.context.precinct(code)
        ballots = [b.ranks for b in ballots_of(self.engine, self.context, info.code)]
        if not ballots:
            return None
        state = precinct_state(self.engine, self.context.slug, info.code)
        latest: dict[str, Mapping[str, Any]] = {}
        for (_, stage), entry in sorted(state.current.items(), key=lambda item: item[1].seq):
            latest[stage] = entry.payload
        attendance = latest.get("attendance", {}).get("attendance")
        first_totals = latest.get("first", {}).get("counts")
        moves: dict[tuple[str, str | None], int] = {}
        final = None
        if isinstance(attendance, int) and isinstance(first_totals, Mapping):
            viable = viable_at_first(first_totals, attendance, info.delegates or 0, self.context.ruleset)
            final = realign_early_ballots(ballots, viable)
            for move in early_moves(ballots, viable):
                if move.moved:
                    moves[(move.first, move.final)] = moves.get((move.first, move.final), 0) + 1
        valid = len(valid_ballots(ballots))
        ordered = sorted(moves.items(), key=lambda m: (m[0][0], m[0][1] or ""))
        return EarlySummary(valid, len(ballots) - valid, first_choices(ballots), final,
                            tuple((a, b, n) for (a, b), n in ordered))

    def counts(self) -> dict[str, tuple[int, int]]:
        """(valid, void) early ballots per precinct code that has any."""
        out: dict[str, tuple[int, int]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(precincts.c.code, early_ballots.c.void, func.count())
                .join(precincts, precincts.c.id == early_ballots.c.precinct_id)
                .where(early_ballots.c.election_id == self.context.election_id)
                .group_by(precincts.c.code, early_ballots.c.void)).all()
        for code, void, n in rows:
            valid, voided = out.get(code, (0, 0))
            out[code] = (valid, voided + n) if void else (valid + n, voided)
        return out

    # -- a file ------------------------------------------------------------------------------------------
    def parse(self, data: bytes | str, source: str = "early-ballots.csv") -> tuple[list[_Line], tuple[str, ...]]:
        """The lines of an early-vote export, or EarlyBallotsInvalid listing every problem
        ("early.csv line 4, column rank2: ..."); also the columns ignored."""
        if isinstance(data, bytes):
            if len(data) > MAX_BYTES:
                raise self._invalid([f"{source}: the file has {len(data):,} bytes; at most {MAX_BYTES:,}"])
            try:
                data = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise self._invalid([f"{source}: not UTF-8 text (byte {exc.start}); export the file as CSV "
                                     "UTF-8"]) from exc
        reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""))
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise self._invalid([f"{source} line 1: {exc}"]) from exc
        if header is None:
            raise self._invalid([f"{source}: the file is empty; the first line names the columns "
                                 f"{', '.join(COLUMNS)}"])
        where: dict[str, int] = {}
        ignored = []
        for index, title in enumerate(header):
            column = _column(title)
            if column not in COLUMNS or column in where:
                ignored.append(title.strip() or f"column {index + 1}")
            else:
                where[column] = index
        missing = [c for c in REQUIRED if c not in where]
        if missing:
            raise self._invalid([f"{source} line 1: no column {', '.join(missing)}; the first line names the "
                                 f"columns {', '.join(COLUMNS)} (rank4 and rank5 optional)"])
        problems: list[str] = []
        lines: list[_Line] = []
        seen: dict[str, int] = {}
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                cells = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
                line = self._line(source, reader.line_num, cells, seen, problems)
                if line is not None:
                    lines.append(line)
                if len(problems) >= MAX_PROBLEMS:
                    problems.append(f"{source}: stopped after {MAX_PROBLEMS} problems")
                    break
        except csv.Error as exc:
            problems.append(f"{source} line {reader.line_num}: {exc}")
        if problems:
            raise self._invalid(problems)
        return lines, tuple(ignored)

    def _find(self, county: str, typed: str) -> str:
        for attempt in (f"{county}/{typed}", typed):
            try:
                return self.context.precinct(attempt).code
            except UnknownPrecinctCode:
                continue
        raise UnknownPrecinctCode(self.context.slug, typed, self.context.plan.settings.example_code)

    def _line(self, source: str, number: int, cells: Mapping[str, str], seen: dict[str, int],
              problems: list[str]) -> _Line | None:
        before = len(problems)
        at = f"{source} line {number}"
        code = ""
        county, typed = cells["county"], cells["precinct"]
        if not county:
            problems.append(f"{at}, column county: the county is required")
        if not typed:
            problems.append(f"{at}, column precinct: the precinct is required")
        elif county:
            try:
                code = self._find(county, typed)
            except UnknownPrecinctCode:
                example = next(iter(self.context.precincts), "")
                problems.append(f"{at}, column precinct: no precinct {typed!r} in county {county!r} of election "
                                f"{self.context.slug} (codes look like {example})")
            else:
                actual = self.context.precincts[code].county
                if actual.casefold() != county.casefold():
                    problems.append(f"{at}, column county: precinct {code} is in {actual}, not {county!r}")
        ballot_id = cells["ballot_id"]
        if not ballot_id:
            problems.append(f"{at}, column ballot_id: the ballot id is required")
        elif len(ballot_id) > MAX_BALLOT_ID:
            problems.append(f"{at}, column ballot_id: a ballot id has at most {MAX_BALLOT_ID} characters")
        elif ballot_id in seen:
            problems.append(f"{at}, column ballot_id: ballot {ballot_id!r} is already on line {seen[ballot_id]}")
        else:
            seen[ballot_id] = number
        ranks: list[str] = []
        blank = None
        for column in RANK_COLUMNS:
            text = cells.get(column, "")
            if not text:
                blank = blank or column
                continue
            if blank is not None:
                problems.append(f"{at}, column {column}: {column} is filled but {blank} is blank; ranks are in "
                                "order, blanks only at the end")
                break
            name = self._names.get(text.casefold())
            if name is None:
                problems.append(f"{at}, column {column}: {text!r} is not a candidate of election "
                                f"{self.context.slug} ({', '.join(self.context.candidates)})")
                continue
            ranks.append(name)
        if len(problems) > before:
            return None
        return _Line(number, code, EarlyBallot(ballot_id, tuple(ranks)))

    def import_file(self, data: bytes | str, *, actor: str, source: str = "early-ballots.csv") -> EarlyImportSummary:
        """Import every ballot of an early-vote export (all or nothing). Raises EarlyBallotsInvalid (every
        problem, with its line), including ballots for precincts that have already reported."""
        if not self.context.ruleset.early_ballots:
            raise self._invalid([f"election {self.context.slug} uses rule set {self.context.ruleset.name}, which "
                                 "has no early ballots"])
        lines, ignored = self.parse(data, source)
        now = self.clock()
        with write_transaction(self.engine) as conn:
            ids = dict(conn.execute(select(precincts.c.code, precincts.c.id)
                                    .where(precincts.c.election_id == self.context.election_id)).all())
            existing = {r.ballot_id: (r.code, tuple(json.loads(r.ranks))) for r in conn.execute(
                select(early_ballots.c.ballot_id, early_ballots.c.ranks, precincts.c.code)
                .join(precincts, precincts.c.id == early_ballots.c.precinct_id)
                .where(early_ballots.c.election_id == self.context.election_id))}
            reported = dict(conn.execute(
                select(precincts.c.code, func.min(ledger_entries.c.seq))
                .join(precincts, precincts.c.id == ledger_entries.c.precinct_id)
                .where(ledger_entries.c.election_id == self.context.election_id)
                .group_by(precincts.c.code)).all()) if lines else {}
            problems = []
            new: list[_Line] = []
            unchanged = 0
            for line in lines:
                before = existing.get(line.ballot.ballot_id)
                if before is not None:
                    if before == (line.code, line.ballot.ranks):
                        unchanged += 1
                        continue
                    problems.append(f"{source} line {line.number}, column ballot_id: ballot {line.ballot.ballot_id!r} "
                                    f"was already imported for {before[0]} ranking {', '.join(before[1]) or 'nobody'}; "
                                    "an imported ballot is never changed")
                    continue
                if line.code in reported:
                    problems.append(f"{source} line {line.number}, column precinct: precinct {line.code} has already "
                                    f"reported (entry #{reported[line.code]}); its first alignment is fixed, so it "
                                    "takes no more early ballots (NV-3.1)")
                    continue
                new.append(line)
            if problems:
                raise self._invalid(problems[:MAX_PROBLEMS])
            if new:
                conn.execute(early_ballots.insert(), [
                    {"election_id": self.context.election_id, "precinct_id": ids[line.code],
                     "ballot_id": line.ballot.ballot_id, "ranks": json.dumps(list(line.ballot.ranks)),
                     "void": line.ballot.void, "imported_at": now, "imported_by": actor} for line in new])
            summary = EarlyImportSummary(len(new), unchanged, sum(line.ballot.void for line in new),
                                         len({line.code for line in new}), ignored)
            audit.record(conn, election_id=self.context.election_id, at=now, actor=actor,
                         action="early-ballots.import",
                         detail={"source": source[:200], "lines": len(lines), "added": summary.added,
                                 "void": summary.void, "unchanged": unchanged, "precincts": summary.precincts},
                         outcome="ok")
        return summary

    def _invalid(self, problems: list[str]) -> EarlyBallotsInvalid:
        return EarlyBallotsInvalid("the early ballots were not imported:\n" + "\n".join(problems))
