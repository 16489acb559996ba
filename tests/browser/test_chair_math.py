"""The chair app's caucus math (``caucus-math.js``) run in Chromium: every vector of the spec's file
``tests/vectors/caucus-math.json`` (read here and handed to the page, never copied), and a differential test
against the Python engine on thousands of generated precincts, each played to the end with every game of
chance settled the same way on both sides."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import pytest
from playwright.sync_api import Page

from caucus.plans import load_plan
from caucus.rules import IOWA_2020, published_sdes, site_delegates, threshold
from tests.browser.conftest import LiveServer
from tests.chair.precincts import generate, generate_early, trace, trace_early

VECTORS_PATH = Path(__file__).resolve().parents[1] / "vectors" / "caucus-math.json"
MODULE = "/chair/static/caucus-math.js"

# The browser side of the differential test: the same trace as tests/chair/precincts.trace, the same rule
# for settling games of chance (rotate the sorted tied names by the step number).
TRACE_JS = """
async ({cases, module}) => {
  const m = await import(module);
  const choose = (among, count, step) => {
    const names = m.sortNames(among);
    const start = step % names.length;
    return m.sortNames([...names.slice(start), ...names.slice(0, start)].slice(0, count));
  };
  return cases.map((c) => {
    const rs = m.RULESETS[c.ruleset];
    const outcomes = [];
    const steps = [];
    for (;;) {
      const a = m.allocate(c.D, c.N, c.final, rs, outcomes);
      const delegates = Object.fromEntries(m.sortNames(Object.keys(a.delegates)).map((g) => [g, a.delegates[g]]));
      steps.push({status: a.status, threshold: a.threshold, delegates, viable: a.viable, dropped: a.dropped,
                  pending: a.pending && {kind: a.pending.kind, among: a.pending.among, count: a.pending.count,
                                         description: a.pending.description}});
      if (!a.pending) break;
      outcomes.push({kind: a.pending.kind, among: a.pending.among,
                     selected: choose(a.pending.among, a.pending.count, outcomes.length)});
    }
    return {steps, site: c.satellite ? m.siteDelegates(c.N, rs) : null};
  });
}
"""


@pytest.fixture
def math_page(live_server: Callable[..., LiveServer], phone: Page) -> Page:
    running = live_server([])
    phone.goto(f"{running.base_url}/api/v1/health")
    return phone


def test_every_vector_of_the_spec_file_in_the_browser(math_page: Page) -> None:
    vectors = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    got = math_page.evaluate("""async ({v, module}) => {
      const m = await import(module);
      const rs = (policy) => policy === "nevada-2020" ? [m.RULESETS["nevada-2020"]]
        : policy === "iowa-2020" ? [m.IOWA_2020] : [m.IOWA_2020, m.RULESETS["nevada-2020"]];
      const combos = (xs, k) => k === 0 ? [[]]
        : xs.flatMap((x, i) => combos(xs.slice(i + 1), k - 1).map((c) => [x, ...c]));
      return {
        threshold: v.threshold.map((t) => m.threshold(t.N, t.D)),
        alloc: v.alloc.map((a) => rs(a.policy).map((r) => {
          const res = m.allocate(a.D, a.N, a.final, r);
          const outcomes = res.pending ? combos(res.pending.among, res.pending.count).map((chosen) => {
            const outcome = {kind: res.pending.kind, among: res.pending.among, selected: chosen};
            const done = m.allocate(a.D, a.N, a.final, r, [outcome]);
            return {chosen, status: done.status, delegates: done.delegates};
          }) : [];
          return {ruleset: r.name, status: res.status, threshold: res.threshold, awarded: m.awarded(res),
                  pending: res.pending, outcomes};
        })),
        sde: v.sde.filter((s) => s.cds).map((s) => m.publishedSdes(s.cds, s.state_dels, s.county_dels)),
        satellite: v.satellite.map((s) => {
          const D = m.siteDelegates(s.attendance);
          const res = m.allocate(D, s.attendance, s.final);
          // site SDE = pool SDE x attendance / pool attendance; group SDE = site SDE x CD / D (IA-5.3)
          const sde = m.publishedSdes(m.awarded(res), s.pool_sde * s.attendance, s.pool_attendance * D);
          return {D, status: res.status, awarded: m.awarded(res), sde};
        }),
      };
    }""", {"v": vectors, "module": MODULE})

    assert got["threshold"] == [t["expected_T"] for t in vectors["threshold"]]
    for vector, results in zip(vectors["alloc"], got["alloc"], strict=True):
        for res in results:
            where = f"{vector['id']} ({res['ruleset']})"
            assert res["threshold"] == vector["T"], where
            if vector["expected"] is not None:
                assert (res["status"], res["awarded"]) == ("complete", vector["expected"]), where
                continue
            want = vector["expected_chance"]
            pending = res["pending"]
            assert res["status"] == "needs-chance", where
            assert (pending["kind"], pending["count"], sorted(pending["among"])) == (
                want["type"], want["count"], sorted(want["among"])), where
            if "pre" in want:
                assert res["awarded"] == want["pre"], where
            assert len(res["outcomes"]) == len(list(combinations(want["among"], want["count"]))), where
            for outcome in res["outcomes"]:
                chosen, delegates = set(outcome["chosen"]), outcome["delegates"]
                assert outcome["status"] == "complete", where
                assert sum(delegates.values()) == vector["D"], where
                for g in want["among"]:
                    if want["type"] == "lose":
                        assert delegates[g] == want["pre"][g] - (g in chosen), where
                    elif want["type"] == "drop" and g in chosen:
                        assert delegates[g] == 0, where
                    elif want["type"] == "gain":
                        assert delegates[g] == (1 if g in chosen else 0), where
    sde_vectors = [s for s in vectors["sde"] if "cds" in s]
    assert got["sde"] == [{g: f"{x:.4f}" for g, x in s["expected"].items()} for s in sde_vectors]
    for vector, res in zip(vectors["satellite"], got["satellite"], strict=True):
        assert res["D"] == vector["D_site"]
        assert (res["status"], res["awarded"]) == ("complete", vector["expected_cds"])
        assert res["sde"] == {g: f"{x:.4f}" for g, x in vector["expected_sde"].items()}


def test_browser_math_agrees_with_the_python_engine_on_generated_precincts(math_page: Page) -> None:
    cases = generate(4000, seed=20200203)
    got = math_page.evaluate(TRACE_JS, {"cases": [c.as_json() for c in cases], "module": MODULE})
    assert len(got) == len(cases)
    mismatches = []
    for case, browser in zip(cases, got, strict=True):
        expected = trace(case)
        if browser["steps"] != expected:
            mismatches.append((case, expected, browser["steps"]))
        if case.satellite:
            assert browser["site"] == site_delegates(case.attendance, IOWA_2020) == case.delegates
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ; first: {mismatches[0]}"


def test_browser_thresholds_and_sdes_agree_with_python_for_every_county(math_page: Page) -> None:
    plan = load_plan("iowa-2020")
    ratios = [(c.sde_ratio.numerator, c.sde_ratio.denominator) for c in plan.counties.values()
              if c.kind == "county" and c.county_delegates > 0]
    delegates = {"A": 1, "B": 2, "C": 3, "D": 7, "E": 36}
    got = math_page.evaluate("""async ({ratios, delegates, module}) => {
      const m = await import(module);
      const t = [];
      for (let n = 0; n <= 3000; n += 1) for (const d of [1, 2, 3, 4]) t.push(m.threshold(n, d));
      return {t, sde: ratios.map(([a, b]) => m.publishedSdes(delegates, a, b))};
    }""", {"ratios": ratios, "delegates": delegates, "module": MODULE})
    assert got["t"] == [threshold(n, d, IOWA_2020) for n in range(3001) for d in (1, 2, 3, 4)]
    expected = [{g: f"{v:.4f}" for g, v in published_sdes(delegates, Fraction(a, b)).items()} for a, b in ratios]
    assert got["sde"] == expected
    assert len(ratios) == 99




EARLY_VECTORS = json.loads((VECTORS_PATH.parent / "early-ballots.json").read_text(encoding="utf-8"))

# The browser side of the Nevada early-ballot path: the same steps as tests/chair/precincts.trace_early.
TRACE_EARLY_JS = """
async ({cases, module}) => {
  const m = await import(module);
  const rs = m.RULESETS["nevada-2020"];
  const choose = (among, count, step) => {
    const names = m.sortNames(among);
    const start = step % names.length;
    return m.sortNames([...names.slice(start), ...names.slice(0, start)].slice(0, count));
  };
  const sorted = (obj) => Object.fromEntries(m.sortNames(Object.keys(obj)).map((g) => [g, obj[g]]));
  return cases.map((c) => {
    const first = m.earlyFirstAlignment(new Map(c.first), c.ballots);
    const inPerson = c.first.reduce((s, [, x]) => s + x, 0);
    const N = inPerson + m.validBallots(c.ballots).length;
    const viable = m.viableAtFirst(first, N, c.D, rs);
    const moves = m.earlyMoves(c.ballots, viable);
    const final = new Map(c.final);
    for (const mv of moves) if (mv.final !== null) final.set(mv.final, (final.get(mv.final) ?? 0) + 1);
    const outcomes = [];
    const steps = [];
    for (;;) {
      const a = m.allocate(c.D, N, final, rs, outcomes);
      steps.push({status: a.status, threshold: a.threshold, delegates: sorted(a.delegates), viable: a.viable,
                  dropped: a.dropped,
                  pending: a.pending && {kind: a.pending.kind, among: a.pending.among, count: a.pending.count,
                                         description: a.pending.description}});
      if (!a.pending) break;
      outcomes.push({kind: a.pending.kind, among: a.pending.among,
                     selected: choose(a.pending.among, a.pending.count, outcomes.length)});
    }
    // pairs, not objects: a group called "__proto__" must survive the trip back to Python
    const pairs = (obj) => m.sortNames(Object.keys(obj)).map((g) => [g, obj[g]]);
    return {void: c.ballots.filter(m.voidBallot).length, N, first: pairs(first), viable,
            moves: moves.map((mv) => [mv.first, mv.final]), final: pairs(Object.fromEntries(final)),
            steps: steps.map((s) => ({...s, delegates: pairs(s.delegates)}))};
  });
}
"""


def test_early_ballot_vectors_in_the_browser(math_page: Page) -> None:
    """RULES.md §13.8 and NV-2 (tests/vectors/early-ballots.json) through the chair app's math."""
    vectors = EARLY_VECTORS["early"]
    cases = [{"D": v["D"], "first": list(v["in_person_first"].items()), "final": list(v["in_person_final"].items()),
              "ballots": [ranks for ranks, n in v["ballots"] for _ in range(n)]} for v in vectors]
    got = math_page.evaluate(TRACE_EARLY_JS, {"cases": cases, "module": MODULE})
    for v, res in zip(vectors, got, strict=True):
        assert res["void"] == v["void"], v["id"]
        assert res["N"] == v["N"], v["id"]
        assert {g: n for g, n in res["first"] if n} == v["first"], v["id"]
        assert res["viable"] == v["viable"], v["id"]
        assert dict(res["final"]) == v["final"], v["id"]
        last = res["steps"][-1]
        assert last["threshold"] == v["T"], v["id"]
        assert (last["status"], {g: n for g, n in last["delegates"] if n}) == ("complete", v["expected"]), v["id"]


