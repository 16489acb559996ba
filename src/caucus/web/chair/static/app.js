// The precinct chair app: sign in, the guided flow (RULES.md §2), the outbox, status and messages.
// Everything typed is saved on the phone at once (store.js); submissions go through the outbox (outbox.js).

import { awarded } from "./caucus-math.js";
import {
  attendanceView, chancePrompt, earlyMoveLines, finalView, firstView, readCounts, rulesetOf, worksheetRows,
} from "./flow.js";
import { Outbox } from "./outbox.js";
import { load, save } from "./store.js";
import { $, $$, callHotline, clock, el, fill, resizeImage, setText } from "./ui.js";

const STAGES = ["attendance", "first", "final", "delegates"];
const STAGE_NAMES = { attendance: "Attendance", first: "First alignment", final: "Final alignment",
  delegates: "County delegates", photo: "Worksheet photo" };
const SCREEN_OF = { attendance: "attendance", first: "first", final: "final", delegates: "worksheet" };
const SIGNIN_HEADINGS = {
  "sign-in-failed": "Wrong or revoked credential.",
  "too-many-sign-ins": "Too many failed sign-ins from this network: wait, then try again.",
  "unknown-precinct": "There is no precinct with this code.",
  "credential-malformed": "This is not a credential.",
};

let state = load(new URLSearchParams(location.search).get("precinct"));
let saveFailed = false;
const persist = () => { saveFailed = !save(state); };
const outbox = new Outbox(state, persist, (item) => {
  render();
  if (item && (item.status === "sent" || (item.status === "refused" && item.error
    && item.error.code === "stage-already-reported"))) refreshFromHq();
});
const built = { first: false, final: false };

// -- talking to the server ------------------------------------------------------------------------------

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.session) headers.Authorization = `Bearer ${state.session.token}`;
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (response.status === 401 && state.session && path !== "/api/v1/session") {
    state.session = null;
    persist();
  }
  return { response, body };
}

async function refreshFromHq() {
  if (!state.session || !navigator.onLine) return;
  try {
    const precinct = await api("/api/v1/precinct");
    if (precinct.response.ok) {
      state.hq = { ...precinct.body, checkedAt: new Date().toISOString() };
      adoptFromHq(precinct.body);
      if (precinct.body.recomputed && precinct.body.recomputed.delegates) state.recomputed = precinct.body.recomputed;
    }
    const messages = await api("/api/v1/chair/messages");
    if (messages.response.ok) {
      const fresh = messages.body.filter((m) => !state.messages.some((old) => old.id === m.id));
      state.messages = messages.body;
      if (fresh.length) banner(`New message from HQ: ${fresh[fresh.length - 1].text}`);
    }
    persist();
  } catch {
    // no signal: the cached status stays on screen with its time
  }
  render();
}

/** The numbers of a stage as HQ stores them: the report's body without what is not the numbers. */
function numbersOfBody(body) {
  const { stage: _stage, confirm: _confirm, supersedes_seq: _seq, reason: _reason, ...numbers } = body;
  if (_stage === "final" && !numbers.chance) numbers.chance = [];
  return numbers;
}

/** What this precinct's app channel already reported to HQ and this phone does not know (the chair's other
 * phone, or this one before its storage was cleared) is taken as received here: the stage's receipt and its
 * numbers, so the chair goes on from the next stage instead of typing it again. A report this phone queued
 * for such a stage is the same report when its numbers are HQ's (marked sent, and the queue goes on); with
 * other numbers it stays refused, and the chair is told how to correct HQ's if the worksheet says so. */
