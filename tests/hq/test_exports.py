"""Whole-state exports bounded per account and per worker (caucus.service.exports): the browse CSV and the
cross-check CSV refuse a second export of the same account, and any beyond the worker's total, with 429
export-busy and Retry-After, while other accounts still export; a slot is given back when the stream ends,
fails or is dropped."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from caucus.service.exports import ExportBusy, ExportSlots
from caucus.web.services import Services
from tests.hq.campaign_support import add_campaign
from tests.hq.support import add_staff, sign_in
from tests.hq.test_browse_rows import _release_grinnell
from tests.web.conftest import Web


def _chunks() -> Iterator[bytes]:
    yield b"a\n"
    yield b"b\n"


def test_a_second_export_of_the_same_account_is_refused_while_another_account_exports(hq: Web, svc: Services
                                                                                      ) -> None:
    _release_grinnell(svc)
    add_campaign(hq.engine, "sam", "Sanders")
    add_staff(hq.engine, "oscar", "observer")
    sam, oscar = sign_in(hq.client, "sam"), None
    held = svc.exports.stream("sam", _chunks)  # sam's export still streaming (another tab)
    for path in ("/hq/precincts.csv", "/hq/campaign/crosscheck.csv"):
        refused = sam.get(path)
        assert refused.status_code == 429, path
        assert refused.headers["retry-after"] == "5"
        assert "export-busy" in refused.text or "already downloading" in refused.text
    oscar = sign_in(hq.client, "oscar")
    assert oscar.get("/hq/precincts.csv").status_code == 200  # another account is not held up
    assert list(held) == [b"a\n", b"b\n"]  # the stream ends: the slot is back
    sam = sign_in(hq.client, "sam")
    answer = sam.get("/hq/precincts.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert svc.exports.running() == 0


def test_the_workers_total_refuses_one_more_account() -> None:
    slots = ExportSlots(total=2, per_account=1)
    first, second = slots.stream("a", _chunks), slots.stream("b", _chunks)
    with pytest.raises(ExportBusy, match="2 exports are being downloaded"):
        slots.stream("c", _chunks)
    assert slots.running() == 2
    next(first)
    first.close()  # the client went away mid-stream
    assert slots.running() == 1
    third = slots.stream("c", _chunks)
    del second, third  # dropped without being read
    gc.collect()
    assert slots.running() == 0


def test_a_failing_export_gives_its_slot_back() -> None:
    slots = ExportSlots()

    def broken() -> Iterator[bytes]:
        yield b"header\n"
        raise RuntimeError("the database went away")

    def refused() -> Iterator[bytes]:
        raise ValueError("no such campaign")

    with pytest.raises(ValueError):
        slots.stream("a", refused)  # raised before the first chunk (a bad campaign)
    assert slots.running() == 0
    stream = slots.stream("a", broken)
    assert next(stream) == b"header\n"
    with pytest.raises(RuntimeError):
        next(stream)
    assert slots.running() == 0
