// The desk page: plain JavaScript, no framework, nothing fetched from the network.
//
// Every value that comes from the API (barcode values, raw scans, list names and reasons, flag
// messages) is untrusted text: a label can carry `<script>` or an `onerror=` attribute. The DOM is
// therefore built with createElement and textContent only; nothing here parses a string as HTML.
// The Content-Security-Policy forbids inline script and style, so colours are class names.
"use strict";

(function () {
  const SOUND_KEY = "scanstation.sound";
  const IMEI_KINDS = ["imei", "imei14", "imeisv"];
  // Scan kinds whose value fills exactly one slot; a GS1 or data-identifier scan can carry several
  // identifiers, so for those the open unit is read back from /api/desk instead of guessed.
  const SLOT_KINDS = ["serial", "eid"].concat(IMEI_KINDS);
  const PREVIEW_INTERVAL_MS = 250;

  const state = {
    csrf: "",
    readOnly: false,
    mode: null,
    modes: [],
    openUnit: null, // {id, serial, imei1, imei2, eid, extra: [[kind, value]...]}
    recent: [], // unit events, newest first
    recall: new Map(), // list name -> {found, expected}
    camera: false,
    previewRunning: false,
    events: null,
    audio: null,
    decided: false, // whether a live event has set the decision shown
  };

  const $ = (id) => document.getElementById(id);

  /** An element with a class and text; text is always set through textContent. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  class ApiError extends Error {}

  /** A JSON request to the station; an error reply becomes an ApiError with the server's message. */
  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    const method = (opts.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") {
      opts.headers["X-CSRF-Token"] = state.csrf;
      if (opts.body !== undefined) opts.headers["Content-Type"] = "application/json";
    }
    const res = await fetch(path, opts);
    const type = res.headers.get("Content-Type") || "";
    const body = res.status === 204 ? null : type.includes("json") ? await res.json() : await res.text();
    if (!res.ok) {
      const message = body && typeof body === "object" && body.error ? body.error : `${res.status} ${res.statusText}`;
      const err = new ApiError(`${method} ${path}: ${message}`);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function showStatus(text) {
    const node = $("connection");
    node.textContent = text;
  }

  // ---- Tones: the same rules as feedback::scan_line and feedback::unit_line in src/feedback.rs.

  const upper = (s) => String(s).toUpperCase();

  /** A scan event's tone, headline, reason and detail line. */
  function scanTone(s) {
    const unit = s.unit !== null && s.unit !== undefined ? ` -> unit ${s.unit}` : "";
    switch (s.outcome) {
      case "rejected":
        return { tone: "red", head: "REJECTED", label: `scan ${s.id}`, reason: s.reason || "invalid", detail: `raw: ${s.raw}` };
      case "flagged":
        return { tone: "red", head: "FLAGGED", label: `scan ${s.id}`, reason: s.reason || "invalid", detail: `${s.kind} ${s.value}${unit}` };
      case "repeat":
        return { tone: "plain", head: "REPEAT", label: `scan ${s.id}`, reason: "", detail: `${s.kind} ${s.value}${unit}` };
      case "control":
      case "nothing_to_undo":
        return { tone: "amber", head: "CONTROL", label: `scan ${s.id}`, reason: s.outcome === "nothing_to_undo" ? "nothing to undo" : "", detail: `${s.value}${unit}` };
      default: {
        // added and no_identifiers: red only for a blocklist or recall hit that carries its reason.
        const hit = (s.decision === "quarantine" || s.decision === "recall-hit") && s.decision_reason;
        if (hit) {
          return { tone: "red", head: upper(s.decision), label: `scan ${s.id}`, reason: s.decision_reason, detail: `${s.kind} ${s.value}${unit}` };
        }
        return { tone: "green", head: "OK", label: `scan ${s.id}`, reason: "", detail: `${s.kind} ${s.value}${unit}` };
      }
    }
  }

  /** A unit's identifiers as short "kind value" parts. */
  function unitParts(u) {
    const parts = [];
    if (u.serial) parts.push(`serial ${u.serial}`);
    for (const imei of u.imeis || []) parts.push(`IMEI ${imei}`);
    for (const kind of ["eid", "gtin", "meid", "esn", "iccid", "part"]) {
      if (u[kind]) parts.push(`${kind.toUpperCase()} ${u[kind]}`);
    }
    for (const bad of u.invalid || []) parts.push(`INVALID ${bad.kind} ${bad.value}`);
    return parts;
  }

  /** A unit event's tone, headline, reason and detail line. */
  function unitTone(u) {
    let tone;
    let head;
    if (u.status === "cancelled") [tone, head] = ["amber", "CANCELLED"];
    else if (u.status === "ok") [tone, head] = ["green", "OK"];
    else if (u.status === "open") [tone, head] = ["plain", "OPEN"];
    else if (u.decision === "duplicate") [tone, head] = ["amber", "DUPLICATE"];
    else if (u.decision && u.decision !== "proceed") [tone, head] = ["red", upper(u.decision)];
    else [tone, head] = ["red", "FLAGGED"];
    const reasons = [];
    const why = u.decision_reason || u.reason;
    if (u.decision && why && u.status !== "ok" && u.decision !== "proceed") reasons.push(why);
    for (const flag of u.flags || []) reasons.push(flag.message);
    const close = u.close_reason ? ` (${u.close_reason}${u.amended ? ", amended" : ""})` : "";
    return {
      tone,
      head,
      label: `unit ${u.id}${close}`,
      reason: reasons.join(" | "),
      detail: unitParts(u).join(" · "),
    };
  }

  // ---- The last decision.

  function setTone(node, tone) {
    for (const t of ["green", "amber", "red", "plain", "none"]) node.classList.remove(`tone-${t}`);
    node.classList.add(`tone-${tone}`);
  }

  /** Shows a decision; `restored` is one read back from the snapshot: no flash and no beep. */
  function showDecision(view, restored) {
    const panel = $("decision-panel");
    if (!restored) state.decided = true;
    setTone(panel, view.tone);
    $("decision").textContent = view.head;
    $("decision-label").textContent = view.label;
    $("decision-reason").textContent = view.reason;
    $("decision-detail").textContent = view.detail;
    panel.dataset.tone = view.tone;
    if (restored) return;
    // Restart the flash so two reds in a row still catch the eye.
    panel.classList.remove("flash");
    void panel.offsetWidth;
    panel.classList.add("flash");
    if (view.tone === "red") beep();
  }

  // ---- Sound on red.

  function soundOn() {
    return localStorage.getItem(SOUND_KEY) !== "off";
  }

  /** The audio context, made on a user gesture because browsers keep audio muted until one. */
  function audio() {
    if (!state.audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      state.audio = new Ctx();
    }
    if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
    return state.audio;
  }

  function beep() {
    if (!soundOn()) return;
    const ctx = audio();
    if (!ctx) return;
    // Two short square-wave tones: unmistakable over desk noise, and no sound file to ship.
    for (const [start, freq] of [[0, 880], [0.18, 660]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + start);
      osc.stop(ctx.currentTime + start + 0.15);
    }
  }

  // ---- The unit being assembled.

  function emptyUnit(id) {
    return { id, serial: null, imei1: null, imei2: null, eid: null, extra: [] };
  }

  function unitFromDesk(open) {
    if (!open) return null;
    const unit = emptyUnit(open.id);
    for (const ident of open.identifiers || []) {
      if (ident.kind === "serial" && !unit.serial) unit.serial = ident.value;
      else if (ident.kind === "imei" && ident.slot === 0) unit.imei1 = ident.value;
      else if (ident.kind === "imei" && ident.slot === 1) unit.imei2 = ident.value;
      else if (ident.kind === "imei" && !unit.imei1) unit.imei1 = ident.value;
      else if (ident.kind === "imei" && !unit.imei2) unit.imei2 = ident.value;
      else if (ident.kind === "eid" && !unit.eid) unit.eid = ident.value;
      else unit.extra.push([ident.kind, ident.value]);
    }
    return unit;
  }

  function renderUnit() {
    const unit = state.openUnit;
    $("unit-id").textContent = unit ? `#${unit.id}` : "none open";
    const slots = { serial: "slot-serial", imei1: "slot-imei1", imei2: "slot-imei2", eid: "slot-eid" };
    for (const [key, id] of Object.entries(slots)) {
      const node = $(id);
      const value = unit ? unit[key] : null;
      node.querySelector(".slot-value").textContent = value || "—";
      node.classList.toggle("filled", Boolean(value));
      node.classList.toggle("empty", !value);
    }
    const extra = $("unit-extra");
    extra.textContent = unit && unit.extra.length ? unit.extra.map(([k, v]) => `${k.toUpperCase()} ${v}`).join(" · ") : "";
  }

  let deskRefetch = null;
  /** Reads the open unit back from the server, at most once per burst of scans. */
  function refetchDeskSoon() {
    if (deskRefetch) return;
    deskRefetch = setTimeout(() => {
      deskRefetch = null;
      loadDesk().catch(reportError);
    }, 150);
  }

  function scanIntoUnit(s) {
    if (s.unit === null || s.unit === undefined) return;
    if (s.outcome !== "added" && s.outcome !== "flagged") return;
    if (!state.openUnit || state.openUnit.id !== s.unit) {
      // A scan of another unit means that unit is the one being assembled now.
      state.openUnit = emptyUnit(s.unit);
    }
    const unit = state.openUnit;
    if (s.outcome === "added" && SLOT_KINDS.includes(s.kind)) {
      if (s.kind === "serial") unit.serial = s.value;
      else if (s.kind === "eid") unit.eid = s.value;
      else if (unit.imei1 !== s.value && unit.imei2 !== s.value) {
        if (!unit.imei1) unit.imei1 = s.value;
        else if (!unit.imei2) unit.imei2 = s.value;
      }
    } else {
      refetchDeskSoon();
    }
    renderUnit();
  }

  // ---- Mode.

  function renderModes() {
    const box = $("mode");
    box.replaceChildren();
    for (const mode of state.modes) {
      const button = el("button", mode === state.mode ? "mode active" : "mode", mode);
      button.type = "button";
      button.dataset.mode = mode;
      button.setAttribute("aria-pressed", mode === state.mode ? "true" : "false");
      button.disabled = state.readOnly;
      if (state.readOnly) button.title = "read-only: no station is running";
      button.addEventListener("click", () => switchMode(mode));
      box.appendChild(button);
    }
    box.dataset.mode = state.mode || "";
  }

  async function switchMode(mode) {
    if (mode === state.mode) return;
    try {
      const reply = await api("/api/mode", { method: "PUT", body: JSON.stringify({ mode }) });
      state.mode = reply && reply.mode ? reply.mode : mode;
      renderModes();
    } catch (err) {
      reportError(err);
    }
  }

  // ---- Recent units and recall progress.

  function renderRecent() {
    const list = $("recent");
    list.replaceChildren();
    for (const u of state.recent) {
      const view = unitTone(u);
      const item = el("li", `recent-unit tone-${view.tone}`);
      item.dataset.unit = String(u.id);
      item.appendChild(el("span", "recent-id", `#${u.id}`));
      item.appendChild(el("span", "recent-head", view.head));
      item.appendChild(el("span", "recent-ids", unitParts(u).join(" · ")));
      if (view.reason) item.appendChild(el("span", "recent-reason", view.reason));
      const query = u.serial || (u.imeis && u.imeis[0]) || u.eid;
      if (query) {
        item.tabIndex = 0;
        item.title = "show this unit";
        item.addEventListener("click", () => find(query));
      }
      list.appendChild(item);
    }
    if (!state.recent.length) list.appendChild(el("li", "muted", "no units yet"));
  }

  function addRecent(u) {
    state.recent = [u].concat(state.recent.filter((r) => r.id !== u.id)).slice(0, 20);
    renderRecent();
  }

  function renderRecall() {
    const list = $("recall");
    list.replaceChildren();
    for (const [name, p] of state.recall) {
      const item = el("li", "recall-list");
      item.dataset.list = name;
      const head = el("div", "recall-head");
      head.appendChild(el("span", "recall-name", name));
      head.appendChild(el("span", "recall-count", `${p.found}/${p.expected}`));
      item.appendChild(head);
      const bar = el("progress", "recall-bar");
      bar.max = Math.max(Number(p.expected) || 0, 1);
      bar.value = Math.min(Number(p.found) || 0, bar.max);
      bar.setAttribute("aria-label", `${name}: ${p.found} of ${p.expected} found`);
      item.appendChild(bar);
      list.appendChild(item);
    }
    $("recall-panel").classList.toggle("hidden", state.recall.size === 0);
  }

  // ---- Search.

  function table(headers, rows) {
    const t = el("table", "grid");
    const head = el("tr");
    for (const h of headers) head.appendChild(el("th", null, h));
    t.appendChild(head);
    for (const row of rows) {
      const tr = el("tr");
      for (const cell of row) tr.appendChild(el("td", null, cell === null || cell === undefined ? "" : cell));
      t.appendChild(tr);
    }
    return t;
  }

  function scanRows(scans) {
    return scans.map((s) => [s.id, s.at, s.source, s.kind, s.value, s.outcome, s.decision || "", s.decision_reason || s.reason || ""]);
  }
  const SCAN_HEADERS = ["scan", "at", "source", "kind", "value", "outcome", "decision", "reason"];

  function foundUnit(u) {
    const view = unitTone(u);
    const card = el("article", `found-unit tone-${view.tone}`);
    card.dataset.unit = String(u.id);
    const title = el("h3");
    title.appendChild(el("span", "found-head", `${view.head} `));
    title.appendChild(el("span", null, `unit ${u.id}`));
    card.appendChild(title);
    const facts = [
      `status ${u.status}`,
      u.mode ? `mode ${u.mode}` : null,
      u.decision ? `decision ${u.decision}` : null,
      u.list ? `list ${u.list} v${u.list_version}` : null,
      `opened ${u.opened_at}`,
      u.closed_at ? `closed ${u.closed_at}` : null,
    ].filter(Boolean);
    card.appendChild(el("p", "found-facts", facts.join(" · ")));
    if (view.reason) card.appendChild(el("p", "found-reason", view.reason));
    card.appendChild(el("h4", null, "Identifiers"));
    card.appendChild(table(["kind", "value", "slot", "scan"], (u.identifiers || []).map((i) => [i.kind, i.value, i.slot, i.scan])));
    card.appendChild(el("h4", null, "Scans and decisions"));
    card.appendChild(table(SCAN_HEADERS, scanRows(u.scans || [])));
    if (u.evidence) {
      card.appendChild(el("h4", null, "Label picture"));
      const img = el("img", "evidence");
      img.alt = `label picture of unit ${u.id}`;
      img.src = `/api/units/${encodeURIComponent(String(u.id))}/evidence`;
      img.width = u.evidence.width;
      img.height = u.evidence.height;
      card.appendChild(img);
    }
    return card;
  }

  async function find(value) {
    const query = String(value).trim();
    const out = $("results");
    if (!query) {
      out.replaceChildren();
      return;
    }
    $("search").value = query;
    out.replaceChildren(el("p", "muted", `searching ${query} ...`));
    try {
      const found = await api(`/api/find/${encodeURIComponent(query)}`);
      out.replaceChildren();
      // Which query the results answer, for people and tests alike (set through the DOM API).
      out.dataset.query = query;
      const units = found.units || [];
      out.appendChild(el("p", "found-summary", `${query}: ${found.kind || "unknown"}, ${units.length} unit${units.length === 1 ? "" : "s"}`));
      if (!units.length) out.appendChild(el("p", "not-found", `not found: ${query}`));
      for (const u of units) out.appendChild(foundUnit(u));
      const loose = found.scans || [];
      if (loose.length) {
        out.appendChild(el("h4", null, "Other scans"));
        out.appendChild(table(SCAN_HEADERS, scanRows(loose)));
      }
    } catch (err) {
      out.dataset.query = query;
      out.replaceChildren(el("p", "error", err.message));
    }
  }

  // ---- Camera preview.

  const STATE_COLOURS = { ok: "#19a463", bad: "#e0302a", pending: "#f0a500" };

  function drawOutline(ctx, points, colour, sx, sy, width) {
    if (!Array.isArray(points) || points.length < 2) return;
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    points.forEach((p, i) => {
      const x = Number(p[0]) * sx;
      const y = Number(p[1]) * sy;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.closePath();
    ctx.stroke();
  }

  function loadImage(src) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`cannot load ${src}`));
      img.src = src;
    });
  }

  async function previewOnce() {
    const meta = await api("/api/preview");
    const img = await loadImage(`/api/preview.jpg?frame=${encodeURIComponent(String(meta.frame))}`);
    const canvas = $("preview-canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    // Outlines come in frame pixels; the JPEG is downscaled, so they are scaled to it.
    const sx = meta.width ? img.naturalWidth / meta.width : 1;
    const sy = meta.height ? img.naturalHeight / meta.height : 1;
    for (const label of meta.labels || []) drawOutline(ctx, label.points, STATE_COLOURS[label.state] || "#888", sx, sy, 4);
    for (const sym of meta.symbols || []) drawOutline(ctx, sym.points, STATE_COLOURS[sym.state] || "#888", sx, sy, 2);
    $("preview-frame").textContent = `frame ${meta.frame} · ${meta.at || ""}`;
  }

  async function previewLoop() {
    if (state.previewRunning) return;
    state.previewRunning = true;
    while (state.camera) {
      if (!document.hidden) {
        try {
          await previewOnce();
        } catch (err) {
          $("preview-frame").textContent = err.message;
        }
      }
      await new Promise((r) => setTimeout(r, PREVIEW_INTERVAL_MS));
    }
    state.previewRunning = false;
  }

  // ---- The desk snapshot and live events.

  async function loadDesk() {
    const desk = await api("/api/desk");
    $("station").textContent = desk.station || "scanstation";
    document.title = `${desk.station || "scanstation"} desk`;
    state.readOnly = Boolean(desk.read_only);
    state.mode = desk.mode;
    state.modes = desk.modes || [];
    state.openUnit = unitFromDesk(desk.open_unit);
    state.recent = (desk.recent || []).slice(0, 20);
    state.recall = new Map((desk.recall || []).map((r) => [r.list, { found: r.found, expected: r.expected }]));
    state.camera = Boolean(desk.camera);
    const sources = $("sources");
    sources.replaceChildren();
    for (const s of desk.sources || []) {
      const chip = el("span", s.up ? "source up" : "source down", s.name);
      chip.title = s.up ? `${s.name}: up` : `${s.name}: down${s.error ? `: ${s.error}` : ""}`;
      sources.appendChild(chip);
    }
    document.body.classList.toggle("read-only", state.readOnly);
    renderModes();
    renderUnit();
    renderRecent();
    renderRecall();
    // A page opened (or reloaded) after the last unit closed shows that unit's decision rather
    // than an empty panel; a live event always wins over the snapshot.
    if (!state.decided && state.recent.length) showDecision(unitTone(state.recent[0]), true);
    $("preview-panel").classList.toggle("hidden", !state.camera);
    if (state.camera) previewLoop();
  }

  function handle(kind, handler) {
    return (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (err) {
        reportError(new Error(`bad ${kind} event: ${err.message}`));
        return;
      }
      handler(data);
    };
  }

  function connectEvents() {
    const events = new EventSource("/api/events");
    state.events = events;
    events.addEventListener("open", () => {
      setTone($("connection"), "green");
      showStatus("live");
      // Whatever happened while the stream was down is read back as one snapshot.
      loadDesk().catch(reportError);
    });
    events.addEventListener("error", () => {
      setTone($("connection"), "red");
      showStatus("reconnecting");
      if (events.readyState === EventSource.CLOSED) {
        // The browser gives up on a stream that answered with an error; try again later.
        setTimeout(connectEvents, 2000);
      }
    });
    events.addEventListener("scan", handle("scan", (s) => {
      showDecision(scanTone(s));
      scanIntoUnit(s);
    }));
    events.addEventListener("unit", handle("unit", (u) => {
      showDecision(unitTone(u));
      if (state.openUnit && state.openUnit.id === u.id) {
        state.openUnit = null;
        renderUnit();
      }
      addRecent(u);
    }));
    events.addEventListener("progress", handle("progress", (p) => {
      state.recall.set(p.list, { found: p.found, expected: p.expected });
      renderRecall();
    }));
    events.addEventListener("mode", handle("mode", (m) => {
      state.mode = m.mode;
      renderModes();
    }));
    // The server sends `reload` when this page fell behind the stream and missed events.
    events.addEventListener("reload", () => loadDesk().catch(reportError));
  }

  function reportError(err) {
    const node = $("message");
    node.textContent = err && err.message ? err.message : String(err);
    node.classList.remove("hidden");
    clearTimeout(reportError.timer);
    reportError.timer = setTimeout(() => node.classList.add("hidden"), 8000);
  }

  // ---- Start.

  function setupControls() {
    const sound = $("sound");
    sound.checked = soundOn();
    sound.addEventListener("change", () => {
      localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off");
      if (sound.checked) audio();
    });
    // Browsers start audio only after a gesture: the first click anywhere unlocks it.
    document.addEventListener("click", () => {
      if (soundOn()) audio();
    }, { once: true });
    $("search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      find($("search").value);
    });
    $("login").addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("/api/session", { method: "POST", body: JSON.stringify({ token: $("token").value }) });
        location.reload();
      } catch (err) {
        $("login-error").textContent = err.status === 401 ? "wrong token" : err.message;
      }
    });
  }

  async function start() {
    setupControls();
    renderUnit();
    let session;
    try {
      session = await api("/api/session");
    } catch (err) {
      reportError(err);
      return;
    }
    state.csrf = session.csrf || "";
    if (session.auth_required && !session.authenticated) {
      $("login").classList.remove("hidden");
      $("desk").classList.add("hidden");
      $("token").focus();
      return;
    }
    try {
      await loadDesk();
    } catch (err) {
      reportError(err);
    }
    connectEvents();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
