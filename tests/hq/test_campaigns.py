"""Campaign accounts and their own tallies (issue 13): created by an admin (HQ page and CLI), scoped to one
preference group; tallies stored apart from the ledger (hash-chained, append-only) and never counted, never
released, never another campaign's; bad input named by field and line; before a release a campaign sees a
precinct's state and reason codes, never the party's numbers. Storage on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from caucus.ledger import verify_chain
from caucus.ledger.campaign_tallies import verify_campaign_chains
from caucus.service import StageReport
from caucus.web.services import Services
from tests.cli.support import run
from tests.hq.campaign_support import add_campaign
from tests.hq.support import PASSWORD, add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, GRINNELL_FINAL, GRINNELL_FIRST, SLUG, STAGES

#: Grinnell as the Sanders captain wrote it down: 9 more Sanders people in the final alignment
THEIRS = {**{f"first.{g}": str(n) for g, n in GRINNELL_FIRST.items()},
          **{f"final.{g}": str(n + 9 if g == "Sanders" else n) for g, n in GRINNELL_FINAL.items()}}
HEADER = "county,precinct,candidate,measure,value\n"


def _report_grinnell(svc: Services) -> None:
    for i, (stage, payload) in enumerate(STAGES):
        svc.reports.submit(GRINNELL, StageReport(stage, payload), f"g-{i}", channel="app",  # type: ignore[arg-type]
                           actor=f"chair:{GRINNELL}")


def test_an_admin_creates_a_campaign_account_scoped_to_one_group(hq: Web) -> None:
    add_staff(hq.engine, "ada", "admin")
    ada = sign_in(hq.client, "ada")
    base = {"username": "sam", "name": "Sam", "role": "campaign", "password": PASSWORD, "confirm": PASSWORD}
    missing = ada.post("/hq/staff", base)
    assert missing.status_code == 422 and 'id="error-campaign"' in missing.text
    assert "needs its preference group" in missing.text
    unknown = ada.post("/hq/staff", {**base, "campaign": "Nobody"})
    assert unknown.status_code == 422 and "preference groups (" in unknown.text
    scoped = ada.post("/hq/staff", {**base, "role": "observer", "campaign": "Sanders"})
    assert scoped.status_code == 422 and "only a campaign account is scoped" in scoped.text
    made = ada.post("/hq/staff", {**base, "campaign": "sanders"})
    assert made.status_code == 303, made.text
    assert 'campaign: <span class="campaign">Sanders</span>' in ada.get("/hq/staff").text
    sam = sign_in(hq.client, "sam")
    home = sam.get("/hq").text
    assert "/hq/campaign" in home and "/hq/readiness" not in home and "/hq/review" not in home
    assert sam.get("/hq/readiness").status_code == 403 and sam.get("/hq/review").status_code == 403
    moved = ada.post("/hq/staff/sam/role", {"role": "campaign", "campaign": "Warren"})
    assert moved.status_code == 303 and "now%20the%20Warren%20campaign%27s%20account" in moved.headers["location"]


def test_campaign_accounts_from_the_command_line(hq_sqlite: Web, tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("a long enough passphrase\n", encoding="utf-8")
    url = hq_sqlite.url
    refused = run("staff", "add", "sam", "--role", "campaign", "--password-file", secret, "--database", url)
    assert refused.exit_code == 2 and "needs its preference group" in refused.output
    added = run("staff", "add", "sam", "--role", "campaign", "--campaign", "Sanders", "--password-file", secret,
                "--election", SLUG, "--database", url)
    assert added.exit_code == 0, added.output
    assert "added sam (campaign: Sanders)" in added.output
    assert "sam\tcampaign:Sanders\tactive\tsam" in run("staff", "list", "--database", url).stdout
    moved = run("staff", "role", "sam", "campaign", "--campaign", "Biden", "--database", url)
    assert moved.exit_code == 0 and "sam is now the Biden campaign's account" in moved.output
    svc: Services = hq_sqlite.client.app_state["services"]
    svc.campaigns.enter("Biden", "campaign:sam", GRINNELL, THEIRS)
    verified = run("verify", "--database", url)
    assert verified.exit_code == 0, verified.output
    assert f"{SLUG}: campaign Biden tallies: chain ok, 1 rows" in verified.output


def test_a_campaigns_tallies_never_count_and_are_never_released_or_shared(hq: Web, svc: Services) -> None:
    _report_grinnell(svc)
    before = svc.review.status(GRINNELL)
    assert before.state == "accepted"
    preview = svc.releases.preview()
    add_campaign(hq.engine, "sam", "Sanders")
    add_campaign(hq.engine, "bea", "Biden")
    sam = sign_in(hq.client, "sam")
    entered = sam.post("/hq/campaign/enter", {"precinct": GRINNELL.lower(), **THEIRS})
    assert entered.status_code == 303, entered.text
    # the party's status, its release preview and its ledger are as they were
    after = svc.review.status(GRINNELL)
    assert (after.state, after.history, after.evaluation) == (before.state, before.history, before.evaluation)
    assert svc.releases.preview() == preview
    svc.releases.release(actor="director:dora")
    assert verify_chain(hq.engine, SLUG).ok
    (chain,) = verify_campaign_chains(hq.engine, svc.context.election_id)
    assert chain.ok and chain.campaign == "Sanders" and chain.rows_checked == 1
    # the released Grinnell is the chair's numbers, and the cross-check shows the 9 people
    released = svc.campaigns.released()[GRINNELL].record
    assert released["final"] == GRINNELL_FINAL
    rows = list(csv.DictReader(io.StringIO(sam.get("/hq/campaign/crosscheck.csv").text)))
    assert [(r["measure"], r["candidate"], r["difference"]) for r in rows if r["difference"] not in ("0", "")] == [
        ("final", "Sanders", "9")]
    # the checks ran on the campaign's numbers: 9 more people in the final alignment than in the first (V-2);
    # it wrote down no SDEs, so nothing about reported delegates is checked
    row = sam.get("/hq/campaign").text.split(f'<tr data-precinct="{GRINNELL}"', 1)[1].split("</tr>", 1)[0]
    assert ">final-exceeds-first<" in row and "delegates-differ" not in row
    # another campaign sees none of it
    bea = sign_in(hq.client, "bea")
    assert "You have recorded no precinct yet" in bea.get("/hq/campaign").text
    assert list(csv.DictReader(io.StringIO(bea.get("/hq/campaign/crosscheck.csv").text))) == []
    # append-only
    with hq.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE campaign_tallies SET numbers = '{}'"))


def test_a_bad_upload_names_every_line_and_records_nothing(hq: Web, svc: Services) -> None:
    add_campaign(hq.engine, "sam", "Sanders")
    sam = sign_in(hq.client, "sam")
    bad = (HEADER + "Poweshiek,2ND WARD - 07.07GR,Sanders,expression_1,80\n"
           "Poweshiek,2ND WARD - 07.07GR,Sanders,expression_2,eighty\n"
           "Poweshiek,NOWHERE,Sanders,expression_1,3\n").encode()
    refused = sam.post("/hq/campaign/upload", files={"file": ("captains.csv", bad, "text/csv")})
    assert refused.status_code == 422
    assert "captains.csv line 3: &#34;eighty&#34; is not a whole, non-negative number of people (column value)" \
        in refused.text
    assert "captains.csv line 4: unknown precinct" in refused.text
    assert svc.campaigns.tallies("Sanders") == {}
    empty = sam.post("/hq/campaign/upload", files={"file": ("empty.csv", b"", "text/csv")})
    assert empty.status_code == 422 and 'id="error-file"' in empty.text
    typed = sam.post("/hq/campaign/enter", {"precinct": GRINNELL, "first.Sanders": "-3", "final.Biden": "x",
                                            "sde.Warren": "0.12345"})
    assert typed.status_code == 422
    for field in ("first.Sanders", "final.Biden", "sde.Warren"):
        assert f'id="error-{field}"' in typed.text
    nowhere = sam.post("/hq/campaign/enter", {"precinct": "Poweshiek/NOPE", **THEIRS})
    assert nowhere.status_code == 422 and 'id="error-precinct"' in nowhere.text
    assert svc.campaigns.tallies("Sanders") == {}


def test_before_release_a_campaign_sees_the_state_and_reasons_never_the_numbers(hq: Web, svc: Services) -> None:
    # Grinnell is held: its delegates contradict its final alignment (Warren 6 -> 7 reported)
    wrong = {"delegates": {"Buttigieg": 3, "Klobuchar": 4, "Sanders": 3, "Warren": 7}}
    for i, (stage, payload) in enumerate(STAGES):
        body = wrong if stage == "delegates" else payload
        svc.reports.submit(GRINNELL, StageReport(stage, body, confirm=True), f"h-{i}",  # type: ignore[arg-type]
                           channel="import", actor="import:test")
    assert svc.review.status(GRINNELL).state == "held-for-review"
    add_campaign(hq.engine, "sam", "Sanders")
    add_staff(hq.engine, "oscar", "observer")
    sam = sign_in(hq.client, "sam")
    assert sam.post("/hq/campaign/enter", {"precinct": GRINNELL, **THEIRS}).status_code == 303
    page = sam.get("/hq/campaign").text
    assert f'<tr data-precinct="{GRINNELL}" data-state="held-for-review">' in page
    assert "delegates-differ" in page and "not released" in page
    assert "Warren 7" not in page and "Sanders 3" not in page  # the party's unreleased delegates
    assert sam.post("/hq/campaign/recanvass", {"precinct": GRINNELL, "reason": "x"}).status_code == 422
    quality = sign_in(hq.client, "oscar").get("/hq/quality")
    assert quality.status_code == 200 and 'data-reason="delegates-differ"><td>delegates-differ</td><td>1<' in \
        quality.text
    assert "Warren 7" not in quality.text
    assert sam.get("/hq/precincts.csv").text.splitlines()[1:] == []