function adoptFromHq(hq) {
  const adopted = [];
  let unblocked = false;
  for (const stage of STAGES) {
    const held = ((hq.stages && hq.stages[stage]) || []).find((e) => e.channel === "app");
    if (!held || pendingItem(stage)) continue;
    const receipt = { seq: held.seq, received_at: held.received_at, content_hash: held.content_hash, stage,
      channel: "app", supersedes_seq: null };
    const refused = refusedItem(stage);
    if (refused && refused.error && refused.error.code === "stage-already-reported") {
      state.receipts[stage] = receipt;
      if (canonical(numbersOfBody(refused.body)) === canonical(numbersOfBody({ stage, ...held.numbers }))) {
        Object.assign(refused, { status: "sent", error: null, receipt });
        unblocked = true;
      } else {
        refused.error = { ...refused.error, message: `HQ already has other numbers for ${STAGE_NAMES[stage]} ` +
          `from this precinct (receipt #${held.seq}, sent from another phone or before this phone was cleared). ` +
          "If the paper worksheet says these, correct HQ's on the Status screen" };
      }
      continue;
    }
    if (state.receipts[stage]) continue;
    state.receipts[stage] = receipt;
    const n = held.numbers;
    const typed = (counts) => Object.fromEntries(Object.entries(counts || {}).map(([g, v]) => [g, String(v)]));
    if (stage === "attendance") state.entries.attendance = String(n.in_person ?? n.attendance);
    if (stage === "first" || stage === "final") state.entries[stage] = typed(n.in_person ?? n.counts);
    if (stage === "final") state.entries.chance = n.chance || [];
    adopted.push(STAGE_NAMES[stage].toLowerCase());
  }
  if (!adopted.length && !unblocked) return;
  persist();
  if (adopted.length) {
    banner(`HQ already has the ${adopted.join(", ")} from this precinct: filled in here from HQ's receipts.`);
    const current = Object.keys(SCREEN_OF).find((stage) => SCREEN_OF[stage] === state.screen);
    if (!state.screen || state.screen === "signin" || (current && state.receipts[current] && state.correcting !== current)) {
      state.screen = nextScreen();
    }
  }
  if (unblocked) outbox.retryNow();
}

// -- sign in ---------------------------------------------------------------------------------------------

async function signIn(purpose) {
  const precinct = $("#precinct").value.trim();
  const credential = $("#credential").value.trim();
  const error = $("#signin-error");
  setText(error, "");
  $("#precinct").removeAttribute("aria-invalid");
  $("#credential").removeAttribute("aria-invalid");
  if (!precinct || !credential) {
    setText(error, !precinct ? "Type the precinct code from your card." : "Type the credential from your card.");
    $(!precinct ? "#precinct" : "#credential").setAttribute("aria-invalid", "true");
    return;
  }
  let answer;
  try {
    answer = await api("/api/v1/session", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ precinct, credential, purpose }) });
  } catch {
    setText(error, "No connection. Signing in needs the network once; try again where you have signal. " +
      "Numbers already typed on this phone are kept.");
    return;
  }
  const { response, body } = answer;
  if (!response.ok) {
    const e = (body && body.error) || { code: "", message: `HQ answered ${response.status}`, fields: [] };
    const detail = e.message ? `${e.message[0].toUpperCase()}${e.message.slice(1)}.` : "";
    setText(error, `${SIGNIN_HEADINGS[e.code] || "Sign-in did not work."} ${detail}`);
    for (const f of e.fields || []) $(`#${f.field === "precinct" ? "precinct" : "credential"}`)?.setAttribute("aria-invalid", "true");
    return;
  }
  if (purpose === "test") {
    await fetch("/api/v1/session", { method: "DELETE", headers: { Authorization: `Bearer ${body.token}` } }).catch(() => null);
    $("#credential").value = "";
    banner(`Your sign-in works for precinct ${body.precinct}. HQ can see that you tested it. ` +
      "On caucus night, sign in the same way.");
    return;
  }
  state = load(body.precinct);
  state.precinct = body.precinct;
  state.session = { token: body.token, precinct: body.precinct, expires_at: body.expires_at };
  outbox.state = state;
  persist();
  $("#credential").value = "";
  const setup = await api("/api/v1/chair/setup").catch(() => null);
  if (setup && setup.response.ok) state.setup = setup.body;
  persist();
  banner("");
  outbox.resume();
  go(state.screen && state.screen !== "signin" ? state.screen : nextScreen());
  refreshFromHq();
}

async function signOut() {
  if (outbox.items.some((i) => !["sent", "set-aside"].includes(i.status))) {
    banner("Some numbers are not sent yet: stay signed in until the list says they are sent.", true);
    return;
  }
  await api("/api/v1/session", { method: "DELETE" }).catch(() => null);
  state.session = null;
  persist();
  go("signin");
}

// -- the flow ----------------------------------------------------------------------------------------------

function nextScreen() {
  for (const stage of STAGES) if (!state.receipts[stage] && !pendingItem(stage)) return SCREEN_OF[stage];
  return "photo";
}

