"""The chair roster: a party's CSV checked line by line (all or nothing), HQ's Chairs page (admin and
director, CSRF, audited), readiness's "to phone" with the chairs' names and numbers, the registered chair
on the hotline console, and never a roster value in a release or on the public side."""

from __future__ import annotations

import re

import pytest

from caucus.ledger import audit_events
from caucus.service.roster import RosterInvalid
from caucus.web.services import Services
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, READLYN, SATELLITE, STAGES, WITH_CREDENTIALS

#: as a party's spreadsheet exports it: a BOM, aliases for the columns, codes typed loosely, a notes column
ROSTER = (
    "\ufeffPrecinct Code,Chair Name,Phone Number,E-mail,Notes\r\n"
    "poweshiek/7 ,Ruth Lindqvist,(641) 555-0142,ruth@example.org,called twice\r\n"
    "BREMER/RD,Tomas Ferreira,+1 319 555 0187 x 12,,\r\n"
    "\r\n"
    "Adair/01NW,Ann Dvorak,515.555.0100,ann.dvorak@example.net,\r\n"
)


def test_a_roster_file_is_imported_with_codes_matched_as_typed(svc: Services) -> None:
    summary = svc.roster.import_file(ROSTER.encode(), actor="cli:kim", source="roster.csv")
    assert (summary.added, summary.changed, summary.unchanged, summary.removed) == (3, 0, 0, 0)
    assert summary.ignored_columns == ("Notes",)
    roster = svc.roster.roster()
    assert list(roster) == ["Adair/01NW", "Bremer/RD", "Poweshiek/7"]  # the plan's order
    grinnell = roster[GRINNELL]
    assert (grinnell.name, grinnell.phone, grinnell.email, grinnell.county) == (
        "Ruth Lindqvist", "(641) 555-0142", "ruth@example.org", "Poweshiek")
    assert grinnell.tel == "6415550142"
    assert roster[READLYN].tel == "+13195550187;ext=12" and roster[READLYN].email == ""
    again = svc.roster.import_file(ROSTER.replace("Ann Dvorak", "Ann Dvořák").encode(), actor="cli:kim")
    assert (again.added, again.changed, again.unchanged) == (0, 1, 2)
    replaced = svc.roster.import_file("precinct,name,phone,email\nAdair/01NW,Ann Dvořák,515.555.0100,"
                                      "ann.dvorak@example.net\n", actor="cli:kim", replace=True)
    assert (replaced.unchanged, replaced.removed) == (1, 2) and list(svc.roster.roster()) == ["Adair/01NW"]
    imports = [e for e in audit_events(svc.engine) if e.action == "roster.import"]
    assert [(e.actor, e.detail["added"], e.detail["removed"]) for e in imports] == [
        ("cli:kim", 3, 0), ("cli:kim", 0, 0), ("cli:kim", 0, 2)]


def test_every_bad_line_is_named_with_its_column_and_rule_and_nothing_is_imported(svc: Services) -> None:
    bad = (
        "precinct,name,phone,email\n"
        "Poweshiek/7,Ruth Lindqvist,641-555-0142,ruth@example.org\n"   # 2: fine
        "Nowhere/99,Pat Doe,641-555-0199,\n"                          # 3: unknown precinct
        "Bremer/RD,,319-555-0187,\n"                                   # 4: no name
        "Adair/01NW,Ann Dvorak,555-12,ann@\n"                         # 5: short phone, bad email
        "poweshiek/7,Someone Else,641 555 0100,\n"                   # 6: Grinnell again
        "Adams/AD1,Al Adams,call me,\n"                               # 7: not a phone number
    )
    with pytest.raises(RosterInvalid) as refused:
        svc.roster.import_file(bad, actor="test", source="chairs.csv")
    assert refused.value.message.splitlines() == [
        "chairs.csv: 6 problems, nothing imported:",
        "chairs.csv line 3, column precinct: no precinct 'Nowhere/99' in election ia-2020-web (codes look like "
        "Adair/01NW)",
        "chairs.csv line 4, column name: the chair's name is required",
        "chairs.csv line 5, column phone: '555-12' has 5 digits; a phone number has 7 to 15",
        "chairs.csv line 5, column email: 'ann@' is not an email address (name@example.org), or leave it empty",
        "chairs.csv line 6, column precinct: Poweshiek/7 is already on line 2; a precinct has one chair",
        "chairs.csv line 7, column phone: 'call me' is not a phone number: digits, spaces, '+', '(', ')', '-', "
        "'.', and an extension as 'x 123' or 'ext. 123'",
    ]
    assert [p.field for p in refused.value.fields] == ["precinct", "name", "phone", "email", "precinct", "phone"]
    assert svc.roster.roster() == {}
    with pytest.raises(RosterInvalid, match=r"roster.csv line 1: no column phone; the first line names the "
                                            r"columns precinct, name, phone, email \(email optional\)"):
        svc.roster.import_file("precinct,name\nPoweshiek/7,Ruth\n", actor="test")
    with pytest.raises(RosterInvalid, match="not UTF-8 text"):
        svc.roster.import_file("precinct,name,phone\nPoweshiek/7,Jos\xe9,641-555-0142\n".encode("latin-1"),
                               actor="test")
    with pytest.raises(RosterInvalid, match="the file is empty"):
        svc.roster.import_file(b"", actor="test")


