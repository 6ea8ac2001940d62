// The simulator page: polls GET /api/state and updates the panels in place
// (elements are never replaced, so a click always lands), and posts taps,
// the handset and the panel to the API.
"use strict";

const T = window.SIM_TEXTS || {};
const POLL_MS = 250;
// The firmware's last warning comes 10 s before the cut-off (docs/lamps.md).
const FINAL_MS = 10000;

function t(key, ...args) {
  let s = T[key] || key;
  for (const a of args) s = s.replace(/%[sd]/, String(a));
  return s;
}

function mmss(ms) {
  if (!(ms > 0)) ms = 0;
  const s = Math.ceil(ms / 1000);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function q(root, sel) { return root.querySelector(sel); }

function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

function setAttr(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }

function showMessage(el, text) {
  setText(el, text || "");
  el.hidden = !text;
}

async function post(booth, action, body) {
  const root = q(document, `[data-booth="${booth}"]`);
  try {
    const r = await fetch(`/api/booths/${booth}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    if (!r.ok) {
      const e = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
      root.dataset.actionError = e.error;
    } else {
      delete root.dataset.actionError;
    }
  } catch (e) {
    root.dataset.actionError = t("sim.unreachable", e.message || e);
  }
  // The daemon's own trouble, shown by the next look, comes first.
  showMessage(q(root, '[data-role="error"]'), root.dataset.actionError || "");
}

function renderBooth(b) {
  const root = q(document, `[data-booth="${b.name}"]`);
  if (!root) return;
  setAttr(root, "data-state", b.state);
  const st = q(root, '[data-role="state"]');
  setText(st, b.state_text);
  setAttr(st, "data-state", b.state);
  setText(q(root, '[data-role="inmate"]'), b.inmate_name || "–");
  const inCall = b.state === "talking" || b.state === "granted" || b.state === "choosing" ||
    b.state === "dialling" || b.state === "ringing";
  const left = q(root, '[data-role="left"]');
  setText(left, inCall ? mmss(b.left_ms) : "–");
  setAttr(left, "data-left-ms", String(inCall ? b.left_ms : 0));
  q(root, '[data-role="warning"]').hidden = !(b.state === "talking" && b.left_ms <= FINAL_MS);
  for (const pin of ["lamp_green", "lamp_amber", "lamp_red", "buzzer", "relay", "hook", "tamper"]) {
    for (const el of root.querySelectorAll(`[data-pin="${pin}"]`)) {
      setAttr(el, "data-on", b.pins[pin] ? "1" : "0");
    }
  }
  setText(q(root, '[data-role="handset-text"]'), b.pins.hook ? t("sim.lifted") : t("sim.on_hook"));
  setText(q(root, '[data-role="panel-text"]'),
    b.pins.tamper ? t("word.open") + " · " + t("sim.panel_close") : t("word.closed") + " · " + t("sim.panel_open"));
  const reader = q(root, '[data-role="reader"]');
  setText(reader, b.reader_up ? t("sim.working") : t("sim.down") + (b.reader_error ? ": " + b.reader_error : ""));
  setAttr(reader, "data-ok", b.reader_up ? "1" : "0");
  const gw = q(root, '[data-role="gateway"]');
  setText(gw, b.gateway_online ? t("sim.online") : t("sim.offline") + (b.gateway_error ? ": " + b.gateway_error : ""));
  setAttr(gw, "data-ok", b.gateway_online ? "1" : "0");
  setText(q(root, '[data-role="outbox"]'), String(b.outbox));
  showMessage(q(root, '[data-role="error"]'), b.error || root.dataset.actionError || "");
  renderEvents(q(root, '[data-role="events"]'), b.events);
  if (b.modem) renderModem(root, b.modem);
}

// renderModem shows a booth's modem: the call's progress, the module's
// health, what each number's far end does now, the last AT commands.
function renderModem(root, m) {
  const p = q(root, '[data-role="progress"]');
  setText(p, m.progress_text);
  setAttr(p, "data-progress", m.progress);
  const md = q(root, '[data-role="modem"]');
  setText(md, (m.up ? t("sim.working") : t("sim.down")) + (m.text ? ": " + m.text : ""));
  setAttr(md, "data-ok", m.up ? "1" : "0");
  setText(q(root, '[data-role="at"]'), m.at.join("  ·  "));
  for (const n of m.numbers) {
    const row = q(root, `[data-number="${n.key}"]`);
    if (!row) continue;
    const does = q(row, '[data-role="does"]');
    setText(does, n.text);
    setAttr(does, "data-outcome", n.outcome);
  }
}

function renderEvents(list, events) {
  const key = JSON.stringify(events);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren();
  if (!events.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = t("sim.no_events");
    list.append(li);
    return;
  }
  for (const e of events) {
    const li = document.createElement("li");
    li.dataset.kind = e.kind;
    const at = document.createElement("time");
    at.textContent = e.at;
    li.append(at, " ", e.text);
    list.append(li);
  }
}

function cell(tr, col, text) {
  const td = document.createElement("td");
  td.dataset.col = col;
  td.textContent = text;
  tr.append(td);
}

function renderCentre(c, today) {
  const root = q(document, "#centre");
  showMessage(q(root, '[data-role="centre-error"]'), c.error);
  setText(q(root, '[data-role="today"]'), "(" + today + ")");
  const devKey = JSON.stringify(c.devices.map((d) => [d.device, Math.floor(d.ago_ms / 1000), d.outbox]));
  const devs = q(root, '[data-role="devices"]');
  if (devs.dataset.key !== devKey) {
    devs.dataset.key = devKey;
    devs.replaceChildren(...c.devices.map((d) => {
      const tr = document.createElement("tr");
      tr.dataset.device = d.device;
      cell(tr, "device", d.device);
      cell(tr, "last_seen", d.ago_ms < 0 ? t("sim.never") : t("sim.ago", Math.floor(d.ago_ms / 1000) + " s"));
      cell(tr, "outbox", String(d.outbox));
      return tr;
    }));
  }
  const repKey = JSON.stringify(c.inmates);
  const rep = q(root, '[data-role="report"]');
  if (rep.dataset.key !== repKey) {
    rep.dataset.key = repKey;
    rep.replaceChildren(...c.inmates.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.inmate = r.key || r.person || "unknown";
      tr.dataset.leftMs = String(r.left_today_ms);
      cell(tr, "name", r.name + (r.blocked ? " (" + t("sim.blocked") + ")" : ""));
      cell(tr, "calls", String(r.calls));
      cell(tr, "talked", mmss(r.talked_ms));
      cell(tr, "charged", mmss(r.charged_ms));
      cell(tr, "denials", String(r.denials));
      cell(tr, "officer", String(r.officer_actions));
      cell(tr, "credit", mmss(r.credit_ms));
      cell(tr, "left_today", r.left_today_ms < 0 ? "–" : mmss(r.left_today_ms));
      return tr;
    }));
  }
}

async function tick() {
  const pageError = q(document, '[data-role="page-error"]');
  try {
    const r = await fetch("/api/state", { cache: "no-store" });
    if (!r.ok) throw new Error(r.status + " " + r.statusText);
    const s = await r.json();
    for (const b of s.booths) renderBooth(b);
    renderCentre(s.centre, s.today);
    showMessage(pageError, "");
    document.body.dataset.ready = "1";
  } catch (e) {
    showMessage(pageError, t("sim.unreachable", e.message || e));
  }
  setTimeout(tick, POLL_MS);
}

function wire() {
  for (const root of document.querySelectorAll("[data-booth]")) {
    const name = root.dataset.booth;
    for (const btn of root.querySelectorAll("[data-card]")) {
      btn.addEventListener("click", () => post(name, "tap", { card: btn.dataset.card }));
    }
    const handset = q(root, '[data-role="handset"]');
    handset.addEventListener("click", () => post(name, handset.dataset.on === "1" ? "hang" : "lift"));
    const panel = q(root, '[data-role="panel"]');
    panel.addEventListener("click", () => post(name, "panel", { open: panel.dataset.on !== "1" }));
    for (const btn of root.querySelectorAll("[data-key]")) {
      btn.addEventListener("click", () => post(name, "key", { key: btn.dataset.key }));
    }
    for (const row of root.querySelectorAll("[data-number]")) {
      q(row, '[data-role="set"]').addEventListener("click", () => post(name, "script", {
        number: row.dataset.number,
        outcome: q(row, '[data-role="outcome"]').value,
        after_s: Number(q(row, '[data-role="after"]').value) || 0,
      }));
    }
  }
}

wire();
tick();
