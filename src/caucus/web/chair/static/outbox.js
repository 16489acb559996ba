// The outbox: every submission is queued on the phone and sent in order, retried with backoff and the SAME
// Idempotency-Key until the server acknowledges it (2xx). A retry of something already recorded gets the
// original receipt back, so nothing is ever recorded twice. Refusals (4xx) stop that item and say why.

export const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

export function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function dataUrlToBlob(dataUrl) {
  const [head, body] = dataUrl.split(",", 2);
  const type = head.slice(5).split(";")[0];
  const bin = atob(body);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

export class Outbox {
  /** `state` is the stored record (store.js); `persist()` saves it; `changed(item)` redraws the screen. */
  constructor(state, persist, changed) {
    this.state = state;
    this.persist = persist;
    this.changed = changed;
    this.timer = null;
    this.running = false;
    // an attempt cut short by closing the tab or a reload: unknown whether it arrived, so send it again
    // (same key: safe either way)
    for (const item of this.items) if (item.status === "sending" || item.status === "saved") { item.status = "waiting"; item.nextAt = 0; }
    globalThis.addEventListener("online", () => this.retryNow());
  }

  get items() { return this.state.outbox; }

  /** Queue a stage report (`body` is the JSON of POST /api/v1/reports), a correction (kind "correction",
   * `stage` the stage corrected, `body` the JSON of POST /api/v1/corrections) or a photo; saved before sending. */
  add(kind, stage, body) {
    const item = { id: newKey(), key: newKey(), kind, stage, body, status: "saved", attempts: 0, nextAt: 0,
      created: new Date().toISOString(), receipt: null, error: null, answer: null };
    this.items.push(item);
    this.persist();
    this.changed(item);
    this.pump();
    return item;
  }

  /** The network is back (or the chair asked): try at once, and start the backoff again from 1 s. */
  retryNow() {
    for (const item of this.items) if (item.status === "waiting") { item.nextAt = 0; item.failures = 0; }
    this.pump();
  }

  /** The next item to send: reports and corrections strictly in order (each stage needs the one before),
   * photos any time. */
  next() {
    const now = Date.now();
    let reportBlocked = false;
    for (const item of this.items) {
      if (item.status === "sent" || item.status === "set-aside") continue;
      if (item.kind !== "photo") {
        if (reportBlocked) continue;
        reportBlocked = true;
        if (item.status === "refused" || item.status === "sign-in") continue;
      } else if (item.status === "refused" || item.status === "sign-in") continue;
      if (item.nextAt <= now) return item;
    }
    return null;
  }

  schedule() {
    clearTimeout(this.timer);
    const waiting = this.items.filter((i) => i.status === "waiting");
    if (!waiting.length) return;
    const delay = Math.max(0, Math.min(...waiting.map((i) => i.nextAt)) - Date.now());
    this.timer = setTimeout(() => this.pump(), delay);
  }

  async pump() {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        if (!this.state.session) {
          item.status = "sign-in";
          this.persist();
          this.changed(item);
          break;
        }
        const ok = await this.send(item);
        if (!ok) break;
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  /** One attempt; true to go on with the next item. */
  async send(item) {
    item.status = "sending";
    item.attempts += 1;
    this.changed(item);
    const headers = { Authorization: `Bearer ${this.state.session.token}`, "Idempotency-Key": item.key };
    let request;
    if (item.kind === "photo") {
      const blob = dataUrlToBlob(item.body.dataUrl);
      request = { url: "/api/v1/chair/photos", body: blob, type: blob.type };
    } else {
      const url = item.kind === "correction" ? "/api/v1/corrections" : "/api/v1/reports";
      request = { url, body: JSON.stringify(item.body), type: "application/json" };
    }
    let response;
    let answer = null;
    try {
      response = await fetch(request.url, { method: "POST", headers: { ...headers, "Content-Type": request.type },
        body: request.body, cache: "no-store" });
      answer = await response.json().catch(() => null);
    } catch {
      return this.later(item, "no connection");
    }
    if (response.ok) {
      item.status = "sent";
      item.error = null;
      item.receipt = item.kind === "photo" ? answer : item.kind === "correction" ? answer.receipts[0] : answer.receipt;
      if (item.kind === "correction") item.receipts = answer.receipts;
      // HQ has the photo: free the phone's storage (the chair's preview keeps its own copy until replaced)
      if (item.kind === "photo") item.body = { dataUrl: null, bytes: request.body.size };
      const precinct = item.kind === "correction" ? answer.status : answer.precinct;
      item.answer = item.kind === "photo" ? null : { recomputed: answer.recomputed, findings: answer.findings,
        state: precinct && precinct.state, reasons: precinct && precinct.reasons };
      if (item.kind === "report") this.state.receipts[item.stage] = answer.receipt;
      if (item.kind === "correction") for (const r of answer.receipts) this.state.receipts[r.stage] = r;
      if (item.kind !== "photo") this.state.recomputed = answer.recomputed;
      this.persist();
      this.changed(item);
      return true;
    }
    const error = (answer && answer.error) || { code: `http-${response.status}`, message: `HQ answered ${response.status}`, fields: [] };
    if (response.status === 401) {
      this.state.session = null;
      item.status = "sign-in";
      item.error = error;
      this.persist();
      this.changed(item);
      return false;
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      return this.later(item, error.message);
    }
    item.status = "refused";
    item.error = error;
    this.persist();
    this.changed(item);
    return true;
  }

  later(item, why) {
    item.status = "waiting";
    item.error = { code: "retrying", message: why, fields: [] };
    item.failures = (item.failures || 0) + 1;
    item.nextAt = Date.now() + BACKOFF_MS[Math.min(item.failures - 1, BACKOFF_MS.length - 1)];
    this.persist();
    this.changed(item);
    return false;
  }

  /** After signing in again: what waited for a session goes out with its original key. */
  resume() {
    for (const item of this.items) if (item.status === "sign-in") { item.status = "waiting"; item.nextAt = 0; }
    this.persist();
    this.pump();
  }

  /** A refused item is set aside (kept on the phone, marked) so a fixed version can be sent. */
  setAside(item) {
    item.status = "set-aside";
    this.persist();
  }
}
