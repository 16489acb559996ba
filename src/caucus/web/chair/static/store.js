// Everything the chair types is kept on the phone (localStorage) the moment it is typed: closing the tab,
// losing signal or restarting the phone loses nothing. One record per phone; a different precinct signing
// in on the same phone starts a fresh record (the old one is kept under its own precinct code).

const KEY = "caucus-chair/v1";

export function fresh(precinct = null) {
  return {
    precinct,
    session: null, // {token, precinct, expires_at}
    setup: null, // GET /api/v1/chair/setup, cached for offline use
    entries: { attendance: "", first: {}, final: {}, chance: [] },
    outbox: [], // see outbox.js
    receipts: {}, // stage -> the server's receipt of the current entry
    recomputed: null, // the server's recomputation from the last answer
    hq: null, // GET /api/v1/precinct, cached
    messages: [],
    photo: null, // {dataUrl, type, width, height} resized on the phone
    correcting: null, // stage being corrected
    savedAt: null,
  };
}

export function load(precinct = null) {
  let state;
  try {
    state = JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    state = null;
  }
  if (!state || typeof state !== "object") return fresh(precinct);
  if (precinct && state.precinct && state.precinct !== precinct) {
    localStorage.setItem(`${KEY}/${state.precinct}`, JSON.stringify(state));
    return load_other(precinct);
  }
  return { ...fresh(state.precinct), ...state };
}

function load_other(precinct) {
  try {
    const kept = JSON.parse(localStorage.getItem(`${KEY}/${precinct}`) || "null");
    if (kept) return { ...fresh(precinct), ...kept };
  } catch {
    // a damaged copy: start afresh
  }
  return fresh(precinct);
}

/** Write the whole record; returns false (and the caller warns the chair) if the phone refuses. */
export function save(state) {
  state.savedAt = new Date().toISOString();
  try {
    localStorage.setItem(KEY, JSON.stringify(state));
    return true;
  } catch {
    return false;
  }
}
