"""A synthetic state of any size, from a seed: a plan directory (docs/plan-format.md) and a ground truth.

Counties of about 200 precincts in four districts, a satellite pool of a few sites, Iowa 2020's rule set
and six candidates plus Uncommitted. Each precinct elects 1-12 county delegates; its room splits among the
candidates around county-level leanings; realignment moves the members of non-viable groups to viable ones
(viable groups keep everyone, as the rules require) and some people leave. Delegates come from the rules
core (a game of chance, when one is needed, takes the first legal outcome), and every generated precinct
passes every check, so a chair can report it as it stands.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

from caucus.checks import PrecinctReport, check_report
from caucus.rehearse.truth import GroundTruth, PrecinctTruth
from caucus.rules import get_ruleset
from caucus.rules.allocation import allocate
from caucus.rules.branches import branches
from caucus.rules.chance import ChanceOutcome
from caucus.rules.ruleset import RuleSet
from caucus.rules.satellite import site_delegates
from caucus.rules.viability import threshold

CANDIDATES = ("Able", "Baker", "Chavez", "Diaz", "Evans", "Fox", "Uncommitted")
PER_COUNTY = 200
DISTRICTS = ("1", "2", "3", "4")
SATELLITES = 6


def _split(rng: random.Random, people: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``people`` split among the groups in proportion to noisy ``weights`` (whole people, summing exactly)."""
    noisy = {g: max(0.0, w * rng.uniform(0.4, 1.6)) for g, w in weights.items()}
    total = sum(noisy.values()) or 1.0
    counts = {g: int(people * w / total) for g, w in noisy.items()}
    for g in rng.sample(list(counts), k=len(counts)):
        if sum(counts.values()) >= people:
            break
        counts[g] += 1
    while sum(counts.values()) < people:
        counts[rng.choice(list(counts))] += 1
    return counts


def _realign(rng: random.Random, first: Mapping[str, int], attendance: int, d: int, ruleset: RuleSet
             ) -> dict[str, int]:
    """The final alignment: viable groups keep their members; non-viable groups' members join viable groups
    or leave; at least one group is viable (the largest)."""
    bar = threshold(attendance, d, ruleset)
    if bar is None:  # one delegate: no threshold, the largest group wins (IA-3.6)
        return dict(first)
    viable = [g for g, n in first.items() if n >= bar] or [max(first, key=lambda g: first[g])]
    final = {g: first[g] for g in viable}
    for g, n in first.items():
        if g in final:
            continue
        for _ in range(n):
            if rng.random() < 0.85:
                final[rng.choice(viable)] += 1
    return final


def _precinct(rng: random.Random, code: str, d: int | None, weights: Mapping[str, float], ruleset: RuleSet
              ) -> PrecinctTruth:
    while True:
        attendance = rng.randint(8, 40) if d == 1 else rng.randint(20, 60 + 25 * (d or 3))
        seats = d if d is not None else site_delegates(attendance, ruleset)
        first = _split(rng, attendance, weights)
        final = _realign(rng, first, attendance, seats, ruleset)
        alloc = allocate(seats, attendance, final, ruleset)
        chance: tuple[ChanceOutcome, ...] = ()
        if alloc.status == "needs-chance":
            branch = branches(seats, attendance, final, ruleset)[0]
            alloc, chance = branch.allocation, branch.outcomes
        if alloc.status != "complete":
            continue
        delegates = {g: n for g, n in alloc.delegates.items() if n}
        report = PrecinctReport(precinct=code, delegates_to_elect=seats, first=first, final=final,
                                attendance=attendance, reported_delegates=delegates, chance=chance)
        if not check_report(report, ruleset).blocking:
            return PrecinctTruth(code, attendance, {g: n for g, n in first.items() if n},
                                 {g: n for g, n in final.items() if n}, delegates, tuple(chance))