/** Whether an outbox item carries `stage` (a correction carries every stage it names). */
const covers = (item, stage) => item.stage === stage ||
  (item.kind === "correction" && item.body.stages.some((s) => s.stage === stage));
const pendingItem = (stage) => outbox.items.find((i) => covers(i, stage) && !["sent", "set-aside", "refused"].includes(i.status));
const refusedItem = (stage) => outbox.items.find((i) => i.stage === stage && i.status === "refused");

/** JSON with sorted keys, to compare two stage bodies by content. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The stage's numbers as HQ last received them from this phone (null if not known here). */
function lastSentBody(stage) {
  for (const item of [...outbox.items].reverse()) {
    if (item.status !== "sent") continue;
    let body = null;
    if (item.kind === "report" && item.stage === stage) body = item.body;
    if (item.kind === "correction") body = item.body.stages.find((s) => s.stage === stage) || null;
    if (body) {
      const { supersedes_seq: _seq, reason: _reason, ...numbers } = body;
      return numbers;
    }
  }
  return null;
}

/** A correction of `stage` and of every later stage it changes (e.g. the delegates a corrected final alignment
 * gives, re-derived on this phone), each superseding its receipt, with one reason: recorded all or none. */
function correctionBody(stage, body, reason) {
  const stages = [{ ...body, supersedes_seq: state.receipts[stage].seq }];
  for (const later of STAGES.slice(STAGES.indexOf(stage) + 1)) {
    if (!state.receipts[later]) continue;
    const derived = stageBody(later);
    // a later stage the new numbers leave impossible is not re-derived: HQ judges the whole and says why
    if (derived.error) continue;
    const sent = lastSentBody(later);
    if (sent && canonical(sent) === canonical(derived.body)) continue;
    stages.push({ ...derived.body, supersedes_seq: state.receipts[later].seq });
  }
  return { body: { reason, stages } };
}

function go(screen) {
  state.screen = screen;
  persist();
  render();
  $("#main").focus({ preventScroll: false });
  window.scrollTo(0, 0);
  if (screen === "status") refreshFromHq();
}

function banner(text, bad = false) {
  const node = $("#banner");
  setText(node, text);
  node.classList.toggle("bad", bad);
}

/** A stage's body, with ``confirm`` while the attendance is above the site's expected size and the chair has
 * ticked "The count is right" for that number (the server refuses it otherwise: attendance-above-expected). */
function stageBody(stage) {
  const made = stageBodyOf(stage);
  if (!made.body) return made;
  const att = attendanceView(state.setup, state.entries);
  if (!att.overExpected) return made;
  if (state.entries.sizeConfirmed !== att.N) {
    return { error: `Attendance ${att.N} is more than the ${att.overExpected} expected at this site: check it, ` +
      "then tick “The count is right” on the Attendance screen." };
  }
  return { body: { ...made.body, confirm: true } };
}

function stageBodyOf(stage) {
  const setup = state.setup;
  if (stage === "attendance") {
    const view = attendanceView(setup, state.entries);
    if (view.error || view.N === null) return { error: view.error || "Type the number of eligible caucus-goers counted." };
    // with early ballots: the room's count, and N as this phone computes it (the server checks they agree)
    if (view.early) return { body: { stage, in_person: view.inPerson, attendance: view.N } };
    return { body: { stage, attendance: view.N } };
  }
  if (stage === "first") {
    const view = firstView(setup, state.entries);
    if (Object.keys(view.errors).length) return { error: "Fix the boxes marked in red." };
    if (view.problems.length) return { error: view.problems[0] };
    if (!Object.keys(view.first).length) return { error: "Type the number of people in each group." };
    if (view.early) {
      if (!Object.keys(view.inPersonFirst).length) return { error: "Type the number of people in each group." };
      return { body: { stage, in_person: view.inPersonFirst, counts: view.first } };
    }
    return { body: { stage, counts: view.first } };
  }
  const view = finalView(setup, state.entries);
  if (Object.keys(view.errors).length) return { error: "Fix the boxes marked in red." };
  if (view.problems.length) return { error: view.problems[0] };
  const a = view.allocation;
  if (!a) return { error: "Type the number of people in each group." };
  if (a.status === "needs-chance") return { error: "Record the game of chance first." };
  if (stage === "final") {
    const withZeros = (numbers, groups) => Object.fromEntries([...groups.map((g) => [g, 0]), ...Object.entries(numbers)]);
    const counts = withZeros(view.final, Object.keys(view.first));
    if (view.early) {
      const inPerson = withZeros(view.inPersonFinal, Object.keys(view.inPersonFirst));
      return { body: { stage, in_person: inPerson, counts, chance: state.entries.chance || [] } };
    }
    return { body: { stage, counts, chance: state.entries.chance || [] } };
  }
  const won = awarded(a);
  if (!Object.keys(won).length) return { error: "No delegates to report for this precinct." };
  return { body: { stage, delegates: won } };
}

