"""HQ's correction form (review queue and recanvass pages): every stage with the precinct's current numbers,
one reason. The stages whose numbers the reviewer changed are the ones corrected, together, as ONE
correction (``ReportService.correct``); "Recompute delegates" fills in the server's allocation for the
numbers typed, without recording anything.

Form fields: ``attendance``, ``first.<group>``, ``final.<group>``, ``delegates.<group>`` (blank: none),
``supersedes.<stage>`` (the newest current entry of the stage when the form was drawn), ``reason``, ``key``,
``action`` (``recompute`` or ``record``), and the games of chance of a corrected final alignment,
``chance.<i>.selected|kind|among`` as on the hotline console (:mod:`caucus.web.hq.chance_form`): when the
corrected numbers reach a tie, the form asks who was chosen (:func:`settle_chance`) and records the
numbers and the outcome together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData

from caucus.ledger import Stage
from caucus.ledger.meaning import normal_payload
from caucus.service import STAGE_ORDER, STAGE_TITLES, ElectionContext, FieldProblem, PrecinctStatus, evaluate
from caucus.service.chance_entry import ChanceStep, chance_step
from caucus.service.hq_errors import StaffInputInvalid
from caucus.web.hq.chance_form import ChanceForm, chance_form, keyed_games
from caucus.web.hq.pages import MAX_NUMBER, ServiceErrorWithFields, text_field
from caucus.web.services import Services

_KEY = {"first": "counts", "final": "counts", "delegates": "delegates"}


def _current_payload(status: PrecinctStatus, stage: Stage) -> dict[str, Any] | None:
    entries = status.stages.get(stage) or ()
    return dict(entries[-1].payload) if entries else None


def current_values(status: PrecinctStatus) -> dict[str, str]:
    """The form's fields filled with the precinct's current numbers (the newest current entry per stage)."""
    values: dict[str, str] = {}
    for stage in STAGE_ORDER:
        payload = _current_payload(status, stage)
        if payload is None:
            continue
        if stage == "attendance":
            values["attendance"] = str(payload.get("attendance", ""))
        else:
            for group, n in (payload.get(_KEY[stage]) or {}).items():
                values[f"{stage}.{group}"] = str(n)
        values[f"supersedes.{stage}"] = str((status.stages.get(stage) or ())[-1].seq)
    return values


def form_values(form: FormData, candidates: tuple[str, ...]) -> dict[str, str]:
    names = ["attendance", *(f"{s}.{c}" for s in ("first", "final", "delegates") for c in candidates),
             *(f"supersedes.{s}" for s in STAGE_ORDER), "reason", "note"]
    return {name: text_field(form, name) for name in names if text_field(form, name)}


def _numbers(form: FormData, stage: Stage, candidates: tuple[str, ...], problems: list[FieldProblem]
             ) -> dict[str, int] | None:
    numbers: dict[str, int] = {}
    for candidate in candidates:
        name = f"{stage}.{candidate}"
        text = text_field(form, name)
        if not text:
            continue
        if not text.isdigit() or int(text) > MAX_NUMBER:
            problems.append(FieldProblem(name, "invalid-input", f"{STAGE_TITLES[stage]}, {candidate}: a whole "
                                                                f"number from 0 to {MAX_NUMBER}; got {text!r}"))
            continue
        numbers[candidate] = int(text)
    return numbers or None


def typed_payloads(form: FormData, status: PrecinctStatus, candidates: tuple[str, ...]
                   ) -> dict[Stage, dict[str, Any]]:
    """Every stage with numbers in the form, as stage payloads; a final alignment keeps the game of chance
    recorded with the current one (checked again with the new numbers)."""
    problems: list[FieldProblem] = []
    payloads: dict[Stage, dict[str, Any]] = {}
    attendance = text_field(form, "attendance")
    if attendance:
        if not attendance.isdigit() or int(attendance) > MAX_NUMBER:
            problems.append(FieldProblem("attendance", "invalid-input",
                                         f"attendance: a whole number from 0 to {MAX_NUMBER}; got {attendance!r}"))
        else:
            payloads["attendance"] = {"attendance": int(attendance)}
    for stage in ("first", "final", "delegates"):
        numbers = _numbers(form, stage, candidates, problems)
        if numbers is not None:
            payloads[stage] = {_KEY[stage]: numbers}
    if problems:
        raise ServiceErrorWithFields("; ".join(p.message for p in problems), problems)
    if "final" in payloads:
        current = _current_payload(status, "final") or {}
        payloads["final"]["chance"] = list(current.get("chance") or [])
    return payloads


def _same(stage: Stage, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal by meaning (:mod:`caucus.ledger.meaning`): a group at 0 and a group left out are the same; no
    game of chance and [] too."""
    return normal_payload(stage, a) == normal_payload(stage, b)


