// The guided flow's checks and previews (RULES.md §2), computed on the phone with caucus-math.js so they work
// offline. Plain words; the server's recomputation stays the authority.

import {
  allocate, awarded, ChanceOutcomeError, earlyMoves, firstChoices, publishedSdes, RULESETS, siteDelegates, threshold,
  validBallots, viableAtFirst,
} from "./caucus-math.js";
import { callHotline } from "./ui.js";

export const MAX_COUNT = 100000;

export function parseCount(text) {
  const t = String(text ?? "").trim();
  if (t === "") return { value: null, error: null };
  if (!/^[0-9]+$/.test(t)) return { value: null, error: "type a whole number of people, like 12" };
  const value = Number(t);
  if (value > MAX_COUNT) return { value: null, error: `more than ${MAX_COUNT.toLocaleString("en-US")} people: check the number` };
  return { value, error: null };
}

export const rulesetOf = (setup) => RULESETS[setup.ruleset] || RULESETS["iowa-2020"];
const people = (n) => (n === 1 ? "1 person" : `${n} people`);
const dels = (n) => (n === 1 ? "1 county delegate" : `${n} county delegates`);

/** {values, errors, total}: the groups with a number typed (empty boxes are left out). Built from Maps, so a
 * group called "__proto__" is an ordinary key. */
export function readCounts(raw) {
  const values = new Map();
  const errors = new Map();
  let total = 0;
  for (const [group, text] of Object.entries(raw || {})) {
    const { value, error } = parseCount(text);
    if (error) errors.set(group, error);
    else if (value !== null) { values.set(group, value); total += value; }
  }
  return { values: Object.fromEntries(values), errors: Object.fromEntries(errors), total };
}

/** The precinct's early ranked ballots (Nevada, docs/early-ballots.md): {ballots, valid, void}; none: null. */
export function earlyOf(setup) {
  const list = setup.early_ballots || [];
  if (!list.length) return null;
  const ballots = list.map((b) => b.ranks);
  const valid = validBallots(ballots).length;
  return { ballots, valid, void: list.length - valid };
}

/** `a` plus `b`, group by group (Maps inside; a plain object out, own properties only). */
function plus(a, b) {
  const out = new Map(Object.entries(a));
  for (const [g, n] of Object.entries(b)) out.set(g, (out.get(g) ?? 0) + n);
  return Object.fromEntries(out);
}

export function attendanceView(setup, entries) {
  const { value: typed, error } = parseCount(entries.attendance);
  const p = setup.precinct;
  const rs = rulesetOf(setup);
  const early = earlyOf(setup);
  // with early ballots the chair types the people in the room; N adds the valid early ballots (NV-3.1)
  const N = typed !== null && early ? typed + early.valid : typed;
  const view = { N, inPerson: typed, early, D: p.delegates_to_elect, T: null, error, lines: [], warnings: [] };
  if (early) {
    view.lines.push(`Early ballots for this precinct: ${early.valid}` + (early.void ? ` (and ${early.void} void: ` +
      "fewer than 3 different choices, NV-2; not counted)" : "") + ". Type only the people counted in the room.");
    if (typed !== null) view.lines.push(`N = ${people(typed)} in the room + ${early.valid} early ballots = ${N}.`);
  }
  if (p.kind === "satellite") {
    if (N === null) {
      view.lines.push("This is a satellite caucus: the number of county delegates follows the attendance.");
      return view;
    }
    view.D = siteDelegates(N, rs);
    view.lines.push(`A satellite caucus of ${people(N)} elects ${dels(view.D)}.`);
    const expected = p.expected_attendance;
    if (expected && N > expected) {
      // mirrors the server's blocking finding attendance-above-expected (docs/findings.md)
      view.overExpected = expected;
      view.warnings.push(`${people(N)} is more than the ${expected} expected at this site in the party's plan. ` +
        "Check the count against the sign-in sheets. If it is right, tick “The count is right”: HQ reviews " +
        "this site before its numbers count, because a satellite's share of SDEs follows its attendance.");
    }
  } else {
    view.lines.push(`This precinct elects ${dels(view.D)}.`);
  }
  if (N === null) return view;
  view.T = threshold(N, view.D, rs);
  if (view.D === 0) view.lines.push("No delegates to elect here: report the alignments anyway.");
  else if (view.T === null) {
    view.lines.push("One delegate: there is no viability threshold. The largest group in the final alignment wins " +
      "the delegate; a tie for largest is settled by a game of chance.");
  } else {
    const share = view.D >= 4 ? "15%" : view.D === 3 ? "one sixth" : "25%";
    view.lines.push(`A group needs at least ${people(view.T)} to be viable (${share} of ${N}, rounded up).`);
  }
  if (N === 0) view.warnings.push("Attendance 0: nobody caucused. HQ will review this precinct.");
  return view;
}

export function firstView(setup, entries) {
  const att = attendanceView(setup, entries);
  const { values: inPerson, errors, total: roomTotal } = readCounts(entries.first);
  // the first alignment holds the early ballots' first choices (NV-3.2), preloaded
  const earlyFirst = att.early ? firstChoices(att.early.ballots) : {};
  const values = att.early ? plus(inPerson, earlyFirst) : inPerson;
  const total = roomTotal + (att.early ? att.early.valid : 0);
  const view = { ...att, first: values, inPersonFirst: inPerson, earlyFirst, errors, total, viable: [], notViable: [],
    problems: [], notes: [] };
  if (att.N === null) { view.problems.push("Enter the attendance first."); return view; }
  if (att.early && roomTotal > att.inPerson) {
    view.problems.push(`The groups in the room add up to ${people(roomTotal)}, more than the ${people(att.inPerson)} ` +
      "counted in the room. Recount the groups, or correct the attendance.");
    return view;
  }
  for (const [g, n] of Object.entries(values)) {
    if (att.T !== null && n >= att.T) view.viable.push(g);
    else if (att.T !== null) view.notViable.push(g);
  }
  if (total > att.N) {
    view.problems.push(`The groups add up to ${people(total)}, more than the ${people(att.N)} counted at attendance. ` +
      "Recount the groups, or correct the attendance.");
  } else if (total < att.N && Object.keys(values).length) {
    view.notes.push(`${people(att.N - total)} of the ${att.N} counted are in no group yet.`);
  }
  return view;
}

