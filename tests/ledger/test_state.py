"""A precinct's state, derived from its entries: current rows per (channel, stage), corrections, conflicts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from caucus.ledger import Ledger, UnknownPrecinct, entries, precinct_state, precinct_states
from tests.ledger.support import PRECINCTS, SLUG, sub

FIRST = {"Buttigieg": 10, "Sanders": 12, "Warren": 4}


def test_a_precinct_goes_from_not_reported_to_reported(engine: Engine, ledger: Ledger) -> None:
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert (state.status, state.entries, state.last_seq, state.payload("first")) == (
        "not-reported",
        (),
        None,
        None,
    )
    ledger.submit(sub("k1", FIRST))
    ledger.submit(sub("k2", {"Buttigieg": 11, "Sanders": 12}, stage="final"))
    ledger.submit(sub("k3", FIRST, channel="hotline", actor="operator:7"))
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert state.status == "reported"
    assert state.reported_stages == ("first", "final")
    assert set(state.current) == {("app", "first"), ("app", "final"), ("hotline", "first")}
    assert state.payload("first") == FIRST
    assert sorted(state.stage_entries("first")) == ["app", "hotline"]
    assert state.last_seq == 3 and state.conflicts == ()


def test_channels_that_disagree_make_the_precinct_conflicting(engine: Engine, ledger: Ledger) -> None:
    ledger.submit(sub("k1", FIRST))
    ledger.submit(sub("k2", FIRST | {"Warren": 5}, channel="hotline", actor="operator:7"))
    ledger.submit(sub("k3", {"Sanders": 3}, precinct="Adair/02NE"))
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert state.status == "conflicting"
    [conflict] = state.conflicts
    assert (conflict.stage, conflict.seqs) == ("first", (1, 2))
    assert state.payload("first") is None
    # A reviewer corrects the hotline entry from the paper worksheet: the conflict is resolved.
    ledger.submit(
        sub(
            "k4",
            FIRST,
            channel="paper",
            actor="reviewer:ann",
            supersedes=2,
            reason="worksheet shows Warren 4",
        )
    )
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert state.status == "reported"
    assert state.superseded == frozenset({2})
    assert set(state.current) == {("app", "first"), ("paper", "first")}
    assert state.payload("first") == FIRST
    assert [e.seq for e in state.entries] == [1, 2, 4]  # every row stays; the superseded one no longer counts


def test_a_later_entry_of_the_same_channel_and_stage_is_current(engine: Engine, ledger: Ledger) -> None:
    ledger.submit(sub("k1", {"Sanders": 1}))
    ledger.submit(sub("k2", {"Sanders": 2}))
    assert precinct_state(engine, SLUG, "Adair/01NW").current[("app", "first")].seq == 2


def test_superseding_the_only_entry_of_a_stage_leaves_the_correction(engine: Engine, ledger: Ledger) -> None:
    ledger.submit(sub("k1", {"Sanders": 1}, channel="import", actor="import:batch-3"))
    ledger.submit(sub("k2", {"Sanders": 2}, channel="paper", supersedes=1, reason="import mapped wrong column"))
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert list(state.current) == [("paper", "first")]
    assert state.status == "reported"


def test_entries_filter_by_precinct_and_since_seq(engine: Engine, ledger: Ledger) -> None:
    for n, spec in enumerate(PRECINCTS * 2):
        ledger.submit(sub(f"k{n}", {"n": n}, precinct=spec.code))
    assert [e.seq for e in entries(engine, SLUG)] == list(range(1, 11))
    assert [e.seq for e in entries(engine, SLUG, "Polk/DSM-12")] == [3, 8]
    assert [e.seq for e in entries(engine, SLUG, since_seq=7)] == [8, 9, 10]
    assert [e.seq for e in entries(engine, SLUG, "Adair/01NW", since_seq=1)] == [6]
    assert [e.seq for e in entries(engine, SLUG, since_seq=2, limit=2)] == [3, 4]
    with pytest.raises(UnknownPrecinct):
        entries(engine, SLUG, "Nowhere/1")
    with pytest.raises(UnknownPrecinct):
        precinct_state(engine, SLUG, "Nowhere/1")


def test_states_of_every_precinct_at_once(engine: Engine, ledger: Ledger) -> None:
    ledger.submit(sub("k1", FIRST))
    ledger.submit(sub("k2", {"Sanders": 1}, precinct="Satellite/Paris", actor="chair:paris"))
    states = precinct_states(engine, SLUG)
    assert list(states) == [spec.code for spec in PRECINCTS]
    assert {code: state.status for code, state in states.items() if state.status != "not-reported"} == {
        "Adair/01NW": "reported",
        "Satellite/Paris": "reported",
    }
    assert states["Adair/01NW"] == precinct_state(engine, SLUG, "Adair/01NW")