function sendStage(stage) {
  const screen = SCREEN_OF[stage];
  const error = $(`[data-screen="${screen}"] .send-error`) || el("p", { class: "error send-error", role: "alert" });
  $(`[data-send="${stage}"]`).before(error);
  setText(error, "");
  if (pendingItem(stage)) {
    setText(error, `${STAGE_NAMES[stage]} is saved and waiting to be sent; it goes out as soon as there is signal.`);
    return;
  }
  const correcting = state.correcting === stage && state.receipts[stage];
  if (state.receipts[stage] && !correcting) {
    setText(error, `${STAGE_NAMES[stage]} was already received (receipt #${state.receipts[stage].seq}). ` +
      "To change it, use Correct on the Status screen.");
    return;
  }
  const { body, error: problem } = stageBody(stage);
  if (problem) { setText(error, problem); return; }
  let correction = null;
  if (correcting) {
    const reason = $(`#${stage}-reason`).value.trim();
    if (!reason) { setText(error, "Say why you are correcting it: HQ keeps the reason with the correction."); return; }
    correction = correctionBody(stage, body, reason);
  }
  const refused = refusedItem(stage);
  if (refused) outbox.setAside(refused);
  state.correcting = null;
  // a correction of several stages goes to /api/v1/corrections, which takes the totals (early ballots
  // included) only: the in-person parts stay with the single-stage reports
  const totalsOnly = ({ in_person: _room, ...rest }) => rest;
  if (correction && correction.body.stages.length > 1) {
    outbox.add("correction", stage, { ...correction.body, stages: correction.body.stages.map(totalsOnly) });
  } else if (correction) {
    outbox.add("report", stage, { ...correction.body.stages[0], reason: correction.body.reason });
  } else {
    outbox.add("report", stage, body);
  }
  const order = ["attendance", "first", "final", "worksheet", "photo"];
  go(correcting ? "status" : order[order.indexOf(screen) + 1]);
}

// -- screens -----------------------------------------------------------------------------------------------

function buildGroups(which) {
  const box = $(`#${which}-groups`);
  if (built[which] === state.setup.candidates.join("|")) return;
  fill(box, state.setup.candidates.map((g, i) => {
    const id = `${which}-g${i}`;
    const input = el("input", { id, inputmode: "numeric", pattern: "[0-9]*", autocomplete: "off", "data-group": g,
      "aria-describedby": `${id}-tag` });
    input.addEventListener("input", () => {
      state.entries[which][g] = input.value;
      if (which === "final") state.entries.chance = [];
      persist();
      render();
    });
    return el("div", { class: "row" }, el("label", { for: id, text: g }), input,
      el("p", { id: `${id}-tag`, class: "tag" }));
  }));
  built[which] = state.setup.candidates.join("|");
}

