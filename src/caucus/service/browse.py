"""The campaigns' and observers' browse and export of the released precincts (``/hq/precincts``, issue 13), read
from the maintained state (issue 15), not by deriving every precinct per request.

What a precinct shows is what was published: the record of the newest release of the current epoch that released
it (``release_precincts``, found by ``precinct_status.released_number``, revision 0017), its finding codes
(``released_findings``) and, of its status now, only whether a correction awaits release (``state`` accepted,
``last_seq`` past ``released_seq``) or the reason codes it is held again for (``codes``): never an unreleased
number. The page lists ``PAGE_SIZE`` rows of the filtered precincts in code order with their count (indexed
queries and one primary-key read of the listed records); the export streams every filtered precinct's record
from one query, a batch at a time (memory bounded, cost proportional to its rows).

While some status rows are stale (written by a writer without the keeper, until the server's start-up derives
them) both answer from the derivation of every precinct (:meth:`CampaignService.views`), as the quality page does.
"""

from __future__ import annotations

import csv
import io
import json
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, LargeBinary, and_, case, cast, func, literal, select, text

from caucus.checks import FINDING_CODES
from caucus.ledger.db import SQLITE_LOWER, is_sqlite
from caucus.ledger.schema import precinct_status, precincts, release_precincts
from caucus.publish.model import slug
from caucus.service.context import ElectionContext
from caucus.service.hq_errors import StaffInputInvalid

Record = dict[str, Any]
#: rows on one page of the browse page
PAGE_SIZE = 100
#: the states a browse may ask for: every released precinct, those with a correction awaiting release, those
#: held again since released
BROWSE_STATES = {"": "every released precinct", "awaiting": "a correction accepted, awaiting release",
                 "held": "held for review again since released"}
CSV_HEADER = ("county", "precinct", "candidate", "measure", "value", "code", "release", "findings")
#: released precincts per batch of the export (one fetch, one chunk of the answer)
EXPORT_BATCH = 500
#: PostgreSQL's ICU root collation ("und"): Unicode case mapping for every letter, whatever the server's locale
ICU_ROOT = "und-x-icu"


@dataclass(frozen=True)
class Browse:
    county: str = ""
    state: str = ""
    finding: str = ""
    search: str = ""
    changed_since: int | None = None


@dataclass(frozen=True)
class BrowseRow:
    """A released precinct as a campaign or an observer may see it."""

    code: str
    county: str
    name: str
    #: the release that published its newest record, and that record
    number: int
    record: Record
    #: accepted now with entries newer than its released record (a correction not yet published)
    awaiting: bool
    #: the reason codes of its state now if it is not accepted (held again; never a number)
    reasons: tuple[str, ...]

    @property
    def findings(self) -> tuple[str, ...]:
        return tuple(str(f["code"]) for f in self.record.get("findings") or ())


@dataclass(frozen=True)
class BrowsePage:
    rows: tuple[BrowseRow, ...]
    #: precincts the filters select, and every released precinct
    total: int
    released: int
    page: int
    pages: int
    first: int  # the position of the first row (1-based; 0 with none)


def parse_browse(context: ElectionContext, *, county: str, state: str, finding: str, search: str, since: str
                 ) -> Browse:
    """The filters of a request, each checked (a bad one raises StaffInputInvalid naming its parameter)."""
    found = ""
    if county.strip():
        # the name in any case, or the public site's and feed's slug of it ("o-brien" for O'Brien)
        folded = {name.casefold(): name for name in context.plan.counties} | {
            slug(name): name for name in context.plan.counties}
        found = folded.get(county.strip().casefold(), "")
        if not found:
            raise StaffInputInvalid("county", f"no county {county.strip()!r} in this election (one of the list, "
                                              f"like {min(context.plan.counties)!r})")
    if state not in BROWSE_STATES:
        raise StaffInputInvalid("state", f"state is one of {', '.join(repr(s) for s in BROWSE_STATES)}; got {state!r}")
    if finding and finding not in FINDING_CODES:
        raise StaffInputInvalid("finding", f"no finding code {finding!r} (docs/findings.md lists them)")
    changed = None
    if since.strip():
        if not since.strip().isdigit():
            raise StaffInputInvalid("since", f"changed since release: a release number like 3; got {since!r}")
        changed = int(since)
    return Browse(county=found, state=state, finding=finding, search=search.strip(), changed_since=changed)


