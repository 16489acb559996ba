"""The public precinct page in sentences: what a game of chance decided, what a correction changed, who (by
role, never by name) reported each stage. Pure functions of a released precinct record (docs/feed.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STAGE_NAMES = {"attendance": "attendance", "first": "first alignment", "final": "final alignment",
               "delegates": "delegates"}
#: the feed's channel values as people read them
CHANNEL_NAMES = {"app": "chair's app", "hotline": "hotline", "paper": "paper worksheet at HQ", "import": "import",
                 "hq-review": "HQ review"}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``22nd``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def names(groups: Sequence[str]) -> str:
    """``Alvarez``, ``Alvarez and Baker``, ``Alvarez, Baker and Carter``."""
    items = list(groups)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def chance_sentences(record: Mapping[str, Any]) -> list[str]:
    """One sentence per recorded game of chance, from its kind (lose | gain | drop), the tied groups and those
    chosen; the delegate a ``gain`` game was for is numbered when the record shows it (one game for the
    precinct's last delegates, which is where the rules leave a tie for a spare delegate: RULES.md IA-3)."""
    games = [g for g in record.get("chance") or () if isinstance(g, Mapping)]
    d = record.get("delegatesToElect")
    gains = [g for g in games if g.get("kind") == "gain"]
    sentences = []
    for game in games:
        selected = [str(s) for s in game.get("selected") or ()]
        others = [str(g) for g in game.get("among") or () if g not in selected]
        against = f" against {names(others)}" if others else ""
        who = names(selected)
        kind = game.get("kind")
        if kind == "gain":
            if isinstance(d, int) and len(gains) == 1 and 0 < len(selected) <= d:
                numbers = [ordinal(n) for n in range(d - len(selected) + 1, d + 1)]
                what = f"the {names(numbers)} delegate{'s' if len(numbers) > 1 else ''}"
            else:
                what = "a spare delegate" if len(selected) == 1 else "the spare delegates"
            sentences.append(f"{who} won a game of chance{against} for {what}.")
        elif kind == "lose":
            elects = f" than the {d} the precinct elects" if isinstance(d, int) else " than the precinct elects"
            sentences.append(f"{who} lost a game of chance{against} and gave a delegate back: rounding had "
                             f"awarded more delegates{elects}.")
        elif kind == "drop":
            elects = f" than its {d} delegates" if isinstance(d, int) else " than delegates"
            sentences.append(f"{who} lost a game of chance{against} and {'was' if len(selected) == 1 else 'were'} "
                             f"dropped: the precinct had more viable groups{elects}.")
        else:
            sentences.append(f"A game of chance among {names([*selected, *others])} chose {who}.")
    return sentences


def _changes(before: Any, after: Any) -> list[str]:
    if isinstance(after, Mapping) or isinstance(before, Mapping):
        old = before if isinstance(before, Mapping) else {}
        new = after if isinstance(after, Mapping) else {}
        return [f"{g} {old.get(g, 0)} → {new.get(g, 0)}" for g in sorted({*old, *new})
                if old.get(g, 0) != new.get(g, 0)]
    return [] if before == after else [f"{before} → {after}"]


def correction_sentence(correction: Mapping[str, Any], when: str) -> str:
    """``The first alignment was corrected through the HQ review (by a reviewer) on Mon 3 Feb 2020, 7:46:40 pm
    CST (entry #101, replacing #90): Bennet 1 → 2, Other 3 → 2.`` (the reason follows separately, quoted)."""
    stage = STAGE_NAMES.get(str(correction.get("stage")), str(correction.get("stage")))
    by = correction.get("by")
    source = channel_name(str(correction.get("channel")))
    role = f" (by {_article(str(by))})" if by else ""
    head = (f"The {stage} was corrected through the {source}{role} on {when} "
            f"(entry #{correction.get('seq')}, replacing #{correction.get('supersedes')})")
    if correction.get("before") is None:
        return head + "."
    changed = _changes(correction.get("before"), correction.get("after"))
    if not changed:
        return head + ": no number changed."
    if stage == "attendance":
        return head + f": attendance {changed[0]}."
    return head + ": " + ", ".join(changed) + "."


def _article(role: str) -> str:
    """``the precinct chair``, ``a reviewer``, ``an HQ administrator``, ``HQ staff``."""
    if role == "precinct chair":
        return "the precinct chair"
    if role == "HQ staff":
        return role
    return ("an " if role[:1] in "aeiouAEIOUH" and not role.startswith("hotline") else "a ") + role
