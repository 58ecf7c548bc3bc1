// Recordings archive (court staff): find a recording, play it beside its transcript, verify it, download it,
// hand it to a party with an expiring link, and read who accessed it.
// The player with its transcript (RecordingPlayer) is exported for the party's page, shared.js.

import { languageSwitcher, startLanguage } from "./i18n.js";
import { $, h, show, apiCall, ApiError, roleLabel } from "./common.js";

// -- the player and its transcript (also used by shared.js) ---------------------------------------------

// The transcript's wording, as recorder/transcript.py writes it into the captions.
const EVENT_TEXT = {
  opened: "Hearing opened",
  closed: "Hearing closed",
  recess: "Recess",
  resumed: "Hearing resumed",
  locked: "Hearing locked",
  unlocked: "Hearing unlocked",
  admitted: "{who} admitted",
  rejected: "{name} not admitted",
  joined: "{who} joined",
  observer_joined: "{who} joined as an observer",
  muted: "{name} muted by the court",
  unmuted: "{name} unmuted by the court",
  removed: "{name} removed by the court",
  disconnected: "{name} lost connection",
  reconnected: "{name} reconnected",
  left: "{name} left",
  recording_paused: "Recording paused",
  recording_resumed: "Recording resumed",
  camera_offline: "Courtroom camera “{name}” offline",
  camera_online: "Courtroom camera “{name}” back online",
  camera_shown: "Courtroom camera “{name}” put in the picture",
  camera_hidden: "Courtroom camera “{name}” taken out of the picture",
};

/** An event this page does not know yet: "some_event" → "Some event", with the person if there is one. */
function unknownEvent(entry) {
  const words = String(entry.event || entry.kind || "").replace(/_/g, " ");
  const text = words.charAt(0).toUpperCase() + words.slice(1);
  return entry.name ? `${text}: ${who(entry)}` : text;
}

export const NOTE_LABELS = {
  note: "Note", exhibit: "Exhibit", objection: "Objection", ruling: "Ruling", recess: "Recess",
};

