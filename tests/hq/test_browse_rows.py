"""The campaigns' browse page and export of the released precincts (``/hq/precincts``, ``/hq/precincts.csv``) read
the maintained rows (``precinct_status`` with ``released_number``, revision 0017) and the listed precincts'
released records: after every step of a seeded random night of reports, review decisions, corrections, photos and
releases, through a rehearsal reset and go-live, every page (of 2 rows, walked to the last) equals the browse
derived from every precinct's status and released record, for every filter, and so does the streamed CSV. A
tampered ``released_number`` is found by ``caucus state check``. Bad parameters are refused naming themselves;
a campaign never sees an unreleased number. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import random

from sqlalchemy import update

from caucus.ledger import LedgerError
from caucus.ledger.schema import precinct_status
from caucus.service import ServiceError, StageReport, browse
from caucus.service.browse import Browse, BrowseRow, csv_chunks
from caucus.service.maintained import check
from caucus.web.services import Services
from tests.hq.campaign_support import add_campaign
from tests.hq.support import add_staff, play_random, sign_in
from tests.hq.test_release_preview import POWESHIEK, _operations
from tests.publish.support import report, scripts
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, STAGES

PER_PAGE = 2
#: the filters checked after every step (plus one of the finding codes released by then); names in the plan are
#: upper case ("MONTEZUMA - 11.11MO"), codes mixed ("Poweshiek/..."): the search is case-insensitive
QUERIES = (Browse(), Browse(county="Poweshiek"), Browse(county="Adams"), Browse(state="awaiting"),
           Browse(state="held"), Browse(search="montezuma"), Browse(search="poweshiek/"), Browse(changed_since=1),
           Browse(county="Poweshiek", changed_since=2))
SEEN: dict[str, int] = {}


def _walk(svc: Services, query: Browse) -> list[BrowseRow]:
    """Every page of ``query``, first to last, each checked against its bounds."""
    rows: list[BrowseRow] = []
    page = 1
    while True:
        found = svc.campaigns.browse(query, page, per_page=PER_PAGE)
        assert found.page == page and len(found.rows) <= PER_PAGE
        assert found.pages == max(1, -(-found.total // PER_PAGE))
        assert found.first == ((page - 1) * PER_PAGE + 1 if found.total else 0)
        rows += found.rows
        if page >= found.pages:
            assert len(rows) == found.total
            return rows
        assert len(found.rows) == PER_PAGE
        page += 1


def _assert_browse_equals_the_derivation(svc: Services) -> set[str]:
    every = svc.campaigns.derived_browse(Browse())
    findings = sorted({code for row in every for code in row.findings})
    seen = set()
    for query in (*QUERIES, *(Browse(finding=code) for code in findings[:1])):
        # the derivation's own filter over the rows derived once this step (derived_browse(query) is that, each
        # query deriving every precinct again)
        expected = [row for row in every if browse.matches(row, query)]
        assert _walk(svc, query) == expected, query
        assert svc.campaigns.browse(query, per_page=PER_PAGE).released == len(every)
        exported = b"".join(svc.campaigns.export(query))
        assert exported == b"".join(csv_chunks([expected])), query
        # the export holds each precinct's released numbers (read back with the csv module)
        lines = list(csv.DictReader(io.StringIO(exported.decode())))
        assert {line["code"] for line in lines} == {row.code for row in expected}
        for line in lines:
            row = next(r for r in expected if r.code == line["code"])
            key = {"expression_1": "first", "expression_2": "final", "sde": "sde"}[line["measure"]]
            assert line["value"] == str(row.record[key][line["candidate"]])
            assert int(line["release"]) == row.number
        if expected:
            SEEN[repr(query)] = SEEN.get(repr(query), 0) + 1
            seen.add("finding" if query.finding else "rows")
        if len(expected) > PER_PAGE:
            seen.add("pages")
        if any(row.awaiting for row in expected):
            seen.add("awaiting")
        if any(row.reasons for row in expected):
            seen.add("held again")
    assert check(svc.engine, svc.context).ok
    return seen


def _play(svc: Services, seed: int, steps: int) -> set[str]:
    rng = random.Random(seed)

    def same_again(n: int) -> object:  # a correction that changes no number: accepted, awaiting release
        return svc.review.correct("reviewer:rita", GRINNELL, {"attendance": {"attendance": 328}}, reason="re-read",
                                  key=f"same-{n}")

    operations = [*_operations(svc, rng), same_again]
    # first, Poweshiek's four precincts of the 2020 night and the one nobody came to (accepted with its findings)
    # are released, so that there are pages, a finding and corrections of released precincts to browse
    for script in POWESHIEK:
        report(svc.reports, script, prefix=f"base-{seed}")
    next(op for op in operations if op.__name__ == "nobody_came")(seed)
    svc.releases.release(actor="director:dora", note="the first precincts")
    # then one of them is corrected without a number changing: accepted, a correction awaiting release
    script = POWESHIEK[1]
    svc.review.correct("reviewer:rita", script.precinct, {"attendance": {"attendance": script.stages[0]["attendance"]}},
                       reason="re-read", key=f"again-{seed}")
    return play_random(rng, operations, steps, (ServiceError, LedgerError, IndexError),
                       lambda: _assert_browse_equals_the_derivation(svc))


def test_the_browse_pages_and_export_equal_the_derivation_through_a_random_night(hq: Web, svc: Services) -> None:
    _assert_browse_equals_the_derivation(svc)
    done = _play(svc, 31, 15)
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)
    assert svc.campaigns.browse(Browse()).total == 0  # the rehearsal's releases are archived
    done |= _play(svc, 32, 6)
    svc.election.go_live("director:dora", confirm=SLUG)
    assert svc.campaigns.browse(Browse()).total == 0
    done |= _play(svc, 33, 15)
    assert done >= {"release", "correct", "rows", "pages", "awaiting", "finding"}, done
    # each filter selected something at some step (so each comparison could have failed)
    assert set(SEEN) >= {repr(q) for q in QUERIES}, SEEN


def _release_grinnell(svc: Services) -> None:
    for stage, numbers in STAGES:
        svc.reports.submit(GRINNELL, StageReport(stage, numbers), f"g-{stage}", channel="app", actor="chair")
    svc.releases.release(actor="director:dora")


def test_a_tampered_released_number_is_found_and_the_page_falls_back_on_stale_rows(hq: Web, svc: Services) -> None:
    _release_grinnell(svc)
    with svc.engine.begin() as conn:
        conn.execute(update(precinct_status).values(released_number=7))
    result = check(svc.engine, svc.context)
    assert not result.ok and result.differences[0] == (
        GRINNELL, "released (seq, findings, release): stored (4, '', 7), the releases make (4, '', 1)")
    with svc.engine.begin() as conn:  # a stale row (a writer without the keeper): the derivation answers
        conn.execute(update(precinct_status).values(state=None, released_number=None))
    page = svc.campaigns.browse(Browse())
    assert [row.code for row in page.rows] == [GRINNELL] and page.rows[0].number == 1


def test_bad_parameters_are_refused_naming_the_parameter(hq: Web, svc: Services) -> None:
    add_staff(hq.engine, "oscar", "observer")
    oscar = sign_in(hq.client, "oscar")
    assert oscar.get("/hq/precincts?page=1").status_code == 200  # nothing released: one empty page
    for query, field in (("page=-1", "page"), ("page=abc", "page"), ("page=0", "page"), ("page=2", "page"),
                         ("county=Atlantis", "county"), ("state=gone", "state"), ("finding=nope", "finding"),
                         ("since=x", "since")):
        answer = oscar.get(f"/hq/precincts?{query}")
        assert answer.status_code == 422, query
        assert f'id="error-{field}"' in answer.text, query
    assert "page 2 is past the last page (1) of the 0 precincts" in oscar.get("/hq/precincts?page=2").text
    refused = oscar.get("/hq/precincts.csv?county=Atlantis")
    assert refused.status_code == 422
    assert "no county" in refused.text and "Atlantis" in refused.text  # (HQ's error page, before any row)
    assert oscar.get("/hq/precincts?county=poweshiek").status_code == 200  # any case: the plan's county
    for public in ("o-brien", "black-hawk"):  # the public site's and feed's slug of O'Brien, Black Hawk
        answer = oscar.get(f"/hq/precincts?county={public}")
        assert answer.status_code == 200 and 'id="error-county"' not in answer.text, public


def test_a_campaign_sees_the_released_numbers_never_the_correction_awaiting_release(hq: Web, svc: Services) -> None:
    _release_grinnell(svc)
    attendance = dict(STAGES)["attendance"]["attendance"]
    svc.review.correct("reviewer:rita", GRINNELL, {"attendance": {"attendance": attendance + 7}}, reason="recount",
                       key="fix")
    add_campaign(hq.engine, "sam", "Sanders")
    sam = sign_in(hq.client, "sam")
    page = sam.get("/hq/precincts")
    assert page.status_code == 200
    row = page.text.split(f'<tr data-precinct="{GRINNELL}">')[1].split("</tr>")[0]
    first = dict(STAGES)["first"]["counts"]
    assert all(f"{g} {n}" in row for g, n in first.items())  # the released first alignment
    assert "a correction awaits release" in row or "held again" in row
    assert str(attendance + 7) not in page.text
    exported = sam.get("/hq/precincts.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert {line["release"] for line in csv.DictReader(io.StringIO(exported.text))} == {"1"}
    assert str(attendance + 7) not in exported.text


def test_every_page_of_many_is_the_derivations_slice_read_from_either_end(hq: Web, svc: Services) -> None:
    """Pages past the middle are read from the end (descending): each page of a few dozen released precincts,
    three to a page, is exactly the derivation's slice, in code order."""
    for script in scripts(["Poweshiek", "Adair", "Adams"]):
        report(svc.reports, script, prefix="many")
    svc.releases.release(actor="director:dora")
    for query in (Browse(), Browse(county="Poweshiek"), Browse(search="a")):
        expected = svc.campaigns.derived_browse(query)
        assert len(expected) >= 7, query  # several pages on each side of the middle
        rows: list[BrowseRow] = []
        page = 1
        while True:
            found = svc.campaigns.browse(query, page, per_page=3)
            assert found.rows == tuple(expected[(page - 1) * 3:page * 3]), (query, page)
            rows += found.rows
            if page == found.pages:
                break
            page += 1
        assert rows == expected
