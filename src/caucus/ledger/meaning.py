"""What a stage payload means, whatever channel sent it: the one normalisation behind every comparison of
entries (channel conflicts, the four-eyes rule, a reviewer's "accept this version").

Channels write the same numbers differently. The chair app sends every group of the first alignment in the
final one (0 for a group that emptied) and always a ``"chance"`` list (empty when no game was held); a
hotline operator leaves a blank for a group with nobody and keys a game of chance only when there was one;
a chair who insisted on numbers the checks flag adds ``"confirmed": true``. None of that is meaning. Two
payloads of one stage mean the same when their normal forms (:func:`normal_payload`) are equal:

- ``counts`` and ``delegates``: a group with 0 and an absent group are the same (a candidate with nobody
  has 0 people; a group awarded nothing has 0 delegates), so zero entries are dropped; key order never
  matters.
- ``chance``: absent and ``[]`` are the same (no game held). The games keep their order (successive games
  of chance are played in the order the ties arise), but within a game ``among`` and ``selected`` are sets
  of groups, so they are sorted.
- ``confirmed`` is a flag about how the report was sent, not a number: it is left out. So are ``in_person``
  and ``early`` (Nevada's early ballots: the stored ``attendance``/``counts`` are the totals, and the parts
  follow from them and the imported ballots: caucus.service.early_merge).
- anything else (``attendance``, any key this module does not know) is compared as it is.

Pure: no I/O. The ledger keeps every payload exactly as sent; only comparisons use the normal form.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from caucus.ledger.model import LedgerEntry, canonical_json

__all__ = ["NOT_MEANING", "entry_meaning", "normal_payload", "payload_meaning", "same_meaning"]

#: payload keys that say how a report was sent, not what it says
NOT_MEANING = frozenset({"confirmed", "in_person", "early"})
_GROUP_KEYS = frozenset({"counts", "delegates"})


def _is_zero(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _groups(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {str(group): n for group, n in sorted(value.items(), key=lambda item: str(item[0])) if not _is_zero(n)}


def _game(item: Any) -> Any:
    if not isinstance(item, Mapping):
        return item
    game = dict(item)
    for part in ("among", "selected"):
        if isinstance(game.get(part), list | tuple):
            game[part] = sorted(game[part], key=str)
    return game


def normal_payload(stage: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The normal form of one stage's payload: equal normal forms mean equal counts, delegates and chance
    outcomes (see the module docstring for the rule)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key in NOT_MEANING:
            continue
        if key in _GROUP_KEYS:
            out[key] = _groups(value)
        elif key == "chance":
            out[key] = [_game(item) for item in value] if isinstance(value, list | tuple) else value
        else:
            out[key] = value
    if stage == "final" and out.get("chance") is None:
        out["chance"] = []
    return out


@functools.lru_cache(maxsize=1 << 16)
def payload_meaning(stage: str, payload_json: str) -> str:
    """The canonical JSON text of the normal form of a stored payload (cached: status reads compare the
    same rows over and over)."""
    return canonical_json(normal_payload(stage, json.loads(payload_json)))


def entry_meaning(entry: LedgerEntry) -> str:
    """What ``entry`` says, as a text that is equal for entries that mean the same."""
    return payload_meaning(entry.stage, entry.payload_json)


def same_meaning(*found: LedgerEntry) -> bool:
    """Whether every entry given says the same thing (True for none or one)."""
    return len({entry_meaning(entry) for entry in found}) <= 1