function syncInputs(which, view) {
  for (const input of $$(`#${which}-groups input`)) {
    const g = input.dataset.group;
    const typed = state.entries[which][g] ?? "";
    if (input.value !== typed && document.activeElement !== input) input.value = typed;
    const tag = $(`#${input.id}-tag`);
    const err = view.errors[g];
    input.toggleAttribute("aria-invalid", Boolean(err));
    if (err) { setText(tag, err); tag.className = "tag problem"; continue; }
    const n = (which === "first" ? view.first : view.final)[g];
    let text = "";
    let cls = "tag";
    const early = view.early ? (which === "first" ? view.earlyFirst : view.earlyFinal)[g] : undefined;
    const prefix = early ? `+ ${early} early = ${n}. ` : "";
    if (n !== undefined && view.T !== null) {
      if (which === "first") {
        text = n >= view.T ? "Viable" : `Not viable: needs ${view.T}`;
        cls = n >= view.T ? "tag viable" : "tag";
      } else if (view.allocation && view.allocation.status !== "no-viable-group") {
        const d = view.allocation.delegates[g] ?? 0;
        text = view.allocation.dropped.includes(g) ? "Loses viability: more viable groups than delegates"
          : n >= view.T ? `${d} county delegate${d === 1 ? "" : "s"}` : `Not viable: needs ${view.T}`;
        cls = n >= view.T ? "tag viable" : "tag";
      }
    } else if (n !== undefined && view.allocation && which === "final") {
      const d = view.allocation.delegates[g] ?? 0;
      text = `${d} county delegate${d === 1 ? "" : "s"}`;
    }
    setText(tag, prefix + text);
    tag.className = cls;
  }
}

const lines = (items, cls) => items.map((t) => el("p", { class: cls, text: t }));

function renderAttendance() {
  const view = attendanceView(state.setup, state.entries);
  const p = state.setup.precinct;
  setText($("#att-facts"), `${p.county}: ${p.name} (${p.code})`);
  const input = $("#attendance");
  if (document.activeElement !== input && input.value !== state.entries.attendance) input.value = state.entries.attendance;
  input.toggleAttribute("aria-invalid", Boolean(view.error));
  setText($("#att-error"), view.error ? `Attendance: ${view.error}` : "");
  fill($("#att-preview"), lines(view.lines, ""), lines(view.warnings, "warning"));
  $("#att-size").hidden = !view.overExpected;
  $("#att-size-ok").checked = Boolean(view.overExpected) && state.entries.sizeConfirmed === view.N;
}

function thresholdLine(view) {
  if (view.N === null) return "Enter the attendance first.";
  if (view.T === null) return `Attendance ${view.N}. One delegate: the largest final group wins it.`;
  return `Attendance ${view.N}. ${view.D} delegates. Viable: ${view.T} people or more.`;
}

function renderFirst() {
  buildGroups("first");
  const view = firstView(state.setup, state.entries);
  for (const n of $$('[data-screen="first"] [data-threshold]')) setText(n, thresholdLine(view));
  syncInputs("first", view);
  const summary = [`Total in groups: ${view.total} of ${view.N ?? "?"}.`];
  if (view.early) {
    const pre = state.setup.candidates.filter((g) => Object.hasOwn(view.earlyFirst, g))
      .map((g) => `${g} ${view.earlyFirst[g]}`).join(", ");
    summary.unshift(`Early ballots (first choices) already in the groups: ${pre || "none"}` +
      (view.early.void ? `; ${view.early.void} void (NV-2).` : ".") + " Type only the people in the room.");
  }
  if (view.T !== null && view.viable.length) summary.push(`Viable: ${view.viable.join(", ")}.`);
  if (view.T !== null && view.notViable.length) summary.push(`Not viable: ${view.notViable.join(", ")}. They may realign.`);
  fill($("#first-preview"), lines(summary, ""), lines(view.notes, ""), lines(view.problems, "problem"));
}

function renderFinal() {
  buildGroups("final");
  if (!Object.keys(state.entries.final).length && Object.keys(state.entries.first).length) {
    state.entries.final = { ...state.entries.first };
    persist();
  }
  const view = finalView(state.setup, state.entries);
  for (const n of $$('[data-screen="final"] [data-threshold]')) setText(n, thresholdLine(view));
  syncInputs("final", view);
  const out = [el("p", { text: `Total in groups: ${view.finalTotal} (first alignment: ${view.total}).` })];
  const moved = earlyMoveLines(view);
  if (moved.length) {
    out.push(el("div", { class: "early-moves" }, el("p", { text: "Early ballots at realignment:" }),
      el("ul", {}, moved.map((t) => el("li", { text: t })))));
  }
  const a = view.allocation;
  if (a && a.status === "complete") {
    out.push(el("p", { class: "viable", text: "County delegates: " +
      Object.entries(awarded(a)).map(([g, d]) => `${g} ${d}`).join(", ") + "." }));
  }
  for (const c of state.entries.chance || []) {
    out.push(el("p", { text: `Game of chance recorded: ${c.selected.join(", ")} (${c.kind}) among ${c.among.join(", ")}.` }));
  }
  out.push(...lines(view.problems, "problem"), ...lines(view.warnings, "warning"));
  fill($("#final-preview"), out);
  renderChance(a);
}

