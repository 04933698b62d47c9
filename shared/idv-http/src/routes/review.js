"use strict";
const app = document.getElementById("app");
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
async function api(path, opts = {}) {
  const r = await fetch(path, {credentials: "same-origin", headers: {"content-type": "application/json"}, ...opts});
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) { login(); throw new Error("signed out"); }
  if (!r.ok) throw new Error(body.message || r.statusText);
  return body;
}

async function signOut() {
  await fetch("/review/logout", {method: "POST"});
  document.getElementById("who").textContent = "";
  document.getElementById("signout").hidden = true;
  location.hash = "";
  login();
}
document.getElementById("signout").onclick = signOut;

function login() {
  app.innerHTML = `<h2>Sign in</h2>
    <form id="login"><p><label>User <input id="user" type="text" autocomplete="username" autofocus></label></p>
    <p><label>Password <input id="password" type="password" autocomplete="current-password"></label></p>
    <button id="signin" type="submit">Sign in</button> <span id="msg"></span></form>`;
  document.getElementById("login").onsubmit = async e => {
    e.preventDefault();
    const r = await fetch("/review/login", {method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify({user: user.value, password: password.value})});
    if (r.ok) queue(); else document.getElementById("msg").textContent = "Wrong user or password.";
  };
}

let rows = [], cursor = 0;
async function queue() {
  const q = await api("/review/api/cases");
  document.getElementById("who").textContent = q.reviewer;
  document.getElementById("signout").hidden = false;
  rows = q.cases;
  app.innerHTML = `<h2>Review queue (${rows.length})</h2>
    <p><kbd>j</kbd>/<kbd>k</kbd> move, <kbd>Enter</kbd> open</p>
    <table id="queue"><tr><th>Request</th><th>Received (UTC)</th><th>Automatic</th><th>Claimed by</th></tr>
    ${rows.map((c, i) => `<tr data-i="${i}"><td><a href="#${esc(c.id)}" class="case">${esc(c.id)}</a></td>
      <td>${esc(c.received_at)}</td><td>${esc(c.automatic)}</td><td>${esc(c.claimed_by ?? "")}</td></tr>`).join("")}
    </table>`;
  mark();
}
function mark() { document.querySelectorAll("#queue tr[data-i]").forEach(r => r.classList.toggle("sel", +r.dataset.i === cursor)); }

function radios(name, values, checked) {
  return values.map(v => `<label><input type="radio" name="${name}" value="${v}" ${v === checked ? "checked" : ""}> ${v}</label>`).join("");
}
function boxes(name, values) {
  return `<div class="reasons">${values.map(v => `<label><input type="checkbox" name="${name}" value="${v}"> ${v}</label>`).join("")}</div>`;
}
function picked(name) { return [...document.querySelectorAll(`input[name="${name}"]:checked`)].map(i => i.value); }
function one(name) { return (document.querySelector(`input[name="${name}"]:checked`) || {}).value; }

