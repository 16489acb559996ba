// Caucus math for the chair app: a mirror of caucus.rules (RULES.md §1, §3, §5) in plain JavaScript.
//
// Exact: every count is a BigInt inside; raw shares are rationals num/den; rounding is half up once,
// computed in integers exactly as caucus/rules/numbers.py does. Games of chance are inputs: without the
// recorded outcome the allocation stops with status "needs-chance" and names who is tied for what.
// No dependencies, no I/O. The server's recomputation stays the authority; this is the on-device preview.
// Tested against tests/vectors/caucus-math.json and differentially against the Python engine
// (tests/browser/test_chair_math.py).

const TIERS = [[20, 4], [40, 5], [60, 6], [80, 7], [100, 8], [null, 9]];
const SHARES = [[4, 15n, 100n], [3, 1n, 6n], [2, 1n, 4n]];

/** The rule sets the app knows, keyed by the name the server's plan uses. */
export const RULESETS = Object.freeze({
  "iowa-2020": Object.freeze({
    name: "iowa-2020", thresholds: SHARES, moreViableThanDelegates: "drop-smallest", tiePlaces: 4,
    chanceMethod: "coin toss", satelliteTiers: TIERS,
  }),
  "nevada-2020": Object.freeze({
    name: "nevada-2020", thresholds: SHARES, moreViableThanDelegates: "add-delegates", tiePlaces: 4,
    chanceMethod: "card draw", satelliteTiers: [],
  }),
});
export const IOWA_2020 = RULESETS["iowa-2020"];

/** A recorded game-of-chance outcome that does not fit the tie the rules produce. */
export class ChanceOutcomeError extends Error {
  constructor(message) { super(message); this.name = "ChanceOutcomeError"; }
}

// Python's sorted() on str compares code points; so does this (names are compared, never locale-sorted).
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}
export const sortNames = (names) => [...names].sort(byCodePoint);

/** [group, value] pairs of a Map or of a plain object's own properties (a "__proto__" group included). */
function groupEntries(groups) {
  return groups instanceof Map ? [...groups] : Object.entries(groups || {});
}