function renderChance(a) {
  const box = $("#chance");
  if (!a || a.status !== "needs-chance") {
    box.hidden = true;
    fill(box);
    return;
  }
  const method = rulesetOf(state.setup).chanceMethod;
  const prompt = chancePrompt(a.pending, method);
  if (box.dataset.key === JSON.stringify(a.pending) && !box.hidden) return;
  box.dataset.key = JSON.stringify(a.pending);
  const choices = a.pending.among.map((g, i) => el("label", { for: `chance-${i}` },
    el("input", { type: "checkbox", id: `chance-${i}`, value: g }), g));
  const record = el("button", { type: "button", class: "primary", text: "Record the result" });
  const error = el("p", { class: "error", role: "alert" });
  record.addEventListener("click", () => {
    const selected = $$('#chance input:checked').map((c) => c.value);
    if (selected.length !== a.pending.count) {
      setText(error, `Mark exactly ${a.pending.count} of ${a.pending.among.join(", ")}.`);
      return;
    }
    state.entries.chance = [...(state.entries.chance || []),
      { kind: a.pending.kind, among: a.pending.among, selected }];
    persist();
    box.dataset.key = "";
    render();
  });
  const before = Object.entries(a.delegates).filter(([, d]) => d > 0).map(([g, d]) => `${g} ${d}`).join(", ");
  fill(box, el("h2", { text: prompt.title }), el("p", { text: prompt.text }),
    before ? el("p", { class: "hint", text: `Before the game of chance: ${before}.` }) : null,
    el("fieldset", {}, el("legend", { text: `The groups ${prompt.mark}` }), choices), error, record);
  box.hidden = false;
}

function renderWorksheet() {
  const { view, rows } = worksheetRows(state.setup, state.entries);
  const p = state.setup.precinct;
  // One small table per group (its name, then a label and a number per line): it reads down a phone of any
  // width and at any zoom without breaking a word or a number (docs/chair.md).
  const fields = [["First alignment", "first"], ["Final alignment", "final"], ["County delegates", "delegates"],
    view.sde ? ["SDEs", "sde"] : null].filter(Boolean);
  const cards = rows.map((r) => el("div", { class: "card" }, el("table", {}, el("caption", { text: r.group }),
    el("tbody", {}, fields.map(([label, key]) => el("tr", {}, el("th", { scope: "row", text: label }),
      el("td", { text: r[key] ?? "?" })))))));
  const a = view.allocation;
  const notes = [`Attendance ${view.N ?? "?"}; ${view.D ?? "?"} county delegates; viable at ${view.T ?? "(no threshold)"}.`];
  if (view.early) {
    notes.push(`First and final include the early ballots: ${view.early.valid} in N` +
      (view.early.void ? `, ${view.early.void} void (NV-2).` : "."));
    notes.push(...earlyMoveLines(view));
  }
  for (const c of state.entries.chance || []) notes.push(`Game of chance among ${c.among.join(", ")}: ${c.selected.join(", ")} (${c.kind}).`);
  if (!a || a.status !== "complete") notes.push("The final alignment is not finished yet.");
  if (p.kind === "satellite") notes.push("Satellite caucus: HQ computes the SDEs when the whole pool has reported.");
  fill($("#worksheet-table"), el("h2", { text: `${p.county}: ${p.name}` }), el("div", { class: "cards" }, cards),
    lines(notes, "hint"), disagreement());
}

/** Plain words when HQ's computer and this phone disagree on the delegates. */
function disagreement() {
  const server = state.recomputed;
  const view = finalView(state.setup, state.entries);
  if (!server || !server.delegates || server.status !== "complete" || !view.allocation || view.allocation.status !== "complete") return null;
  const groups = new Set([...Object.keys(server.delegates), ...Object.keys(view.allocation.delegates)]);
  const differ = [...groups].filter((g) => (server.delegates[g] ?? 0) !== (view.allocation.delegates[g] ?? 0));
  if (!differ.length) return null;
  return el("p", { class: "problem", role: "alert", text: "HQ's computer and this phone disagree on the delegates: " +
    differ.map((g) => `${g} ${view.allocation.delegates[g] ?? 0} here, ${server.delegates[g] ?? 0} at HQ`).join("; ") +
    `. HQ's numbers count; ${callHotline()} to check.` });
}

