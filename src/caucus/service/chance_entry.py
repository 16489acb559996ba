"""Games of chance keyed in by staff (hotline console, HQ's transcription of a worksheet): who is tied for
what, and checking the recorded outcomes one game at a time, each error naming its field.

The engine decides (:func:`caucus.service.evaluation.evaluate`, i.e. :func:`caucus.rules.allocate`): with the
final alignment and the games recorded so far, it either settles the allocation or stops at the next tie
(a :class:`~caucus.rules.ChanceEvent`: kind ``lose``/``gain``/``drop``, the tied groups, how many are
chosen). Games are successive: settling one can reveal the next (e.g. groups dropped by chance, then a
spare delegate tied), so game ``i`` is checked against the tie the engine reaches after games ``0..i-1``.

A keyed game says who was chosen (``selected``) and, where the form showed it, the kind and the tied
groups it was shown for; these guard against the numbers being changed after the tie was shown. Field
names are the console's form fields: ``chance.<i>.kind``, ``chance.<i>.among``, ``chance.<i>.selected``.
Checked games are recorded in the app's payload shape: ``{"kind", "among", "selected"}`` in the order held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from caucus.ledger import Stage
from caucus.rules import ChanceEvent, ChanceOutcome, RuleSet
from caucus.service.context import PrecinctInfo
from caucus.service.errors import FieldProblem, ReportRejected
from caucus.service.evaluation import Evaluation, evaluate

MAX_GAMES = 10
CODE = "chance-outcome-invalid"
#: what the chosen groups do, by kind: (the verb for one chosen group, for the question asked)
CHOSEN_VERB = {"lose": "loses a delegate", "gain": "gains a delegate", "drop": "loses viability"}
ASK = {"lose": "who gives a delegate back", "gain": "who gets the spare delegate", "drop": "who loses viability"}


@dataclass(frozen=True)
class KeyedGame:
    """One game of chance as staff keyed it. ``kind`` and ``among`` are None when not sent (then the
    engine's tie is taken); ``selected`` are the groups chosen by the toss or draw."""

    selected: tuple[str, ...]
    kind: str | None = None
    among: tuple[str, ...] | None = None

    @classmethod
    def from_item(cls, item: Any) -> KeyedGame:
        """A game from a payload's ``chance`` item (as the app and the hotline store it)."""
        if not isinstance(item, Mapping):
            return cls(())
        among = item.get("among")
        return cls(tuple(str(g) for g in item.get("selected") or ()),
                   str(item["kind"]) if item.get("kind") is not None else None,
                   tuple(str(g) for g in among) if isinstance(among, list | tuple) else None)


@dataclass(frozen=True)
class ChanceStep:
    """Where keyed games leave a final alignment: ``outcomes`` are the games that fit (in order), then
    either ``problems`` (the first game that does not fit, by field), or ``pending`` (the next game to
    hold; None when the rules settle everything), with ``before`` the delegates before that game."""

    outcomes: tuple[ChanceOutcome, ...]
    pending: ChanceEvent | None
    before: Mapping[str, int]
    problems: tuple[FieldProblem, ...]
    evaluation: Evaluation

    @property
    def items(self) -> list[dict[str, Any]]:
        """The checked games in the stored payload shape."""
        return outcome_items(self.outcomes)

    @property
    def blocked(self) -> bool:
        """The numbers themselves are refused (a blocking finding other than the missing game): no game
        is asked for; the stage's checks will say what is wrong."""
        return any(f.code not in ("chance-required", CODE) for f in self.evaluation.blocking)

    def error(self) -> ReportRejected:
        return ReportRejected("the final alignment was not recorded: "
                              + "; ".join(p.message for p in self.problems), self.problems)


def outcome_items(outcomes: Sequence[ChanceOutcome]) -> list[dict[str, Any]]:
    return [{"kind": o.kind, "among": list(o.among), "selected": list(o.selected)} for o in outcomes]


def _names(groups: Sequence[str]) -> str:
    return ", ".join(groups)


def _check_game(index: int, game: KeyedGame, event: ChanceEvent) -> list[FieldProblem]:
    where = f"chance.{index}"
    title = f"game of chance {index + 1}"
    if game.kind is not None and game.kind != event.kind:
        kinds = "lose, gain or drop" if game.kind not in CHOSEN_VERB else f"{event.kind}, not {game.kind}"
        return [FieldProblem(f"{where}.kind", CODE,
                             f"{title}: the kind must be {kinds}: with these numbers {event.describe()}")]
    if game.among is not None and sorted(game.among) != sorted(event.among):
        return [FieldProblem(f"{where}.among", CODE,
                             f"{title} was shown as a tie among {_names(sorted(game.among))}, but with these "
                             f"numbers {event.describe()}; hold or record that game instead")]
    strangers = sorted(set(game.selected) - set(event.among))
    if strangers:
        return [FieldProblem(f"{where}.selected", CODE,
                             f"{title}: {_names(strangers)} {'is' if len(strangers) == 1 else 'are'} not one of "
                             f"the tied groups ({_names(event.among)})")]
    chosen = set(game.selected)
    if len(chosen) != event.count:
        marked = "none" if not chosen else f"{len(chosen)} ({_names(sorted(chosen))})"
        return [FieldProblem(f"{where}.selected", CODE,
                             f"{title}: mark exactly {event.count} of {_names(event.among)} "
                             f"({ASK[event.kind]}); {marked} marked")]
    return []


def chance_step(info: PrecinctInfo, ruleset: RuleSet, candidates: tuple[str, ...],
                before_final: Mapping[Stage, Mapping[str, Any]], *, counts: Mapping[str, Any],
                games: Sequence[KeyedGame]) -> ChanceStep:
    """Check ``games`` one by one against the ties the engine reaches from the final alignment ``counts``
    (with the channel's own attendance and first alignment, ``before_final``); pure."""
    payloads: dict[Stage, Mapping[str, Any]] = {s: p for s, p in before_final.items() if s in ("attendance", "first")}

    def run(outcomes: Sequence[ChanceOutcome]) -> Evaluation:
        return evaluate(info, ruleset, candidates,
                        {**payloads, "final": {"counts": dict(counts), "chance": outcome_items(outcomes)}})

    outcomes: list[ChanceOutcome] = []
    evaluation = run(outcomes)
    if len(games) > MAX_GAMES:
        problem = FieldProblem(f"chance.{MAX_GAMES}", CODE, f"at most {MAX_GAMES} games of chance can be recorded")
        return ChanceStep((), None, {}, (problem,), evaluation)
    for index, game in enumerate(games):
        event = evaluation.recomputed.pending_chance
        if event is None:
            if evaluation.recomputed.status is None:
                break  # the numbers cannot be allocated at all: the stage's own checks say why
            after = " after the ones before it" if index else ""
            problem = FieldProblem(f"chance.{index}", CODE,
                                   f"game of chance {index + 1}: no game of chance is needed{after}; with these "
                                   "numbers the rules settle every delegate")
            return ChanceStep(tuple(outcomes), None, {}, (problem,), evaluation)
        problems = _check_game(index, game, event)
        if problems:
            return ChanceStep(tuple(outcomes), event, dict(evaluation.recomputed.delegates or {}), tuple(problems),
                              evaluation)
        outcomes.append(ChanceOutcome.of(event, list(set(game.selected))))
        evaluation = run(outcomes)
    recomputed = evaluation.recomputed
    before = dict(recomputed.delegates or {}) if recomputed.pending_chance is not None else {}
    return ChanceStep(tuple(outcomes), recomputed.pending_chance, before, (), evaluation)


def check_recorded_chance(info: PrecinctInfo, ruleset: RuleSet, candidates: tuple[str, ...],
                          before_final: Mapping[Stage, Mapping[str, Any]], final: Mapping[str, Any]) -> None:
    """Raise ReportRejected naming ``chance.<i>.<part>`` if a game recorded in the final-alignment payload
    ``final`` does not fit the tie the engine reaches (a missing game is left to the stage's checks)."""
    items = final.get("chance") or ()
    if not isinstance(items, list | tuple) or not items:
        return
    counts = final.get("counts")
    step = chance_step(info, ruleset, candidates, before_final, counts=counts if isinstance(counts, Mapping) else {},
                       games=[KeyedGame.from_item(item) for item in items])
    if step.problems and not step.blocked:
        raise step.error()
