"""The ground truth a rehearsal replays, and the totals its published results must equal.

Two sources:

- :func:`truth_from_results`: a party's published results file (the real certified Iowa 2020 results by
  default). Every unit whose alignments pass the checks is played. Its delegates are the published ones
  where the rules reproduce them (with the game-of-chance outcome they imply), else what the rules award
  (the first legal chance outcome); a chair of such a precinct first types the published, impossible
  delegates, is refused, and then reports the right ones. Units whose alignments themselves break the
  rules (a viable group that lost members, say) are what the worksheet says: the chair is refused, then
  confirms the numbers (``"confirm": true``); they are recorded and held for review, and stay unpublished:
  impossible numbers are never published or corrected automatically (RULES.md AMBIG-10), only from the
  paper record, which a rehearsal does not have (``held``). Units with no attendance are left out (counted
  in ``left_out``).
- :func:`caucus.rehearse.synthetic.synthetic_truth`: a generated state of any size, from a seed.

The expected totals (:meth:`GroundTruth.totals`), against which the night's published results are judged,
are the results file's own numbers wherever the night must publish them unchanged: the alignments as the
file gives them, and the SDEs the file publishes for every precinct played with its published delegates
(``PrecinctTruth.sde``), summed. Only where the file's own numbers cannot be what is published are they
computed with the rules core: a precinct whose published delegates are impossible (the chair is refused and
reports the rules' award), satellite sites (their SDEs are shared by the turnout of the pool's *published*
sites, IA-5.3, so they depend on which sites are held), and synthetic states (no file). Which units are held
is the checks' judgement (the audit): no published number says that a precinct is impossible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from caucus.audit import audit, audit_nevada
from caucus.checks import PrecinctReport, check_report
from caucus.packaged import certified_results
from caucus.plans import Plan, load_plan
from caucus.rehearse.early import EarlyPlan, add_early_ballots
from caucus.results_csv import read_results
from caucus.results_nevada import is_nevada_layout, read_nevada_results
from caucus.rules import get_ruleset
from caucus.rules.branches import branches
from caucus.rules.chance import ChanceOutcome
from caucus.rules.satellite import site_delegates, site_group_sdes, site_sde
from caucus.rules.sde import published_sdes

#: findings about the alignments themselves: no channel can report such a unit as it stands
ALIGNMENT_CODES = frozenset({
    "count-missing", "count-negative", "count-not-whole", "candidate-unknown", "first-exceeds-attendance",
    "final-exceeds-first", "viable-group-lost-members", "viable-group-lost-viability", "no-viable-group",
})
FOUR_PLACES = Decimal("0.0001")  # published SDEs (IA-4.2)
#: the party's certified 2020 results, shipped with the package (caucus/plans/iowa-2020/results-certified.csv)
CERTIFIED = certified_results()


@dataclass(frozen=True)
class PrecinctTruth:
    """One unit's numbers as its chair reports them (attendance, alignments, chance outcomes, delegates)."""

    code: str
    attendance: int
    first: Mapping[str, int]
    final: Mapping[str, int]
    delegates: Mapping[str, int]
    chance: tuple[ChanceOutcome, ...] = ()
    #: the delegates the published file gave, where the rules cannot produce them (the chair types these
    #: first and is refused)
    impossible_delegates: Mapping[str, int] | None = None
    #: the numbers break the rules as they stand: sent with ``confirm``, recorded, held, never published
    held: bool = False
    #: the SDEs the results file publishes for this unit (4 places), where the night must publish exactly
    #: those (a precinct played with its published delegates); None: computed with the rules core
    sde: Mapping[str, Decimal] | None = None
    #: early ranked ballots imported for this unit before the night (rule sets with early ballots:
    #: caucus.rehearse.early); the chair then reports the in-person remainder ``room``
    early: tuple[tuple[str, ...], ...] = ()
    #: (attendance, first, final) counted in the room: the totals minus the early ballots' part
    room: tuple[int, Mapping[str, int], Mapping[str, int]] | None = None

    def bodies(self) -> tuple[dict[str, Any], ...]:
        """The four stage reports, as a chair's app sends them: with early ballots, the room's numbers as
        ``in_person`` (the server adds the early ballots)."""
        totals = self.totals_bodies()
        if self.room is None:
            return totals
        attendance, first, final = self.room
        return ({"stage": "attendance", "in_person": attendance},
                {"stage": "first", "in_person": dict(first)},
                {**{k: v for k, v in totals[2].items() if k != "counts"}, "in_person": dict(final)},
                totals[3])

    def totals_bodies(self) -> tuple[dict[str, Any], ...]:
        """The four stage reports with the precinct's totals (what the ledger stores; what a hotline operator
        keys in from the worksheet)."""
        final: dict[str, Any] = {"stage": "final", "counts": {g: n for g, n in self.final.items() if n}}
        if self.chance:
            final["chance"] = [{"kind": o.kind, "among": list(o.among), "selected": list(o.selected)}
                               for o in self.chance]
        return (
            {"stage": "attendance", "attendance": self.attendance},
            {"stage": "first", "counts": {g: n for g, n in self.first.items() if n}},
            final,
            {"stage": "delegates", "delegates": {g: n for g, n in self.delegates.items() if n}},
        )