/** Seconds into the recording as "04:05" or "1:02:03". */
export function formatOffset(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const ss = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "8 s", "12 min 05 s", "1 h 02 min". */
export function formatDuration(seconds) {
  const total = Math.round(Number(seconds) || 0);
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${String(total % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** An ISO time (as the recorder writes it, in UTC) or epoch seconds, as "2026-11-28 09:31:02 UTC". */
export function utcDateTime(value, withSeconds = true) {
  if (value === undefined || value === null || value === "") return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)} UTC`;
}

/** "09:31:02 UTC" of an ISO time or epoch seconds. */
export function utcClock(value) {
  const full = utcDateTime(value);
  return full ? full.slice(11) : "";
}

/** A local date and time for people ("28 Nov 2026, 10:31"). */
export function localDateTime(value) {
  if (!value) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function who(entry) {
  return entry.role ? `${entry.name} (${roleLabel(entry.role)})` : entry.name || "";
}

/** One transcript entry as {tag, text, meta} for display. */
function describe(entry) {
  const at = entry.at ? utcClock(entry.at) : "";
  if (entry.kind === "note") {
    const kind = entry.note_kind || "note";
    return {
      tag: h("span", { class: `t-tag t-tag-${kind}` }, NOTE_LABELS[kind] || kind),
      text: entry.text || "",
      meta: [at, entry.author].filter(Boolean).join(" · "),
    };
  }
  if (entry.kind === "speech") {
    const span = entry.end ? `speaking ${formatOffset(entry.offset)}–${formatOffset(entry.end)}` : "speaking";
    return {
      tag: null,
      text: [h("strong", {}, entry.name || "Someone"), entry.role ? ` (${roleLabel(entry.role)})` : ""],
      meta: [span, at].filter(Boolean).join(" · "),
    };
  }
  const template = EVENT_TEXT[entry.event];
  const text = template ? template.replace("{who}", who(entry)).replace("{name}", entry.name || "")
    : unknownEvent(entry);
  const reason = entry.details && entry.details.reason ? ` — ${entry.details.reason}` : "";
  return { tag: null, text: text + reason, meta: at };
}

/**
 * A <video> playing a recording beside its transcript. The transcript follows playback (the current line is
 * highlighted and scrolled into view); choosing a line seeks the video to its offset. The media link is asked
 * for only when someone plays (playing is audited), and asked for again if it expires during a long session.
 *
 * options: video, list (the <ol>), scroller (the list's scrolling box), count, overlay (the start cover),
 * clock, error (a <p> for problems), getLink() → {url, captions_url, expires_at}, onLink() after each link.
 */
export class RecordingPlayer {
  constructor(options) {
    Object.assign(this, options);
    this.entries = [];
    this.lines = [];
    this.current = -1;
    this.pinned = -1;
    this.link = null;
    this.linkAt = 0;
    this.loading = null;
    this.lastTime = 0;
    this.manualUntil = 0;
    const video = this.video;
    video.addEventListener("timeupdate", () => this.follow());
    video.addEventListener("seeked", () => this.follow());
    video.addEventListener("loadedmetadata", () => this.follow());
    video.addEventListener("error", () => this.onError());
    video.addEventListener("play", () => show(this.overlay, false));
    this.list.addEventListener("click", (event) => {
      const line = event.target.closest(".t-line");
      if (line && this.list.contains(line)) this.seek(Number(line.dataset.offset), Number(line.dataset.index));
    });
    // Someone scrolling the transcript by hand is reading: do not pull it back for a few seconds.
    for (const type of ["wheel", "touchmove", "keydown"]) {
      this.scroller.addEventListener(type, () => { this.manualUntil = Date.now() + 5000; }, { passive: true });
    }
  }

  setEntries(entries, emptyText = "Nothing was noted in this hearing's transcript.") {
    this.entries = [...(entries || [])]
      .filter((e) => e && typeof e.offset === "number")
      .sort((a, b) => a.offset - b.offset);
    this.current = -1;
    this.pinned = -1;
    this.list.replaceChildren();
    this.lines = this.entries.map((entry, index) => {
      const { tag, text, meta } = describe(entry);
      const kind = entry.kind || "event";
      const dataset = { offset: String(entry.offset), index: String(index), kind };
      if (kind === "note") dataset.noteKind = entry.note_kind || "note";
      if (entry.event) dataset.event = entry.event;
      const line = h("li", { class: `t-line t-${kind}${kind === "note" ? ` t-note-${dataset.noteKind}` : ""}`, dataset },
      h("button", { type: "button", title: `Play from ${formatOffset(entry.offset)}` },
        h("span", { class: "t-time" }, formatOffset(entry.offset)),
        h("span", { class: "t-body" },
          h("span", { class: "t-text" }, tag, text),
          meta ? h("span", { class: "t-meta" }, meta) : null)));
      return line;
    });
    if (this.lines.length) this.list.append(...this.lines);
    else this.list.append(h("li", { class: "t-empty" }, emptyText));
    if (this.count) this.count.textContent = String(this.lines.length);
    this.follow();
  }

  /** Show that the transcript could not be had. */
  transcriptProblem(text) {
    this.entries = [];
    this.lines = [];
    this.list.replaceChildren(h("li", { class: "t-empty" }, text));
    if (this.count) this.count.textContent = "0";
  }

  get started() {
    return !!this.link;
  }

  /** Fetch a media link and play, from `at` seconds if given. */
  async start(at = null, play = true) {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      const link = await this.getLink();
      this.link = link;
      this.linkAt = Date.now();
      show(this.error, false);
      const video = this.video;
      if (link.captions_url && !video.querySelector("track")) {
        video.append(h("track", { kind: "captions", src: link.captions_url, srclang: "en", label: "Transcript" }));
      }
      video.preload = "auto";
      video.src = link.url;
      if (at !== null) await this.seekWhenReady(at);
      show(this.overlay, false);
      if (play) await this.play();
      if (this.onLink) this.onLink(link);
    })();
    try {
      await this.loading;
    } catch (error) {
      this.link = null;
      this.problem(error instanceof ApiError ? error.message : "The recording could not be loaded.");
      throw error;
    } finally {
      this.loading = null;
    }
    return undefined;
  }

  async play() {
    const video = this.video;
    try {
      await video.play();
    } catch (error) {
      if (error && error.name === "AbortError") return;
      if (error && error.name === "NotAllowedError") {
        // The browser wants a gesture for sound: play muted; the player's own button turns sound on.
        video.muted = true;
        try { await video.play(); } catch { /* the person presses play */ }
      }
    }
  }

  seekWhenReady(at) {
    const video = this.video;
    if (video.readyState >= 1) {
      video.currentTime = at;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        video.removeEventListener("loadedmetadata", done);
        video.currentTime = at;
        resolve();
      };
      video.addEventListener("loadedmetadata", done);
      video.load();
    });
  }

  /** Jump to `offset` seconds (a transcript line was chosen). Starts the recording if it is not loaded. */
  async seek(offset, index = -1) {
    if (!Number.isFinite(offset)) return;
    this.pinned = index;
    this.manualUntil = 0;
    if (!this.started) {
      try {
        await this.start(offset);
      } catch { /* reported */ }
      return;
    }
    await this.seekWhenReady(offset);
    this.follow(offset);
  }

  indexAt(time) {
    let found = -1;
    for (let i = 0; i < this.entries.length; i += 1) {
      if (this.entries[i].offset <= time + 0.05) found = i;
      else break;
    }
    // Several lines at one instant: keep the one that was chosen.
    if (found >= 0 && this.pinned >= 0 && this.entries[this.pinned]
        && this.entries[this.pinned].offset === this.entries[found].offset) return this.pinned;
    return found;
  }

  follow(time = this.video.currentTime) {
    if (this.started) this.lastTime = time;
    if (this.clock) {
      const duration = Number.isFinite(this.video.duration) ? this.video.duration : this.knownDuration || 0;
      this.clock.textContent = duration ? `${formatOffset(time)} / ${formatOffset(duration)}` : "";
    }
    const index = this.started ? this.indexAt(time) : -1;
    if (index === this.current) return;
    const old = this.lines[this.current];
    if (old) {
      old.classList.remove("current");
      old.removeAttribute("aria-current");
    }
    this.current = index;
    const line = this.lines[index];
    if (!line) return;
    line.classList.add("current");
    line.setAttribute("aria-current", "true");
    if (Date.now() >= this.manualUntil) this.scrollTo(line);
  }

  scrollTo(line) {
    const box = this.scroller;
    const top = line.offsetTop;
    const bottom = top + line.offsetHeight;
    if (top < box.scrollTop + 8 || bottom > box.scrollTop + box.clientHeight - 8) {
      box.scrollTo({ top: Math.max(0, top - box.clientHeight / 3), behavior: "smooth" });
    }
  }

  async onError() {
    if (!this.link || this.loading) return;
    const video = this.video;
    // Media links last a few minutes: a long session outlives one. Ask for a fresh one and go on from here.
    if (Date.now() - this.linkAt > 30000) {
      const playing = !video.paused;
      try {
        await this.start(this.lastTime, playing);
      } catch { /* reported */ }
      return;
    }
    const code = video.error ? video.error.code : 0;
    this.problem(code === 4
      ? "This browser cannot play the recording. Download it and play it with a media player."
      : "The recording could not be loaded. Check the connection and try again.");
  }

  problem(text) {
    if (!this.error) return;
    this.error.textContent = text;
    show(this.error, true);
  }

  reset() {
    const video = this.video;
    video.pause();
    video.removeAttribute("src");
    video.querySelectorAll("track").forEach((t) => t.remove());
    video.preload = "none";
    video.load();
    this.link = null;
    this.lastTime = 0;
    this.knownDuration = 0;
    show(this.overlay, true);
    show(this.error, false);
    this.setEntries([], "Loading the transcript…");
    if (this.clock) this.clock.textContent = "";
  }
}

// -- the archive page ---------------------------------------------------------------------------------

const TOKEN_KEY = "court.staff.token"; // the judge console's: one sign-in for both pages
const USER_KEY = "court.staff.user";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  user: readJson(sessionStorage.getItem(USER_KEY)),
  results: null,
  search: null, // {params, cursor, previous: [cursors], next, total, capped, filtered, text}
  pendingSeek: null, // {id, offset, text}: play the recording from there once it is open
  fromResults: false,
  recording: null,
  player: null,
  shares: [],
  sharesProblem: "",
};

function readJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function can(permission) {
  return ((state.user && state.user.permissions) || []).includes(permission);
}

let statusTimer = null;

function notify(text, kind = "info") {
  const line = $("#status");
  $("#status-text").textContent = text;
  line.className = `statusline statusline-${kind}`;
  line.setAttribute("role", kind === "error" ? "alert" : "status");
  show(line, true);
  clearTimeout(statusTimer);
  if (kind !== "error") statusTimer = setTimeout(() => show(line, false), 6000);
}

function reportError(error, what) {
  if (error instanceof ApiError && error.status === 401 && error.code !== "invalid_credentials") {
    signOut("Your session has expired. Please sign in again.");
    return;
  }
  const code = error && error.code ? ` (${error.code})` : "";
  notify(`${what}: ${error && error.message ? error.message : error}${code}`, "error");
}

function api(method, path, body) {
  return apiCall(method, path, { body, token: state.token });
}

function recordingPath(suffix = "") {
  return `/api/recordings/${encodeURIComponent(state.recording.hearing_id)}${suffix}`;
}

// -- sign in ------------------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const button = $("#login-submit");
  button.disabled = true;
  try {
    const result = await apiCall("POST", "/api/login", {
      body: { username: $("#login-username").value.trim(), password: $("#login-password").value },
    });
    state.token = result.token;
    state.user = { ...result.user, permissions: result.permissions };
    sessionStorage.setItem(TOKEN_KEY, state.token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(state.user));
    $("#login-password").value = "";
    show($("#status"), false);
    enterArchive();
  } catch (error) {
    reportError(error, "Sign-in failed");
  } finally {
    button.disabled = false;
  }
}

function signOut(message, tellServer = false) {
  if (tellServer && state.token) apiCall("POST", "/api/logout", { token: state.token }).catch(() => {});
  state.player?.reset();
  state.token = "";
  state.user = null;
  state.results = null;
  state.search = null;
  state.pendingSeek = null;
  state.recording = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  for (const id of ["#search-view", "#recording-view", "#user-box", "#no-access"]) show($(id), false);
  $("#results").replaceChildren();
  show($("#login-view"), true);
  if (message) notify(message, "error");
  $("#login-username").focus();
}

function enterArchive() {
  show($("#login-view"), false);
  show($("#user-box"), true);
  $("#user-name").textContent = state.user ? `${state.user.display_name} · ${roleLabel(state.user.role)}` : "";
  if (!can("view_recordings")) {
    show($("#no-access"), true);
    return;
  }
  route();
}

// -- search -------------------------------------------------------------------------------------------

function route() {
  if (!state.token || !can("view_recordings")) return;
  const id = new URLSearchParams(location.hash.replace(/^#/, "")).get("recording");
  if (id) {
    if (!state.recording || state.recording.hearing_id !== id) loadRecording(id);
    else {
      showView("recording");
      seekPending();
    }
    return;
  }
  state.player?.reset();
  state.recording = null;
  document.title = "Recordings archive · Remote hearings";
  showView("search");
  if (state.results === null) search();
}

function showView(name) {
  show($("#search-view"), name === "search");
  show($("#recording-view"), name === "recording");
}

// The results are paged by the server (newest first, PAGE_SIZE a page); a page's next_cursor leads to the
// next, and the cursors of the pages before are kept on a stack for "Previous page". Only one page is ever in
// the page, however many recordings match.
const PAGE_SIZE = 50;
const TOTAL_CAP = 10000;
let searchAsked = 0; // only the newest answer is shown: a slow page must not overwrite a later search

/** The form's filters as query parameters (no cursor, no limit). */
function searchParams() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("#search-form")).entries()) {
    const text = String(value).trim();
    if (!text) continue;
    if (key === "match" && (text === "contains" || !params.get("case_number"))) continue; // the default
    params.set(key, text);
  }
  return params;
}

/** A new search from the form: its first page. */
function search(event) {
  if (event) event.preventDefault();
  const params = searchParams();
  return loadPage({ params, cursor: "", previous: [], filtered: params.toString() !== "" });
}

function nextPage() {
  const paging = state.search;
  if (!paging || !paging.next) return;
  loadPage({ ...paging, cursor: paging.next, previous: [...paging.previous, paging.cursor] }, true);
}

function previousPage() {
  const paging = state.search;
  if (!paging || !paging.previous.length) return;
  const previous = paging.previous.slice(0, -1);
  loadPage({ ...paging, cursor: paging.previous[paging.previous.length - 1], previous }, true);
}

/** Fetch one page; `wanted` becomes the search shown only when its page arrives (a failed page leaves the
 * one shown, with its buttons). */
async function loadPage(wanted, paged = false) {
  const params = new URLSearchParams(wanted.params);
  params.set("limit", String(PAGE_SIZE));
  if (wanted.cursor) params.set("cursor", wanted.cursor);
  const asked = ++searchAsked;
  for (const b of [$("#search-submit"), $("#next-page"), $("#prev-page")]) b.disabled = true;
  $("#results-table").setAttribute("aria-busy", "true");
  try {
    const data = await api("GET", `/api/recordings?${params}`);
    if (asked !== searchAsked) return;
    state.search = {
      ...wanted, next: data.next_cursor || null, total: Number(data.total) || 0, capped: !!data.total_capped,
      text: wanted.params.get("text") || "",
    };
    state.results = data.recordings || [];
    renderResults(state.results);
    if (paged) $("#results-count").scrollIntoView({ block: "nearest" });
  } catch (error) {
    if (asked !== searchAsked) return;
    reportError(error, "The search failed");
  } finally {
    if (asked === searchAsked) {
      $("#search-submit").disabled = false;
      $("#results-table").removeAttribute("aria-busy");
      renderPager();
    }
  }
}

function countText(paging) {
  if (paging.capped) return `More than ${TOTAL_CAP.toLocaleString("en")} recordings`;
  const n = paging.total;
  return `${n.toLocaleString("en")} recording${n === 1 ? "" : "s"}`;
}

function renderPager() {
  const paging = state.search;
  if (!paging) return;
  const page = paging.previous.length + 1;
  const many = paging.previous.length > 0 || !!paging.next;
  show($("#pager"), many);
  $("#prev-page").disabled = !paging.previous.length;
  $("#next-page").disabled = !paging.next;
  $("#pager-where").textContent = many ? `Page ${page.toLocaleString("en")}` : "";
}

function renderResults(recordings) {
  const paging = state.search;
  const body = $("#results");
  const rows = [];
  for (const rec of recordings) {
    const open = () => openRecording(rec.hearing_id);
    const hits = Array.isArray(rec.hits) ? rec.hits : [];
    const deleted = rec.status === "deleted" || !!rec.deleted_at;
    rows.push(h("tr", {
      class: `result${hits.length ? " has-hits" : ""}${deleted ? " result-deleted" : ""}`,
      dataset: { hearingId: rec.hearing_id, status: rec.status || "" }, onclick: open,
    },
    h("td", { "data-label": "Case" }, h("span", { class: "case-number" }, rec.case_number)),
    h("td", { "data-label": "Title", class: "r-title" }, h("strong", {}, rec.title)),
    h("td", { "data-label": "Court" }, [rec.court, rec.courtroom].filter(Boolean).join(" · ")),
    h("td", { "data-label": "Judge" }, rec.judge_name || rec.judge),
    h("td", { "data-label": "Opened", title: utcDateTime(rec.opened_at) }, localDateTime(rec.opened_at)),
    h("td", { "data-label": "Duration", class: "num" }, formatDuration(rec.duration)),
    h("td", { "data-label": "Record", class: "r-record" }, statusBadge(rec), deleted ? null : integrityBadge(rec.integrity)),
    h("td", { "data-label": "Kept", class: "r-kept" }, keptCell(rec)),
    h("td", { class: "num r-open" }, h("button", {
      type: "button", class: "btn btn-secondary btn-small", "aria-label": `Open the recording of ${rec.case_number}`,
      onclick: (e) => { e.stopPropagation(); open(); },
    }, "Open"))));
    if (hits.length) rows.push(hitsRow(rec, hits, paging.text));
  }
  body.replaceChildren(...rows);
  const note = $("#results-note");
  const count = $("#results-count");
  if (!recordings.length && !paging.previous.length) {
    count.textContent = "No recordings";
    note.textContent = paging.filtered ? "No recording matches this search." : "The archive has no recordings yet.";
    show(note, true);
  } else {
    count.textContent = countText(paging);
    const first = paging.previous.length * PAGE_SIZE + 1;
    const last = first + recordings.length - 1;
    note.textContent = recordings.length
      ? `Showing ${first.toLocaleString("en")}–${last.toLocaleString("en")}, newest first.`
      : "No more recordings.";
    show(note, true);
  }
  count.dataset.total = String(paging.total);
  count.dataset.capped = String(paging.capped);
}

/** "0:00:06": a hit's place in the recording. */
export function formatHms(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const ss = String(total % 60).padStart(2, "0");
  return `${Math.floor(total / 3600)}:${mm}:${ss}`;
}

const HIT_LABELS = { ...NOTE_LABELS, event: "Court event" };

/** The words of `text` that the search words begin, marked (text nodes only: nothing is parsed as HTML). */
function marked(text, words) {
  const tokens = String(words || "").split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}]/gu, ""))
    .filter((w) => w.length >= 2);
  if (!tokens.length) return [text];
  const escaped = tokens.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  let pattern;
  try {
    pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})[\\p{L}\\p{N}]*`, "giu");
  } catch {
    return [text];
  }
  const parts = [];
  let at = 0;
  for (const match of String(text).matchAll(pattern)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push(h("mark", {}, match[0]));
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

function hitsRow(rec, hits, words) {
  const deleted = rec.status === "deleted" || !!rec.deleted_at;
  return h("tr", { class: "hits-row", dataset: { hearingId: rec.hearing_id } },
    h("td", { colspan: "9" },
      h("ul", { class: "hits", "aria-label": `Where the words occur in ${rec.case_number}` },
        hits.map((hit) => {
          const kind = hit.kind || "event";
          const body = [
            h("span", { class: "hit-time" }, formatHms(hit.offset)),
            h("span", { class: `t-tag t-tag-${kind} hit-kind` }, HIT_LABELS[kind] || kind),
            h("span", { class: "hit-text" }, marked(String(hit.text || ""), words)),
          ];
          return h("li", { class: "hit", dataset: { offset: String(hit.offset), kind } }, deleted ? body
            : h("button", {
              type: "button", class: "hit-button", title: `Open the recording and play from ${formatHms(hit.offset)}`,
              onclick: (e) => { e.stopPropagation(); openRecording(rec.hearing_id, Number(hit.offset), hit.text); },
            }, body));
        }))));
}

function statusBadge(rec) {
  if (rec.status === "deleted" || rec.deleted_at) {
    return h("span", { class: "badge badge-deleted", title: rec.deleted_at ? `Deleted ${utcDateTime(rec.deleted_at)}` : undefined },
      "Deleted");
  }
  const interrupted = rec.status === "interrupted";
  const gaps = Array.isArray(rec.gaps) ? rec.gaps.length : rec.gaps || 0;
  return h("span", { class: `badge badge-${interrupted ? "interrupted" : "final"}`,
    title: gaps ? `${gaps} gap${gaps === 1 ? "" : "s"} in the recording` : undefined },
  interrupted ? "Interrupted" : "Complete", gaps ? ` · ${gaps} gap${gaps === 1 ? "" : "s"}` : "");
}

const INTEGRITY_SHORT = { unchecked: "Unverified", verified: "Verified", failed: "Verify failed" };

function integrityBadge(integrity) {
  const status = (integrity && typeof integrity === "object" ? integrity.status : integrity) || "unchecked";
  return h("span", { class: `badge badge-${status} badge-integrity`, dataset: { integrity: status },
    title: INTEGRITY_TEXT[status] || status }, INTEGRITY_SHORT[status] || status);
}

/** "2036-12-02" of an ISO time (UTC). */
function utcDay(value) {
  return utcDateTime(value).slice(0, 10);
}

/** How long the recording is kept: until a day, for ever, on hold, or deleted. */
function keptText(rec) {
  if (rec.status === "deleted" || rec.deleted_at) return rec.deleted_at ? `deleted ${utcDay(rec.deleted_at)}` : "deleted";
  return rec.retain_until ? `kept until ${utcDay(rec.retain_until)}` : "kept for ever";
}

function keptCell(rec) {
  return [
    rec.legal_hold ? h("span", { class: "badge badge-hold", title: "On legal hold: not deleted while the hold is on" },
      "Legal hold") : null,
    h("span", { class: `kept${rec.legal_hold && rec.retain_until ? " kept-suspended" : ""}`,
      title: rec.retain_until ? `Retention period ends ${utcDateTime(rec.retain_until)}` : undefined }, keptText(rec)),
  ];
}

/** Open a recording; with `offset`, play it from there once it is loaded (a search hit was chosen). */
function openRecording(id, offset = null, text = "") {
  const hash = `#recording=${encodeURIComponent(id)}`;
  state.fromResults = true;
  state.pendingSeek = Number.isFinite(offset) ? { id, offset, text } : null;
  if (location.hash === hash) route();
  else location.hash = hash; // hashchange → route(); the browser's Back returns to the results
}

function backToResults() {
  // From the results: step back in history (so Forward works too); from a direct link: to the search.
  if (state.fromResults) history.back();
  else location.hash = "";
  state.fromResults = false;
}

// -- one recording ------------------------------------------------------------------------------------

let recordingAsked = 0; // only the recording asked for last is shown

function isDeleted(rec) {
  return !!rec && (rec.status === "deleted" || !!rec.deleted_at);
}

async function loadRecording(id) {
  const asked = ++recordingAsked;
  state.player.reset();
  state.recording = null;
  state.shares = [];
  state.sharesProblem = "";
  $("#shares-list").replaceChildren();
  $("#shares-count").textContent = "0";
  show($("#share-result"), false);
  $("#verify-checks").replaceChildren();
  show($("#verify-checks"), false);
  $("#audit-rows").replaceChildren();
  show($("#audit-older"), false);
  $("#audit-shown").textContent = "";
  closeHoldForm();
  showView("recording");
  $("#rec-case").textContent = "";
  $("#rec-title").textContent = "Loading…";
  $("#rec-meta").textContent = "";
  const path = `/api/recordings/${encodeURIComponent(id)}`;
  let detail;
  try {
    detail = await api("GET", path);
  } catch (error) {
    if (asked !== recordingAsked) return;
    reportError(error, error.status === 404 ? "No such recording" : "The recording could not be opened");
    if (state.token) location.hash = "";
    return;
  }
  if (asked !== recordingAsked) return;
  state.recording = detail;
  renderRecording(detail);
  if (isDeleted(detail)) {
    // A tombstone: the media and the transcript are gone (their links answer 404); what is left is shown.
    state.pendingSeek = null;
    if (can("view_audit")) loadAudit();
    return;
  }
  if (can("share_recordings")) loadShares();
  try {
    const transcript = await api("GET", `${path}/transcript`);
    if (state.recording !== detail) return;
    state.player.setEntries(transcript.entries || []);
  } catch (error) {
    if (error.status === 401) reportError(error, "");
    else state.player.transcriptProblem(`The transcript cannot be loaded right now (${error.message}).`);
  }
  if (state.recording !== detail) return;
  seekPending();
  if (can("view_audit")) loadAudit();
}

/** A search hit was chosen: play the open recording from its place, with its line in the transcript marked. */
function seekPending() {
  const pending = state.pendingSeek;
  if (!pending || !state.recording || state.recording.hearing_id !== pending.id || isDeleted(state.recording)) return;
  state.pendingSeek = null;
  const entries = state.player.entries;
  let index = entries.findIndex((e) => e.offset === pending.offset && (e.text === pending.text || !pending.text));
  if (index < 0) index = entries.findIndex((e) => e.offset === pending.offset);
  const line = state.player.lines[index];
  if (line) line.scrollIntoView({ block: "nearest" });
  state.player.seek(pending.offset, index);
}

function renderRecording(rec) {
  const deleted = isDeleted(rec);
  document.title = `${rec.case_number} · Recordings archive`;
  $("#rec-case").textContent = rec.case_number;
  $("#rec-title").textContent = rec.title;
  $("#rec-meta").textContent = [rec.court, rec.courtroom, rec.judge_name || rec.judge, localDateTime(rec.opened_at)]
    .filter(Boolean).join(" · ");
  $("#rec-status").replaceWith(Object.assign(statusBadge(rec), { id: "rec-status" }));
  state.player.knownDuration = rec.duration;

  // A tombstone has no player, transcript, download, verification or sharing: only what the catalog kept.
  show($("#tombstone"), deleted);
  show($("#rec-layout"), !deleted);
  show($("#integrity-badge"), !deleted);
  if (deleted) {
    $("#tombstone-title").textContent = tombstoneTitle(rec);
    $("#tombstone-detail").textContent = "Its media and transcript were removed from the store; the catalog keeps "
      + "what it was, who had it and its signed manifest's hash.";
  }

  const facts = [
    ["Opened", utcDateTime(rec.opened_at)],
    ["Closed", utcDateTime(rec.closed_at)],
    ["Duration", formatDuration(rec.duration)],
    ["Record", deleted ? "Deleted" : rec.status === "interrupted"
      ? "Interrupted: the server stopped during the hearing" : "Complete"],
    ["Segments", String(rec.segments)],
  ];
  if (rec.case_category) facts.push(["Category", rec.case_category]);
  if (rec.size_bytes) facts.push(["Size", formatBytes(rec.size_bytes)]);
  const gaps = Array.isArray(rec.gaps) ? rec.gaps : [];
  const pauses = rec.pauses || [];
  const dl = $("#rec-facts");
  dl.replaceChildren();
  for (const [term, value] of facts) dl.append(h("dt", {}, term), h("dd", {}, value));
  dl.append(h("dt", {}, "Gaps"), h("dd", { id: "rec-gaps" }, gaps.length ? gaps.map((g) => h("div", {},
    `${formatOffset(g.start)}–${g.end === null || g.end === undefined ? "end" : formatOffset(g.end)}: ${g.reason}`))
    : "None"));
  dl.append(h("dt", {}, "Paused"), h("dd", { id: "rec-pauses" }, pauses.length ? pauses.map((p) => h("div", {},
    `${formatOffset(p.start)}–${p.end === null || p.end === undefined ? "end" : formatOffset(p.end)}`
    + (p.reason ? ` (${p.reason})` : ""))) : "Never"));
  if (rec.signature && rec.signature.algorithm) {
    dl.append(h("dt", {}, "Signed"), h("dd", {}, `${rec.signature.algorithm}, key ${rec.signature.key_id || "?"}`));
  }
  if (rec.manifest_sha256) {
    dl.append(h("dt", {}, "Manifest"), h("dd", { class: "hash", title: "SHA-256 of the signed manifest" },
      rec.manifest_sha256));
  }

  // Admitted is not present: from when their media connected; never, if it did not (older records: admitted).
  const presence = (p) => {
    if (p.present === false) {
      return h("span", { class: "flag flag-warn small", title: p.media_error || "" },
        p.media_error ? "admitted, not present (media failed)" : "admitted, not present (no media)");
    }
    const from = p.present ? p.present_offset : p.first_offset;
    return from !== undefined ? h("span", { class: "muted small" }, `from ${formatOffset(from)}`) : null;
  };
  const people = rec.participants || [];
  $("#people-count").textContent = String(people.length);
  show($("#people-empty"), !people.length);
  $("#rec-participants").replaceChildren(...people.map((p) => h("li", { dataset: { pid: p.id || "" } },
    h("span", { class: "person-name" }, p.name), h("span", { class: "role-tag" }, roleLabel(p.role)),
    presence(p))));

  renderIntegrity(rec.integrity || { status: "unchecked" });
  $("#integrity-title").closest("section").hidden = deleted;
  renderHold(rec);
  show($("#share-panel"), can("share_recordings") && !deleted);
  show($("#audit-panel"), can("view_audit"));
}

function tombstoneTitle(rec) {
  const when = rec.deleted_at ? utcDateTime(rec.deleted_at, false) : "";
  const reason = String(rec.deleted_reason || "");
  if (/^retention/i.test(reason)) return `Deleted by retention${when ? ` on ${when}` : ""} (${reason})`;
  return `Deleted${when ? ` on ${when}` : ""}${reason ? ` (${reason})` : ""}`;
}

/** "1.4 GB", "230 MB", "12 kB". */
function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  const units = ["bytes", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit ? `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}` : `${n} bytes`;
}

// -- retention and legal hold -------------------------------------------------------------------------

function renderHold(rec) {
  const deleted = isDeleted(rec);
  const held = !!rec.legal_hold;
  show($("#hold-badge"), held && !deleted);
  const hold = rec.hold || {};
  const badge = $("#hold-badge");
  badge.title = held ? `On legal hold${hold.reason ? `: ${hold.reason}` : ""}` : "";

  let retention;
  if (deleted) retention = tombstoneTitle(rec);
  else if (rec.retain_until) {
    retention = held ? `Retention period ends ${utcDay(rec.retain_until)}; the hold keeps it past that.`
      : `Kept until ${utcDay(rec.retain_until)}, then deleted by the retention period.`;
  } else retention = "Kept for ever (no retention period applies).";
  const line = $("#retention-line");
  line.textContent = retention;
  line.dataset.retainUntil = rec.retain_until || "";

  const holdLine = $("#hold-line");
  holdLine.dataset.held = String(held);
  if (held) {
    const by = [hold.by ? `by ${hold.by}` : "", hold.at ? `on ${utcDateTime(hold.at, false)}` : ""].filter(Boolean).join(" ");
    holdLine.replaceChildren(h("span", { class: "badge badge-hold" }, "Legal hold"), " ",
      `Placed${by ? ` ${by}` : ""}. `, hold.reason ? h("span", { class: "hold-reason" }, `Reason: ${hold.reason}`) : null);
  } else {
    holdLine.textContent = deleted ? "" : "No legal hold.";
  }
  show(holdLine, !deleted);

  const mayHold = can("hold_recordings") && !deleted;
  show($("#hold-actions"), mayHold);
  show($("#hold-place"), mayHold && !held);
  show($("#hold-lift"), mayHold && held);
  if (!mayHold || held) closeHoldForm();
}

function openHoldForm() {
  show($("#hold-form"), true);
  show($("#hold-place"), false);
  $("#hold-reason").focus();
}

function closeHoldForm() {
  const form = $("#hold-form");
  form.reset();
  show(form, false);
  if (state.recording && can("hold_recordings") && !isDeleted(state.recording) && !state.recording.legal_hold) {
    show($("#hold-place"), true);
  }
}

async function placeHold(event) {
  event.preventDefault();
  const reason = $("#hold-reason").value.trim();
  if (!reason) {
    $("#hold-reason").focus();
    return;
  }
  const submit = $("#hold-submit");
  submit.disabled = true;
  const id = state.recording.hearing_id;
  try {
    const detail = await api("POST", recordingPath("/hold"), { reason });
    if (!state.recording || state.recording.hearing_id !== id) return;
    updateRecording(detail);
    closeHoldForm();
    notify("Legal hold placed: the recording is not deleted until the hold is lifted.", "success");
    refreshAudit();
  } catch (error) {
    reportError(error, "Could not place the legal hold");
  } finally {
    submit.disabled = false;
  }
}

async function liftHold(event) {
  const button = event.currentTarget;
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    button.textContent = "Confirm lift hold";
    button.classList.add("armed");
    setTimeout(() => {
      if (!button.dataset.armed) return;
      delete button.dataset.armed;
      button.textContent = "Lift hold";
      button.classList.remove("armed");
    }, 5000);
    return;
  }
  delete button.dataset.armed;
  button.textContent = "Lift hold";
  button.classList.remove("armed");
  button.disabled = true;
  const id = state.recording.hearing_id;
  try {
    const detail = await api("DELETE", recordingPath("/hold"));
    if (!state.recording || state.recording.hearing_id !== id) return;
    updateRecording(detail);
    notify(detail.retain_until ? `Legal hold lifted: the recording is kept until ${utcDay(detail.retain_until)}.`
      : "Legal hold lifted.", "success");
    refreshAudit();
  } catch (error) {
    reportError(error, "Could not lift the legal hold");
  } finally {
    button.disabled = false;
  }
}

/** A fresh detail of the open recording (after a hold): its badges, hold panel and the results row. */
function updateRecording(detail) {
  state.recording = { ...state.recording, ...detail };
  renderHold(state.recording);
  const row = (state.results || []).find((r) => r.hearing_id === detail.hearing_id);
  if (row) {
    Object.assign(row, { legal_hold: detail.legal_hold, retain_until: detail.retain_until });
    const cell = document.querySelector(`#results tr.result[data-hearing-id="${CSS.escape(detail.hearing_id)}"] .r-kept`);
    if (cell) cell.replaceChildren(...keptCell(row).filter(Boolean));
  }
}

const INTEGRITY_TEXT = {
  unchecked: "Not yet verified", verified: "Verified", failed: "Verification failed",
};

function renderIntegrity(integrity) {
  const status = integrity.status || "unchecked";
  const badge = $("#integrity-badge");
  badge.className = `badge badge-${status}`;
  badge.dataset.status = status;
  badge.textContent = INTEGRITY_TEXT[status] || status;
  const line = $("#integrity-status");
  line.dataset.status = status;
  line.replaceChildren(h("span", { class: `badge badge-${status}` }, INTEGRITY_TEXT[status] || status));
  const detail = $("#integrity-detail");
  if (status === "unchecked") {
    detail.textContent = "Verify checks every segment's hash, the hash chain and the court's signature.";
  } else {
    const when = integrity.checked_at ? `Checked ${utcDateTime(integrity.checked_at)}` : "Checked";
    const checks = Array.isArray(integrity.checks) ? integrity.checks.length : integrity.checks; // reply or summary
    const count = checks ? `: ${checks} checks` : "";
    const failures = (integrity.failures || []).length;
    detail.textContent = `${when}${count}${failures ? `, ${failures} failed.` : ", all passed."}`;
  }
}

async function verify() {
  const button = $("#verify-button");
  button.disabled = true;
  button.textContent = "Verifying…";
  try {
    const result = await api("POST", recordingPath("/verify"));
    renderIntegrity(result);
    const list = $("#verify-checks");
    const checks = result.checks || [];
    // Failures first: they are what the clerk needs to read.
    checks.sort((a, b) => Number(a.ok) - Number(b.ok));
    list.replaceChildren(...checks.map((c) => h("li", { class: c.ok ? "check-ok" : "check-fail" },
      h("span", { class: "mark", "aria-label": c.ok ? "passed" : "failed" }, c.ok ? "✓" : "✗"),
      h("span", {}, c.what, c.detail ? h("span", { class: "check-detail" }, c.detail) : null))));
    show(list, checks.length > 0);
    notify(result.status === "verified" ? "The recording is intact: every check passed."
      : "Verification failed: the recording is not as it was signed.", result.status === "verified" ? "success" : "error");
    refreshAudit();
  } catch (error) {
    reportError(error, "Could not verify the recording");
  } finally {
    button.disabled = false;
    button.textContent = "Verify";
  }
}

/** The MP4 ("download") or the whole verifiable record as one zip ("package"). */
async function download(purpose = "download") {
  const button = $(purpose === "package" ? "#package-button" : "#download-button");
  button.disabled = true;
  try {
    const link = await api("POST", recordingPath("/links"), { purpose });
    location.href = link.url; // served as an attachment: the page stays
    refreshAudit();
  } catch (error) {
    reportError(error, purpose === "package" ? "Could not download the evidence package"
      : "Could not download the recording");
  } finally {
    setTimeout(() => { button.disabled = false; }, 1500);
  }
}

// -- shares -------------------------------------------------------------------------------------------

// The register of links handed out for the open recording comes from the server (GET …/shares: every link
// ever made, newest first, with its status); a link made on this page also keeps its URL here, so that the
// box showing it can be closed when it is revoked.
const madeHere = new Map(); // share_id → url

const SHARE_STATUS = { active: "Active", expired: "Expired", revoked: "Revoked" };
let sharesAsked = 0; // only the newest answer counts: loads may overlap (open, make, revoke)

async function loadShares() {
  if (!can("share_recordings") || !state.recording) return;
  const id = state.recording.hearing_id;
  const asked = ++sharesAsked;
  const stale = () => asked !== sharesAsked || !state.recording || state.recording.hearing_id !== id;
  try {
    const data = await api("GET", recordingPath("/shares"));
    if (stale()) return;
    state.shares = data.shares || [];
    state.sharesProblem = "";
  } catch (error) {
    if (stale()) return;
    if (error.status === 401) {
      reportError(error, "");
      return;
    }
    if (error.status === 403) {
      show($("#share-panel"), false);
      return;
    }
    state.sharesProblem = `The links made earlier cannot be listed right now (${error.message}).`;
  }
  renderShares();
}

function shareLine(s) {
  const status = s.status || "active";
  let validity;
  if (status === "revoked") validity = s.revoked_at ? `Revoked ${localDateTime(s.revoked_at)}` : "Revoked";
  else if (status === "expired") validity = `Expired ${localDateTime(s.expires_at)}`;
  else validity = `Valid until ${localDateTime(s.expires_at)}`;
  const made = [s.made_by ? `Made by ${s.made_by}` : "Made", s.made_at ? localDateTime(s.made_at) : ""]
    .filter(Boolean).join(", ");
  return h("li", { class: `share share-${status}`, dataset: { shareId: s.share_id, status } },
    h("span", { class: "who" },
      h("strong", {}, s.recipient),
      h("span", { class: "share-meta", title: `Valid until ${utcDateTime(s.expires_at)}` }, validity),
      h("span", { class: "share-meta", title: s.made_at ? `Made ${utcDateTime(s.made_at)}` : undefined }, made)),
    h("span", { class: "share-side" },
      h("span", { class: `badge badge-share-${status}` }, SHARE_STATUS[status] || status),
      status === "active" ? h("button", {
        type: "button", class: "btn btn-danger-quiet btn-small", "aria-label": `Revoke the link for ${s.recipient}`,
        onclick: (e) => revoke(s, e.currentTarget),
      }, "Revoke") : null));
}

function renderShares() {
  const list = $("#shares-list");
  const shares = state.shares || [];
  const items = shares.map(shareLine);
  if (state.sharesProblem) items.push(h("li", { class: "shares-problem" }, state.sharesProblem));
  else if (!shares.length) items.push(h("li", { class: "empty" }, "No link has been made for this recording."));
  list.replaceChildren(...items);
  const active = shares.filter((s) => (s.status || "active") === "active").length;
  $("#shares-count").textContent = String(shares.length);
  $("#shares-count").title = `${active} active`;
}

async function share(event) {
  event.preventDefault();
  const form = event.target;
  const recipient = form.elements.recipient.value.trim();
  const hoursText = form.elements.hours.value.trim();
  const body = { recipient };
  if (hoursText) body.hours = Number(hoursText);
  const submit = $("#share-submit");
  submit.disabled = true;
  try {
    const made = await api("POST", recordingPath("/shares"), body);
    madeHere.set(made.share_id, made.url);
    // Shown at once; the server's register (who made it, when) replaces it a moment later.
    sharesAsked += 1; // an answer still on its way predates this link
    state.shares = [{ ...made, status: "active", made_by: (state.user && state.user.username) || "",
      made_at: new Date().toISOString() },
      ...(state.shares || []).filter((s) => s.share_id !== made.share_id)];
    renderShares();
    $("#share-for").textContent = `Link for ${made.recipient}`;
    $("#share-link").value = made.url;
    $("#share-expiry").textContent = `Valid until ${localDateTime(made.expires_at)} (${utcDateTime(made.expires_at, false)}). `
      + "Anyone holding the link can watch and download this recording until then.";
    show($("#share-result"), true);
    form.elements.recipient.value = "";
    notify(`Share link made for ${made.recipient}.`, "success");
    loadShares();
    refreshAudit();
  } catch (error) {
    reportError(error, "Could not make the share link");
  } finally {
    submit.disabled = false;
  }
}

async function revoke(item, button) {
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    button.textContent = "Confirm revoke";
    button.classList.add("armed");
    setTimeout(() => {
      if (!button.isConnected || !button.dataset.armed) return;
      delete button.dataset.armed;
      button.textContent = "Revoke";
      button.classList.remove("armed");
    }, 5000);
    return;
  }
  button.disabled = true;
  try {
    await api("DELETE", recordingPath(`/shares/${encodeURIComponent(item.share_id)}`));
    sharesAsked += 1;
    item.status = "revoked";
    item.revoked_at = new Date().toISOString();
    renderShares();
    const url = madeHere.get(item.share_id);
    if (url && $("#share-link").value === url) show($("#share-result"), false);
    notify(`The link for ${item.recipient} no longer works.`, "success");
    loadShares();
    refreshAudit();
  } catch (error) {
    reportError(error, "Could not revoke the link");
    button.disabled = false;
  }
}

