"use strict";
// idv's capture page: consent, document type, document (front, back), selfie, done. Each shot
// goes to storage by a presigned URL, then the server looks at it and asks for a retake when it
// cannot use it. No third-party code; runs under a CSP without inline script.

const TEXT = {
  en: {
    title: "Verify your identity",
    consent: "To confirm who you are, take a photo of an identity document and a selfie. Your photos are used for this check only.",
    start: "Start",
    handoff: "On a computer? Scan this code with your phone's camera to continue there: phones take better photos.",
    qr_alt: "QR code of this page's link", here: "Continue on this computer",
    which: "Which document will you use?",
    passport: "Passport", id_card: "Identity card", drivers_license: "Driving licence",
    document: "Photo of your document", document_hint: "Lay the document flat in good light and fill the frame. Avoid glare.",
    document_back: "Back of your document", document_back_hint: "Turn the document over.",
    selfie: "Take a selfie", selfie_hint: "Face the camera in good light, your whole face inside the oval, nothing covering it.",
    shoot: "Take photo", upload: "Upload a photo instead", skip: "My document has nothing on the back",
    no_camera: "The camera is not available. Upload a photo instead.",
    sending: "Sending…", looking: "Checking the photo…",
    IMAGE_UNREADABLE: "This file is not a photo we can open. Try another.",
    DOCUMENT_NOT_READ: "We could not read the document. Retake it flat, in good light, filling the frame, without glare.",
    NO_FACE: "We could not see a face. Retake the selfie facing the camera.",
    MULTIPLE_FACES: "More than one face is in the photo. Retake it with only you in the frame.",
    SELFIE_TOO_CLOSE: "You are too close. Hold the phone a little further away.",
    SELFIE_FACE_TOO_SMALL: "Your face is too small. Come a little closer.",
    failed: "Something went wrong. Try again.",
    step: (i, n) => `Step ${i} of ${n}`,
    submitting: "Checking your identity…",
    thanks: "Thank you", thanks_text: "Your verification has been sent. You can close this page.",
    continue: "Continue",
    expired: "This link has expired", expired_text: "Ask for a new link to verify your identity.",
    canceled: "This verification was canceled", invalid: "This link is not valid",
    active: "Show it is really you", active_hint: "Hold the phone at eye level, your face in the oval. For a few seconds the screen changes colour and asks you to turn your head: follow it.",
    ready: "I am ready", look: "Look at the screen", turn_left: "Turn your head to your left", turn_right: "Turn your head to your right", turn_up: "Look up",
    again: "Try again",
    LIVENESS_CHALLENGE_NOT_FOLLOWED: "We could not see you follow the moves. Try again, turning your head when asked.",
    LIVENESS_FLAT_SURFACE: "This looked like a photo, not a person. Try again with your own face.",
    LIVENESS_COLOUR_MISMATCH: "The light on your face did not change with the screen. Try again closer to the screen.",
    LIVENESS_IDENTITY_CHANGED: "More than one person was seen. Try again alone.",
    LIVENESS_CHALLENGE_EXPIRED: "That took too long. Try again.",
    LIVENESS_CHALLENGE_REUSED: "Try again.",
  },
  fr: {
    title: "Vérifiez votre identité",
    consent: "Pour confirmer votre identité, prenez en photo une pièce d’identité, puis un selfie. Vos photos ne servent qu’à cette vérification.",
    start: "Commencer",
    handoff: "Sur un ordinateur ? Scannez ce code avec l’appareil photo de votre téléphone pour continuer dessus : il prend de meilleures photos.",
    qr_alt: "QR code du lien de cette page", here: "Continuer sur cet ordinateur",
    which: "Quelle pièce allez-vous utiliser ?",
    passport: "Passeport", id_card: "Carte d’identité", drivers_license: "Permis de conduire",
    document: "Photo de votre pièce", document_hint: "Posez la pièce à plat, bien éclairée, et remplissez le cadre. Évitez les reflets.",
    document_back: "Verso de votre pièce", document_back_hint: "Retournez la pièce.",
    selfie: "Prenez un selfie", selfie_hint: "Regardez l’appareil, bien éclairé, tout le visage dans l’ovale, sans rien qui le cache.",
    shoot: "Prendre la photo", upload: "Envoyer une photo à la place", skip: "Ma pièce n’a rien au verso",
    no_camera: "L’appareil photo n’est pas disponible. Envoyez une photo à la place.",
    sending: "Envoi…", looking: "Vérification de la photo…",
    IMAGE_UNREADABLE: "Ce fichier n’est pas une photo lisible. Essayez-en une autre.",
    DOCUMENT_NOT_READ: "Nous n’avons pas pu lire la pièce. Reprenez-la à plat, bien éclairée, en remplissant le cadre, sans reflet.",
    NO_FACE: "Nous ne voyons pas de visage. Reprenez le selfie face à l’appareil.",
    MULTIPLE_FACES: "Il y a plusieurs visages. Reprenez la photo seul dans le cadre.",
    SELFIE_TOO_CLOSE: "Vous êtes trop près. Éloignez un peu le téléphone.",
    SELFIE_FACE_TOO_SMALL: "Votre visage est trop petit. Approchez-vous un peu.",
    failed: "Une erreur est survenue. Réessayez.",
    step: (i, n) => `Étape ${i} sur ${n}`,
    submitting: "Vérification de votre identité…",
    thanks: "Merci", thanks_text: "Votre vérification a été envoyée. Vous pouvez fermer cette page.",
    continue: "Continuer",
    expired: "Ce lien a expiré", expired_text: "Demandez un nouveau lien pour vérifier votre identité.",
    canceled: "Cette vérification a été annulée", invalid: "Ce lien n’est pas valide",
    active: "Montrez que c’est bien vous", active_hint: "Tenez le téléphone à hauteur des yeux, le visage dans l’ovale. Pendant quelques secondes, l’écran change de couleur et vous demande de tourner la tête : suivez-le.",
    ready: "Je suis prêt", look: "Regardez l’écran", turn_left: "Tournez la tête vers votre gauche", turn_right: "Tournez la tête vers votre droite", turn_up: "Levez les yeux",
    again: "Réessayer",
    LIVENESS_CHALLENGE_NOT_FOLLOWED: "Nous ne vous avons pas vu suivre les mouvements. Réessayez en tournant la tête quand on vous le demande.",
    LIVENESS_FLAT_SURFACE: "Cela ressemblait à une photo, pas à une personne. Réessayez avec votre propre visage.",
    LIVENESS_COLOUR_MISMATCH: "La lumière sur votre visage n’a pas suivi l’écran. Réessayez plus près de l’écran.",
    LIVENESS_IDENTITY_CHANGED: "Plus d’une personne a été vue. Réessayez seul.",
    LIVENESS_CHALLENGE_EXPIRED: "Cela a pris trop de temps. Réessayez.",
    LIVENESS_CHALLENGE_REUSED: "Réessayez.",
  },
};