@dataclass
class GroundTruth:
    """What the night should produce: ``plan`` is a bundled plan's name or a plan directory."""

    plan: str
    source: str
    precincts: list[PrecinctTruth]
    #: units of the source that cannot be played, by reason
    left_out: dict[str, int] = field(default_factory=dict)
    #: the synthetic early ballots given to the units (rule sets with early ballots), or None
    early: EarlyPlan | None = None
    _totals: dict[str, dict[str, Any]] | None = field(default=None, init=False, repr=False, compare=False)

    def load_plan(self) -> Plan:
        return load_plan(self.plan)

    @property
    def published(self) -> list[PrecinctTruth]:
        """The units that must end up published (all but the held ones)."""
        return [p for p in self.precincts if not p.held]

    def totals(self) -> dict[str, dict[str, Any]]:
        """Per candidate: first, final, county delegates and SDEs (a Decimal at 4 places, summed from each
        unit's rounded SDEs), over every unit that must be published (computed once: the rehearsal compares
        them with the feed after every release)."""
        if self._totals is None:
            self._totals = self._compute_totals()
        return self._totals

    def _compute_totals(self) -> dict[str, dict[str, Any]]:
        plan = self.load_plan()
        ruleset = get_ruleset(plan.ruleset)
        pools: dict[str, int] = {}
        published_sites: dict[str, int] = {}
        for p in self.published:
            fact = plan.precinct_by_code(p.code)
            if fact.kind == "satellite":
                pools[fact.county] = pools.get(fact.county, 0) + p.attendance
                published_sites[fact.county] = published_sites.get(fact.county, 0) + 1
        # a pool's SDEs are shared by turnout, so they are published only once every site of it is (IA-5.3)
        complete = {pool for pool, n in published_sites.items() if n == len(plan.precincts_in(pool))}
        out: dict[str, dict[str, Any]] = {g: {"first": 0, "final": 0, "delegates": 0, "sde": Decimal(0)}
                                          for g in plan.candidates}
        for p in self.published:
            for key, numbers in (("first", p.first), ("final", p.final), ("delegates", p.delegates)):
                for g, n in numbers.items():
                    out[g][key] += n
            fact = plan.precinct_by_code(p.code)
            if fact.kind == "satellite" and fact.county not in complete:
                continue
            sdes = p.sde if p.sde is not None else unit_sdes(plan, ruleset.name, p, pools)
            for g, value in sdes.items():
                out[g]["sde"] += value
        return out


def unit_sdes(plan: Plan, ruleset_name: str, unit: PrecinctTruth, pool_attendance: Mapping[str, int]
              ) -> dict[str, Decimal]:
    """A unit's published SDEs: ``CD × S/C`` for a precinct; for a satellite site, its pool's SDEs shared by
    turnout (``pool_attendance``: the attendance of the pool's reporting sites)."""
    fact = plan.precinct_by_code(unit.code)
    county = plan.counties[fact.county]
    if fact.kind != "satellite":
        has_sde = county.county_delegates and county.state_delegates is not None
        return published_sdes(unit.delegates, county.sde_ratio) if has_sde else {}
    d = site_delegates(unit.attendance, get_ruleset(ruleset_name))
    weight = site_sde(Fraction(county.state_delegates or 0), pool_attendance[fact.county], unit.attendance)
    return site_group_sdes(unit.delegates, d, weight)


