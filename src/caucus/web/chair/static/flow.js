// The guided flow's checks and previews (RULES.md §2), computed on the phone with caucus-math.js so they work
// offline. Plain words; the server's recomputation stays the authority.

import { allocate, awarded, ChanceOutcomeError, publishedSdes, RULESETS, siteDelegates, threshold } from "./caucus-math.js";
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

/** {values, errors, total}: the groups with a number typed (empty boxes are left out). */
export function readCounts(raw) {
  const values = {};
  const errors = {};
  let total = 0;
  for (const [group, text] of Object.entries(raw || {})) {
    const { value, error } = parseCount(text);
    if (error) errors[group] = error;
    else if (value !== null) { values[group] = value; total += value; }
  }
  return { values, errors, total };
}

export function attendanceView(setup, entries) {
  const { value: N, error } = parseCount(entries.attendance);
  const p = setup.precinct;
  const rs = rulesetOf(setup);
  const view = { N, D: p.delegates_to_elect, T: null, error, lines: [], warnings: [] };
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
  const { values, errors, total } = readCounts(entries.first);
  const view = { ...att, first: values, errors, total, viable: [], notViable: [], problems: [], notes: [] };
  if (att.N === null) { view.problems.push("Enter the attendance first."); return view; }
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
  const { values, errors, total } = readCounts(entries.final);
  const view = { ...first, final: values, errors, finalTotal: total, allocation: null, sde: null, problems: [], warnings: [...first.warnings], notes: [] };
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