const token = location.pathname.split("/").filter(Boolean)[1] || "";
const app = document.getElementById("app");
let t = TEXT.en, state = null, consented = false, backSkipped = false, stream = null;

const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c]));

async function call(path, body) {
  const opts = body === undefined ? {} : {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)};
  const r = await fetch(`/s/${encodeURIComponent(token)}${path}`, opts);
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(json.message || r.statusText), {status: r.status, code: json.code});
  return json;
}

function show(html) {
  stopCamera();
  app.innerHTML = html;
  const h = app.querySelector("h1");
  if (h) { h.tabIndex = -1; h.focus(); }
}

function message(text, bad) {
  const m = document.getElementById("msg");
  if (m) { m.textContent = text; m.className = bad ? "msg bad" : "msg"; }
}

function steps() {
  const type = state.document_type || (state.document_types.length === 1 ? state.document_types[0] : null);
  const out = [];
  if (!consented && state.images.length === 0) out.push("consent");
  if (!type) out.push("type");
  if (!state.images.includes("document")) out.push("document");
  if (type !== "passport" && !backSkipped && !state.images.includes("document_back")) out.push("document_back");
  if (!state.images.includes("selfie")) out.push("selfie");
  return out;
}

async function next() {
  try { state = await call("/state"); } catch (e) {
    return show(`<h1>${esc(t.invalid)}</h1>`);
  }
  t = TEXT[state.locale] || TEXT[(navigator.language || "en").slice(0, 2)] || TEXT.en;
  document.documentElement.lang = TEXT[state.locale] ? state.locale : (TEXT[(navigator.language || "en").slice(0, 2)] ? navigator.language.slice(0, 2) : "en");
  document.title = t.title;
  const s = state.status;
  if (s === "expired") return show(`<h1>${esc(t.expired)}</h1><p>${esc(t.expired_text)}</p>`);
  if (s === "canceled") return show(`<h1>${esc(t.canceled)}</h1>`);
  if (s === "processing") return waiting();
  if (s !== "created" && s !== "in_progress") return done();
  const todo = steps();
  if (todo.length === 0) return submit();
  const step = todo[0];
  if (step === "consent") return consent();
  if (step === "type") return chooseType();
  if (step === "selfie" && state.liveness === "active") return active();
  return capture(step);
}