def truth_from_results(results: Path = CERTIFIED, plan_name: str = "iowa-2020",
                       limit: int | None = None, only: Iterable[str] | None = None,
                       early_seed: int | None = 2020) -> GroundTruth:
    """The ground truth of a published results file (see the module's doc): at most ``limit`` units (then
    no satellite sites), or only the units whose codes are in ``only``. Nevada's layout
    (:mod:`caucus.results_nevada`) is read for a plan without SDEs; for a rule set with early ballots, every
    unit that can gets seeded synthetic early ballots (``early_seed``; None: none; :mod:`caucus.rehearse.early`)."""
    plan = load_plan(plan_name)
    ruleset = get_ruleset(plan.ruleset)
    if is_nevada_layout(results):
        report = audit_nevada(plan, read_nevada_results(results, candidates=plan.candidates), str(results))
    else:
        report = audit(plan, read_results(results, plan=plan))
    wanted = set(only) if only is not None else None
    played: list[PrecinctTruth] = []
    left_out: dict[str, int] = {}
    for unit in report.units:
        if wanted is not None and unit.code not in wanted:
            continue
        if limit is not None and len(played) >= limit:
            break
        if limit is not None and unit.kind == "satellite":
            continue  # a satellite's SDEs need its whole pool: a sample of the state leaves them out
        attendance = max(unit.attendance, sum(unit.final.values()))
        if attendance == 0:
            left_out["no attendance"] = left_out.get("no attendance", 0) + 1
            continue
        # an alignment of nobody cannot be reported by any channel
        empty = [name for name, counts in (("first", unit.first), ("final", unit.final)) if not any(counts.values())]
        if empty:
            why = f"no {empty[0]} alignment in the results"
            left_out[why] = left_out.get(why, 0) + 1
            continue
        result = unit.result
        if attendance != unit.attendance:  # judged as the chair will send it (N raised to the final's total)
            result = check_report(PrecinctReport(
                precinct=unit.code, delegates_to_elect=unit.delegates_to_elect, first=unit.first, final=unit.final,
                attendance=attendance, reported_delegates=unit.reported_delegates, sde_ratio=unit.sde_ratio,
                candidates=frozenset(plan.candidates)), ruleset)
        if any(f.code in ALIGNMENT_CODES for f in result.findings) or result.allocation is None:
            played.append(PrecinctTruth(unit.code, attendance, dict(unit.first), dict(unit.final),
                                        dict(unit.reported_delegates), tuple(result.inferred_chance), held=True))
            continue
        if result.verdict in ("reproduced", "reproduced-given-chance") and not result.blocking:
            sde = None if unit.kind == "satellite" else {g: q for g, v in unit.reported_sde.items()
                                                          if (q := v.quantize(FOUR_PLACES))}
            played.append(PrecinctTruth(unit.code, attendance, dict(unit.first), dict(unit.final),
                                        dict(unit.reported_delegates), tuple(result.inferred_chance), sde=sde))
            continue
        alloc = result.allocation
        branch = branches(alloc.delegates_to_elect, alloc.attendance, alloc.final, ruleset, alloc.applied)[0]
        awarded = dict(branch.allocation.delegates)
        published = dict(unit.reported_delegates)
        same = {g: n for g, n in awarded.items() if n} == {g: n for g, n in published.items() if n}
        played.append(PrecinctTruth(unit.code, attendance, dict(unit.first), dict(unit.final), awarded,
                                    tuple(branch.outcomes), impossible_delegates=None if same else published))
    truth = GroundTruth(plan_name, str(results), played, left_out)
    if ruleset.early_ballots and early_seed is not None:
        delegates = {u.code: u.delegates_to_elect for u in report.units}
        truth.early = add_early_ballots(truth.precincts, plan.candidates, ruleset, early_seed, delegates)
    return truth
