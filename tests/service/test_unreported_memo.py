"""An unreported precinct's status is derived once per election context and then shared (issue 15: every
derivation of every precinct re-derived the same statuses of the precincts nobody had reported yet): the shared
status must be the one a fresh derivation gives, for every precinct of a real plan; a precinct that reports is
derived, not taken from the memo; and a plan beyond ``UNREPORTED_KEPT`` precincts keeps nothing."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine

from caucus.ledger import Writer, make_engine
from caucus.ledger.state import derive_state
from caucus.service import StageReport, load_context
from caucus.service.reports import ReportService
from caucus.service.status import UNREPORTED_KEPT, derive_status, read_statuses, unreported_status
from tests.web.conftest import Prepared
from tests.web.support import GRINNELL, SLUG, STAGES


def _engine(database: Prepared) -> Engine:
    return make_engine(database.url)


def test_the_shared_status_is_the_fresh_derivation_for_every_precinct(database: Prepared) -> None:
    engine = _engine(database)
    try:
        context = load_context(engine, SLUG)
        statuses = read_statuses(engine, context)
        assert len(context.unreported) == len(context.precincts) == len(statuses)
        for code, info in context.precincts.items():
            fresh = derive_status(context, info, derive_state(SLUG, code, ()))
            assert statuses[code] == fresh and unreported_status(context, info) is statuses[code]
        # a precinct that reports is derived from its entries, not taken from the memo
        writer = Writer(engine)
        try:
            reports = ReportService(engine, writer, context)
            for stage, numbers in STAGES:
                reports.submit(GRINNELL, StageReport(stage, numbers), f"memo-{stage}", channel="app", actor="chair")
        finally:
            writer.close()
        after = read_statuses(engine, context)
        assert after[GRINNELL].state == "accepted" and after[GRINNELL] != statuses[GRINNELL]
        assert after[GRINNELL].history and not statuses[GRINNELL].history
    finally:
        engine.dispose()


def test_a_plan_larger_than_the_bound_keeps_nothing(database: Prepared) -> None:
    engine = _engine(database)
    try:
        context = load_context(engine, SLUG)
        first = next(iter(context.precincts.values()))
        many = {f"X/{n}": dataclasses.replace(first, code=f"X/{n}") for n in range(UNREPORTED_KEPT + 1)}
        large = dataclasses.replace(context, precincts=many)
        status = unreported_status(large, many["X/0"])
        assert status.state == "not-reported" and status.info is many["X/0"]
        assert large.unreported == {}
    finally:
        engine.dispose()
