"""The election a service runs: its ledger identity, its plan, its rule set and each precinct's fixed facts.

Loaded once (at start-up) from the ledger and the election's plan; immutable afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType

from sqlalchemy import Engine, select

from caucus.ledger import PrecinctKind, UnknownElection, get_election, list_precincts
from caucus.ledger.schema import elections
from caucus.plans import Plan, PlanError, load_plan
from caucus.plans.model import fold_code
from caucus.rules import RuleSet, UnknownRuleSet, get_ruleset
from caucus.service.errors import ElectionNotServable, UnknownPrecinctCode


@dataclass(frozen=True)
class PrecinctInfo:
    """A precinct's fixed facts. ``delegates`` is None for a satellite site (its D follows attendance);
    ``sde_ratio`` is S/C of its county, None for a satellite site (its SDEs follow the pool's turnout)."""

    code: str
    county: str
    name: str
    kind: PrecinctKind
    delegates: int | None
    sde_ratio: Fraction | None
    #: a satellite site's expected size from the plan (None for a precinct): above it, the blocking finding
    #: ``attendance-above-expected``
    expected_attendance: int | None = None


@dataclass(frozen=True)
class ElectionContext:
    slug: str
    election_id: int
    mode: str
    plan: Plan
    ruleset: RuleSet
    precincts: Mapping[str, PrecinctInfo]

    @property
    def candidates(self) -> tuple[str, ...]:
        return self.plan.candidates

    @cached_property
    def county_sizes(self) -> Mapping[str, int]:
        """How many precincts each county has (by county name)."""
        sizes: dict[str, int] = {}
        for info in self.precincts.values():
            sizes[info.county] = sizes.get(info.county, 0) + 1
        return MappingProxyType(sizes)

    @cached_property
    def unreported(self) -> dict[str, object]:
        """What a precinct with no entry and no review decision derives to, by code: the same every time, so
        derived once per process (filled by :func:`caucus.service.status.unreported_status`)."""
        return {}

    @cached_property
    def _folded(self) -> Mapping[str, str]:
        return {fold_code(code): code for code in self.precincts}

    def precinct(self, code: str) -> PrecinctInfo:
        """The precinct with this code as people type it (case, and leading, trailing and repeated spaces
        ignored: ``ridge/03`` is ``Ridge/03``); its ``code`` is the plan's. Raises UnknownPrecinctCode."""
        found = self.precincts.get(code)
        if found is not None:
            return found
        canonical = self._folded.get(fold_code(code)) if isinstance(code, str) else None
        if canonical is None:
            raise UnknownPrecinctCode(self.slug, code, self.plan.settings.example_code)
        return self.precincts[canonical]


def _only_election(engine: Engine) -> str:
    with engine.connect() as conn:
        slugs = list(conn.execute(select(elections.c.slug).order_by(elections.c.id)).scalars())
    if len(slugs) == 1:
        return str(slugs[0])
    if not slugs:
        raise ElectionNotServable(
            "the database has no election to serve; create one first (caucus init) or point "
            "CAUCUS_DATABASE_URL at the right database"
        )
    raise ElectionNotServable(
        f"the database has {len(slugs)} elections ({', '.join(slugs)}); choose one with --election (or CAUCUS_ELECTION)"
    )


def load_context(engine: Engine, slug: str | None = None) -> ElectionContext:
    """The context of election ``slug`` (default: the only election in the database).

    Raises ElectionNotServable with a message saying what to do (no election, several, unknown slug,
    a plan that cannot be loaded, precincts the plan does not know).
    """
    chosen = slug if slug is not None else _only_election(engine)
    try:
        election = get_election(engine, chosen)
    except UnknownElection as exc:
        raise ElectionNotServable(f"the database has no election {chosen!r}; check CAUCUS_ELECTION") from exc
    try:
        plan = load_plan(election.plan_name)
        ruleset = get_ruleset(plan.ruleset)
    except (PlanError, UnknownRuleSet, OSError) as exc:
        raise ElectionNotServable(f"election {chosen!r} uses plan {election.plan_name!r}, which cannot be "
                                  f"loaded: {exc}") from exc
    infos: dict[str, PrecinctInfo] = {}
    unknown: list[str] = []
    for spec in list_precincts(engine, chosen):
        try:
            fact = plan.precinct_by_code(spec.code)
        except KeyError:
            unknown.append(spec.code)
            continue
        county = plan.counties[fact.county]
        ratio = (county.sde_ratio if county.kind == "county" and county.county_delegates > 0
                 and county.state_delegates is not None else None)
        infos[spec.code] = PrecinctInfo(
            code=spec.code,
            county=fact.county,
            name=fact.name,
            kind=fact.kind,
            delegates=fact.delegates,
            sde_ratio=ratio,
            expected_attendance=fact.expected_attendance,
        )
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ElectionNotServable(
            f"election {chosen!r} has precincts that plan {plan.name!r} does not know: {shown}"
        )
    return ElectionContext(
        slug=chosen,
        election_id=election.id,
        mode=election.mode,
        plan=plan,
        ruleset=ruleset,
        precincts=MappingProxyType(infos),
    )