async function copyShare() {
  const input = $("#share-link");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  $("#copy-share").textContent = "Copied";
  setTimeout(() => { $("#copy-share").textContent = "Copy"; }, 2000);
}

// -- access log ---------------------------------------------------------------------------------------

const AUDIT_TEXT = {
  view: "Opened the record",
  search: "Searched the archive",
  transcript: "Read the transcript",
  manifest: "Read the signed manifest",
  shares_list: "Listed the share links",
  play: "Played",
  download: "Downloaded",
  package: "Downloaded the evidence package",
  verify: "Verified",
  share: "Made a share link",
  share_revoked: "Revoked a share link",
  shared_view: "Opened through a share link",
  shared_play: "Played through a share link",
  shared_download: "Downloaded through a share link",
  shared_transcript: "Read the transcript through a share link",
  shared_package: "Downloaded the evidence package through a share link",
  hold: "Placed a legal hold",
  hold_released: "Lifted the legal hold",
  retention_deleted: "Deleted by the retention period",
  audit_pruned: "Pruned the access log",
  audit_exported: "Exported the access log",
};

function auditWhat(entry) {
  const details = { ...(entry.details || {}), ...entry }; // details nested or flat
  const text = AUDIT_TEXT[entry.action] || entry.action;
  if (entry.action === "verify" && details.result) {
    return details.result === "verified" ? `${text}: intact` : `${text}: FAILED (${details.result})`;
  }
  if (entry.action === "share" && details.recipient) {
    return `${text} for ${details.recipient}${details.expires_at ? `, until ${utcDateTime(details.expires_at, false)}` : ""}`;
  }
  if (entry.action === "hold" && details.reason) return `${text}: ${details.reason}`;
  const repeats = [];
  if (entry.repeated) repeats.push(`and ${entry.repeated} more time${entry.repeated === 1 ? "" : "s"}`);
  if (entry.suppressed) repeats.push(`${entry.suppressed} more not logged one by one`);
  return repeats.length ? `${text} (${repeats.join("; ")})` : text;
}