def parse_page(text: str) -> int:
    """The ``page`` parameter: a page number from 1 (blank: 1)."""
    if not text.strip():
        return 1
    if not text.strip().isdigit() or int(text) < 1:
        raise StaffInputInvalid("page", f"page is a page number from 1; got {text!r}")
    return int(text)


def matches(row: BrowseRow, query: Browse) -> bool:
    """Whether a row derived from every precinct passes the filters (the derivation's browse)."""
    needle = query.search.lower()
    return ((not query.county or row.county == query.county)
            and (query.state != "awaiting" or row.awaiting)
            and (query.state != "held" or bool(row.reasons))
            and (not query.finding or query.finding in row.findings)
            and (not needle or needle in row.code.lower() or needle in row.name.lower())
            and (query.changed_since is None or row.number > query.changed_since))


#: engines of PostgreSQL servers that have the ICU root collation (found once per engine)
_ICU: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Folding:
    """How the search lower-cases on one database, for every letter: on SQLite Python's ``str.lower`` (a function
    every connection of ``make_engine`` has; SQLite's own ``lower`` folds only A-Z), on PostgreSQL ``lower``
    under the ICU root collation (whatever the database's locale: ``lower`` under a "C" locale folds only A-Z),
    or the database's own ``lower`` if the server has no ICU. The needle is lower-cased by Python, and the
    derivation (:func:`matches`) lower-cases as Python does, so every way agrees."""

    sqlite: bool = True
    icu: bool = False

    def column(self, column: ColumnElement[str]) -> ColumnElement[str]:
        if self.sqlite:  # ASCII text (as many bytes as characters) by SQLite's lower, the same and 2x cheaper
            return case((func.length(cast(column, LargeBinary)) == func.length(column), func.lower(column)),
                        else_=getattr(func, SQLITE_LOWER)(column))
        return func.lower(column.collate(ICU_ROOT) if self.icu else column)


def folding(conn: Connection) -> Folding:
    """The case folding of ``conn``'s database."""
    if is_sqlite(conn):
        return Folding()
    icu = _ICU.get(conn.engine)
    if icu is None:
        icu = _ICU[conn.engine] = bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_collation WHERE "
                                                           "collname = :name)"), {"name": ICU_ROOT}).scalar())
    return Folding(sqlite=False, icu=icu)


def _filters(election_id: int, query: Browse, fold: Folding) -> list[ColumnElement[bool]]:
    """The filters as conditions on ``precinct_status`` joined with ``precincts``. The search is case-insensitive
    for every letter (:class:`Folding`)."""
    status = precinct_status.c
    where = [status.election_id == election_id, status.released_number.is_not(None)]
    if query.county:
        where.append(status.county == query.county)
    if query.state == "awaiting":
        where.append(and_(status.state == "accepted", status.released_seq != status.last_seq))
    if query.state == "held":
        where.append(and_(status.state != "accepted", status.codes != ""))
    if query.finding:
        where.append((literal(",") + status.released_findings + literal(",")).contains(f",{query.finding},",
                                                                                          autoescape=True))
    if query.search:
        needle = query.search.lower()
        where.append(fold.column(precincts.c.code).contains(needle, autoescape=True)
                     | fold.column(precincts.c.name).contains(needle, autoescape=True))
    if query.changed_since is not None:
        where.append(status.released_number > query.changed_since)
    return where


_JOINED = precinct_status.join(precincts, precincts.c.id == precinct_status.c.precinct_id)
_LISTED = (precincts.c.code, precincts.c.county, precincts.c.name, precinct_status.c.released_number,
           precinct_status.c.state, precinct_status.c.codes, precinct_status.c.released_seq, precinct_status.c.last_seq)


def has_stale_rows(conn: Connection, election_id: int) -> bool:
    return conn.execute(select(precinct_status.c.precinct_id).where(
        precinct_status.c.election_id == election_id, precinct_status.c.state.is_(None)).limit(1)).first() is not None


def _row(listed: Any, record: Record) -> BrowseRow:
    accepted = listed.state == "accepted"
    return BrowseRow(listed.code, listed.county, listed.name, int(listed.released_number), record,
                     accepted and listed.released_seq != listed.last_seq,
                     () if accepted else tuple(c for c in (listed.codes or "").split(",") if c))