async function open(id) {
  try { await api(`/review/api/cases/${encodeURIComponent(id)}/claim`, {method: "POST"}); }
  catch (e) { alert(e.message); return queue(); }
  const c = await api(`/review/api/cases/${encodeURIComponent(id)}`);
  const a = c.automatic, x = c.extractedData, R = c.reasons;
  const fields = [];
  for (const group of ["documentAttributes", "personAttributes", "name"])
    for (const [k, v] of Object.entries(x[group] || {}))
      fields.push(`<tr><td>${esc(k)}</td><td><input type="text" data-group="${group}" data-key="${esc(k)}" value="${esc(v)}"></td></tr>`);
  app.innerHTML = `<p><a href="#" id="back">← queue</a></p>
    <h2>Request ${esc(c.id)} <small>received ${esc(c.received_at)} UTC</small></h2>
    <div class="images">${c.images.map(im => `<figure><div class="frame">
      <img src="${esc(im.url)}" data-w="${im.width}" data-h="${im.height}" alt="${esc(im.caption)}">
      ${(im.faces || []).map(f => `<div class="box" data-f="${f.join(",")}"></div>`).join("")}</div>
      <figcaption>${esc(im.caption)} · ${im.width}×${im.height}</figcaption></figure>`).join("")}</div>
    <div class="cols"><div>
      <h2>Automatic result: ${esc(a.outcome)}</h2>
      <p>Face match ${a.face_match == null ? "—" : (+a.face_match).toFixed(4)} · liveness ${a.liveness == null ? "—" : (+a.liveness).toFixed(4)}</p>
      <table>${(a.decision.details || []).map(d => `<tr><td class="${esc(d.decision)}">${esc(d.code)}</td><td>${esc(d.description)}</td></tr>`).join("") || "<tr><td>No findings</td></tr>"}</table>
      <h2>Extracted data (editable)</h2><table id="fields">${fields.join("")}</table>
    </div><form id="decision"><h2>Decision</h2>
      <fieldset><legend>Document acceptance</legend>${radios("acceptance", ["ACCEPTED", "REJECTED"], "ACCEPTED")}${boxes("acceptanceReasons", R.acceptance)}</fieldset>
      <fieldset><legend>Authenticity</legend>${radios("authenticity", ["AUTHENTIC", "NOT_AUTHENTIC"], "AUTHENTIC")}${boxes("authenticityReasons", R.authenticity)}</fieldset>
      <fieldset><legend>Originality</legend>${radios("originality", ["ORIGINAL", "NOT_ORIGINAL"], "ORIGINAL")}${boxes("originalityReasons", R.originality)}</fieldset>
      <fieldset><legend>Validity</legend>${radios("validity", ["VALID", "NOT_VALID"], "VALID")}${boxes("validityReasons", R.validity)}</fieldset>
      <fieldset><legend>Face comparison</legend>${radios("faceAcceptance", ["ACCEPTED", "REJECTED"], "ACCEPTED")}${boxes("faceReasons", R.face)}
        <p>${radios("faceComparisonApproval", ["MATCH", "NOT_MATCH"], "MATCH")} ${radios("faceLivenessApproval", ["LIVE", "NOT_LIVE"], "LIVE")}</p></fieldset>
      <button id="submit" type="submit">Send decision</button> <kbd>Ctrl</kbd>+<kbd>Enter</kbd><span id="msg"></span>
    </form></div>`;
  document.getElementById("back").onclick = e => { e.preventDefault(); location.hash = ""; queue(); };
  document.querySelectorAll("figure img").forEach(img => img.addEventListener("load", () => place(img)));
  document.getElementById("decision").onsubmit = async e => { e.preventDefault(); await send(c); };
}

function place(img) {
  const s = img.clientWidth / +img.dataset.w;
  img.parentElement.querySelectorAll(".box").forEach(b => {
    const [x, y, w, h] = b.dataset.f.split(",").map(Number);
    Object.assign(b.style, {left: x * s + "px", top: y * s + "px", width: w * s + "px", height: h * s + "px"});
  });
}

async function send(c) {
  const x = JSON.parse(JSON.stringify(c.extractedData));
  document.querySelectorAll("#fields input").forEach(i => { x[i.dataset.group][i.dataset.key] = i.value; });
  const body = {
    acceptance: {result: one("acceptance"), reasons: picked("acceptanceReasons")},
    authenticity: {result: one("authenticity"), reasons: picked("authenticityReasons")},
    originality: {result: one("originality"), reasons: picked("originalityReasons")},
    validity: {result: one("validity"), reasons: picked("validityReasons")},
    faceAcceptance: {result: one("faceAcceptance"), reasons: picked("faceReasons")},
    faceComparisonApproval: one("faceComparisonApproval"),
    faceLivenessApproval: one("faceLivenessApproval"),
    extractedData: x,
  };
  try {
    await api(`/review/api/cases/${encodeURIComponent(c.id)}/decision`, {method: "POST", body: JSON.stringify(body)});
    document.getElementById("msg").textContent = " Decision sent.";
    document.getElementById("submit").disabled = true;
  } catch (e) { document.getElementById("msg").textContent = " " + e.message; }
}

document.addEventListener("keydown", e => {
  if (e.ctrlKey && e.key === "Enter" && document.getElementById("decision")) { document.getElementById("decision").requestSubmit(); return; }
  if (!document.getElementById("queue") || e.target.tagName === "INPUT") return;
  if (e.key === "j") { cursor = Math.min(cursor + 1, rows.length - 1); mark(); }
  if (e.key === "k") { cursor = Math.max(cursor - 1, 0); mark(); }
  if (e.key === "Enter" && rows[cursor]) location.hash = rows[cursor].id;
});
window.addEventListener("hashchange", () => { const id = decodeURIComponent(location.hash.slice(1)); if (id) open(id); });
(async () => { try { await queue(); const id = decodeURIComponent(location.hash.slice(1)); if (id) open(id); } catch (e) {} })();