function auditWho(entry) {
  const actor = String(entry.actor || "");
  return actor.startsWith("share:") ? actor.slice(6) : actor;
}

let auditTimer = null;

function refreshAudit() {
  if (!can("view_audit") || !state.recording) return;
  clearTimeout(auditTimer);
  auditTimer = setTimeout(() => loadAudit(), 400);
}

const AUDIT_PAGE = 100;
let auditAsked = 0; // a refresh supersedes a page of older entries still on its way, and vice versa
const audit = { before: null, shown: 0 };

function auditRow(e) {
  return h("tr", { dataset: { action: e.action, seq: String(e.seq) } },
    h("td", { class: "num audit-seq" }, e.seq === undefined ? "" : String(e.seq)),
    h("td", { class: "audit-when" }, utcDateTime(e.at).replace(" UTC", "")),
    h("td", {}, auditWhat(e)),
    h("td", {}, auditWho(e)),
    h("td", {}, roleLabel(e.role)),
    h("td", { class: "muted" }, e.client || ""),
    h("td", { class: "muted audit-node" }, e.node || ""));
}

/** The newest page of the open recording's access log (older = true: the page after the last one shown). */
async function loadAudit(older = false) {
  if (!state.recording) return;
  if (older === true && audit.before === null) return;
  older = older === true;
  const id = state.recording.hearing_id;
  const asked = ++auditAsked;
  const params = new URLSearchParams({ hearing_id: id, limit: String(AUDIT_PAGE) });
  if (older) params.set("before", String(audit.before));
  const button = $("#audit-older");
  button.disabled = true;
  try {
    const data = await api("GET", `/api/audit?${params}`);
    if (asked !== auditAsked || !state.recording || state.recording.hearing_id !== id) return;
    const rows = (data.entries || []).map(auditRow);
    const body = $("#audit-rows");
    if (older) body.append(...rows);
    else {
      body.replaceChildren(...(rows.length ? rows
        : [h("tr", {}, h("td", { colspan: "7", class: "muted" }, "Nobody has opened this recording yet."))]));
      audit.shown = 0;
    }
    audit.shown += rows.length;
    audit.before = data.next_before ?? null;
    show(button, audit.before !== null);
    $("#audit-shown").textContent = audit.shown
      ? `${audit.shown.toLocaleString("en")} entr${audit.shown === 1 ? "y" : "ies"} shown, newest first`
        + (audit.before === null ? "; that is all of them." : ".")
      : "";
  } catch (error) {
    if (asked !== auditAsked) return;
    if (error.status === 403) show($("#audit-panel"), false);
    else reportError(error, "Could not load the access log");
  } finally {
    if (asked === auditAsked) button.disabled = false;
  }
}

