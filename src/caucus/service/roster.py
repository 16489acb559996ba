"""The chair roster: each precinct's registered chair (name, phone, email), for headquarters only.

Loaded from a party's spreadsheet (``caucus chairs import roster.csv``, or the upload on HQ's Chairs page)
and edited one precinct at a time on that page. Readiness lists the chairs to phone with their numbers, and
the hotline console shows the registered chair of the precinct on a call. The roster is never public and
never part of a release: nothing in :mod:`caucus.publish` reads it. Every change is audited
(``roster.import``, ``roster.set``, ``roster.remove``).

The CSV has a header row with the columns ``precinct``, ``name``, ``phone`` and (optional) ``email`` (also
accepted: ``code``/``precinct code``, ``chair``/``chair name``, ``phone number``, ``e-mail``); other columns
are ignored and named. Precinct codes are matched as people type them (case and spaces ignored). Every bad
line is reported at once, with its line number, the column and the rule; a file with any bad line changes
nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from caucus.ledger import audit
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.schema import chair_roster, precincts
from caucus.service.context import ElectionContext
from caucus.service.errors import FieldProblem, ServiceError, UnknownPrecinctCode

COLUMNS = ("precinct", "name", "phone", "email")
REQUIRED = ("precinct", "name", "phone")
ALIASES = {
    "precinct": "precinct", "precinct code": "precinct", "code": "precinct",
    "name": "name", "chair": "name", "chair name": "name", "precinct chair": "name",
    "phone": "phone", "phone number": "phone", "chair phone": "phone", "telephone": "phone",
    "email": "email", "e mail": "email", "email address": "email", "chair email": "email",
}
MAX_NAME = 200
MAX_PHONE = 40
MAX_EMAIL = 254
MIN_DIGITS, MAX_DIGITS = 7, 15
PHONE = re.compile(r"\+?[0-9 ().\-/]+?(?:\s*(?:x|ext\.?|extension)\s*([0-9]{1,6}))?", re.IGNORECASE)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PROBLEMS = 50
MAX_BYTES = 1_000_000


class RosterInvalid(ServiceError):
    """A roster file or form field breaks a rule: every problem named (line, column, rule)."""

    code = "invalid-input"


@dataclass(frozen=True)
class Chair:
    """A precinct's registered chair."""

    code: str
    county: str
    precinct_name: str
    name: str
    phone: str
    email: str
    updated_at: datetime | None = None
    updated_by: str = ""

    @property
    def tel(self) -> str:
        """The number for a ``tel:`` link: digits (and a leading +), then ``;ext=`` and the extension."""
        match = PHONE.fullmatch(self.phone)
        main = self.phone[:match.start(1)] if match is not None and match.group(1) else self.phone
        number = "".join(c for c in main if c.isdigit() or c == "+")
        return f"{number};ext={match.group(1)}" if match is not None and match.group(1) else number


@dataclass(frozen=True)
class ImportSummary:
    added: int
    changed: int
    unchanged: int
    removed: int
    ignored_columns: tuple[str, ...]

    def describe(self) -> str:
        text = f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged"
        if self.removed:
            text += f", {self.removed} removed"
        if self.ignored_columns:
            text += f" (columns ignored: {', '.join(self.ignored_columns)})"
        return text


def check_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise ValueError("the chair's name is required")
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters; this one has {len(name)}")
    if CONTROL.search(name):
        raise ValueError("a name cannot contain control characters")
    return name


def check_phone(value: str) -> str:
    phone = " ".join(value.split())
    if not phone:
        raise ValueError("the chair's phone number is required (HQ phones chairs who have not signed in)")
    if len(phone) > MAX_PHONE:
        raise ValueError(f"a phone number has at most {MAX_PHONE} characters")
    match = PHONE.fullmatch(phone)
    if match is None:
        raise ValueError(f"{phone!r} is not a phone number: digits, spaces, '+', '(', ')', '-', '.', and an "
                         "extension as 'x 123' or 'ext. 123'")
    main = phone[:match.start(1)] if match.group(1) else phone
    digits = sum(c.isdigit() for c in main)
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise ValueError(f"{phone!r} has {digits} digits; a phone number has {MIN_DIGITS} to {MAX_DIGITS}")
    return phone


