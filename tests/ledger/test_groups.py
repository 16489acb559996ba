"""Groups of submissions (the entries of one correction of several stages): all recorded or none, consecutive,
sharing a correction id; the chain hashes an entry's correction id only when it has one."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from caucus.ledger import (
    AlreadySuperseded,
    InvalidGroup,
    Ledger,
    SupersededEntryNotFound,
    Writer,
    audit_events,
    entries,
    verify_chain,
)
from caucus.ledger.chain import check_rows, entry_hash
from caucus.ledger.schema import ledger_entries, precincts
from tests.ledger.support import SLUG, sub


def _group(cid: str, key: str, *pairs: tuple[str, int, dict[str, int]], reason: str = "worksheet recounted") -> list:
    return [dataclasses.replace(sub(f"{key}/{stage}", payload, stage=stage, supersedes=seq, reason=reason),
                                correction_id=cid)
            for stage, seq, payload in pairs]


@pytest.fixture
def reported(engine: Engine, ledger: Ledger) -> Writer:
    """Adair/01NW with a final alignment (#1) and delegates (#2); Adair/02NE with one entry (#3)."""
    ledger.submit(sub("final", {"Alvarez": 50, "Brooks": 50}, stage="final"))
    ledger.submit(sub("delegates", {"Alvarez": 2, "Brooks": 2}, stage="delegates"))
    ledger.submit(sub("other", {"Alvarez": 9}, precinct="Adair/02NE", actor="chair:Adair/02NE"))
    return ledger.writer


def test_a_group_is_recorded_whole_with_consecutive_seqs_and_one_correction_id(reported: Writer,
                                                                               engine: Engine) -> None:
    group = _group("C-1", "fix", ("final", 1, {"Alvarez": 52, "Brooks": 48}), ("delegates", 2, {"Alvarez": 3,
                                                                                                 "Brooks": 1}))
    receipts = reported.submit_group(group, timeout=30)
    assert [(r.seq, r.stage, r.supersedes_seq, r.correction_id, r.replayed) for r in receipts] == [
        (4, "final", 1, "C-1", False), (5, "delegates", 2, "C-1", False)]
    stored = entries(engine, SLUG, "Adair/01NW")
    assert [(e.seq, e.correction_id) for e in stored] == [(1, None), (2, None), (4, "C-1"), (5, "C-1")]
    assert verify_chain(engine, SLUG).ok
    # a retry of the whole group answers with the original receipts and records nothing
    again = reported.submit_group(group, timeout=30)
    assert [(r.seq, r.replayed) for r in again] == [(4, True), (5, True)]
    assert len(entries(engine, SLUG)) == 5


def test_one_refused_member_records_none_and_every_member_gets_an_error(reported: Writer, engine: Engine) -> None:
    group = _group("C-2", "bad", ("final", 1, {"Alvarez": 52, "Brooks": 48}), ("delegates", 99, {"Alvarez": 3}))
    with pytest.raises(SupersededEntryNotFound, match="#99"):
        reported.submit_group(group, timeout=30)
    assert len(entries(engine, SLUG)) == 3
    refusals = [e for e in audit_events(engine, SLUG) if e.action == "ledger.submit"]
    assert [(e.detail["idempotency_key"], e.outcome) for e in refusals] == [
        ("bad/final", "rejected:group_rejected"), ("bad/delegates", "rejected:superseded_entry_not_found")]
    assert "entry 2 of the same correction" in refusals[0].detail["error"]
    # a single submission queued beside the refused group is recorded all the same, and the chain holds
    assert reported.submit(sub("later", {"Alvarez": 1}, precinct="Polk/DSM-12", actor="x"), timeout=30).seq == 4
    assert verify_chain(engine, SLUG).ok


def test_a_member_superseding_an_already_corrected_entry_stops_the_group(reported: Writer, engine: Engine) -> None:
    reported.submit(sub("fix-1", {"Alvarez": 51, "Brooks": 49}, stage="final", supersedes=1, reason="typo"), 30)
    group = _group("C-3", "late", ("final", 1, {"Alvarez": 52, "Brooks": 48}), ("delegates", 2, {"Alvarez": 3}))
    with pytest.raises(AlreadySuperseded):
        reported.submit_group(group, timeout=30)
    assert [e.seq for e in entries(engine, SLUG)] == [1, 2, 3, 4]


def test_malformed_groups_are_refused(reported: Writer) -> None:
    mixed = [*_group("C-4", "a", ("final", 1, {"Alvarez": 52})),
             dataclasses.replace(sub("b", {"Alvarez": 1}, precinct="Adair/02NE", supersedes=3, reason="r"),
                                 correction_id="C-4")]
    with pytest.raises(InvalidGroup, match="one precinct"):
        reported.submit_group(mixed, timeout=30)
    with pytest.raises(InvalidGroup, match="same correction_id"):
        reported.submit_group([sub("c", {"Alvarez": 1}, supersedes=1, reason="r")], timeout=30)
    with pytest.raises(InvalidGroup):
        reported.submit_group([], timeout=30)


def test_verify_finds_a_correction_whose_entries_are_not_consecutive(reported: Writer, engine: Engine) -> None:
    reported.submit_group(_group("C-5", "x", ("final", 1, {"Alvarez": 52})), timeout=30)
    reported.submit(sub("y", {"Alvarez": 1}, precinct="Polk/DSM-12", actor="x"), 30)
    reported.submit_group(_group("C-6", "z", ("delegates", 2, {"Alvarez": 3})), timeout=30)
    assert verify_chain(engine, SLUG).ok
    with engine.connect() as conn:
        rows = list(conn.execute(
            select(ledger_entries, precincts.c.code.label("precinct_code"))
            .join(precincts, precincts.c.id == ledger_entries.c.precinct_id).order_by(ledger_entries.c.seq)))
    # the same rows with entry #6 claiming to belong to C-5 (rehashed, as a forger would)
    forged = []
    prev = rows[0].prev_hash
    for row in rows:
        values = dict(row._mapping)
        if values["seq"] == 6:
            values["correction_id"] = "C-5"
        values["prev_hash"] = prev
        values["content_hash"] = entry_hash(
            election=SLUG, seq=values["seq"], precinct_code=values["precinct_code"], channel=values["channel"],
            stage=values["stage"], payload_json=values["payload"], actor=values["actor"],
            idempotency_key=values["idempotency_key"], received_at=values["received_at"],
            supersedes_seq=values["supersedes_seq"], reason=values["reason"], prev_hash=prev,
            correction_id=values["correction_id"])
        prev = values["content_hash"]
        forged.append(type("Row", (), values)())
    report = check_rows(SLUG, forged)
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert "not consecutive" in (report.problem or "")


def test_the_correction_id_enters_the_hash_only_when_set() -> None:
    """Known answers: SHA-256 of the canonical JSON written out by hand (sorted keys, no spaces)."""
    at = datetime(2020, 2, 4, 1, 0, tzinfo=UTC)
    fields: dict[str, object] = {
        "election": "e", "seq": 2, "precinct_code": "North/1", "channel": "app", "stage": "final",
        "payload_json": '{"counts":{"Able":52}}', "actor": "chair:North/1", "idempotency_key": "k/final",
        "received_at": at, "supersedes_seq": 1, "reason": "recount", "prev_hash": "0" * 64}
    without = ('{"actor":"chair:North/1","channel":"app","election":"e","idempotency_key":"k/final",'
               '"payload":"{\\"counts\\":{\\"Able\\":52}}","precinct":"North/1","prev_hash":"' + "0" * 64 + '",'
               '"reason":"recount","received_at":"2020-02-04T01:00:00.000000+00:00","seq":2,"stage":"final",'
               '"supersedes_seq":1}')
    with_id = without.replace('"channel":"app",', '"channel":"app","correction_id":"C-1",')
    assert entry_hash(**fields) == hashlib.sha256(without.encode()).hexdigest()  # type: ignore[arg-type]
    assert entry_hash(**fields, correction_id=None) == hashlib.sha256(without.encode()).hexdigest()  # type: ignore[arg-type]
    assert entry_hash(**fields, correction_id="C-1") == hashlib.sha256(with_id.encode()).hexdigest()  # type: ignore[arg-type]