// On a computer (no touch screen), the link as a QR code to continue on a phone.
const desktop = !matchMedia("(pointer: coarse)").matches && innerWidth > 700;

function consent() {
  const qr = desktop ? `<div class="handoff"><img id="qr" src="/s/${encodeURIComponent(token)}/qr.svg" width="200" height="200" alt="${esc(t.qr_alt)}">
    <p>${esc(t.handoff)}</p></div>` : "";
  show(`<h1>${esc(t.title)}</h1><p>${esc(t.consent)}</p>${qr}<button id="start" type="button">${esc(desktop ? t.here : t.start)}</button>`);
  document.getElementById("start").onclick = () => { consented = true; next(); };
}

function chooseType() {
  show(`<h1>${esc(t.which)}</h1><div class="choices">${state.document_types.map(d =>
    `<button type="button" data-type="${esc(d)}">${esc(t[d] || d)}</button>`).join("")}</div>`);
  app.querySelectorAll("[data-type]").forEach(b => b.onclick = () => {
    state.document_type = b.dataset.type; chosenType = b.dataset.type; consented = true; next2();
  });
}

// The chosen type is sent with the first document image.
let chosenType = null;
function next2() {
  const todo = steps();
  if (!todo.length) return submit();
  return todo[0] === "selfie" && state.liveness === "active" ? active() : capture(todo[0]);
}

// Active liveness: the server's challenge, followed in front of the front camera while the
// screen shows its colours; frames every 200 ms go back with their times.
function active() {
  show(`<h1>${esc(t.active)}</h1><p>${esc(t.active_hint)}</p>
    <div class="viewer selfie" id="viewer"><video id="video" autoplay playsinline muted aria-hidden="true"></video><div class="guide face"></div></div>
    <button id="go" type="button" disabled>${esc(t.ready)}</button>
    <p id="msg" class="msg" role="status"></p>`);
  const video = document.getElementById("video"), go = document.getElementById("go");
  startCamera("user").then(s => {
    video.srcObject = s;
    video.onloadedmetadata = () => { go.disabled = false; };
  }).catch(() => message(t.no_camera, true));
  go.onclick = async () => {
    go.disabled = true;
    try { follow(await call("/liveness/challenge", {}), video); }
    catch (e) { if (e.code === "SESSION_CLOSED") return next(); message(t.failed, true); go.disabled = false; }
  };
}

async function follow(ch, video) {
  const stage = document.createElement("div");
  stage.className = "stage";
  stage.innerHTML = `<p class="say" id="say" role="status"></p>`;
  stage.appendChild(video.parentElement);
  document.body.appendChild(stage);
  const say = document.getElementById("say");
  const end = Math.max(...ch.steps.map(s => s.to_ms), ...ch.colours.map(c => c.to_ms)) + 200;
  const c = document.createElement("canvas");
  const frames = [], times = [];
  const t0 = performance.now();
  let lastShot = -1000;
  await new Promise(done => {
    const tick = () => {
      const now = performance.now() - t0;
      const colour = ch.colours.find(f => now >= f.from_ms && now < f.to_ms);
      stage.style.background = colour ? `rgb(${colour.rgb.join(",")})` : "#fff";
      const step = ch.steps.find(s => now >= s.from_ms && now < s.to_ms);
      say.textContent = step ? t["turn_" + step.turn] : t.look;
      if (now - lastShot >= 200 && frames.length < 40 && video.videoWidth) {
        lastShot = now;
        const scale = Math.min(1, 640 / video.videoWidth);
        c.width = Math.round(video.videoWidth * scale); c.height = Math.round(video.videoHeight * scale);
        c.getContext("2d").drawImage(video, 0, 0, c.width, c.height);
        times.push(Math.round(now));
        frames.push(new Promise(r => c.toBlob(r, "image/jpeg", 0.85)));
      }
      if (now < end) setTimeout(tick, 50); else done();
    };
    tick();
  });
  stage.remove();
  stopCamera();
  message(t.looking);
  const form = new FormData();
  form.append("challenge_id", ch.challenge_id);
  for (const f of await Promise.all(frames)) form.append("frames", f, "frame.jpg");
  form.append("timestamps", JSON.stringify(times));
  try {
    const r = await fetch(`/s/${encodeURIComponent(token)}/liveness/frames`, {method: "POST", body: form});
    const v = await r.json();
    if (r.ok && v.verdict === "pass") return next();
    active();
    message(r.ok ? (t[v.findings[0]] || t.failed) : (v.message || t.failed), true);
  } catch (e) { active(); message(t.failed, true); }
}

