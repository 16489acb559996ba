"""Games of chance on HQ's forms (hotline console, worksheet transcription): reading the keyed games from a
form, and what the page shows when a final alignment needs one (who is tied for what, the boxes to mark).

Form fields, for game ``i`` (0 for the first game, 1 for a game the first one leads to, ...):

- ``chance.<i>.selected``: a group chosen by the toss or draw (repeat the field for each chosen group);
- ``chance.<i>.kind``: ``lose``, ``gain`` or ``drop`` (optional; the page sends the kind it showed);
- ``chance.<i>.among``: a tied group (repeated; optional; the page sends the groups it showed).

When ``kind``/``among`` are sent they must be the tie the engine reaches with the keyed numbers, so a number
changed after the tie was shown cannot silently apply the outcome to another tie.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from caucus.rules import ChanceEvent
from caucus.service.chance_entry import ASK, CHOSEN_VERB, MAX_GAMES, ChanceStep, KeyedGame
from caucus.service.errors import FieldProblem
from caucus.service.hq_errors import StaffInputInvalid

_FIELD = re.compile(r"chance\.(\d{1,3})\.(kind|among|selected)")


def keyed_games(form: FormData) -> list[KeyedGame]:
    """The games of chance keyed on ``form`` (see the module docstring), in order."""
    found: dict[int, dict[str, list[str]]] = {}
    for name, value in form.multi_items():
        match = _FIELD.fullmatch(name)
        if match is None or not isinstance(value, str):
            continue
        found.setdefault(int(match[1]), {}).setdefault(match[2], []).append(value.strip())
    if not found:
        return []
    if max(found) >= MAX_GAMES:
        raise StaffInputInvalid(f"chance.{max(found)}", f"at most {MAX_GAMES} games of chance can be recorded")
    missing = next((i for i in range(max(found) + 1) if i not in found), None)
    if missing is not None:
        raise StaffInputInvalid(f"chance.{missing}.selected",
                                f"game of chance {missing + 1} is missing: record the games in the order they "
                                "were held, from chance.0")
    games = []
    for index in range(len(found)):
        parts = found[index]
        kind = next((v for v in parts.get("kind", ()) if v), None)
        among = tuple(v for v in parts.get("among", ()) if v)
        games.append(KeyedGame(tuple(v for v in parts.get("selected", ()) if v), kind, among or None))
    return games


@dataclass(frozen=True)
class ChanceForm:
    """The page's "game of chance" card: the keyed final alignment (kept, editable), the games already
    recorded (sent again as hidden fields), and the tie to settle now."""

    action: str
    values: Mapping[str, str]
    recorded: tuple[Mapping[str, Any], ...]
    pending: ChanceEvent | None
    before: Mapping[str, int]
    method: str
    #: other hidden fields to send again (key, precinct, supersedes_seq, reason, photo_id, stage)
    hidden: Mapping[str, str] = field(default_factory=dict)
    #: groups ticked on the refused form (kept when a game did not fit)
    ticked: tuple[str, ...] = ()

    @property
    def index(self) -> int:
        return len(self.recorded)

    @property
    def title(self) -> str:
        if self.pending is None:
            return "Game of chance"
        return f"Game of chance {self.index + 1}: {', '.join(self.pending.among)}"

    @property
    def question(self) -> str:
        if self.pending is None:
            return ""
        event = self.pending
        return (f"{event.describe()}. Record the result of the {self.method} held at the precinct: mark "
                f"{ASK[event.kind]} ({event.count} of {len(event.among)}).")

    def verb(self) -> str:
        return CHOSEN_VERB[self.pending.kind] if self.pending is not None else ""


def chance_form(action: str, form: FormData, candidates: Sequence[str], step: ChanceStep, *, method: str,
                hidden_names: Sequence[str]) -> ChanceForm:
    values = {c: text for c in candidates if (text := _text(form, f"n.{c}"))}
    hidden = {name: text for name in hidden_names if (text := _text(form, name))}
    ticked: tuple[str, ...] = ()
    if step.problems:
        ticked = tuple(v for v in form.getlist(f"chance.{len(step.outcomes)}.selected") if isinstance(v, str))
    return ChanceForm(action, values, tuple(step.items), step.pending, dict(step.before), method, hidden, ticked)


def chance_message(step: ChanceStep) -> str:
    if step.problems:
        return "; ".join(p.message for p in step.problems)
    assert step.pending is not None
    return (f"not recorded yet: a game of chance is required: {step.pending.describe()}; "
            "record who was chosen, then record the final alignment")


def field_messages(problems: Sequence[FieldProblem]) -> dict[str, str]:
    return {p.field: p.message for p in problems}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
