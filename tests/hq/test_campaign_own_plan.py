"""Campaigns on a party's own plan (the made-up Prairie Party, tests/plans/prairie-2028: two counties, six
precincts, Alvarez, Baker and Chen), done as campaign staff and an admin would, off the script:

the admin makes the accounts on the command line and on the staff page (Iowa's candidates refused); the
Alvarez campaign uploads a file full of mistakes (each named with its line, nothing recorded), then its
captains' file; it uploads again for one precinct (replacing only that precinct); it tries the party's
precinct pages, another campaign's view and a form without its CSRF token; before the first release and
after it (with a correction accepted but not yet released) no page and no CSV of a campaign or an observer
holds a number the party has not released; it files a recanvass from the cross-check; HQ corrects the
precinct; the campaign follows the request to the published before/after difference."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caucus.ledger import sqlite_url_for_dir
from caucus.service import StageReport
from caucus.web.app import create_app
from caucus.web.services import Services
from caucus.web.settings import Settings
from tests.cli.support import ok, run
from tests.hq.support import PASSWORD, Staffer, sign_in
from tests.web.support import Clock

PLAN = Path(__file__).resolve().parents[1] / "plans" / "prairie-2028"
SLUG = "prairie"

#: what the chairs report (counts chosen so that every party number is 100 or more and none is a campaign's)
ELM = "Cottonwood/2"  # Elm Grove, 6 delegates: accepted, released; its final alignment differs from Alvarez's
ELM_FIRST = {"Alvarez": 300, "Baker": 167, "Chen": 70}  # Chen not viable (81 of 537): 30 join Alvarez, 40 Baker
ELM_FINAL = {"Alvarez": 330, "Baker": 207}
PRAIRIE_VIEW = "Cottonwood/3"  # 4 delegates: accepted, released; the campaign's numbers agree (once fixed)
PV_FIRST = {"Alvarez": 130, "Baker": 170, "Chen": 110}
PV_FINAL = PV_FIRST
WARD = "Bluestem/3"  # Bluestem City Ward 1, 5 delegates: the chair's delegates contradict the alignment: held
WARD_FINAL = {"Alvarez": 190, "Baker": 160}
TOSS = "Bluestem/1"  # Bluestem Township, 4 delegates, 20 people: 7, 7, 6 -> 1, 1, 1 and a spare one tied
TOSS_COUNTS = {"Alvarez": 7, "Baker": 7, "Chen": 6}
REPORTS = {
    ELM: [("attendance", {"attendance": 537}), ("first", {"counts": ELM_FIRST}), ("final", {"counts": ELM_FINAL}),
          ("delegates", {"delegates": {"Alvarez": 4, "Baker": 2}})],
    PRAIRIE_VIEW: [("attendance", {"attendance": 410}), ("first", {"counts": PV_FIRST}),
                   ("final", {"counts": PV_FINAL}),
                   ("delegates", {"delegates": {"Alvarez": 1, "Baker": 2, "Chen": 1}})],
    TOSS: [("attendance", {"attendance": 20}), ("first", {"counts": TOSS_COUNTS}),
           ("final", {"counts": TOSS_COUNTS,
                      "chance": [{"kind": "gain", "among": ["Alvarez", "Baker"], "selected": ["Alvarez"]}]}),
           ("delegates", {"delegates": {"Alvarez": 2, "Baker": 1, "Chen": 1}})],
    WARD: [("attendance", {"attendance": 350}), ("first", {"counts": WARD_FINAL}),
           ("final", {"counts": WARD_FINAL}), ("delegates", {"delegates": {"Alvarez": 4, "Baker": 1}})],
}
#: the recanvass: HQ recounts Elm Grove's final alignment (neither the chair's numbers nor the campaign's)
RECOUNTED = {"Alvarez": 332, "Baker": 205}

#: the Alvarez campaign's captains (precinct names as the party's public file writes them)
CAPTAINS = {
    ("Cottonwood", "Elm Grove"): (ELM_FIRST, {"Alvarez": 340, "Baker": 197}),
    ("Cottonwood", "Prairie View"): (PV_FIRST, {"Alvarez": 132, "Baker": 168, "Chen": 110}),  # a typo: re-uploaded
    ("Bluestem", "Bluestem City Ward 1"): ({"Alvarez": 195, "Baker": 155}, {"Alvarez": 195, "Baker": 155}),
    # the campaign's captain agrees with the chair; it wrote no SDEs (the toss is not in its numbers)
    ("Bluestem", "Bluestem Township"): (TOSS_COUNTS, TOSS_COUNTS),
    ("Bluestem", "Sand Creek"): ({"Alvarez": 120, "Baker": 111, "Chen": 105}, {"Alvarez": 124, "Baker": 107,
                                                                                "Chen": 105}),
}
HEADER = "county,precinct,candidate,measure,value\n"
NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
HIDDEN = re.compile(r'<input type="hidden"[^>]*>')


def _lines(captains: dict[tuple[str, str], tuple[dict[str, int], dict[str, int]]]) -> str:
    return HEADER + "".join(f"{county},{name},{g},{measure},{n}\n"
                            for (county, name), stages in captains.items()
                            for measure, counts in zip(("expression_1", "expression_2"), stages, strict=True)
                            for g, n in counts.items())


def _campaign_numbers() -> set[str]:
    return {str(n) for stages in CAPTAINS.values() for counts in stages for n in counts.values()}


@pytest.fixture
def prairie(tmp_path: Path) -> Iterator[tuple[TestClient, Services, str]]:
    """The Prairie election made with ``caucus init`` from its plan directory, and the app on it."""
    url = sqlite_url_for_dir(tmp_path / "data")
    (tmp_path / "data").mkdir()
    ok("init", SLUG, "--plan", PLAN, "--database", url)
    app = create_app(Settings(database_url=url, election=SLUG, staff_cookie_secure=False,
                              snapshot_dir=tmp_path / "snapshots"), clock=Clock())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, client.app_state["services"], url


def _report(svc: Services) -> None:
    for code, stages in REPORTS.items():
        for i, (stage, body) in enumerate(stages):
            # the Ward's chair confirms the delegates the app warned about: recorded and held for review
            report = StageReport(stage, body, confirm=code == WARD)  # type: ignore[arg-type]
            svc.reports.submit(code, report, f"{code}-{i}", channel="app", actor=f"chair:{code}")


def _seen(staffer: Staffer) -> dict[str, str]:
    """Every page and export of a campaign or an observer: the HTML (hidden inputs left out: random tokens)
    and the CSV, by path."""
    paths = ["/hq/quality", "/hq/precincts", "/hq/precincts.csv", "/hq/precincts?state=awaiting",
             "/hq/precincts.csv?county=Cottonwood"]
    if staffer.username != "oscar":
        paths += ["/hq/campaign", "/hq/campaign/crosscheck.csv", "/hq/campaign/requests", "/hq"]
    out = {}
    for path in paths:
        response = staffer.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        out[path] = HIDDEN.sub(" ", response.text)
    return out


def _assert_never_shown(pages: dict[str, str], forbidden: set[str], when: str) -> None:
    assert forbidden, when  # the check means something only with numbers to look for
    for path, text in pages.items():
        shown = set(NUMBER.findall(text)) & forbidden
        assert not shown, f"{when}: {path} shows the unreleased {sorted(shown)}"


def _differences(page: str, code: str) -> set[str]:
    row = re.search(rf'<tr data-precinct="{re.escape(code)}"[^>]*>(.*?)</tr>', page, re.S)
    assert row is not None, code
    return set(re.findall(r"<li data-measure=[^>]*>([^<]*)</li>", row.group(1)))


def _own_findings(page: str, code: str) -> list[str]:
    row = re.search(rf'<tr data-precinct="{re.escape(code)}"[^>]*>(.*?)</tr>', page, re.S)
    assert row is not None, code
    return re.findall(r'<span class="finding-\w+" title="[^"]*">([\w-]+)</span>', row.group(1))


def test_a_campaign_on_its_own_plan_off_the_script(prairie: tuple[TestClient, Services, str],
                                                   tmp_path: Path) -> None:
    client, svc, url = prairie
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")

    # -- accounts: the admin on the command line, then on the staff page ------------------------------------
    iowa = run("staff", "add", "sam", "--role", "campaign", "--campaign", "Sanders", "--password-file", secret,
               "--database", url)
    assert iowa.exit_code == 2 and "(Alvarez, Baker, Chen); got 'Sanders'" in iowa.output
    for args in (("ada", "--role", "admin"), ("alma", "--role", "campaign", "--campaign", "alvarez"),
                 ("oscar", "--role", "observer"), ("rita", "--role", "reviewer")):
        ok("staff", "add", *args, "--password-file", secret, "--database", url)
    assert "alma\tcampaign:Alvarez\tactive" in ok("staff", "list", "--database", url).stdout
    ada = sign_in(client, "ada")
    assert [g for g in ("Alvarez", "Baker", "Chen") if f"<option>{g}</option>" in ada.get("/hq/staff").text] == [
        "Alvarez", "Baker", "Chen"]
    made = ada.post("/hq/staff", {"username": "bo", "name": "Bo", "role": "campaign", "campaign": "Baker",
                                  "password": PASSWORD, "confirm": PASSWORD})
    assert made.status_code == 303, made.text
    alma, bo, oscar = sign_in(client, "alma"), sign_in(client, "bo"), sign_in(client, "oscar")
    _report(svc)
    assert {c: svc.review.status(c).state for c in REPORTS} == {ELM: "accepted", PRAIRIE_VIEW: "accepted",
                                                                 TOSS: "accepted", WARD: "held-for-review"}

    # -- a file full of mistakes: every one named with its line, nothing recorded ----------------------------
    bad = (HEADER + "Cottonwood,Elm Grove,Alvarez,expression_1,241\n"
           "Cottonwood,Elm Grove,Sanders,expression_1,12\n"     # line 3: an Iowa candidate
           "Polk,Elm Grove,Alvarez,expression_1,12\n"           # line 4: an Iowa county
           "Cottonwood,Nowhere,Alvarez,expression_1,3\n"        # line 5: no such precinct
           "Cottonwood,Elm Grove,Baker,expression_2,twelve\n"   # line 6
           "Cottonwood,Elm Grove,Alvarez,expression_1,240\n"    # line 7: given twice
           "Cottonwood,Elm Grove,Chen\n")                       # line 8: short
    refused = alma.post("/hq/campaign/upload", files={"file": ("captains.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422
    problems = re.findall(r"<li>(captains\.csv line \d+: [^<]*)</li>", refused.text)
    assert [p.split(":", 1)[0] for p in problems] == [f"captains.csv line {n}" for n in (3, 4, 5, 6, 7, 8)]
    assert "unknown candidate &#34;Sanders&#34; (plan prairie-2028 has: Alvarez, Baker, Chen)" in problems[0]
    assert "given twice (first on line 2)" in problems[4]
    assert svc.campaigns.tallies("Alvarez") == {}
    # the form: an Iowa precinct code, and a number that is not one
    typed = alma.post("/hq/campaign/enter", {"precinct": "Poweshiek/7", "first.Alvarez": "1", "final.Alvarez": "1"})
    assert typed.status_code == 422 and 'id="error-precinct"' in typed.text and "Cottonwood/2" in typed.text
    typed = alma.post("/hq/campaign/enter", {"precinct": "cottonwood/1", "first.Alvarez": "7", "final.Chen": "1e3"})
    assert typed.status_code == 422 and 'id="error-final.Chen"' in typed.text
    # an upload without the form's CSRF token is refused before it is read
    forged = alma.post("/hq/campaign/upload", csrf=False, files={"file": ("x.csv", _lines(CAPTAINS).encode(),
                                                                          "text/csv")})
    assert forged.status_code == 403 and svc.campaigns.tallies("Alvarez") == {}

    good = alma.post("/hq/campaign/upload", files={"file": ("captains.csv", _lines(CAPTAINS).encode(), "text/csv")})
    assert good.status_code == 303 and "recorded%20your%20numbers%20for%205%20precincts" in good.headers["location"]

    # -- before any release ----------------------------------------------------------------------------------
    page = alma.get("/hq/campaign").text
    states = dict(re.findall(r'<tr data-precinct="([^"]+)" data-state="([^"]+)"', page))
    assert states == {ELM: "accepted", PRAIRIE_VIEW: "accepted", TOSS: "accepted", WARD: "held-for-review",
                      "Bluestem/2": "not-reported"}
    assert 'class="reasons">delegates-differ<' in page
    party = {str(n) for stages in REPORTS.values() for _, body in stages for key, v in body.items() if key != "chance"
             for n in (v.values() if isinstance(v, dict) else [v])}
    forbidden = {n for n in party if int(n) >= 100} - _campaign_numbers()
    assert forbidden == {"537", "330", "207", "410", "350", "190", "160"}
    for who in (alma, bo, oscar):
        _assert_never_shown(_seen(who), forbidden, f"before the release, {who.username}")
    # the party's precinct pages are not a campaign's, whatever URL it types
    for path in (f"/hq/review/p/{ELM}", "/hq/review", "/hq/recanvass", "/hq/chairs", "/hq/night", "/hq/releases"):
        assert alma.get(path).status_code == 403, path
    # the public precinct pages, typed by hand: the precinct, no number of the party's
    public = {f"/precinct/{c.lower().replace('/', '-')}": client.get(f"/precinct/{c.lower().replace('/', '-')}")
              for c in REPORTS}
    assert {p: r.status_code for p, r in public.items()} == dict.fromkeys(public, 200)
    assert all(name in public[f"/precinct/{code.lower().replace('/', '-')}"].text
               for code, name in ((ELM, "Elm Grove"), (WARD, "Bluestem City Ward 1")))
    _assert_never_shown({p: r.text for p, r in public.items()}, forbidden, "the public pages before the release")
    # another campaign: its own (empty) tallies, whatever it asks for
    other = bo.get("/hq/campaign?campaign=Alvarez").text
    assert "You have recorded no precinct yet" in other and "340" not in other
    assert list(csv.DictReader(io.StringIO(bo.get("/hq/campaign/crosscheck.csv").text))) == []
    quality = oscar.get("/hq/quality").text
    counts = dict(re.findall(r'data-state="([\w-]+)"><strong>(\d+)</strong>', quality))
    assert (counts["accepted"], counts["held-for-review"], counts["not-reported"], counts["released"]) == (
        "3", "1", "2", "0")
    assert 'data-reason="delegates-differ"><td>delegates-differ</td><td>1<' in quality

    # -- the first release ------------------------------------------------------------------------------------
    first = svc.releases.release(actor="director:dora")
    page = alma.get("/hq/campaign").text
    assert _differences(page, ELM) == {"final Alvarez: yours 340, released 330 (+10)",
                                       "final Baker: yours 197, released 207 (-10)"}
    assert _differences(page, PRAIRIE_VIEW) == {"final Alvarez: yours 132, released 130 (+2)",
                                                "final Baker: yours 168, released 170 (-2)"}
    # the checks ran on the campaign's own numbers: its typo has a viable group losing people
    assert _own_findings(page, PRAIRIE_VIEW) == ["viable-group-lost-members"]
    # a new upload of one precinct replaces that precinct's numbers only (and its checks run again)
    fixed = {("Cottonwood", "Prairie View"): (PV_FIRST, PV_FINAL)}
    again = alma.post("/hq/campaign/upload", files={"file": ("prairie-view.csv", _lines(fixed).encode(),
                                                             "text/csv")})
    assert again.status_code == 303
    page = alma.get("/hq/campaign").text
    assert _differences(page, PRAIRIE_VIEW) == set() and len(_differences(page, ELM)) == 2
    assert _own_findings(page, PRAIRIE_VIEW) == []
    assert re.search(rf'data-precinct="{PRAIRIE_VIEW}".*?prairie-view\.csv line 2', page, re.S)
    assert re.search(rf'data-precinct="{ELM}".*?captains\.csv line 2', page, re.S)
    assert re.search(r'id="differing-count">1</span> differ of 5', page)
    # the statewide effect on SDEs: the precincts that differ change no delegate; the toss, where the campaign
    # agrees, is counted as published (its SDEs are not recomputed without the toss)
    assert _differences(page, TOSS) == set()
    effect = dict(re.findall(r'<tr[^>]*data-group="(\w+)"><th>\w+</th><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>',
                             page))
    assert {g: Decimal(v) for g, v in effect.items()} == dict.fromkeys(("Alvarez", "Baker", "Chen"), Decimal(0))
    # the held precinct stays without the party's numbers; the released ones are browsed and exported
    forbidden_now = {"350", "190", "160"}
    assert "537" in client.get("/precinct/cottonwood-2").text  # released: public
    _assert_never_shown({"/precinct/bluestem-3": client.get("/precinct/bluestem-3").text}, forbidden_now, "public")
    for who in (alma, bo, oscar):
        _assert_never_shown(_seen(who), forbidden_now, f"after release 1, {who.username}")
    exported = list(csv.DictReader(io.StringIO(oscar.get("/hq/precincts.csv").text)))
    assert {(r["code"], r["candidate"], r["measure"], r["value"]) for r in exported if r["candidate"] == "Baker"} == {
        (ELM, "Baker", "expression_1", "167"), (ELM, "Baker", "expression_2", "207"),
        (PRAIRIE_VIEW, "Baker", "expression_1", "170"), (PRAIRIE_VIEW, "Baker", "expression_2", "170"),
        # 2 county delegates each, Cottonwood's 4 state delegates for its 12 county delegates
        (ELM, "Baker", "sde", "0.6667"), (PRAIRIE_VIEW, "Baker", "sde", "0.6667"),
        # Bluestem: 3 state delegates for 12 county delegates
        (TOSS, "Baker", "expression_1", "7"), (TOSS, "Baker", "expression_2", "7"), (TOSS, "Baker", "sde", "0.2500")}
    assert all(r["release"] == str(first.number) for r in exported)
    shown = {query: re.findall(r'<tr data-precinct="([^"]+)"', oscar.get(f"/hq/precincts?{query}").text)
             for query in ("", "county=Cottonwood", "county=Bluestem", "q=elm+grove", "q=cottonwood%2F3",
                           "finding=delegates-differ", f"since={first.number}")}
    assert shown == {"": [TOSS, ELM, PRAIRIE_VIEW], "county=Cottonwood": [ELM, PRAIRIE_VIEW], "county=Bluestem": [TOSS],
                     "q=elm+grove": [ELM], "q=cottonwood%2F3": [PRAIRIE_VIEW], "finding=delegates-differ": [],
                     f"since={first.number}": []}
    for query, field in (("finding=no-such-code", "finding"), ("since=one", "since"), ("state=secret", "state")):
        refused = oscar.get(f"/hq/precincts?{query}")
        assert refused.status_code == 422 and f'id="error-{field}"' in refused.text, query
        assert oscar.get(f"/hq/precincts.csv?{query}").status_code == 422, query

    # -- from the discrepancy to a recanvass -------------------------------------------------------------------
    assert alma.post("/hq/campaign/recanvass", {"precinct": WARD, "reason": "ours differ"}).status_code == 422
    assert alma.post("/hq/campaign/recanvass", {"precinct": "Cottonwood/9", "reason": "ours"}).status_code == 422
    filed = alma.post("/hq/campaign/recanvass", {"precinct": [ELM, PRAIRIE_VIEW],
                                                 "reason": "our captain counted 340 for Alvarez"})
    assert filed.status_code == 303 and "R-1" in filed.headers["location"]
    assert 'data-request="R-1" data-status="received"' in alma.get("/hq/campaign/requests").text
    assert 'data-request="R-1"' not in bo.get("/hq/campaign/requests").text
    svc.recanvass.correct("reviewer:rita", 1, ELM, {"final": {"counts": RECOUNTED}},  # type: ignore[dict-item]
                          note="cards recounted", key="r1-elm")
    # accepted, not yet released: the recount's numbers stay unseen
    waiting = alma.get("/hq/campaign/requests").text
    assert 'data-request="R-1" data-status="under review"' in waiting and "corrected; awaiting release" in waiting
    svc.recanvass.unchanged("reviewer:rita", 1, PRAIRIE_VIEW, "the worksheet matches the release")
    waiting = alma.get("/hq/campaign/requests").text
    assert 'data-request="R-1" data-status="decided"' in waiting
    assert re.search(rf'data-precinct="{PRAIRIE_VIEW}" data-outcome="unchanged">.*?the numbers stand', waiting, re.S)
    assert re.search(r'data-state="awaiting"><strong>1</strong>', oscar.get("/hq/quality").text)
    assert f'data-precinct="{ELM}"' in oscar.get("/hq/precincts?state=awaiting").text
    for who in (alma, bo, oscar):
        _assert_never_shown(_seen(who), forbidden_now | {"332", "205"}, f"recount accepted, {who.username}")

    second = svc.releases.release(actor="director:dora", note="after R-1")
    after = alma.get("/hq/campaign/requests").text
    row = re.search(rf'<tr data-precinct="{re.escape(ELM)}" data-outcome="changed">(.*?)</tr>', after, re.S)
    assert row is not None
    assert f"release {first.number}:" in row.group(1) and f"release {second.number}:" in row.group(1)
    assert set(re.findall(r'<span data-measure="\w+" data-group="\w+">([^<]*)</span>', row.group(1))) >= {
        "final Alvarez: 330 → 332", "final Baker: 207 → 205"}
    assert _differences(alma.get("/hq/campaign").text, ELM) == {"final Alvarez: yours 340, released 332 (+8)",
                                                                "final Baker: yours 197, released 205 (-8)"}
    changed = oscar.get(f"/hq/precincts?since={first.number}").text
    assert re.findall(r'<tr data-precinct="([^"]+)"', changed) == [ELM]
    _assert_never_shown(_seen(oscar), forbidden_now, "after release 2")