function renderPhoto() {
  const img = $("#photo-preview");
  if (state.photo) {
    if (img.src !== state.photo.dataUrl) img.src = state.photo.dataUrl;
    img.hidden = false;
  } else img.hidden = true;
  $("#send-photo").disabled = !state.photo || Boolean(state.photo.queued);
}

const numbersOf = (b) => (b.attendance !== undefined ? `${b.attendance}` :
  Object.entries(b.counts || b.delegates).map(([g, n]) => `${g} ${n}`).join(", "));

function describeItem(item) {
  const b = item.body;
  let what = item.kind === "photo" ? "Worksheet photo" : STAGE_NAMES[item.stage];
  let numbers = item.kind === "photo" ? "" : item.kind === "correction" ? "" : `: ${numbersOf(b)}`;
  let correction = b.supersedes_seq ? ` (correction of #${b.supersedes_seq}: ${b.reason})` : "";
  if (item.kind === "correction") {
    what = `Correction: ${b.stages.map((s) => `${STAGE_NAMES[s.stage]} ${numbersOf(s)} (replaces #${s.supersedes_seq})`).join("; ")}`;
    correction = `. Why: ${b.reason}`;
  }
  const status = {
    saved: () => "Saved on this phone.",
    sending: () => "Sending now...",
    waiting: () => `Saved on this phone, not sent yet (${item.error ? item.error.message : "waiting"}); trying again automatically.`,
    sent: () => (item.kind === "photo" ? `Sent. HQ has it: photo #${item.receipt.id}.`
      : item.kind === "correction" ? `Sent. HQ receipts ${(item.receipts || [item.receipt]).map((r) => `#${r.seq}`).join(", ")} at ${clock(item.receipt.received_at)}.`
      : `Sent. HQ receipt #${item.receipt.seq} at ${clock(item.receipt.received_at)}.`),
    refused: () => `Not accepted by HQ: ${item.error && item.error.message}.` +
      (item.error && item.error.code === "stage-already-reported" ? "" : " Fix the numbers and send again."),
    "sign-in": () => "Saved on this phone. Sign in again to send it.",
    "set-aside": () => "Replaced by a fixed version.",
  }[item.status]();
  const cls = item.status === "sent" ? "state-sent" : item.status === "refused" ? "state-refused" : "state-waiting";
  return el("li", { class: cls, "data-item": item.stage }, el("strong", { text: `${what}${numbers}${correction}` }),
    el("br"), status);
}

function renderStatus() {
  fill($("#outbox-list"), outbox.items.length ? outbox.items.map(describeItem) : [el("li", { text: "Nothing sent yet." })]);
  const hq = state.hq;
  const words = { "not-reported": "nothing received yet", reported: "received, more to come", accepted: "accepted",
    "held-for-review": "held for review", conflicting: "held: two reports disagree" };
  fill($("#hq-status"), hq ? [
    el("p", { text: `HQ's state for your precinct: ${words[hq.state] || hq.state} (checked ${clock(hq.checkedAt)}).` }),
    ...lines(hq.reasons.map((r) => `Why: ${r}`), hq.state === "held-for-review" ? "warning" : ""),
  ] : [el("p", { text: "Not checked with HQ yet (needs signal)." })], disagreement());
  fill($("#messages"), state.messages.length ? state.messages.map((m) => el("li", {},
    el("strong", { text: `${clock(m.sent_at)}: ` }), m.text,
    m.kind === "resend-photo" ? el("button", { type: "button", class: "secondary", text: "Take the photo again",
      onclick: () => { state.photo = null; go("photo"); } }) : null,
    m.kind === "call-hq" ? el("p", { class: "warning", text: `HQ asks you to ${callHotline()}.` }) : null))
    : [el("li", { text: "No messages from HQ." })]);
  fill($("#corrections"), STAGES.filter((s) => state.receipts[s]).map((s) => el("button", { type: "button",
    text: `Correct ${STAGE_NAMES[s].toLowerCase()} (receipt #${state.receipts[s].seq})`,
    onclick: () => { state.correcting = s; go(SCREEN_OF[s]); } })));
}

function renderSavebar() {
  const waiting = outbox.items.filter((i) => !["sent", "set-aside", "refused"].includes(i.status)).length;
  const refused = outbox.items.filter((i) => i.status === "refused").length;
  const last = [...outbox.items].reverse().find((i) => i.status === "sent" && i.kind !== "photo");
  const parts = [saveFailed ? "This phone could not save: do not close the app." : "Saved on this phone."];
  parts.push(waiting ? `${waiting} waiting to send.` : "Nothing waiting to send.");
  if (refused) parts.push(`${refused} not accepted: see Status.`);
  if (last) parts.push(`Last receipt #${last.receipt.seq}.`);
  setText($("#savebar"), parts.join(" "));
}

function render() {
  const signedIn = Boolean(state.session && state.setup);
  const screen = signedIn ? state.screen || nextScreen() : "signin";
  for (const section of $$("[data-screen]")) section.hidden = section.dataset.screen !== screen;
  $("#steps").hidden = !signedIn;
  for (const b of $$("#steps button")) {
    if (b.dataset.go === screen) b.setAttribute("aria-current", "step");
    else b.removeAttribute("aria-current");
  }
  const p = state.setup && state.setup.precinct;
  setText($("#who"), signedIn ? `${p.code}${state.setup.mode === "test" ? " (test election)" : ""}` : "");
  if (!signedIn && outbox.items.some((i) => i.status === "sign-in")) {
    banner("Your sign-in ended. Sign in again to send what is saved on this phone: nothing is lost.", true);
  }
  for (const section of $$(".correction")) {
    const stage = section.querySelector("textarea").id.replace("-reason", "");
    section.hidden = state.correcting !== stage;
    const button = $(`[data-send="${stage}"]`);
    if (button) setText(button, state.correcting === stage ? `Send correction of ${STAGE_NAMES[stage].toLowerCase()}` : button.dataset.label);
  }
  if (signedIn) {
    ({ attendance: renderAttendance, first: renderFirst, final: renderFinal, worksheet: renderWorksheet,
      photo: renderPhoto, status: renderStatus })[screen]?.();
  }
  renderSavebar();
}

// -- wiring --------------------------------------------------------------------------------------------------

function wire() {
  $("#signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn("report"); });
  $("#test-signin").addEventListener("click", () => signIn("test"));
  const code = new URLSearchParams(location.search).get("precinct");
  if (code) $("#precinct").value = code;
  else if (state.precinct) $("#precinct").value = state.precinct;
  for (const b of $$("#steps button")) b.addEventListener("click", () => go(b.dataset.go));
  for (const b of $$("[data-send]")) {
    b.dataset.label = b.textContent;
    b.addEventListener("click", () => sendStage(b.dataset.send));
  }
  $("#attendance").addEventListener("input", (e) => { state.entries.attendance = e.target.value; persist(); render(); });
  $("#att-size-ok").addEventListener("change", (e) => {
    state.entries.sizeConfirmed = e.target.checked ? attendanceView(state.setup, state.entries).N : null;
    persist();
    render();
  });
  for (const stage of STAGES) {
    $(`#${stage}-reason`)?.addEventListener("input", persist);
  }
  $("#photo-input").addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    setText($("#photo-error"), "");
    if (!file) return;
    try {
      const photo = await resizeImage(file);
      if (Math.min(photo.width, photo.height) < 200) throw new Error("the photo is too small to read");
      state.photo = photo;
      persist();
    } catch (exc) {
      setText($("#photo-error"), `This photo cannot be used (${exc.message || "not an image"}): take another one.`);
    }
    render();
  });
  $("#send-photo").addEventListener("click", () => {
    state.photo.queued = true;
    outbox.add("photo", "photo", { dataUrl: state.photo.dataUrl });
    go("status");
  });
  $("#refresh").addEventListener("click", () => { outbox.retryNow(); refreshFromHq(); });
  $("#sign-out").addEventListener("click", signOut);
  globalThis.addEventListener("online", () => refreshFromHq());
  setInterval(refreshFromHq, 60000);
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/chair/sw.js", { scope: "/chair/" }).catch(() => undefined);
}
wire();
render();
outbox.pump();
if (state.session) refreshFromHq();
document.body.dataset.ready = "true";