def test_the_chairs_page_saves_edits_removes_and_uploads_for_admins_and_directors(hq: Web, svc: Services) -> None:
    add_staff(hq.engine, "ada", "admin")
    add_staff(hq.engine, "dora", "director")
    add_staff(hq.engine, "kim", "operator")
    kim = sign_in(hq.client, "kim")
    assert kim.get("/hq/chairs").status_code == 403
    assert kim.post("/hq/chairs", {"precinct": GRINNELL, "name": "Mallory", "phone": "641-555-0666"}).status_code \
        == 403
    ada = sign_in(hq.client, "ada")
    assert ada.post("/hq/chairs", {"precinct": GRINNELL, "name": "Mallory", "phone": "641-555-0666"},
                    csrf=False).status_code == 403
    saved = ada.post("/hq/chairs", {"precinct": "poweshiek/7", "name": " Ruth  Lindqvist ", "phone": "641-555-0142",
                                    "email": ""})
    assert saved.status_code == 303, saved.text
    page = ada.get("/hq/chairs").text
    assert '<tr data-precinct="Poweshiek/7"><td>Poweshiek/7</td><td>Poweshiek</td><td>Ruth Lindqvist</td>' \
           '<td>641-555-0142</td>' in page
    bad = ada.post("/hq/chairs", {"precinct": GRINNELL, "name": "", "phone": "12", "email": "x"})
    assert bad.status_code == 422
    assert 'id="error-name">the chair&#39;s name is required' in bad.text
    assert 'id="error-phone">&#39;12&#39; has 2 digits; a phone number has 7 to 15' in bad.text
    assert svc.roster.chair(GRINNELL) is not None and svc.roster.chair(GRINNELL).name == "Ruth Lindqvist"  # type: ignore[union-attr]
    unknown = ada.post("/hq/chairs", {"precinct": "Nowhere/1", "name": "Pat", "phone": "641-555-0142"})
    assert unknown.status_code == 422 and "no precinct &#39;Nowhere/1&#39;" in unknown.text
    dora = sign_in(hq.client, "dora")
    edit = dora.get(f"/hq/chairs?precinct={GRINNELL}")
    assert 'name="phone" type="tel" value="641-555-0142"' in edit.text
    assert dora.post("/hq/chairs", {"precinct": GRINNELL, "name": "Ruth Lindqvist", "phone": "641-555-0143",
                                    "email": "ruth@example.org"}).status_code == 303
    csv = b"precinct,name,phone\nBremer/RD,Tomas Ferreira,319-555-0187\nAdair/01NW,Ann Dvorak,555\n"
    refused = dora.post("/hq/chairs/import", files={"roster": ("chairs.csv", csv, "text/csv")})
    assert refused.status_code == 422
    assert "chairs.csv: 1 problem, nothing imported:" in refused.text
    assert "<li>chairs.csv line 3, column phone: &#39;555&#39; has 3 digits; a phone number has 7 to 15</li>" \
        in refused.text
    fixed = csv.replace(b",555\n", b",515-555-0100\n")
    imported = dora.post("/hq/chairs/import", files={"roster": ("chairs.csv", fixed, "text/csv")})
    assert imported.status_code == 303
    assert "imported%20chairs.csv%3A%202%20added%2C%200%20changed%2C%200%20unchanged" in imported.headers["location"]
    assert dora.post("/hq/chairs/remove", {"precinct": "Adair/01NW"}).status_code == 303
    assert list(svc.roster.roster()) == ["Bremer/RD", "Poweshiek/7"]
    events = [(e.actor, e.action, e.outcome) for e in audit_events(hq.engine) if e.action.startswith("roster.")]
    assert events == [("admin:ada", "roster.set", "added"), ("director:dora", "roster.set", "changed"),
                      ("director:dora", "roster.import", "ok"), ("director:dora", "roster.remove", "ok")]
    changed = next(e for e in audit_events(hq.engine) if e.outcome == "changed")
    assert changed.detail["before"]["phone"] == "641-555-0142" and changed.detail["phone"] == "641-555-0143"


