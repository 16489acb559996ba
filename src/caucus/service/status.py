"""A precinct's status: derived from its ledger rows (every channel) and the checks, never stored.

``not-reported``: no row; ``conflicting``: two channels' current rows for a stage disagree;
``held-for-review``: the checks found something (a warning accepted at ingest, or anything reported through
another channel); ``accepted``: all four stages reported and the server reproduces the delegates without a
finding; ``reported``: some stages reported, nothing found so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine

from caucus.ledger import LedgerEntry, PrecinctState, Stage, precinct_state
from caucus.service.context import ElectionContext, PrecinctInfo
from caucus.service.evaluation import STAGE_ORDER, STAGE_TITLES, Evaluation, evaluate

StatusName = Literal["not-reported", "reported", "accepted", "held-for-review", "conflicting"]
STATUS_NAMES: tuple[StatusName, ...] = ("not-reported", "reported", "accepted", "held-for-review", "conflicting")


@dataclass(frozen=True)
class PrecinctStatus:
    info: PrecinctInfo
    state: StatusName
    reasons: tuple[str, ...]
    #: each stage's current entries (one per channel that reported it), in seq order
    stages: Mapping[Stage, tuple[LedgerEntry, ...]]
    #: every entry of the precinct, in seq order
    history: tuple[LedgerEntry, ...]
    #: seq of a corrected entry -> seq of the entry that corrected it
    superseded_by: Mapping[int, int]
    evaluation: Evaluation

    @property
    def delegates_to_elect(self) -> int | None:
        recomputed = self.evaluation.recomputed.delegates_to_elect
        return recomputed if recomputed is not None else self.info.delegates


def _reasons(state: PrecinctState, evaluation: Evaluation) -> tuple[StatusName, tuple[str, ...]]:
    if not state.entries:
        return "not-reported", ("nothing reported yet",)
    if state.conflicts:
        return "conflicting", tuple(
            f"the {STAGE_TITLES[c.stage]} differs between channels: "
            + ", ".join(f"{e.channel} (entry #{e.seq})" for e in c.entries)
            for c in state.conflicts
        )
    if evaluation.findings:
        return "held-for-review", tuple(f"{f.code}: {f.message}" for f in evaluation.findings)
    if evaluation.complete:
        return "accepted", ("all four stages reported; the server reproduces the delegates",)
    missing = [STAGE_TITLES[s] for s in STAGE_ORDER if s not in evaluation.stages]
    return "reported", (f"waiting for: {', '.join(missing)}",)


def derive_status(context: ElectionContext, info: PrecinctInfo, state: PrecinctState) -> PrecinctStatus:
    """The status of one precinct from its derived ledger state (pure)."""
    payloads: dict[Stage, Mapping[str, Any]] = {}
    for stage in STAGE_ORDER:
        payload = state.payload(stage)
        if payload is not None:
            payloads[stage] = payload
    evaluation = evaluate(info, context.ruleset, context.candidates, payloads)
    name, reasons = _reasons(state, evaluation)
    stages = {
        stage: tuple(sorted(state.stage_entries(stage).values(), key=lambda e: e.seq))
        for stage in STAGE_ORDER
    }
    superseded_by = {e.supersedes_seq: e.seq for e in state.entries if e.supersedes_seq is not None}
    return PrecinctStatus(
        info=info,
        state=name,
        reasons=reasons,
        stages={stage: entries for stage, entries in stages.items() if entries},
        history=state.entries,
        superseded_by=superseded_by,
        evaluation=evaluation,
    )


def read_status(engine: Engine, context: ElectionContext, precinct: str) -> PrecinctStatus:
    """The current status of ``precinct`` from the ledger; raises UnknownPrecinctCode."""
    info = context.precinct(precinct)
    return derive_status(context, info, precinct_state(engine, context.slug, info.code))