function capture(name) {
  const selfie = name === "selfie";
  const all = ["document", "document_back", "selfie"].filter(n => n !== "document_back" || state.document_type !== "passport");
  const index = all.indexOf(name) + 1;
  show(`<p class="steps">${esc(t.step(index, all.length))}</p>
    <h1>${esc(t[name])}</h1><p>${esc(t[name + "_hint"] || "")}</p>
    <div class="viewer ${selfie ? "selfie" : ""}" id="viewer"><video id="video" autoplay playsinline muted aria-hidden="true"></video><div class="guide ${selfie ? "face" : "card"}"></div></div>
    <button id="shoot" type="button" disabled>${esc(t.shoot)}</button>
    <label class="file">${esc(t.upload)}<input id="file" type="file" accept="image/jpeg,image/png,image/webp"></label>
    ${name === "document_back" ? `<button id="skip" class="plain" type="button">${esc(t.skip)}</button>` : ""}
    <p id="msg" class="msg" role="status"></p>`);
  const video = document.getElementById("video"), shoot = document.getElementById("shoot");
  startCamera(selfie ? "user" : "environment").then(s => {
    video.srcObject = s;
    video.onloadedmetadata = () => { shoot.disabled = false; };
  }).catch(() => {
    document.getElementById("viewer").hidden = true;
    shoot.hidden = true;
    message(t.no_camera);
  });
  shoot.onclick = async () => {
    const c = document.createElement("canvas");
    c.width = video.videoWidth; c.height = video.videoHeight;
    c.getContext("2d").drawImage(video, 0, 0);
    send(name, await new Promise(r => c.toBlob(r, "image/jpeg", 0.92)));
  };
  document.getElementById("file").onchange = async e => {
    const f = e.target.files[0];
    if (f) send(name, await asJpeg(f));
    e.target.value = "";
  };
  const skip = document.getElementById("skip");
  if (skip) skip.onclick = () => { backSkipped = true; next2(); };
}

async function startCamera(facing) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error("no camera");
  stream = await navigator.mediaDevices.getUserMedia({audio: false, video: {facingMode: facing, width: {ideal: 1920}, height: {ideal: 1080}}});
  return stream;
}

function stopCamera() {
  if (stream) stream.getTracks().forEach(tr => tr.stop());
  stream = null;
}

// A chosen file as a JPEG of at most 2560 px a side (oriented as the phone meant).
async function asJpeg(file) {
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch (e) { return file; }
  const scale = Math.min(1, 2560 / Math.max(bitmap.width, bitmap.height));
  const c = document.createElement("canvas");
  c.width = Math.round(bitmap.width * scale); c.height = Math.round(bitmap.height * scale);
  c.getContext("2d").drawImage(bitmap, 0, 0, c.width, c.height);
  return new Promise(r => c.toBlob(r, "image/jpeg", 0.92));
}

async function send(name, blob) {
  const buttons = app.querySelectorAll("button, input");
  buttons.forEach(b => b.disabled = true);
  try {
    message(t.sending);
    const body = {name, content_type: "image/jpeg"};
    if (name === "document" && (chosenType || state.document_type)) body.document_type = chosenType || state.document_type;
    const up = await call("/uploads", body);
    const put = await fetch(up.url, {method: up.method, headers: up.headers, body: blob});
    if (!put.ok) throw new Error("upload " + put.status);
    message(t.looking);
    const shot = await call(`/images/${name}`, {key: up.key});
    if (shot.accepted) return next();
    message(t[shot.problem] || t.failed, true);
  } catch (e) {
    if (e.code === "SESSION_CLOSED") return next();
    message(t.failed, true);
  }
  buttons.forEach(b => b.disabled = false);
}

async function submit() {
  show(`<h1>${esc(t.submitting)}</h1><p class="wait" role="status"></p>`);
  try { await call("/submit", {}); } catch (e) { if (e.code !== "SESSION_CLOSED") { message(t.failed, true); } }
  waiting();
}

function waiting() {
  if (!app.querySelector(".wait")) show(`<h1>${esc(t.submitting)}</h1><p class="wait" role="status"></p>`);
  setTimeout(next, 1500);
}

function done() {
  const url = state.redirect_url;
  show(`<p class="done" aria-hidden="true">✓</p><h1>${esc(t.thanks)}</h1><p>${esc(t.thanks_text)}</p>
    ${url ? `<p><a id="continue" href="${esc(url)}">${esc(t.continue)}</a></p>` : ""}`);
  if (url) setTimeout(() => location.assign(url), 3000);
}

next();
