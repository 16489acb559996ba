"""Readiness before the night (who has signed in, whom to phone) and the night's progress (states by
county and statewide, reporting over time as an inline SVG chart, stuck precincts, queue, hotline load)."""

from __future__ import annotations

from caucus.web.services import Services
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, READLYN, STAGES, WITH_CREDENTIALS


def test_readiness_counts_sign_ins_by_county_and_lists_whom_to_phone(hq: Web, svc: Services) -> None:
    hq.sign_in(GRINNELL)
    tried = hq.client.post("/api/v1/session", json={"precinct": READLYN, "credential": hq.secrets[READLYN],
                                                    "purpose": "test"})
    assert tried.status_code == 201, tried.text
    refused = hq.client.post("/api/v1/session", json={"precinct": "Adair/01NW",
                                                             "credential": hq.secrets["Adair/02NE"]})
    assert refused.status_code == 401
    ready = svc.readiness.readiness()
    total = ready.total
    assert (total.precincts, total.with_credential, total.signed_in, total.tested) == (
        len(svc.context.precincts), len(WITH_CREDENTIALS), 2, 1)
    poweshiek = next(c for c in ready.counties if c.county == "Poweshiek")
    assert (poweshiek.with_credential, poweshiek.signed_in) == (1, 1)
    phone = [p.code for p in ready.to_phone]
    assert GRINNELL not in phone and READLYN not in phone and len(phone) == len(WITH_CREDENTIALS) - 2
    assert ready.to_phone[0].code == "Adair/01NW" and ready.to_phone[0].failed_attempts == 1


def test_the_night_shows_progress_stuck_precincts_queue_and_hotline_load(hq: Web, svc: Services) -> None:
    grinnell = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        grinnell.stage(stage, numbers)
    hq.clock.advance(minutes=20)
    hq.sign_in(READLYN).stage("attendance", {"attendance": 37})
    svc.hotline.verify_caller("kim", READLYN, hq.hotline_codes[READLYN])
    hq.clock.advance(minutes=31)
    night = svc.readiness.night()
    assert night.statewide["accepted"] == 1 and night.statewide["reported"] == 1
    assert night.statewide["not-reported"] == len(svc.context.precincts) - 2
    assert night.by_county["Poweshiek"]["accepted"] == 1
    assert [code for code, _, _ in night.stuck] == [READLYN]
    assert night.queue_length == 1  # Readlyn: stages missing
    assert night.hotline_last_hour == 1
    assert [n for _, n in night.reporting_over_time] == [0, 1, 2]  # 01:00-01:15 Grinnell, by 01:30 Readlyn too
    add_staff(hq.engine, "otto", "observer")
    page = sign_in(hq.client, "otto").get("/hq/night").text
    assert "<svg" in page and "<polyline" in page and 'id="hotline-load">1<' in page