def changed_stages(form: FormData, status: PrecinctStatus, context: ElectionContext
                   ) -> tuple[dict[Stage, dict[str, Any]], dict[Stage, int]]:
    """The stages the reviewer changed (numbers differing from any current entry's), with the entry seen."""
    typed = typed_payloads(form, status, context.candidates)
    corrected: dict[Stage, dict[str, Any]] = {}
    for stage, payload in typed.items():
        entries = status.stages.get(stage) or ()
        if any(not _same(stage, payload, e.payload) for e in entries) or not entries:
            corrected[stage] = payload
    if not corrected:
        raise StaffInputInvalid("numbers", "nothing changed: change the numbers of the stages to correct (the form "
                                           "shows what the precinct holds now)")
    if "final" in corrected:
        corrected["final"] = _drop_unfit_chance(status, context, corrected)
    supersedes: dict[Stage, int] = {}
    for stage in corrected:
        seen = text_field(form, f"supersedes.{stage}")
        if seen.isdigit():
            supersedes[stage] = int(seen)
    return corrected, supersedes


def _drop_unfit_chance(status: PrecinctStatus, context: ElectionContext,
                       corrected: Mapping[Stage, Mapping[str, Any]]) -> dict[str, Any]:
    final = dict(corrected["final"])
    if not final.get("chance"):
        return final
    payloads = _whole(status, corrected)
    findings = evaluate(status.info, context.ruleset, context.candidates, payloads).findings
    if any(f.code == "chance-outcome-invalid" for f in findings):
        final["chance"] = []  # the tie it settled is gone with the new numbers
    return final


def _whole(status: PrecinctStatus, corrected: Mapping[Stage, Mapping[str, Any]]) -> dict[Stage, Mapping[str, Any]]:
    payloads: dict[Stage, Mapping[str, Any]] = {}
    for stage in STAGE_ORDER:
        payload = _current_payload(status, stage)
        if payload is not None:
            payloads[stage] = payload
    payloads.update(corrected)
    return payloads


def settle_chance(form: FormData, status: PrecinctStatus, context: ElectionContext,
                  corrected: dict[Stage, dict[str, Any]]) -> ChanceStep | None:
    """The game of chance of a corrected final alignment. Games keyed on the form (``chance.<i>.*``) are
    checked against the ties the corrected numbers reach and replace the game recorded before; without
    any, the game recorded before is kept if it still fits. Returns the step when the page must ask who was
    chosen (or a keyed game does not fit); None when the correction can be recorded (``corrected["final"]``
    then carries its games)."""
    if "final" not in corrected:
        return None
    games = keyed_games(form)
    payloads = _whole(status, corrected)
    if not games:
        recomputed = evaluate(status.info, context.ruleset, context.candidates, payloads).recomputed
        if recomputed.pending_chance is None:
            return None  # no tie, or the game recorded before settles it
    step = chance_step(status.info, context.ruleset, context.candidates, payloads,
                       counts=corrected["final"]["counts"], games=games)
    if step.blocked:
        return None  # the numbers themselves are refused: the correction's checks say why
    if step.problems or step.pending is not None:
        return step
    corrected["final"] = {**corrected["final"], "chance": step.items}
    return None


def correction_chance(form: FormData, services: Services, step: ChanceStep) -> ChanceForm:
    """The correction form's game-of-chance fields for ``step`` (the games kept, the tie to settle)."""
    return chance_form("", form, services.context.candidates, step, method=services.context.ruleset.chance_method,
                       hidden_names=())


def recompute(form: FormData, status: PrecinctStatus, context: ElectionContext) -> tuple[dict[str, str], str]:
    """The form's values with the delegates the server computes for the numbers typed, and what it found."""
    typed = typed_payloads(form, status, context.candidates)
    typed.pop("delegates", None)
    if "final" in typed:
        typed["final"] = _drop_unfit_chance(status, context, typed)
    payloads = _whole(status, typed)
    payloads.pop("delegates", None)
    evaluation = evaluate(status.info, context.ruleset, context.candidates, payloads)
    values = form_values(form, context.candidates)
    recomputed = evaluation.recomputed
    if recomputed.delegates is None:
        return values, "the server cannot allocate delegates yet: " + (
            "; ".join(f.message for f in evaluation.findings) or "the final alignment is missing")
    for key in [k for k in values if k.startswith("delegates.")]:
        del values[key]
    for group, n in recomputed.delegates.items():
        if n:
            values[f"delegates.{group}"] = str(n)
    told = ", ".join(f"{g} {n}" for g, n in sorted(recomputed.delegates.items()) if n)
    message = f"the server's allocation for these numbers: {told}; filled in below (nothing recorded yet)"
    if recomputed.pending_chance is not None:
        message += f"; a game of chance is pending: {recomputed.pending_chance.describe()}"
    blocking = [f.message for f in evaluation.blocking]
    if blocking:
        message += "; the checks refuse these numbers: " + "; ".join(blocking)
    return values, message
