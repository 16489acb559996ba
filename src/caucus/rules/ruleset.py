"""Rule sets as data: every decision RULES.md leaves open is a named policy here.

``iowa-2020`` and ``nevada-2020`` are two values of :class:`RuleSet`; the engine reads policies, never names.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

__all__ = ["IOWA_2020", "NEVADA_2020", "RULESETS", "RuleSet", "UnknownRuleSet", "get_ruleset"]

OverflowPolicy = Literal["drop-smallest", "add-delegates"]
ChanceMethod = Literal["coin toss", "card draw"]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The policies of one party's caucus rules for one year."""

    name: str
    title: str
    #: (minimum D, share of N needed to be viable), checked in order; D below every entry has no threshold.
    thresholds: tuple[tuple[int, Fraction], ...]
    #: AMBIG-3: what happens when more groups are viable than there are delegates.
    more_viable_than_delegates: OverflowPolicy
    #: How a tie is settled on the night (recorded as an input; never drawn by the software).
    chance_method: ChanceMethod
    #: AMBIG-9: decimals compared at this many places when looking for ties.
    tie_places: int
    #: IA-4: whether state delegate equivalents are computed (Nevada reports county delegates only).
    has_sde: bool
    #: IA-5.2: satellite site delegates by attendance: (maximum attendance, D); the last entry has no maximum.
    satellite_tiers: tuple[tuple[int | None, int], ...]
    #: IA-6.3: share of SDEs a preference needs for national delegates ("falling below" excludes).
    national_threshold: Fraction
    #: NV-2: early ranked ballots join the first alignment and realign to their highest viable choice.
    early_ballots: bool
    #: IA-4.2: places to which precinct SDEs are published (totals are sums of the published values).
    sde_places: int = 4

    def threshold_share(self, delegates: int) -> Fraction | None:
        """The share of ``N`` a group needs in a precinct electing ``delegates``; ``None``: plurality."""
        for minimum, share in self.thresholds:
            if delegates >= minimum:
                return share
        return None


_TIERS: tuple[tuple[int | None, int], ...] = ((20, 4), (40, 5), (60, 6), (80, 7), (100, 8), (None, 9))
_THRESHOLDS = ((4, Fraction(15, 100)), (3, Fraction(1, 6)), (2, Fraction(1, 4)))

IOWA_2020 = RuleSet(
    name="iowa-2020",
    title="Iowa Democratic caucuses 2020",
    thresholds=_THRESHOLDS,
    more_viable_than_delegates="drop-smallest",
    chance_method="coin toss",
    tie_places=4,
    has_sde=True,
    satellite_tiers=_TIERS,
    national_threshold=Fraction(15, 100),
    early_ballots=False,
)

NEVADA_2020 = RuleSet(
    name="nevada-2020",
    title="Nevada Democratic caucuses 2020",
    thresholds=_THRESHOLDS,
    more_viable_than_delegates="add-delegates",
    chance_method="card draw",
    tie_places=4,
    has_sde=False,
    satellite_tiers=(),
    national_threshold=Fraction(15, 100),
    early_ballots=True,
)

RULESETS: dict[str, RuleSet] = {r.name: r for r in (IOWA_2020, NEVADA_2020)}


class UnknownRuleSet(LookupError):
    """A rule set name that is not defined."""


def get_ruleset(name: str) -> RuleSet:
    """The rule set called ``name``; raises :class:`UnknownRuleSet` naming the known ones."""
    try:
        return RULESETS[name]
    except KeyError:
        known = ", ".join(sorted(RULESETS))
        raise UnknownRuleSet(f"unknown rule set {name!r}; known rule sets: {known}") from None
