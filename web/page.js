// The frame's page. It only uses the frame's documented API and follows GET /api/events, so
// what it shows is what the frame knows. Text from senders (names, captions) is only ever put
// in the page as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const VIEWS = ["now", "photos", "send", "frame"];

/** Calls the API; throws an Error with the frame's own words when it refuses. */
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new Error("The frame did not answer: is it on, and is this phone on the same Wi-Fi?");
  }
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && !path.startsWith("/api/pairing")) {
    // Not paired, or unpaired meanwhile: everything else waits for the code.
    needPairing();
  }
  if (!response.ok) {
    const error = new Error((data.error && data.error.message) || `The frame answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function problem(message) {
  const p = $("problem");
  p.textContent = message || "";
  p.hidden = !message;
}

/** Runs an action from a button; a refusal is shown in words. */
function act(button, action, where) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
      (where || problem)("");
    } catch (e) {
      (where || problem)(e.message);
    } finally {
      button.disabled = false;
    }
  });
}

// ---- Views -------------------------------------------------------------------------------

function showView() {
  if (!state.paired) return;
  $("pair").hidden = true;
  document.querySelector("nav").hidden = false;
  const wanted = location.hash.slice(1);
  const view = VIEWS.includes(wanted) ? wanted : "now";
  for (const v of VIEWS) {
    $(v).hidden = v !== view;
    $("tab-" + v).classList.toggle("on", v === view);
  }
  if (view === "frame") loadStatus();
}

// ---- What is on the screen ---------------------------------------------------------------

const state = { paused: false, photos: new Map(), screenOn: true, paired: false, events: null };

function refreshLive() {
  // Sized for the phone's screen; a new address each time, so that nothing stale shows.
  const width = Math.min(1920, Math.ceil(document.body.clientWidth * (window.devicePixelRatio || 1)));
  $("live").src = `/api/screenshot.jpg?width=${width}&t=${Date.now()}`;
}

function describe(photo) {
  if (!photo) return "The welcome slide.";
  const parts = [];
  if (photo.caption && !photo.spoiler) parts.push(`“${photo.caption}”`);
  if (photo.sender) parts.push(`from ${photo.sender}`);
  parts.push(new Date(photo.received_at).toLocaleDateString());
  return parts.join(" · ");
}

function onShown(data) {
  state.paused = data.paused;
  $("pause").textContent = data.paused ? "Resume" : "Pause";
  $("live-caption").textContent = describe(data.current);
  $("live").dataset.photo = data.current ? data.current.id : "";
  refreshLive();
}

function onScreen(status) {
  state.screenOn = status.screen === "on";
  let line = state.screenOn ? "The screen is on." : "The screen is off.";
  if (status.next_change) {
    const at = new Date(status.next_change);
    line += ` It turns ${state.screenOn ? "off" : "on"} by itself at ${at.toLocaleString([], {
      weekday: "short", hour: "2-digit", minute: "2-digit" })}.`;
  }
  $("screen-line").textContent = line;
  refreshLive();
}

act($("prev"), () => api("POST", "/api/prev"));
act($("next"), () => api("POST", "/api/next"));
act($("pause"), () => api("POST", state.paused ? "/api/resume" : "/api/pause"));
act($("sleep"), () => api("POST", "/api/screen", { on: false }));
act($("wake"), () => api("POST", "/api/screen", { on: true }));

// ---- The library -------------------------------------------------------------------------

function tile(photo) {
  const button = document.createElement("button");
  button.className = "tile";
  button.dataset.id = photo.id;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = photo.caption && !photo.spoiler ? photo.caption : "A photo";
  // The hash in the address: a photo id given again after a delete is a new address.
  img.src = `/api/photos/${photo.id}/thumbnail?v=${photo.sha256.slice(0, 12)}`;
  const meta = document.createElement("span");
  const badge = document.createElement("b");
  button.append(img, meta, badge);
  fillTile(button, photo);
  button.addEventListener("click", () => openPhoto(Number(button.dataset.id)));
  return button;
}

function fillTile(button, photo) {
  button.querySelector("span").textContent = describe(photo);
  const kind = photo.kind === "video" ? "▶" : photo.kind === "animation" ? "GIF" : "";
  button.querySelector("b").textContent = (photo.favourite ? "★ " : "") + kind;
}

function countLine() {
  const n = state.photos.size;
  $("photos-count").textContent =
    n === 0 ? "No photos yet: send some from the Send tab, or in Discord." :
    `${n} photo${n === 1 ? "" : "s"}, newest first. Tap one to show, caption or delete it.`;
}

async function loadPhotos() {
  const { photos } = await api("GET", "/api/photos");
  state.photos = new Map(photos.map((p) => [p.id, p]));
  $("grid").replaceChildren(...photos.map(tile));
  countLine();
}

function tileOf(id) {
  return $("grid").querySelector(`.tile[data-id="${id}"]`);
}

function onAdded(photos) {
  for (const photo of photos) {
    if (state.photos.has(photo.id)) continue;
    state.photos.set(photo.id, photo);
    $("grid").prepend(tile(photo));
  }
  countLine();
}

function onRemoved(ids) {
  for (const id of ids) {
    state.photos.delete(id);
    const t = tileOf(id);
    if (t) t.remove();
    if (opened === id) $("photo").close();
  }
  countLine();
}

function onChanged(photos) {
  for (const photo of photos) {
    state.photos.set(photo.id, photo);
    const t = tileOf(photo.id);
    if (t) fillTile(t, photo);
    if (opened === photo.id) fillDialog(photo);
  }
}

// ---- One photo ---------------------------------------------------------------------------

let opened = null;

function openPhoto(id) {
  const photo = state.photos.get(id);
  if (!photo) return;
  opened = id;
  const view = $("photo-view");
  let media;
  if (photo.spoiler) {
    // Veiled here too: whoever sent it meant it to be opened on purpose.
    media = document.createElement("img");
    media.src = `/api/photos/${id}/thumbnail?v=${photo.sha256.slice(0, 12)}`;
  } else if (photo.kind === "video") {
    media = document.createElement("video");
    media.controls = true;
    media.muted = true;
    media.playsInline = true;
    media.preload = "metadata";
    media.src = `/api/photos/${id}`;
  } else {
    media = document.createElement("img");
    media.src = `/api/photos/${id}`;
  }
  media.alt = "";
  view.replaceChildren(media);
  $("photo-caption").value = photo.caption || "";
  $("photo-problem").textContent = "";
  fillDialog(photo);
  $("photo").showModal();
}

function fillDialog(photo) {
  const size = `${photo.width}×${photo.height}`;
  const length = photo.duration_ms ? ` · ${(photo.duration_ms / 1000).toFixed(0)} s` : "";
  $("photo-meta").textContent = `${describe(photo)} · ${size}${length}`;
  $("photo-fav").textContent = photo.favourite ? "★ Favourite" : "☆ Favourite";
}

$("photo").addEventListener("close", () => {
  opened = null;
  $("photo-view").replaceChildren();
});
const photoProblem = (m) => { $("photo-problem").textContent = m; };
act($("photo-save"), async () => {
  const photo = await api("PATCH", `/api/photos/${opened}`, { caption: $("photo-caption").value });
  onChanged([photo]);
}, photoProblem);
act($("photo-fav"), async () => {
  const on = !state.photos.get(opened).favourite;
  const photo = await api(on ? "POST" : "DELETE", `/api/photos/${opened}/favourite`);
  onChanged([photo]);
}, photoProblem);
act($("photo-show"), async () => {
  await api("POST", `/api/photos/${opened}/show`);
  $("photo").close();
  location.hash = "#now";
}, photoProblem);
act($("photo-delete"), async () => {
  if (!confirm("Delete this photo from the frame? This cannot be undone.")) return;
  const id = opened;
  await api("DELETE", `/api/photos/${id}`);
  onRemoved([id]);
}, photoProblem);

// ---- Sending -----------------------------------------------------------------------------

/** Sends one file with a progress bar; resolves when the frame has answered. */
function upload(file, caption, row) {
  const bar = row.querySelector("progress");
  const note = row.querySelector("small");
  return new Promise((resolve) => {
    const form = new FormData();
    form.append("file", file, file.name);
    if (caption) form.append("caption", caption);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/photos");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = e.loaded / e.total;
    };
    xhr.upload.onload = () => { note.textContent = "Sent; the frame is looking at it…"; };
    xhr.onload = () => {
      bar.value = 1;
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: said below */ }
      if (xhr.status === 201) {
        const dup = data.photos && data.photos[0] && data.photos[0].duplicate;
        note.textContent = dup ? "The frame already had this one: showing it." : "On the frame ✓";
      } else {
        note.className = "bad";
        note.textContent = (data.error && data.error.message) || `The frame answered ${xhr.status}.`;
      }
      resolve();
    };
    xhr.onerror = () => {
      note.className = "bad";
      note.textContent = "The frame did not answer: is it on, and is this phone on the same Wi-Fi?";
      resolve();
    };
    xhr.send(form);
  });
}

$("files").addEventListener("change", async (e) => {
  const files = [...e.target.files];
  e.target.value = "";
  const caption = $("send-caption").value.trim();
  const rows = files.map((file) => {
    const li = document.createElement("li");
    const name = document.createElement("div");
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    const note = document.createElement("small");
    note.textContent = "Waiting…";
    li.append(name, bar, note);
    $("uploads").prepend(li);
    return li;
  });
  // One at a time: the frame looks at each photo in turn anyway, and a phone on Wi-Fi
  // finishes the first sooner.
  for (let i = 0; i < files.length; i++) await upload(files[i], caption, rows[i]);
});

// ---- The frame's state -------------------------------------------------------------------

const DISCORD = {
  disabled: "Off (no bot token in config.toml)",
  connecting: "Connecting…",
  connected: "Connected",
  limited: "Connected, limited",
  error: "Not working",
};

const WHY = { schedule: "by the schedule", asked: "someone asked", photo: "a photo arrived",
              motion: "the motion sensor" };
const gb = (mb) => (mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${mb} MB`);

async function loadStatus() {
  let s;
  try {
    s = await api("GET", "/api/status");
  } catch (e) {
    problem(e.message);
    return;
  }
  const facts = [
    ["Photos", String(s.photos)],
    ["Discord", [DISCORD[s.discord.state] || s.discord.state, s.discord.user ? `as ${s.discord.user}` : "",
                 s.discord.message || ""].filter(Boolean).join(" · ")],
    ["Screen", `${s.screen.screen === "on" ? "On" : "Off"} (${WHY[s.screen.why] || s.screen.why})` +
               (s.screen.next_change ? `, until ${new Date(s.screen.next_change).toLocaleString()}` : "")],
    ["Disk", s.library.disk ? `${gb(s.library.disk.free_mb)} free of ${gb(s.library.disk.total_mb)}` +
                              (s.library.disk.full ? " · FULL: delete some photos" : "") : "unknown"],
    ["Videos", s.videos.playable ? "can play" : s.videos.message],
    ["Display", `${s.display.width}×${s.display.height} (${s.display.backend})`],
    ["Version", s.version],
  ];
  const dl = $("facts");
  dl.replaceChildren();
  for (const [k, v] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  loadSettings();
  loadSessions();
  $("notices").replaceChildren(...s.library.notices.map((n) => {
    const li = document.createElement("li");
    li.textContent = n;
    return li;
  }));
}

// ---- Settings ---------------------------------------------------------------------------

function showSettings({ live, file, fixed }, note) {
  state.settings = live;
  showFixed(fixed);
  $("set-interval").value = live.interval;
  $("set-transition").value = live.transition;
  $("set-captions").checked = live.captions;
  $("set-order").value = live.order;
  $("windows").replaceChildren(...live.schedule.map(windowRow));
  showAlways();
  $("set-note").className = "";
  $("set-note").textContent = note ||
    (file ? `Written to ${file}, with its comments kept. Everything else: edit that file.`
          : "This frame has no config file to save settings in.");
}

// The settings that need a restart, read-only, as "table.key  value".
function showFixed(fixed) {
  const word = (v) => v === null ? "(not set)" : Array.isArray(v) ? (v.map(word).join(", ") || "(none)")
    : typeof v === "object" ? JSON.stringify(v) : String(v);
  const rows = Object.entries(fixed || {}).flatMap(([table, keys]) =>
    Object.entries(keys).flatMap(([key, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = `${table}.${key}`;
      dd.textContent = word(v);
      return [dt, dd];
    }));
  $("fixed").replaceChildren(...rows);
  $("fixed-box").hidden = rows.length === 0;
}

// A window of the schedule as the frame writes it: "mon-fri 06:30-08:30", or "07:00-22:00"
// for every day.
const DAYS = [["", "Every day"], ["mon-fri", "Monday to Friday"], ["sat,sun", "Saturday and Sunday"],
              ["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
              ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];

function windowRow(text) {
  const [times, days] = text.includes(" ") ? text.split(" ").reverse() : [text, ""];
  // A time input cannot say 24:00; 00:00 as an end means the same: midnight.
  const [from, to] = times.split("-").map((t) => (t === "24:00" ? "00:00" : t));
  const li = document.createElement("li");
  const select = document.createElement("select");
  select.setAttribute("aria-label", "Days");
  const choices = DAYS.some(([value]) => value === days) ? DAYS : [...DAYS, [days, days]];
  select.append(...choices.map(([value, label]) => new Option(label, value)));
  select.value = days;
  const time = (value, label) => {
    const input = document.createElement("input");
    input.type = "time";
    input.required = true;
    input.value = value || "";
    input.setAttribute("aria-label", label);
    return input;
  };
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "✕";
  remove.setAttribute("aria-label", "Remove this time");
  remove.addEventListener("click", () => { li.remove(); showAlways(); });
  const hours = document.createElement("span");
  hours.append(time(from, "From"), " to ", time(to, "To"));
  li.append(select, remove, hours);
  // Unchanged, a window is sent back as the frame wrote it.
  li.dataset.text = text;
  li.dataset.as = windowText(li);
  return li;
}

function windowText(li) {
  const [select, from, to] = li.querySelectorAll("select, input");
  const times = `${from.value}-${to.value}`;
  return select.value ? `${select.value} ${times}` : times;
}

function schedule() {
  return [...$("windows").children].map((li) => {
    const text = windowText(li);
    return text === li.dataset.as ? li.dataset.text : text;
  });
}

function showAlways() {
  $("always").hidden = $("windows").children.length > 0;
}

$("window-add").addEventListener("click", () => {
  $("windows").append(windowRow("07:00-22:00"));
  showAlways();
});

async function loadSettings() {
  try {
    showSettings(await api("GET", "/api/settings"));
  } catch (e) {
    $("set-note").textContent = e.message;
  }
}

act($("set-save"), async () => {
  // Only what was changed here: the file keeps every other line as it was.
  const typed = { interval: $("set-interval").value.trim(), transition: $("set-transition").value.trim(),
                  captions: $("set-captions").checked, order: $("set-order").value, schedule: schedule() };
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const body = Object.fromEntries(Object.entries(typed).filter(([k, v]) => !same(v, state.settings[k])));
  if (Object.keys(body).length === 0) {
    $("set-note").className = "";
    $("set-note").textContent = "Nothing changed.";
    return;
  }
  showSettings(await api("PATCH", "/api/settings", body), "Saved ✓ The frame uses them now.");
}, (m) => {
  if (!m) return;
  $("set-note").className = "bad";
  $("set-note").textContent = m;
});

// ---- Paired browsers ----------------------------------------------------------------------

async function loadSessions() {
  let sessions;
  try {
    ({ sessions } = await api("GET", "/api/sessions"));
  } catch (e) {
    return;
  }
  $("sessions").replaceChildren(...sessions.map((s) => {
    const li = document.createElement("li");
    const words = document.createElement("span");
    words.textContent = `${s.this ? "This phone: " : ""}${s.label}, paired ` +
      `${new Date(s.paired_at).toLocaleDateString()}, last used ${new Date(s.last_used).toLocaleString()} `;
    const remove = document.createElement("button");
    remove.textContent = "Unpair";
    remove.dataset.session = s.id;
    act(remove, async () => {
      if (!confirm(`Unpair ${s.this ? "this phone" : s.label}? It will need a new code from the frame.`)) return;
      await api("DELETE", `/api/sessions/${s.id}`);
      if (s.this) needPairing(); else loadSessions();
    });
    li.append(words, remove);
    return li;
  }));
  if (sessions.length === 0) {
    const li = document.createElement("li");
    li.textContent = "None: this page is open on the frame itself, or with the frame's token.";
    $("sessions").append(li);
  }
}

// ---- Pairing -----------------------------------------------------------------------------

const pairNote = (m, bad) => {
  $("pair-note").textContent = m;
  $("pair-note").className = bad ? "bad" : "";
};

/** Shows the pairing view instead of the others, and asks the frame to show a code. */
function needPairing(code) {
  if (!state.paired && !$("pair").hidden) return;
  state.paired = false;
  if (state.events) state.events.close();
  state.events = null;
  document.querySelector("nav").hidden = true;
  for (const v of VIEWS) $(v).hidden = true;
  problem("");
  $("pair").hidden = false;
  if (code) return;
  askForCode();
}

async function askForCode() {
  try {
    const answer = await api("POST", "/api/pairing/code");
    pairNote(`The frame shows a code for ${Math.round(answer.seconds_left / 60)} minutes: type it above.`);
  } catch (e) {
    pairNote(e.message, true);
  }
}

async function pair(code) {
  pairNote("Pairing…");
  try {
    await api("POST", "/api/pairing", { code });
  } catch (e) {
    pairNote(e.message, true);
    return;
  }
  pairNote("");
  $("pair-code").value = "";
  start();
}

act($("pair-go"), () => pair($("pair-code").value));
$("pair-code").addEventListener("keydown", (e) => { if (e.key === "Enter") pair($("pair-code").value); });
act($("pair-ask"), askForCode);

// ---- Live --------------------------------------------------------------------------------

function follow() {
  if (!state.paired) return;
  const events = new EventSource("/api/events");
  state.events = events;
  const on = (name, handle) =>
    events.addEventListener(name, (e) => handle(JSON.parse(e.data)));
  on("shown", onShown);
  on("screen", onScreen);
  on("added", (d) => onAdded(d.photos));
  on("removed", (d) => onRemoved(d.ids));
  on("changed", (d) => onChanged(d.photos));
  on("missed", () => loadPhotos().catch((e) => problem(e.message)));
  on("discord", () => { if (!$("frame").hidden) loadStatus(); });
  events.onopen = () => {
    problem("");
    // Whatever happened while the stream was down.
    loadPhotos().catch((e) => problem(e.message));
  };
  events.onerror = () => {
    if (events.readyState === EventSource.CLOSED && state.events === events) {
      state.events = null;
      problem("Lost the frame: trying again…");
      // A refusal (unpaired meanwhile) shows the pairing view through `api`.
      setTimeout(() => api("GET", "/api/status").then(follow, () => setTimeout(follow, 5000)), 5000);
    }
  };
}

/** Opens the page: paired (or on the frame itself), the views; else the pairing view. */
async function start() {
  try {
    await api("GET", "/api/status");
  } catch (e) {
    if (e.status !== 401) problem(e.message);
    if (e.status === 401) return;
  }
  state.paired = true;
  showView();
  follow();
}

// A phone that scanned the frame's QR code opens the page with the code after `#pair=`: it
// is taken out of the address at once (it never reaches the frame's log: browsers do not
// send the part after `#`), then used.
function scannedCode() {
  const scanned = /^#pair=(\d{6})$/.exec(location.hash);
  if (!scanned) return false;
  history.replaceState(null, "", location.pathname + "#now");
  needPairing(scanned[1]);
  pair(scanned[1]);
  return true;
}

window.addEventListener("hashchange", () => scannedCode() || showView());
if (!scannedCode()) start();