export function finalView(setup, entries) {
  const first = firstView(setup, entries);
  const { values: inPerson, errors, total: roomTotal } = readCounts(entries.final);
  let values = inPerson;
  let total = roomTotal;
  let moves = [];
  let earlyFinal = {};
  if (first.early && first.N !== null) {
    // NV-3.4 (AMBIG-7): each early ballot counts at its highest-ranked group viable at the first alignment
    moves = earlyMoves(first.early.ballots, viableAtFirst(first.first, first.N, first.D ?? 0, rulesetOf(setup)));
    const by = new Map();
    for (const m of moves) if (m.final !== null) by.set(m.final, (by.get(m.final) ?? 0) + 1);
    earlyFinal = Object.fromEntries(by);
    values = plus(inPerson, earlyFinal);
    total = roomTotal + moves.filter((m) => m.final !== null).length;
  }
  const view = { ...first, final: values, inPersonFinal: inPerson, earlyFinal, moves, errors, finalTotal: total,
    allocation: null, sde: null, problems: [], warnings: [...first.warnings], notes: [] };
  if (first.N === null) { view.problems.push("Enter the attendance first."); return view; }
  if (total > first.total) {
    view.problems.push(`The final alignment adds up to ${people(total)}, more than the first alignment's ${people(first.total)}. ` +
      "People can leave, but nobody can join after the first alignment.");
  }
  for (const g of first.viable) {
    const now = values[g] ?? 0;
    if (now < first.first[g]) {
      view.problems.push(`${g} was viable at the first alignment with ${people(first.first[g])} but now has ${now}: ` +
        "people in a viable group stay in it. Recount.");
    }
  }
  if (Object.keys(errors).length || !Object.keys(values).length || total > first.N) return view;
  try {
    view.allocation = allocate(first.D, first.N, values, rulesetOf(setup), entries.chance || []);
  } catch (exc) {
    if (exc instanceof ChanceOutcomeError) view.problems.push(`${exc.message}. Record the game of chance again.`);
    else view.problems.push(exc.message);
    return view;
  }
  const a = view.allocation;
  if (a.status === "no-viable-group") {
    view.problems.push(`No group has ${people(a.threshold ?? 1)} or more, so nobody is viable and no delegate can be ` +
      `awarded. ${callHotline(true)}: HQ has to review this precinct.`);
  }
  const ratio = setup.precinct.sde_ratio;
  if (a.status === "complete" && ratio) view.sde = publishedSdes(awarded(a), ratio[0], ratio[1]);
  return view;
}

const CHANCE_VERB = {
  lose: ["are tied for a delegate too many", "must give one delegate back", "that LOSE a delegate"],
  gain: ["are tied for a spare delegate", "gain one delegate", "that WIN a delegate"],
  drop: ["are tied as the smallest viable groups, and there are more viable groups than delegates",
    "lose viability (and get no delegate)", "that LOSE viability"],
};

/** Plain words for a pending game of chance: who is tied, for what, and what to record. */
export function chancePrompt(pending, method) {
  const [why, what, mark] = CHANCE_VERB[pending.kind];
  const who = pending.among.join(", ").replace(/, ([^,]*)$/, " and $1");
  return {
    title: `Game of chance: ${who}`,
    text: `${who} ${why}: ${pending.count} of them ${what}. Settle it by a ${method} in front of the room, ` +
      `then mark the ${pending.count === 1 ? "group" : `${pending.count} groups`} ${mark}.`,
    mark,
  };
}

/** Rows of the summary worksheet: every group with a number, first and final, delegates and SDEs. */
export function worksheetRows(setup, entries) {
  const view = finalView(setup, entries);
  const groups = setup.candidates.filter((g) => g in view.first || g in view.final);
  const a = view.allocation;
  return {
    view,
    rows: groups.map((g) => ({ group: g, first: view.first[g] ?? 0, final: view.final[g] ?? 0,
      delegates: a && a.status === "complete" ? a.delegates[g] ?? 0 : null,
      sde: view.sde ? view.sde[g] ?? "0.0000" : null })),
  };
}

/** Plain words for where the early ballots went at realignment: "3 early ballots for Diaz joined Chen". */
export function earlyMoveLines(view) {
  if (!view.early || !view.moves) return [];
  const count = new Map();
  for (const m of view.moves) {
    const key = `${m.first}\u0000${m.final ?? ""}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  const ballots = (n) => (n === 1 ? "1 early ballot" : `${n} early ballots`);
  const out = [];
  for (const [key, n] of [...count].sort()) {
    const [from, to] = key.split("\u0000");
    if (!to) out.push(`${ballots(n)} for ${from} ranked no viable group: counted in no group.`);
    else if (to === from) out.push(`${ballots(n)} for ${from} stay with ${from}.`);
    else out.push(`${ballots(n)} for ${from} joined ${to} (the highest-ranked viable choice).`);
  }
  return out;
}