def test_browser_early_ballot_math_agrees_with_python(math_page: Page) -> None:
    """The Nevada path (NV-2 void ballots, merged first alignment, early realignment, add-delegates) on
    generated precincts, a group called "__proto__" among them, browser against Python."""
    cases = generate_early(600, seed=20200222)
    assert any("__proto__" in c.in_person_first for c in cases)
    got = math_page.evaluate(TRACE_EARLY_JS, {"cases": [c.as_json() for c in cases], "module": MODULE})
    mismatches = []
    for case, browser in zip(cases, got, strict=True):
        expected = trace_early(case)
        seen = {**browser, "first": dict(browser["first"]), "final": dict(browser["final"]),
                "steps": [{**s, "delegates": dict(s["delegates"])} for s in browser["steps"]]}
        if seen != expected:
            mismatches.append((case, expected, seen))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ; first: {mismatches[0]}"


def test_a_group_called_proto_keeps_its_delegates_in_the_browser(math_page: Page) -> None:
    """A group named "__proto__" (or "constructor") is an ordinary group: before the fix it vanished."""
    final = {"__proto__": 12, "constructor": 14, "Warren": 22, "Biden": 25}
    got = math_page.evaluate("""async ({module, text}) => {
      const m = await import(module);
      // as the app gets numbers: JSON from the server (an own "__proto__" property), or a Map
      const parsed = JSON.parse(text);
      const a = m.allocate(5, 73, parsed, m.RULESETS["nevada-2020"]);
      const b = m.allocate(5, 73, new Map(Object.entries(parsed)), m.RULESETS["nevada-2020"]);
      const pairs = (o) => m.sortNames(Object.keys(o)).map((g) => [g, o[g]]);
      return {status: a.status, delegates: pairs(a.delegates), fromMap: pairs(b.delegates),
              sde: Object.entries(m.publishedSdes(a.delegates, 1, 2))};
    }""", {"module": MODULE, "text": json.dumps(final)})
    assert got["fromMap"] == got["delegates"]
    # RULES.md §13.2 NV-P2B with its groups renamed: A12 B14 C22 D25 -> 1 1 1 2
    assert got["status"] == "complete"
    assert dict(got["delegates"]) == {"__proto__": 1, "constructor": 1, "Warren": 1, "Biden": 2}
    assert dict(got["sde"])["__proto__"] == "0.5000"