function whole(value, what) {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a whole number, got ${value}`);
  return BigInt(value);
}

// BigInt division truncates toward zero; for n >= 0 and d > 0: ceil(n/d) = (n + d - 1) / d.
const ceilNonNeg = (n, d) => (n + d - 1n) / d;
// floor(n/d + 1/2) = (2n + d) // 2d for n >= 0, d > 0 (numbers.floor_half_up)
const floorHalfUp = (n, d) => (2n * n + d) / (2n * d);
// n/d x 10^places rounded half up (numbers._scaled), n >= 0
const scaled = (n, d, places) => (2n * n * 10n ** BigInt(places) + d) / (2n * d);

/** The share of N a group needs where `delegates` are elected: [num, den], or null (plurality, D = 1). */
export function thresholdShare(delegates, ruleset = IOWA_2020) {
  for (const [minimum, num, den] of ruleset.thresholds) {
    if (delegates >= minimum) return [num, den];
  }
  return null;
}

/** People a group needs to be viable: ceil(share x N) in integers; null where there is none (D = 1). */
export function threshold(attendance, delegates, ruleset = IOWA_2020) {
  const n = whole(attendance, "attendance");
  const d = whole(delegates, "delegates");
  if (n < 0n || d < 0n) throw new RangeError(`attendance ${n} and delegates ${d} must not be negative`);
  const share = thresholdShare(Number(d), ruleset);
  if (share === null) return null;
  return Number(ceilNonNeg(share[0] * n, share[1]));
}

/** County delegates a satellite site elects from its attendance (IA-5.2 tier table). */
export function siteDelegates(attendance, ruleset = IOWA_2020) {
  if (!ruleset.satelliteTiers.length) throw new RangeError(`rule set ${ruleset.name} has no satellite caucuses`);
  if (attendance < 0) throw new RangeError(`attendance ${attendance} must not be negative`);
  for (const [maximum, delegates] of ruleset.satelliteTiers) {
    if (maximum === null || attendance <= maximum) return delegates;
  }
  throw new RangeError("the satellite tier table must end with an open tier");
}

/** A rational num/den (BigInt or integers) as a decimal string rounded half up to `places` (to_decimal). */
export function decimalString(num, den, places = 4) {
  let n = BigInt(num);
  let d = BigInt(den);
  if (d < 0n) { n = -n; d = -d; }
  const negative = n < 0n;
  const q = scaled(negative ? -n : n, d, places);
  const unit = 10n ** BigInt(places);
  const text = `${q / unit}.${(q % unit).toString().padStart(places, "0")}`;
  return negative && q !== 0n ? `-${text}` : text;
}

/** SDEs per group as published: CD x S/C rounded half up to 4 decimals (IA-4), as strings "0.1569". */
export function publishedSdes(delegates, ratioNum, ratioDen, places = 4) {
  return Object.fromEntries(groupEntries(delegates).map(([g, cd]) =>
    [g, decimalString(whole(cd, g) * BigInt(ratioNum), BigInt(ratioDen), places)]));
}

const VERB = { lose: "lose one delegate", gain: "gain one delegate", drop: "lose viability" };

/** Plain words for a tie: "1 of Klobuchar, Warren must lose one delegate by a game of chance". */
export function describeChance(event) {
  return `${event.count} of ${event.among.join(", ")} must ${VERB[event.kind]} by a game of chance`;
}

class NeedsChance extends Error {
  constructor(event, delegates) { super(describeChance(event)); this.event = event; this.delegates = delegates; }
}

class Run {
  constructor(outcomes) { this.outcomes = outcomes; this.used = []; this.steps = []; }

  settle(kind, among, count, state) {
    const event = { kind, among: sortNames(among), count };
    const index = this.used.length;
    if (index >= this.outcomes.length) throw new NeedsChance(event, new Map(state));
    const outcome = this.outcomes[index];
    const recorded = sortNames(outcome.among || []);
    if (outcome.kind !== kind || recorded.join("\u0000") !== event.among.join("\u0000")) {
      throw new ChanceOutcomeError(
        `recorded game of chance ${index + 1} (${outcome.kind} among ${recorded.join(", ")}) does not match ` +
        `the tie the rules produce: ${describeChance(event)}`);
    }
    const chosen = new Set(outcome.selected || []);
    if (chosen.size !== count || [...chosen].some((g) => !event.among.includes(g))) {
      throw new ChanceOutcomeError(
        `recorded game of chance ${index + 1} selects ${sortNames(chosen).join(", ") || "nobody"}; it must ` +
        `select exactly ${count} of ${event.among.join(", ")}`);
    }
    this.used.push(outcome);
    this.steps.push(`game of chance: ${describeChance(event)}; chosen: ${sortNames(chosen).join(", ")}`);
    return chosen;
  }
}

function checkInputs(d, n, final) {
  if (d < 0n) throw new RangeError(`delegates to elect ${d} must not be negative`);
  if (n < 0n) throw new RangeError(`attendance ${n} must not be negative`);
  let total = 0n;
  for (const [g, c] of final) {
    if (c < 0n) throw new RangeError(`final alignment for ${g} is ${c}; counts must not be negative`);
    total += c;
  }
  if (total > n) throw new RangeError(`final alignment total ${total} exceeds attendance ${n}`);
}

function plurality(final, viable, state, run) {
  let top = -1n;
  for (const g of viable) if (final.get(g) > top) top = final.get(g);
  const leaders = sortNames(viable.filter((g) => final.get(g) === top));
  const winners = leaders.length === 1 ? new Set(leaders) : run.settle("gain", leaders, 1, state);
  for (const g of winners) state.set(g, 1);
  run.steps.push(`one-delegate precinct: plurality to ${sortNames(winners).join(", ")} with ${top}`);
}

function dropSmallest(d, final, viable, run, state) {
  const need = viable.length - d;
  const f = (g) => final.get(g);
  const ordered = [...viable].sort((a, b) => (f(a) === f(b) ? byCodePoint(a, b) : f(a) < f(b) ? -1 : 1));
  const boundary = f(ordered[need - 1]);
  const smaller = viable.filter((g) => f(g) < boundary);
  const atBoundary = sortNames(viable.filter((g) => f(g) === boundary));
  const remaining = need - smaller.length;
  const chosen = remaining === atBoundary.length ? new Set(atBoundary) : run.settle("drop", atBoundary, remaining, state);
  const dropped = new Set([...smaller, ...chosen]);
  run.steps.push(`${viable.length} viable groups for ${d} delegates: ${sortNames(dropped).join(", ")} lose viability (IA-3.3)`);
  return dropped;
}

function roundAndAdjust(d, raw, state, run, places) {
  const unit = 10n ** BigInt(places);
  const groups = [...raw.keys()];
  const shown = new Map(); // raw at `places` decimals, scaled by 10^places (an integer)
  for (const g of groups) {
    const [num, den] = raw.get(g);
    shown.set(g, scaled(num, den, places));
    state.set(g, Number(floorHalfUp(num, den)));
  }
  const total = () => groups.reduce((s, g) => s + state.get(g), 0);
  const bd = BigInt(d);
  run.steps.push(`rounded half up: ${total()} of ${d}`);
  while (BigInt(total()) > bd) {
    const excess = total() - d;
    const candidates = groups.filter((g) => state.get(g) >= 2);
    if (!candidates.length) {
      run.steps.push(`every group holds one delegate: ${excess} added to the precinct (NV-3.3)`);
      return;
    }
    const key = new Map(candidates.map((g) => [g, BigInt(state.get(g)) * unit - shown.get(g)]));
    const top = candidates.reduce((m, g) => (key.get(g) > m ? key.get(g) : m), key.get(candidates[0]));
    const tied = sortNames(candidates.filter((g) => key.get(g) === top));
    const losers = tied.length <= excess ? new Set(tied) : run.settle("lose", tied, excess, state);
    for (const g of losers) state.set(g, state.get(g) - 1);
    run.steps.push(`too many delegates: ${sortNames(losers).join(", ")} give one back`);
  }
  while (BigInt(total()) < bd) {
    const spare = d - total();
    const key = new Map(groups.map((g) => [g, shown.get(g) - BigInt(state.get(g)) * unit]));
    const top = groups.reduce((m, g) => (key.get(g) > m ? key.get(g) : m), key.get(groups[0]));
    const tied = sortNames(groups.filter((g) => key.get(g) === top));
    const gainers = tied.length <= spare ? new Set(tied) : run.settle("gain", tied, spare, state);
    for (const g of gainers) state.set(g, state.get(g) + 1);
    run.steps.push(`spare delegates: ${sortNames(gainers).join(", ")} gain one`);
  }
}

/**
 * Allocate `delegatesToElect` county delegates from the final alignment (caucus.rules.allocate).
 *
 * `final` is {group: people}; `chance` the recorded outcomes [{kind, among, selected}] in the order the
 * ties arise. Returns {status, threshold, delegates (every group, 0 included), viable, dropped, raw
 * (4-decimal strings), pending ({kind, among, count, description} or null), applied, steps}. Throws
 * RangeError on impossible input and ChanceOutcomeError on a recorded outcome that does not fit.
 */
export function allocate(delegatesToElect, attendance, final, ruleset = IOWA_2020, chance = []) {
  const d = whole(delegatesToElect, "delegates to elect");
  const n = whole(attendance, "attendance");
  // groups live in Maps, never as keys of a plain object: a group may be called "__proto__" (or
  // "constructor"); the results are built with Object.fromEntries, which defines own properties
  const counts = new Map();
  for (const [g, c] of groupEntries(final)) counts.set(g, whole(c, `final alignment for ${g}`));
  checkInputs(d, n, counts);
  const D = Number(d);
  const t = threshold(n, d, ruleset);
  const zero = Object.fromEntries([...counts.keys()].map((g) => [g, 0]));
  const run = new Run(chance);
  const base = {
    delegatesToElect: D, attendance: Number(n), threshold: t, status: "no-delegates", delegates: zero,
    viable: [], dropped: [], raw: {}, pending: null, applied: [], steps: [],
  };
  if (D === 0) return base;
  const floorT = t === null ? 1n : BigInt(Math.max(t, 1));
  const viable = sortNames([...counts.keys()].filter((g) => counts.get(g) >= floorT));
  if (!viable.length) {
    return { ...base, status: "no-viable-group", steps: [`no group reached the threshold of ${floorT}`] };
  }
  let dropped = new Set();
  const state = new Map([...counts.keys()].map((g) => [g, 0]));
  const raw = new Map();
  const shownRaw = () => Object.fromEntries([...raw].map(([g, [a, b]]) => [g, decimalString(a, b, ruleset.tiePlaces)]));
  try {
    if (t === null) {
      plurality(counts, viable, state, run);
    } else {
      if (viable.length > D && ruleset.moreViableThanDelegates === "drop-smallest") {
        dropped = dropSmallest(D, counts, viable, run, state);
      }
      for (const g of sortNames(viable.filter((x) => !dropped.has(x)))) raw.set(g, [counts.get(g) * d, n]);
      roundAndAdjust(D, raw, state, run, ruleset.tiePlaces);
    }
  } catch (stop) {
    if (!(stop instanceof NeedsChance)) throw stop;
    const pending = { ...stop.event, description: describeChance(stop.event) };
    return { ...base, status: "needs-chance", delegates: Object.fromEntries(stop.delegates), viable, dropped: sortNames(dropped),
      raw: shownRaw(), pending, applied: run.used, steps: run.steps };
  }
  if (run.used.length < chance.length) {
    throw new ChanceOutcomeError(`${chance.length} games of chance recorded but the rules need only ${run.used.length}`);
  }
  return { ...base, status: "complete", delegates: Object.fromEntries(state), viable, dropped: sortNames(dropped), raw: shownRaw(),
    applied: run.used, steps: run.steps };
}

/** Only the groups that won delegates. */
export function awarded(allocation) {
  return Object.fromEntries(Object.entries(allocation.delegates).filter(([, n]) => n > 0));
}

// -- Nevada early ranked ballots (caucus/rules/nevada.py: NV-2, NV-3.1, NV-3.2, NV-3.4, AMBIG-7) --------------

/** NV-2: a ballot must rank at least this many different preferences, else it is void. */
export const MIN_RANKS = 3;

/** A ballot's preferences in rank order, each name once (a repeated name counts once; blanks skipped). */
export function distinctRanks(ranks) {
  const seen = [];
  for (const name of ranks || []) if (name && !seen.includes(name)) seen.push(name);
  return seen;
}

/** NV-2: fewer than 3 different preferences voids the ballot (counted and shown, never in a group). */
export const voidBallot = (ranks) => distinctRanks(ranks).length < MIN_RANKS;

/** The ballots that count, each as its distinct ranks. */
export const validBallots = (ballots) => ballots.filter((b) => !voidBallot(b)).map(distinctRanks);

function addTo(map, group, n) { map.set(group, (map.get(group) ?? 0) + n); }

/** Valid early ballots per first choice: {group: ballots} (NV-3.2). */
export function firstChoices(ballots) {
  const counts = new Map();
  for (const ranks of validBallots(ballots)) addTo(counts, ranks[0], 1);
  return Object.fromEntries(counts);
}

/** First alignment: in-person counts plus each valid early ballot's first choice. */
export function earlyFirstAlignment(inPerson, ballots) {
  const counts = new Map(groupEntries(inPerson));
  for (const [g, n] of Object.entries(firstChoices(ballots))) addTo(counts, g, n);
  return Object.fromEntries(counts);
}

/** Groups viable at the first alignment (first and attendance include early voters); D = 1: anyone. */
export function viableAtFirst(first, attendance, delegates, ruleset = IOWA_2020) {
  const t = threshold(attendance, delegates, ruleset);
  const floorT = t === null ? 1 : Math.max(t, 1);
  return sortNames(groupEntries(first).filter(([, n]) => n >= floorT).map(([g]) => g));
}

/** Each valid ballot: {first, final}, final being its highest-ranked choice among `viable` (or null). */
export function earlyMoves(ballots, viable) {
  const ok = new Set(viable);
  return validBallots(ballots).map((ranks) => ({ first: ranks[0], final: ranks.find((g) => ok.has(g)) ?? null }));
}

/** Early ballots per group in the final alignment (NV-3.4; a ballot with no viable choice counts nowhere). */
export function realignEarlyBallots(ballots, viable) {
  const counts = new Map();
  for (const move of earlyMoves(ballots, viable)) if (move.final !== null) addTo(counts, move.final, 1);
  return Object.fromEntries(counts);
}