def synthetic_truth(directory: Path, precincts: int, seed: int = 2020, play: int | None = None) -> GroundTruth:
    """Write a plan of ``precincts`` units (including a few satellite sites) to ``directory`` and return the
    ground truth of its night; the same seed gives the same files and numbers. With ``play``, only that many
    units are played (the first ones, which the counties take in turn); the others stay unreported."""
    if precincts < SATELLITES + 1:
        raise ValueError(f"a synthetic state needs at least {SATELLITES + 1} precincts, got {precincts}")
    rng = random.Random(seed)
    ruleset = get_ruleset("iowa-2020")
    directory.mkdir(parents=True, exist_ok=True)
    regular = precincts - SATELLITES
    n_counties = max(1, round(regular / PER_COUNTY))
    rows: list[tuple[str, str, str, int | None, str, int | None]] = []
    d: int | None
    county_d: dict[str, int] = {}
    truths: list[PrecinctTruth] = []
    leanings: dict[str, dict[str, float]] = {}
    for c in range(n_counties):
        county = f"County {c + 1:03d}"
        leanings[county] = {g: rng.uniform(0.3, 1.0) * (0.3 if g == "Uncommitted" else 1.0) for g in CANDIDATES}
        county_d[county] = 0
    for i in range(regular):
        county = f"County {i % n_counties + 1:03d}"
        d = 1 if rng.random() < 0.08 else rng.randint(2, 12)
        code = f"{county}/P{i + 1:05d}"
        rows.append((code, county, f"PRECINCT {i + 1:05d}", d, "precinct", None))
        county_d[county] += d
        truths.append(_precinct(rng, code, d, leanings[county], ruleset))
    for s in range(SATELLITES):
        code = f"Satellite/S{s + 1:02d}"
        truths.append(_precinct(rng, code, None, leanings["County 001"], ruleset))
        # expected attendance as the bundled plan derives it (docs/plan-format.md): twice the turnout, at least 20
        rows.append((code, "Satellite", f"SATELLITE SITE {s + 1:02d}", None, "satellite",
                     max(20, 2 * truths[-1].attendance)))
    with (directory / "counties.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["county", "district", "county_delegates", "state_delegates", "kind"])
        for c, (county, d) in enumerate(county_d.items()):
            state = Fraction(max(1, round(d * rng.uniform(0.06, 0.14) * 100)), 100)
            out.writerow([county, DISTRICTS[c % len(DISTRICTS)], d, f"{state.numerator}/{state.denominator}",
                          "county"])
        out.writerow(["Satellite", "", 0, "3/2", "satellite-pool"])
    with (directory / "precincts.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "county", "name", "precinct_id", "delegates", "kind", "expected_attendance"])
        for code, county, name, d, kind, expected in rows:
            out.writerow([code, county, name, "", "" if d is None else d, kind, "" if expected is None else expected])
    names = ", ".join(f'"{g}"' for g in CANDIDATES)
    districts = "\n".join(f'"{d}" = {3 + i}' for i, d in enumerate(DISTRICTS))
    (directory / "plan.toml").write_text(
        f'name = "synthetic-{precincts}-{seed}"\ntitle = "A synthetic state of {precincts} precincts '
        f'(seed {seed})"\nruleset = "iowa-2020"\ncandidates = [{names}]\n\n'
        '[caucus]\nparty = "Synthetic State Party"\ndate = 2028-02-07\ndoors_close = 19:00:00\n'
        'time_zone = "America/Chicago"\n\n[national]\nat_large = 6\npleo = 3\n'
        f'threshold_percent = 15\n\n[national.districts]\n{districts}\n')
    if play is None or play >= len(truths):
        return GroundTruth(str(directory.resolve()), f"synthetic:{precincts}:{seed}", truths)
    return GroundTruth(str(directory.resolve()), f"synthetic:{precincts}:{seed}", truths[:play],
                       left_out={"not played (--limit): unreported": len(truths) - play})
