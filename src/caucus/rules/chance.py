"""Games of chance as explicit, recorded inputs (IA-3.8, V-8).

The engine never draws. When a tie matters it stops and reports a :class:`ChanceEvent` (who is tied and
what is at stake); the precinct's recorded :class:`ChanceOutcome` is then given back as an input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ChanceEvent", "ChanceKind", "ChanceOutcome", "ChanceOutcomeError"]

#: ``lose``: tied groups each hold an extra delegate and ``count`` of them give one back;
#: ``gain``: ``count`` spare delegates go to ``count`` of the tied groups;
#: ``drop``: more groups are viable than delegates; ``count`` of the tied smallest lose viability.
ChanceKind = Literal["lose", "gain", "drop"]

_VERB = {"lose": "lose one delegate", "gain": "gain one delegate", "drop": "lose viability"}


@dataclass(frozen=True, slots=True)
class ChanceEvent:
    """A tie the rules cannot settle: ``count`` of the groups in ``among`` must be chosen by chance."""

    kind: ChanceKind
    among: tuple[str, ...]
    count: int

    def describe(self) -> str:
        """Plain words for the worksheet, e.g. ``"2 of Biden, Sanders, Warren must lose one delegate"``."""
        who = ", ".join(self.among)
        n = "1" if self.count == 1 else str(self.count)
        return f"{n} of {who} must {_VERB[self.kind]} by a game of chance"


@dataclass(frozen=True, slots=True)
class ChanceOutcome:
    """The recorded result of one game of chance: ``selected`` are the groups that lose, gain or drop."""

    kind: ChanceKind
    among: tuple[str, ...]
    selected: tuple[str, ...]

    @classmethod
    def of(cls, event: ChanceEvent, selected: tuple[str, ...] | list[str]) -> ChanceOutcome:
        """The outcome of ``event`` in which ``selected`` are the ones chosen."""
        return cls(event.kind, event.among, tuple(sorted(selected)))

    def matches(self, event: ChanceEvent) -> bool:
        """Whether this recorded outcome settles ``event``."""
        return self.kind == event.kind and tuple(sorted(self.among)) == tuple(sorted(event.among))


class ChanceOutcomeError(ValueError):
    """A recorded game-of-chance outcome that does not fit the tie the rules produce."""