def test_to_phone_lists_chairs_not_signed_in_and_not_reported_with_their_numbers(hq: Web, svc: Services) -> None:
    svc.roster.import_file(ROSTER, actor="test")
    hq.sign_in(READLYN)  # signed in: not to phone
    svc.hotline.verify_caller("kim", SATELLITE, hq.hotline_codes[SATELLITE])
    calls = svc.hotline.calls(SATELLITE)
    from caucus.service import StageReport  # noqa: PLC0415

    svc.hotline.enter("kim", calls[-1].id, StageReport("attendance", {"attendance": 41}), "hotline-sat-1")
    ready = svc.readiness.readiness()
    phone = {p.code: p for p in ready.to_phone}
    assert set(phone) == set(WITH_CREDENTIALS) - {READLYN, SATELLITE}  # reported by the hotline: not to phone
    assert phone[GRINNELL].chair is not None and phone[GRINNELL].chair.phone == "(641) 555-0142"
    assert phone["Adair/02NE"].chair is None
    add_staff(hq.engine, "otto", "observer")
    add_staff(hq.engine, "rita", "reviewer")
    observed = sign_in(hq.client, "otto").get("/hq/readiness").text  # observers: no chair's contact details
    assert "<tr><td>Poweshiek/7</td>" in observed and "Lindqvist" not in observed and "555-0142" not in observed
    page = sign_in(hq.client, "rita").get("/hq/readiness").text
    row = re.search(r"<tr><td>Poweshiek/7</td>.*?</tr>", page, re.S)
    assert row is not None
    assert "<td>Ruth Lindqvist</td>" in row.group(0) and '<a href="tel:6415550142">(641) 555-0142</a>' in row.group(0)
    assert "ruth@example.org" in row.group(0)
    assert re.search(r"<tr><td>Adair/02NE</td>.*?no chair on the roster", page, re.S)
    assert "Bremer/RD" not in page.split('id="to-phone"')[1].split("</table>")[0]
    # once Grinnell reports, it is no longer to phone
    chair = hq.sign_in(GRINNELL)
    assert chair.stage(*STAGES[0]).status_code == 201
    assert GRINNELL not in {p.code for p in svc.readiness.readiness().to_phone}


def test_the_hotline_console_shows_the_registered_chair_of_the_precinct_on_the_call(hq: Web, svc: Services) -> None:
    svc.roster.import_file(ROSTER, actor="test")
    add_staff(hq.engine, "kim", "operator")
    kim = sign_in(hq.client, "kim")
    verified = kim.post("/hq/hotline/calls", {"precinct": "poweshiek/7", "hotline_code": hq.hotline_codes[GRINNELL]})
    assert verified.status_code == 303, verified.text
    page = kim.get(verified.headers["location"]).text
    assert ('<p id="registered-chair">Registered chair: <strong>Ruth Lindqvist</strong> · '
            '<a href="tel:6415550142">(641) 555-0142</a> · ruth@example.org</p>') in page
    other = kim.post("/hq/hotline/calls", {"precinct": "Adair/02NE", "hotline_code": hq.hotline_codes["Adair/02NE"]})
    assert "No chair on the roster for this precinct" in kim.get(other.headers["location"]).text


def test_no_roster_value_is_ever_in_a_release_or_on_the_public_side(hq: Web, svc: Services) -> None:
    svc.roster.import_file(ROSTER, actor="test")
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    record = svc.releases.release(actor="director:dora")
    store = svc.releases.store
    files = [p for p in store.release_dir(record.number).rglob("*") if p.is_file()]
    assert len(files) > 5
    values = [value for c in svc.roster.roster().values() for value in (c.name, c.phone, c.email, c.tel) if value]
    values += ["Lindqvist", "555-0142", "5550142", "example.org"]
    blobs = {str(p): p.read_bytes() for p in files}
    blobs |= {str(p): p.read_bytes() for p in store.root.glob("*.json")}
    hq.client.cookies.clear()
    for path in ("/", "/precinct/poweshiek-7", "/county/poweshiek", "/feed/v1/latest.json", "/feed"):
        response = hq.client.get(path)
        assert response.status_code == 200, path
        blobs[path] = response.content
    assert b"Warren" in blobs["/precinct/poweshiek-7"] and b"124" in blobs["/precinct/poweshiek-7"]  # released
    leaks = [(where, value) for where, blob in blobs.items() for value in values if value.encode() in blob]
    assert leaks == []


def test_the_roster_page_lists_the_first_chairs_and_says_how_many(hq: Web, svc: Services,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from caucus.web.hq import chairs_routes  # noqa: PLC0415

    codes = list(svc.context.precincts)[:5]
    lines = "".join(f"{code},Chair {n},515-555-01{n:02d}\n" for n, code in enumerate(codes))
    svc.roster.import_file(f"precinct,name,phone\n{lines}".encode(), actor="cli:kim")
    monkeypatch.setattr(chairs_routes, "SHOWN", 3)
    add_staff(hq.engine, "dora", "director")
    page = sign_in(hq.client, "dora").get("/hq/chairs").text
    assert re.findall(r'<tr data-precinct="([^"]+)">', page) == codes[:3]  # the plan's first three
    assert '<p id="roster-count"><strong>5</strong> of' in page
    assert "The first 3 of 5 chairs are shown" in page
    edit = sign_in(hq.client, "dora").get(f"/hq/chairs?precinct={codes[4]}").text  # any other, by its code
    assert 'value="Chair 4"' in edit