def count(conn: Connection, election_id: int, query: Browse) -> tuple[int, int]:
    """(precincts the filters select, every released precinct)."""
    everyone = select(func.count()).select_from(precinct_status).where(
        precinct_status.c.election_id == election_id, precinct_status.c.released_number.is_not(None))
    released = int(conn.execute(everyone).scalar_one())
    if query == Browse():
        return released, released
    selected = select(func.count()).select_from(_JOINED if query.search else precinct_status).where(
        *_filters(election_id, query, folding(conn)))
    return int(conn.execute(selected).scalar_one()), released


def page_rows(conn: Connection, election_id: int, query: Browse, offset: int, limit: int, *,
              total: int | None = None) -> list[BrowseRow]:
    """The filtered released precincts ``offset`` to ``offset + limit`` in code order, each with its released
    record (read by primary key). With ``total`` (how many the filters select), a page in the second half is
    read from the end (descending), so no page skips more than half the rows (an OFFSET walks every row it
    skips: the last of 1,099 pages cost 12× the first)."""
    selected = select(*_LISTED).select_from(_JOINED).where(*_filters(election_id, query, folding(conn)))
    if total is not None and offset > total // 2:
        take = max(0, min(limit, total - offset))
        listed = conn.execute(selected.order_by(precincts.c.code.desc()).offset(total - offset - take)
                              .limit(take)).all()[::-1]
    else:
        listed = conn.execute(selected.order_by(precincts.c.code).offset(offset).limit(limit)).all()
    if not listed:
        return []
    records = {(row.precinct_code, int(row.number)): row.record for row in conn.execute(
        select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record).where(
            release_precincts.c.election_id == election_id,
            release_precincts.c.precinct_code.in_([row.code for row in listed]),
            release_precincts.c.number.in_(sorted({int(row.released_number) for row in listed}))))}
    return [_row(row, json.loads(records[(row.code, int(row.released_number))])) for row in listed]


def make_page(total: int, released: int, page: int, per_page: int = PAGE_SIZE) -> BrowsePage:
    """Page ``page`` of ``total`` rows, without its rows yet (a page past the last raises StaffInputInvalid)."""
    pages = max(1, -(-total // per_page))
    if page > pages:
        raise StaffInputInvalid("page", f"page {page} is past the last page ({pages}) of the {total} precincts "
                                        f"these filters select")
    first = (page - 1) * per_page + 1 if total else 0
    return BrowsePage((), total, released, page, pages, first)


def stream(engine: Engine, election_id: int, query: Browse) -> Iterator[Iterable[BrowseRow]]:
    """Every filtered released precinct with its record, in code order, a batch at a time, from one query (one
    connection, held while the caller reads)."""
    with engine.connect() as conn:
        statement = (select(*_LISTED, release_precincts.c.record).select_from(_JOINED.join(
            release_precincts, (release_precincts.c.election_id == precinct_status.c.election_id)
            & (release_precincts.c.number == precinct_status.c.released_number)
            & (release_precincts.c.precinct_code == precincts.c.code)))
            .where(*_filters(election_id, query, folding(conn))).order_by(precincts.c.code))
        result = conn.execution_options(stream_results=True, yield_per=EXPORT_BATCH).execute(statement)
        for batch in result.partitions():
            yield (_row(row, json.loads(row.record)) for row in batch)


def csv_chunks(batches: Iterable[Iterable[BrowseRow]]) -> Iterator[bytes]:
    """The released numbers of the rows in the party's public long layout, plus the code, the release each came
    from and its findings (one line per precinct, group and measure): the header, then a chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue().encode("utf-8")
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            writer.writerows(_lines(row))
        yield buffer.getvalue().encode("utf-8")


def _lines(row: BrowseRow) -> Iterator[list[Any]]:
    record: Mapping[str, Any] = row.record
    found = " ".join(row.findings)
    for g in sorted(set(record.get("first") or {}) | set(record.get("final") or {})):
        for measure, key in (("expression_1", "first"), ("expression_2", "final"), ("sde", "sde")):
            value = (record.get(key) or {}).get(g)
            if value is not None:
                yield [row.county, row.name, g, measure, value, row.code, row.number, found]
