"""The caucus math: pure, exact, deterministic.

No I/O, no clock, no randomness, no imports of storage, web or CLI code (a test enforces it). Games of
chance are inputs. Rule sets are data (:mod:`caucus.rules.ruleset`).
"""

from .allocation import Allocation, AllocationStatus, allocate
from .branches import Branch, branches
from .chance import ChanceEvent, ChanceKind, ChanceOutcome, ChanceOutcomeError
from .national import NationalResult, SeatAllocation, allocate_seats, national_delegates
from .nevada import (
    MAX_RANKS,
    MIN_RANKS,
    EarlyMove,
    distinct_ranks,
    early_first_alignment,
    early_moves,
    first_choices,
    realign_early_ballots,
    valid_ballots,
    viable_at_first,
    void_ballot,
)
from .numbers import ceil_fraction, floor_half_up, quantize, to_decimal, to_fraction
from .ruleset import IOWA_2020, NEVADA_2020, RULESETS, RuleSet, UnknownRuleSet, get_ruleset
from .satellite import site_delegates, site_group_sdes, site_sde
from .sde import county_ratio, precinct_sdes, published_sdes, sum_published
from .viability import threshold

__all__ = [
    "IOWA_2020",
    "MAX_RANKS",
    "MIN_RANKS",
    "NEVADA_2020",
    "RULESETS",
    "Allocation",
    "AllocationStatus",
    "Branch",
    "ChanceEvent",
    "ChanceKind",
    "ChanceOutcome",
    "ChanceOutcomeError",
    "EarlyMove",
    "NationalResult",
    "RuleSet",
    "SeatAllocation",
    "UnknownRuleSet",
    "allocate",
    "allocate_seats",
    "branches",
    "ceil_fraction",
    "county_ratio",
    "distinct_ranks",
    "early_first_alignment",
    "early_moves",
    "first_choices",
    "floor_half_up",
    "get_ruleset",
    "national_delegates",
    "precinct_sdes",
    "published_sdes",
    "quantize",
    "realign_early_ballots",
    "site_delegates",
    "site_group_sdes",
    "site_sde",
    "sum_published",
    "threshold",
    "to_decimal",
    "to_fraction",
    "valid_ballots",
    "viable_at_first",
    "void_ballot",
]