// -- wiring -------------------------------------------------------------------------------------------

async function init() {
  await startLanguage();
  $("#language-slot").append(languageSwitcher());
  state.player = new RecordingPlayer({
    video: $("#recording-video"),
    list: $("#transcript"),
    scroller: $("#transcript-scroll"),
    count: $("#transcript-count"),
    overlay: $("#player-start"),
    clock: $("#player-clock"),
    error: $("#player-error"),
    getLink: () => api("POST", recordingPath("/links"), { purpose: "play" }),
    onLink: () => refreshAudit(),
  });
  window.__archive = { player: state.player }; // for tests and support
  $("#login-form").addEventListener("submit", signIn);
  $("#logout").addEventListener("click", () => signOut("", true));
  $("#status-close").addEventListener("click", () => show($("#status"), false));
  $("#search-form").addEventListener("submit", search);
  $("#back-to-results").addEventListener("click", backToResults);
  $("#play-button").addEventListener("click", () => state.player.start().catch((e) => reportError(e, "Could not play")));
  $("#verify-button").addEventListener("click", verify);
  $("#download-button").addEventListener("click", () => download("download"));
  $("#package-button").addEventListener("click", () => download("package"));
  $("#share-form").addEventListener("submit", share);
  $("#copy-share").addEventListener("click", copyShare);
  $("#audit-refresh").addEventListener("click", () => loadAudit());
  $("#audit-older").addEventListener("click", () => loadAudit(true));
  $("#next-page").addEventListener("click", nextPage);
  $("#prev-page").addEventListener("click", previousPage);
  $("#hold-place").addEventListener("click", openHoldForm);
  $("#hold-cancel").addEventListener("click", closeHoldForm);
  $("#hold-form").addEventListener("submit", placeHold);
  $("#hold-lift").addEventListener("click", liftHold);
  window.addEventListener("hashchange", route);
  if (state.token && state.user) {
    apiCall("GET", "/api/me", { token: state.token })
      .then((me) => {
        state.user = { ...state.user, ...me };
        sessionStorage.setItem(USER_KEY, JSON.stringify(state.user));
        enterArchive();
      })
      .catch((error) => {
        if (error.status === 401) signOut("Your session has expired. Please sign in again.");
        else enterArchive();
      });
  } else {
    show($("#login-view"), true);
  }
}

// shared.js imports the player from here; only the archive page runs the archive.
if (document.body && document.body.classList.contains("archive-page")) init();
