"""A precinct's reported stages -> the checks that apply so far and the server's own recomputation.

Pure: stage payloads in (as stored in the ledger), findings and numbers out. Used on arrival of a stage
(before anything is written) and when reading a precinct's status.

Stage payloads, as the ledger stores them::

    attendance  {"attendance": 214}
    first       {"counts": {"Sanders": 50, ...}}
    final       {"counts": {...}, "chance": [{"kind": "lose", "among": [...], "selected": [...]}]}
    delegates   {"delegates": {"Sanders": 4, ...}}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caucus.checks import REVIEWABLE_CODES, Finding, PrecinctReport, check_report
from caucus.ledger import Stage
from caucus.rules import ChanceEvent, ChanceOutcome, RuleSet, published_sdes, site_delegates, threshold
from caucus.service.context import PrecinctInfo

STAGE_ORDER: tuple[Stage, ...] = ("attendance", "first", "final", "delegates")
STAGE_TITLES: dict[str, str] = {
    "attendance": "attendance",
    "first": "first alignment",
    "final": "final alignment",
    "delegates": "delegates",
}

_INPUT_CODES = frozenset({"count-missing", "count-negative", "count-not-whole", "candidate-unknown"})
#: the findings that can be judged once a stage (and every stage before it) is reported
_CODES_BY_STAGE: dict[str, frozenset[str]] = {
    "attendance": frozenset({"no-attendance", "attendance-above-expected"}),
    "first": frozenset({"first-exceeds-attendance"}),
    "final": frozenset({"final-exceeds-first", "viable-group-lost-members", "viable-group-lost-viability",
                        "no-viable-group", "chance-required", "chance-outcome-invalid"}),
    "delegates": frozenset({"nonviable-awarded", "delegate-total-mismatch", "sde-mismatch", "chance-not-recorded",
                            "delegates-differ", "duplicate-report"}),
}
SDE_PLACES = 4


@dataclass(frozen=True)
class Recomputation:
    """What the server computes from the reported attendance and final alignment (never taken from a report).

    ``delegates`` is the allocation (before the pending game of chance when ``pending_chance`` is set);
    ``sde`` the published SDEs at 4 decimals, as strings (None for a satellite site, whose SDEs follow the
    whole pool's turnout, and while a game of chance is pending).
    """

    delegates_to_elect: int | None = None
    attendance: int | None = None
    threshold: int | None = None
    status: str | None = None
    delegates: Mapping[str, int] | None = None
    sde: Mapping[str, str] | None = None
    pending_chance: ChanceEvent | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    stages: tuple[Stage, ...]
    findings: tuple[Finding, ...] = ()
    recomputed: Recomputation = field(default_factory=Recomputation)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "blocking")

    @property
    def impossible(self) -> tuple[Finding, ...]:
        """The blocking findings a reviewer may not accept (only a correction clears them); the others
        (``REVIEWABLE_CODES``: implausible, not impossible) may be accepted after checking the paper."""
        return tuple(f for f in self.blocking if f.code not in REVIEWABLE_CODES)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def complete(self) -> bool:
        """Every stage reported and the delegates reproduced by the server without any finding."""
        return (
            self.stages == STAGE_ORDER
            and not self.findings
            and self.recomputed.status == "complete"
        )


def group_names(stage: Stage, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, name) of every group name in a stage payload (``counts.Sanders``, ``chance[0].among[1]``), for
    checking against the candidates."""
    names: list[tuple[str, str]] = []
    key = {"first": "counts", "final": "counts", "delegates": "delegates"}.get(stage)
    if key is not None:
        names += [(f"{key}.{g}", str(g)) for g in payload.get(key) or {}]
    if stage in ("first", "final") and isinstance(payload.get("in_person"), Mapping):
        names += [(f"in_person.{g}", str(g)) for g in payload["in_person"]]
    for i, item in enumerate(payload.get("chance") or ()):
        for part in ("among", "selected"):
            names += [(f"chance[{i}].{part}[{j}]", str(g)) for j, g in enumerate(item.get(part) or ())]
    return names


def _counts(payload: Mapping[str, Any] | None, key: str) -> dict[str, object]:
    value = (payload or {}).get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def chance_outcomes(payload: Mapping[str, Any] | None) -> tuple[ChanceOutcome, ...]:
    """The recorded games of chance of a final-alignment payload (malformed items are skipped: the
    web layer validates them before they are ever stored)."""
    outcomes = []
    for item in (payload or {}).get("chance") or ():
        if isinstance(item, Mapping) and item.get("kind") in ("lose", "gain", "drop"):
            among = tuple(str(g) for g in item.get("among") or ())
            selected = tuple(str(g) for g in item.get("selected") or ())
            outcomes.append(ChanceOutcome(item["kind"], among, selected))
    return tuple(outcomes)


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


#: evaluations of recent inputs, kept because the ledger writer's status derivation evaluates again what a
#: report's checks evaluated a moment before (the same payloads, for a precinct reported by one channel)
MEMO_SIZE = 4096
_memo: dict[tuple[Any, ...], tuple[RuleSet, Evaluation]] = {}
_memo_guard = threading.Lock()


def evaluate(
    info: PrecinctInfo,
    ruleset: RuleSet,
    candidates: tuple[str, ...],
    payloads: Mapping[Stage, Mapping[str, Any]],
) -> Evaluation:
    """Check the stages reported so far (``payloads`` by stage) and recompute the precinct's math. Pure: equal
    inputs give the same (immutable) evaluation, remembered for the last :data:`MEMO_SIZE` inputs."""
    try:
        key = (info, id(ruleset), candidates, json.dumps(payloads, sort_keys=True, separators=(",", ":")))
        found = _memo.get(key)
    except (TypeError, ValueError):  # (not JSON, or not hashable: evaluated, not remembered)
        return _evaluate(info, ruleset, candidates, payloads)
    if found is not None and found[0] is ruleset:
        return found[1]
    evaluation = _evaluate(info, ruleset, candidates, payloads)
    with _memo_guard:
        _memo[key] = (ruleset, evaluation)
        while len(_memo) > MEMO_SIZE:
            del _memo[next(iter(_memo))]
    return evaluation


def _evaluate(
    info: PrecinctInfo,
    ruleset: RuleSet,
    candidates: tuple[str, ...],
    payloads: Mapping[Stage, Mapping[str, Any]],
) -> Evaluation:
    stages = tuple(stage for stage in STAGE_ORDER if stage in payloads)
    if not stages:
        return Evaluation(stages)
    attendance = _whole((payloads.get("attendance") or {}).get("attendance"))
    d = info.delegates
    notes: list[str] = []
    if info.kind == "satellite":
        if attendance is None:
            return Evaluation(stages, recomputed=Recomputation(
                notes=("a satellite site's delegates follow its attendance, which is not reported yet",)))
        d = site_delegates(attendance, ruleset)
        notes.append(f"satellite site: {d} delegates for attendance {attendance} (IA-5.2); its SDEs follow the "
                     "pool's total turnout and are computed when the pool is complete")
    assert d is not None
    relevant = set(_INPUT_CODES)
    for stage in stages:
        relevant |= _CODES_BY_STAGE[stage]
    final_payload = payloads.get("final")
    report = PrecinctReport(
        precinct=info.code,
        delegates_to_elect=d,
        first=_counts(payloads.get("first"), "counts"),
        final=_counts(final_payload, "counts"),
        attendance=attendance,
        reported_delegates=_counts(payloads["delegates"], "delegates") if "delegates" in payloads else None,
        sde_ratio=info.sde_ratio,
        chance=chance_outcomes(final_payload),
        candidates=frozenset(candidates),
        expected_attendance=info.expected_attendance,
    )
    result = check_report(report, ruleset)
    findings = tuple(f for f in result.findings if f.code in relevant)
    recomputed = Recomputation(
        delegates_to_elect=d,
        attendance=attendance,
        threshold=threshold(attendance, d, ruleset) if attendance is not None else None,
        notes=tuple(notes),
    )
    allocation = result.allocation if "final" in stages else None
    if allocation is not None:
        delegates = dict(sorted(allocation.delegates.items()))
        sde = None
        if allocation.pending is None and info.sde_ratio is not None and ruleset.has_sde:
            sde = {g: f"{v:.{SDE_PLACES}f}" for g, v in published_sdes(delegates, info.sde_ratio, SDE_PLACES).items()}
        recomputed = Recomputation(
            delegates_to_elect=d,
            attendance=attendance,
            threshold=allocation.threshold,
            status=allocation.status,
            delegates=delegates,
            sde=sde,
            pending_chance=allocation.pending,
            notes=tuple(notes),
        )
    return Evaluation(stages, findings, recomputed)
