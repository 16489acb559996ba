"""Merging a precinct's early ranked ballots into its reported stages (RULES.md NV-3.1, NV-3.2, NV-3.4).

Pure: the stage payload as sent, the precinct's early ballots and its current stages in; the payload as the
ledger stores it out. The ledger always stores the precinct's **totals** (``attendance`` and ``counts``
include early voters), so review, release and every reader see the numbers the rules use; the in-person part
and the early part are stored beside them for the people who read the record.

A client sends either

- the in-person numbers: ``{"in_person": 25}`` (attendance), ``{"in_person": {...}}`` (first, final); the
  server adds the early ballots (valid ballots to ``N``; first choices to the first alignment; each ballot at
  its highest-ranked group viable at the first alignment to the final one) and stores
  ``{"attendance"|"counts": totals, "in_person": ..., "early": ...}``. If the client also sends the totals
  (the chair app sends its preview), they must equal the server's: a mismatch is refused, naming the group;
- or the totals alone (``attendance`` / ``counts``, as in every rule set): they must hold at least the early
  ballots that count there, or they are refused (``early-ballots-exceed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from caucus.ledger import Stage
from caucus.rules import RuleSet, first_choices, realign_early_ballots, valid_ballots, viable_at_first
from caucus.service.errors import FieldProblem, InvalidReport

__all__ = ["early_parts", "merge_early"]


def _nonzero(counts: Mapping[str, Any]) -> dict[str, int]:
    return {str(g): int(n) for g, n in counts.items() if isinstance(n, int) and n}


def early_parts(
    ballots: Sequence[Sequence[str]], delegates: int, first_totals: Mapping[str, int] | None,
    attendance_total: int | None, ruleset: RuleSet,
) -> tuple[int, dict[str, int], dict[str, int] | None]:
    """(valid early ballots, early first choices by group, early ballots by group in the final alignment or
    None while the first alignment is not known)."""
    valid = len(valid_ballots(ballots))
    first = first_choices(ballots)
    final = None
    if first_totals is not None and attendance_total is not None:
        viable = viable_at_first(first_totals, attendance_total, delegates, ruleset)
        final = realign_early_ballots(ballots, viable)
    return valid, first, final


def _refuse(field: str, code: str, message: str) -> InvalidReport:
    return InvalidReport(message, [FieldProblem(field, code, message)])


def merge_early(
    stage: Stage,
    payload: Mapping[str, Any],
    ballots: Sequence[Sequence[str]],
    *,
    delegates: int,
    current: Mapping[Stage, Mapping[str, Any]],
    ruleset: RuleSet,
) -> dict[str, Any]:
    """The payload to store for ``stage`` of a precinct with early ``ballots`` (see the module docstring);
    ``current`` are the channel's current stages. Raises InvalidReport naming the field and the rule."""
    payload = dict(payload)
    if stage == "delegates" or (not ballots and "in_person" not in payload):
        return payload
    attendance_total = (current.get("attendance") or {}).get("attendance")
    first_totals = (current.get("first") or {}).get("counts")
    valid, early_first, early_final = early_parts(ballots, delegates, first_totals, attendance_total, ruleset)
    if stage == "attendance":
        if "in_person" in payload:
            total = int(payload["in_person"]) + valid
            if payload.get("attendance") not in (None, total):
                raise _refuse("attendance", "early-ballots-mismatch",
                              f"attendance {payload['attendance']} is not {payload['in_person']} in person + {valid} "
                              f"early ballots = {total} (NV-3.1)")
            return {**payload, "attendance": total, "early": valid}
        if int(payload.get("attendance") or 0) < valid:
            raise _refuse("attendance", "early-ballots-exceed",
                          f"attendance {payload.get('attendance')} is less than this precinct's {valid} valid early "
                          f"ballots: N counts the early voters too (NV-3.1); send the in-person count as in_person")
        return payload
    early = early_first if stage == "first" else early_final
    if early is None:  # the first alignment is not reported yet: the order check refuses the stage
        return payload
    what = "first choices" if stage == "first" else "early ballots realigned there"
    if "in_person" in payload:
        in_person = _nonzero(payload["in_person"])
        totals = dict(in_person)
        for g, n in early.items():
            totals[g] = totals.get(g, 0) + n
        sent = payload.get("counts")
        if sent is not None and _nonzero(sent) != totals:
            wrong = sorted(g for g in set(_nonzero(sent)) | set(totals) if _nonzero(sent).get(g, 0) != totals.get(g, 0))
            raise InvalidReport(
                f"the counts sent are not in person + early ballots for {', '.join(wrong)}",
                [FieldProblem(f"counts.{g}", "early-ballots-mismatch",
                              f"{g}: {_nonzero(sent).get(g, 0)} sent, but {in_person.get(g, 0)} in person + "
                              f"{early.get(g, 0)} {what} = {totals.get(g, 0)}") for g in wrong])
        return {**payload, "counts": dict(sorted(totals.items())), "in_person": in_person,
                "early": dict(sorted(early.items()))}
    counts = _nonzero(payload.get("counts") or {})
    short = sorted(g for g, n in early.items() if counts.get(g, 0) < n)
    if short:
        raise InvalidReport(
            f"the counts are below the precinct's early ballots for {', '.join(short)}",
            [FieldProblem(f"counts.{g}", "early-ballots-exceed",
                          f"{g}: {counts.get(g, 0)} is less than the {early[g]} {what} (NV-3.2, NV-3.4); "
                          "send the in-person counts as in_person") for g in short])
    return payload