def check_email(value: str) -> str:
    email = value.strip()
    if not email:
        return ""
    if len(email) > MAX_EMAIL:
        raise ValueError(f"an email address has at most {MAX_EMAIL} characters")
    if EMAIL.fullmatch(email) is None:
        raise ValueError(f"{email!r} is not an email address (name@example.org), or leave it empty")
    return email


@dataclass(frozen=True)
class _Line:
    number: int
    code: str
    name: str
    phone: str
    email: str


class RosterService:
    def __init__(self, engine: Engine, context: ElectionContext, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.context, self.clock = engine, context, clock

    # -- reading -----------------------------------------------------------------------------------------
    def roster(self) -> dict[str, Chair]:
        """Every registered chair by precinct code (the plan's order)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(precincts.c.code, chair_roster).join(
                chair_roster, chair_roster.c.precinct_id == precincts.c.id).where(
                chair_roster.c.election_id == self.context.election_id)).all()
        found = {row.code: row for row in rows}
        return {code: self._chair(found[code]) for code in self.context.precincts if code in found}

    def first(self, limit: int) -> tuple[dict[str, Chair], int]:
        """The first ``limit`` registered chairs in plan order and how many there are (HQ's
        roster page: a national roster has 175,000 lines)."""
        mine = chair_roster.c.election_id == self.context.election_id
        with self.engine.connect() as conn:
            count = int(conn.execute(select(func.count()).select_from(chair_roster).where(mine)).scalar_one())
            rows = conn.execute(select(precincts.c.code, chair_roster).join(
                chair_roster, chair_roster.c.precinct_id == precincts.c.id).where(mine)
                .order_by(chair_roster.c.precinct_id).limit(limit)).all()
        return {row.code: self._chair(row) for row in rows if row.code in self.context.precincts}, count

    def chairs(self, codes: Collection[str]) -> dict[str, Chair]:
        """The registered chairs of ``codes`` (plan codes) by code; those without one are left out."""
        found: dict[str, Chair] = {}
        wanted = sorted(set(codes))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                for row in conn.execute(select(precincts.c.code, chair_roster).join(
                        chair_roster, chair_roster.c.precinct_id == precincts.c.id).where(
                        precincts.c.election_id == self.context.election_id,
                        precincts.c.code.in_(wanted[start:start + 500]))):
                    if row.code in self.context.precincts:
                        found[row.code] = self._chair(row)
        return found

    def chair(self, code: str) -> Chair | None:
        """The registered chair of a precinct (the code as typed), or None."""
        info = self.context.precinct(code)
        with self.engine.connect() as conn:
            row = conn.execute(select(precincts.c.code, chair_roster).join(
                chair_roster, chair_roster.c.precinct_id == precincts.c.id).where(
                precincts.c.election_id == self.context.election_id, precincts.c.code == info.code)).first()
        return self._chair(row) if row is not None else None

    def _chair(self, row: Any) -> Chair:
        info = self.context.precincts[row.code]
        return Chair(info.code, info.county, info.name, row.name, row.phone, row.email, row.updated_at,
                     row.updated_by)

    # -- one precinct ------------------------------------------------------------------------------------
    def save(self, code: str, name: str, phone: str, email: str, *, actor: str) -> Chair:
        """Register (or change) a precinct's chair; raises RosterInvalid naming every bad field, or
        UnknownPrecinctCode."""
        problems = []
        values: dict[str, str] = {}
        for field, check, value in (("name", check_name, name), ("phone", check_phone, phone),
                                    ("email", check_email, email)):
            try:
                values[field] = check(value)
            except ValueError as exc:
                problems.append(FieldProblem(field, RosterInvalid.code, str(exc)))
        if problems:
            raise RosterInvalid("; ".join(p.message for p in problems), problems)
        info = self.context.precinct(code)
        now = self.clock()
        with write_transaction(self.engine) as conn:
            before = self._current(conn).get(info.code)
            outcome = self._put(conn, info.code, values, before, now=now, actor=actor)
            audit.record(conn, election_id=self.context.election_id, at=now, actor=actor, action="roster.set",
                         detail={"precinct": info.code, **values, "before": before or {}}, outcome=outcome)
        chair = self.chair(info.code)
        assert chair is not None
        return chair

    def remove(self, code: str, *, actor: str) -> bool:
        """Take a precinct's chair off the roster; False if none was registered."""
        info = self.context.precinct(code)
        now = self.clock()
        with write_transaction(self.engine) as conn:
            before = self._current(conn).get(info.code)
            if before is not None:
                conn.execute(delete(chair_roster).where(chair_roster.c.precinct_id == self._precinct_id(conn,
                                                                                                        info.code)))
            audit.record(conn, election_id=self.context.election_id, at=now, actor=actor, action="roster.remove",
                         detail={"precinct": info.code, "before": before or {}},
                         outcome="ok" if before is not None else "not-registered")
        return before is not None

    # -- a file ------------------------------------------------------------------------------------------
    def parse(self, data: bytes | str, source: str = "roster.csv") -> tuple[list[_Line], tuple[str, ...]]:
        """The lines of a roster CSV, or RosterInvalid listing every problem ("roster.csv line 4, column
        phone: ..."); also the columns ignored."""
        if isinstance(data, bytes):
            if len(data) > MAX_BYTES:
                raise _invalid(source, [("file", f"{source}: the file has {len(data):,} bytes; a roster has at "
                                                 f"most {MAX_BYTES:,}")])
            try:
                data = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise _invalid(source, [("file", f"{source}: not UTF-8 text (byte {exc.start}); save the "
                                                 "spreadsheet as 'CSV UTF-8'")]) from exc
        reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""))
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise _invalid(source, [("file", f"{source} line 1: {exc}")]) from exc
        if header is None:
            raise _invalid(source, [("file", f"{source}: the file is empty; the first line names the columns "
                                             f"{', '.join(COLUMNS)}")])
        where: dict[str, int] = {}
        ignored = []
        for index, title in enumerate(header):
            column = ALIASES.get(" ".join(title.replace("_", " ").replace("-", " ").split()).casefold())
            if column is None or column in where:
                ignored.append(title.strip() or f"column {index + 1}")
            else:
                where[column] = index
        missing = [c for c in REQUIRED if c not in where]
        if missing:
            raise _invalid(source, [("header", f"{source} line 1: no column {', '.join(missing)}; the first line "
                                               f"names the columns {', '.join(COLUMNS)} (email optional)")])
        problems: list[tuple[str, str]] = []
        lines: list[_Line] = []
        seen: dict[str, int] = {}
        try:
            for row in reader:
                number = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                cells = {c: (row[i] if i < len(row) else "") for c, i in where.items()}
                line = self._line(source, number, cells, seen, problems)
                if line is not None:
                    lines.append(line)
        except csv.Error as exc:
            problems.append(("file", f"{source} line {reader.line_num}: {exc}"))
        if problems:
            raise _invalid(source, problems)
        return lines, tuple(ignored)

    def _line(self, source: str, number: int, cells: Mapping[str, str], seen: dict[str, int],
              problems: list[tuple[str, str]]) -> _Line | None:
        values: dict[str, str] = {}
        before = len(problems)
        typed = cells["precinct"].strip()
        if not typed:
            problems.append(("precinct", f"{source} line {number}, column precinct: the precinct code is required"))
        else:
            try:
                code = self.context.precinct(typed).code
            except UnknownPrecinctCode:
                example = next(iter(self.context.precincts), "")
                problems.append(("precinct", f"{source} line {number}, column precinct: no precinct {typed!r} in "
                                             f"election {self.context.slug} (codes look like {example})"))
            else:
                if code in seen:
                    problems.append(("precinct", f"{source} line {number}, column precinct: {code} is already on "
                                                 f"line {seen[code]}; a precinct has one chair"))
                seen.setdefault(code, number)
                values["precinct"] = code
        for column, check in (("name", check_name), ("phone", check_phone), ("email", check_email)):
            try:
                values[column] = check(cells.get(column, ""))
            except ValueError as exc:
                problems.append((column, f"{source} line {number}, column {column}: {exc}"))
        if len(problems) > before:
            return None
        return _Line(number, values["precinct"], values["name"], values["phone"], values["email"])

    def import_file(self, data: bytes | str, *, actor: str, source: str = "roster.csv",
                    replace: bool = False) -> ImportSummary:
        """Register every chair of a roster file (all or nothing); ``replace``: also take off the roster the
        precincts the file does not list. Raises RosterInvalid (every problem, with its line)."""
        lines, ignored = self.parse(data, source)
        now = self.clock()
        added = changed = unchanged = removed = 0
        with write_transaction(self.engine) as conn:
            current = self._current(conn)
            for line in lines:
                values = {"name": line.name, "phone": line.phone, "email": line.email}
                outcome = self._put(conn, line.code, values, current.get(line.code), now=now, actor=actor)
                added += outcome == "added"
                changed += outcome == "changed"
                unchanged += outcome == "unchanged"
            if replace:
                listed = {line.code for line in lines}
                for code in current.keys() - listed:
                    conn.execute(delete(chair_roster).where(chair_roster.c.precinct_id == self._precinct_id(conn,
                                                                                                            code)))
                    removed += 1
            summary = ImportSummary(added, changed, unchanged, removed, ignored)
            audit.record(conn, election_id=self.context.election_id, at=now, actor=actor, action="roster.import",
                         detail={"source": source[:200], "lines": len(lines), "added": added, "changed": changed,
                                 "unchanged": unchanged, "removed": removed, "replace": replace}, outcome="ok")
        return summary

    # -- storage -----------------------------------------------------------------------------------------
    def _current(self, conn: Connection) -> dict[str, dict[str, str]]:
        rows = conn.execute(select(precincts.c.code, chair_roster.c.name, chair_roster.c.phone, chair_roster.c.email)
                            .join(chair_roster, chair_roster.c.precinct_id == precincts.c.id)
                            .where(chair_roster.c.election_id == self.context.election_id))
        return {r.code: {"name": r.name, "phone": r.phone, "email": r.email} for r in rows}

    def _precinct_id(self, conn: Connection, code: str) -> int:
        return int(conn.execute(select(precincts.c.id).where(precincts.c.election_id == self.context.election_id,
                                                             precincts.c.code == code)).scalar_one())

    def _put(self, conn: Connection, code: str, values: dict[str, str], before: dict[str, str] | None, *,
             now: datetime, actor: str) -> str:
        if before == values:
            return "unchanged"
        precinct_id = self._precinct_id(conn, code)
        if before is None:
            conn.execute(chair_roster.insert().values(election_id=self.context.election_id, precinct_id=precinct_id,
                                                      updated_at=now, updated_by=actor[:200], **values))
            return "added"
        conn.execute(update(chair_roster).where(chair_roster.c.precinct_id == precinct_id)
                     .values(updated_at=now, updated_by=actor[:200], **values))
        return "changed"


def _invalid(source: str, problems: list[tuple[str, str]]) -> RosterInvalid:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    message = "\n".join(m for _, m in shown) + (f"\n... and {more} more problems" if more else "")
    count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
    return RosterInvalid(f"{source}: {count}, nothing imported:\n{message}",
                         [FieldProblem(field, RosterInvalid.code, m) for field, m in shown])
