// Recordings archive (court staff): find a recording, play it beside its transcript, verify it, download it,
// hand it to a party with an expiring link, and read who accessed it.
// The player with its transcript (RecordingPlayer) is exported for the party's page, shared.js.
// Every word is a key of the catalogs (web/locales): archive.* for this page, player.* for what the party's
// page shows too, error.* for the API's error codes; what the page drew itself is drawn again when the
// language changes.

import {
  languageSwitcher, startLanguage, t, say, onLanguageChange, dateTime, locale, courtTimeZone,
} from "./i18n.js";
import { $, h, show, apiCall, ApiError, roleLabel } from "./common.js";

// -- words --------------------------------------------------------------------------------------------

/** Whether the catalogs have a text for `key` (t() answers with the key itself when they have none). */
export function known(key) {
  return t(key) !== key;
}

/**
 * What went wrong, for people, in the page's language: the catalog's text for the API's error code
 * (`error.<code>.<subject>` where the code means something particular for what was asked, as
 * `error.not_found.recording`, else `error.<code>`), else the server's own message. The texts may use
 * {message} (the server's) and {status} (the HTTP status).
 */
export function apiErrorText(error, subject = "recording") {
  if (!error) return "";
  const code = typeof error.code === "string" && /^[a-z_]+$/.test(error.code) ? error.code : "";
  if (code) {
    const params = { message: error.message || "", status: error.status ?? "" };
    for (const key of [subject ? `error.${code}.${subject}` : "", `error.${code}`]) {
      if (key && known(key)) return t(key, params);
    }
  }
  return error && error.message ? String(error.message) : String(error);
}

/** Set a node's own text (data: a name, a case number), no longer tied to a key of the catalogs. */
export function setText(node, text) {
  if (!node) return;
  delete node.dataset.i18n;
  delete node.dataset.i18nParams;
  node.textContent = text;
}

// -- the player and its transcript (also used by shared.js) ---------------------------------------------

// The transcript's events, a key each: player.event.<event> (recorder/transcript.py writes the captions'
// wording), with the person as {who} (name and role) or {name}.

/** An event this page does not know yet: "some_event" → "Some event", with the person if there is one. */
function unknownEvent(entry) {
  const words = String(entry.event || entry.kind || "").replace(/_/g, " ");
  const text = words.charAt(0).toUpperCase() + words.slice(1);
  return entry.name ? t("player.unknown_event_with_person", { event: text, who: who(entry) }) : text;
}

/** A log note's kind as the page's language names it ("Exhibit"); a kind it does not know, as it is. */
export function noteLabel(kind) {
  const key = `player.note.${kind}`;
  return known(key) ? t(key) : kind;
}

/** Seconds into the recording as "04:05" or "1:02:03". */
export function formatOffset(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const ss = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "8 s", "12 min 05 s", "1 h 02 min" (in the page's language). */
export function formatDuration(seconds) {
  const total = Math.round(Number(seconds) || 0);
  if (total < 60) return t("player.duration.seconds", { seconds: total });
  const minutes = Math.floor(total / 60);
  if (minutes < 60) {
    return t("player.duration.minutes_seconds", { minutes, seconds: String(total % 60).padStart(2, "0") });
  }
  return t("player.duration.hours_minutes",
    { hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, "0") });
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

/** A date and time for people, in the court's time zone, as the court writes it ("28.11.2026, 14:31"). */
export function localDateTime(value) {
  if (!value) return "";
  return dateTime(value);
}

/** Whether the court keeps UTC itself (then a UTC time needs no local time beside it). */
function courtOnUtc() {
  return /^(Etc\/)?(UTC|UCT|GMT|Zulu|Universal|Greenwich)$/i.test(courtTimeZone() || "UTC");
}

/** A time of the record, shown in UTC as the record keeps it, with the court's local time beside it. */
export function withLocalTime(utc, local) {
  return utc && local && !courtOnUtc() ? t("player.utc_and_local", { utc, local }) : utc;
}

/** A record's date and time: "2026-11-28 09:31:02 UTC (28 Nov 2026, 14:31)". */
export function recordDateTime(value) {
  return withLocalTime(utcDateTime(value), localDateTime(value));
}

function who(entry) {
  return entry.role ? t("player.person_with_role", { name: entry.name || "", role: roleLabel(entry.role) })
    : entry.name || "";
}

/** One transcript entry as {tag, text, meta} for display. */
function describe(entry) {
  const at = entry.at ? withLocalTime(utcClock(entry.at), dateTime(entry.at, { timeStyle: "medium" })) : "";
  if (entry.kind === "note") {
    const kind = entry.note_kind || "note";
    return {
      tag: h("span", { class: `t-tag t-tag-${kind}` }, noteLabel(kind)),
      text: entry.text || "",
      meta: [at, entry.author].filter(Boolean).join(" · "),
    };
  }
  if (entry.kind === "speech") {
    const span = entry.end ? t("player.speaking_from_to", { from: formatOffset(entry.offset), to: formatOffset(entry.end) })
      : t("player.speaking");
    return {
      tag: null,
      text: [h("strong", {}, entry.name || t("player.someone")), entry.role ? ` (${roleLabel(entry.role)})` : ""],
      meta: [span, at].filter(Boolean).join(" · "),
    };
  }
  const key = `player.event.${entry.event}`;
  const text = entry.event && known(key) ? t(key, { who: who(entry), name: entry.name || "" }) : unknownEvent(entry);
  const reason = entry.details && entry.details.reason;
  return { tag: null, text: reason ? t("player.event_with_reason", { event: text, reason }) : text, meta: at };
}

/**
 * A <video> playing a recording beside its transcript. The transcript follows playback (the current line is
 * highlighted and scrolled into view); choosing a line seeks the video to its offset. The media link is asked
 * for only when someone plays (playing is audited), and asked for again if it expires during a long session.
 * The transcript and the player's messages are drawn again when the page's language changes.
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
    this.emptyKey = "player.transcript_empty";
    this.listProblem = null; // () => text: why the transcript could not be had
    this.errorText = null; // () => text: the problem shown under the video
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
    onLanguageChange(() => this.relabel());
  }

  /** The transcript's entries; `emptyKey`: the key of what an empty transcript says. */
  setEntries(entries, emptyKey = "player.transcript_empty") {
    this.entries = [...(entries || [])]
      .filter((e) => e && typeof e.offset === "number")
      .sort((a, b) => a.offset - b.offset);
    this.current = -1;
    this.pinned = -1;
    this.emptyKey = emptyKey;
    this.listProblem = null;
    this.renderLines();
    this.follow();
  }

  renderLines() {
    this.list.replaceChildren();
    this.lines = this.entries.map((entry, index) => {
      const { tag, text, meta } = describe(entry);
      const kind = entry.kind || "event";
      const dataset = { offset: String(entry.offset), index: String(index), kind };
      if (kind === "note") dataset.noteKind = entry.note_kind || "note";
      if (entry.event) dataset.event = entry.event;
      const line = h("li", { class: `t-line t-${kind}${kind === "note" ? ` t-note-${dataset.noteKind}` : ""}`, dataset },
      h("button", { type: "button", title: t("player.play_from", { time: formatOffset(entry.offset) }) },
        h("span", { class: "t-time" }, formatOffset(entry.offset)),
        h("span", { class: "t-body" },
          h("span", { class: "t-text" }, tag, text),
          meta ? h("span", { class: "t-meta" }, meta) : null)));
      return line;
    });
    if (this.lines.length) this.list.append(...this.lines);
    else this.list.append(h("li", { class: "t-empty" }, this.listProblem ? this.listProblem() : t(this.emptyKey)));
    if (this.count) this.count.textContent = String(this.lines.length);
  }

  /** Show that the transcript could not be had (an error from the API). */
  transcriptProblem(error) {
    this.entries = [];
    this.listProblem = () => t("player.transcript_failed", { error: apiErrorText(error) });
    this.renderLines();
  }

  /** The page's language changed: the transcript, the captions' label and the player's message again. */
  relabel() {
    this.renderLines();
    this.current = -1;
    this.follow();
    const track = this.video.querySelector("track");
    if (track) track.label = t("player.captions_label");
    if (this.errorText && this.error && !this.error.hidden) this.error.textContent = this.errorText();
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
        video.append(h("track", { kind: "captions", src: link.captions_url, srclang: "en", label: t("player.captions_label") }));
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
      this.problem(error instanceof ApiError ? () => apiErrorText(error) : () => t("player.load_failed"));
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
    this.problem(code === 4 ? () => t("player.cannot_play_here") : () => t("player.load_failed_retry"));
  }

  /** Show a problem under the video; `text`: () => the text (drawn again if the language changes). */
  problem(text) {
    if (!this.error) return;
    this.errorText = typeof text === "function" ? text : () => String(text);
    this.error.textContent = this.errorText();
    show(this.error, true);
  }

  reset() {
    const video = this.video;
    video.pause();
    video.removeAttribute("src");
    video.querySelectorAll("track").forEach((track) => track.remove());
    video.preload = "none";
    video.load();
    this.link = null;
    this.lastTime = 0;
    this.knownDuration = 0;
    show(this.overlay, true);
    show(this.error, false);
    this.setEntries([], "player.transcript_loading");
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
  sharesProblem: null, // the error that kept the register of links from being listed
  madeShare: null, // the link made last on this page, shown in its box
  checks: null, // the last verification's checks, listed
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
let statusText = null; // () => the status line's message, drawn again when the language changes

/** A message in the status line: a key of the catalogs with its parameters. */
function notify(key, params = {}, kind = "info") {
  showStatus(() => t(key, params), kind);
}

function showStatus(text, kind) {
  const line = $("#status");
  statusText = text;
  $("#status-text").textContent = text();
  line.className = `statusline statusline-${kind}`;
  line.setAttribute("role", kind === "error" ? "alert" : "status");
  show(line, true);
  clearTimeout(statusTimer);
  if (kind !== "error") statusTimer = setTimeout(() => show(line, false), 6000);
}

/** What failed (`key`: a text with {error}) and why, in the status line; a lapsed sign-in signs out. */
function reportError(error, key) {
  if (error instanceof ApiError && error.status === 401 && error.code !== "invalid_credentials") {
    signOut("archive.session_expired");
    return;
  }
  showStatus(() => {
    const why = apiErrorText(error);
    const detail = error && error.code ? `${why} (${error.code})` : why;
    return key ? t(key, { error: detail }) : detail;
  }, "error");
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
    reportError(error, "archive.sign_in_failed");
  } finally {
    button.disabled = false;
  }
}

/** Sign out; `message`: the key of why, if not asked for. */
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
  if (message) notify(message, {}, "error");
  $("#login-username").focus();
}

function enterArchive() {
  show($("#login-view"), false);
  show($("#user-box"), true);
  $("#user-name").textContent = userLine();
  if (!can("view_recordings")) {
    show($("#no-access"), true);
    return;
  }
  route();
}

function userLine() {
  return state.user ? `${state.user.display_name} · ${roleLabel(state.user.role)}` : "";
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
  say($("title"), "archive.page_title");
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
    reportError(error, "archive.search_failed");
  } finally {
    if (asked === searchAsked) {
      $("#search-submit").disabled = false;
      $("#results-table").removeAttribute("aria-busy");
      renderPager();
    }
  }
}

/** A number as the page's language writes it ("10,000", "10 000"). */
function number(n) {
  return Number(n).toLocaleString(locale());
}

/** The count of matching recordings: [key, params]. */
function countText(paging) {
  if (paging.capped) return ["archive.results.more_than", { limit: number(TOTAL_CAP) }];
  return ["archive.results.count", { count: paging.total }];
}

function renderPager() {
  const paging = state.search;
  if (!paging) return;
  const page = paging.previous.length + 1;
  const many = paging.previous.length > 0 || !!paging.next;
  show($("#pager"), many);
  $("#prev-page").disabled = !paging.previous.length;
  $("#next-page").disabled = !paging.next;
  if (many) say($("#pager-where"), "archive.pager.page", { page: number(page) });
  else say($("#pager-where"), "");
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
    // data-label: the phone layout's hook (archive.css), not a text
    h("td", { "data-label": "Case" }, h("span", { class: "case-number" }, rec.case_number)),
    h("td", { "data-label": "Title", class: "r-title" }, h("strong", {}, rec.title)),
    h("td", { "data-label": "Court" }, [rec.court, rec.courtroom].filter(Boolean).join(" · ")),
    h("td", { "data-label": "Judge" }, rec.judge_name || rec.judge),
    h("td", { "data-label": "Opened", title: utcDateTime(rec.opened_at) }, localDateTime(rec.opened_at)),
    h("td", { "data-label": "Duration", class: "num" }, formatDuration(rec.duration)),
    h("td", { "data-label": "Record", class: "r-record" }, statusBadge(rec), deleted ? null : integrityBadge(rec.integrity)),
    h("td", { "data-label": "Kept", class: "r-kept" }, keptCell(rec)),
    h("td", { class: "num r-open" }, h("button", {
      type: "button", class: "btn btn-secondary btn-small",
      "aria-label": t("archive.results.open_label", { case: rec.case_number }),
      onclick: (e) => { e.stopPropagation(); open(); },
    }, t("archive.results.open")))));
    if (hits.length) rows.push(hitsRow(rec, hits, paging.text));
  }
  body.replaceChildren(...rows);
  const note = $("#results-note");
  const count = $("#results-count");
  if (!recordings.length && !paging.previous.length) {
    say(count, "archive.results.none");
    say(note, paging.filtered ? "archive.results.no_match" : "archive.results.empty_archive");
    show(note, true);
  } else {
    say(count, ...countText(paging));
    const first = paging.previous.length * PAGE_SIZE + 1;
    const last = first + recordings.length - 1;
    if (recordings.length) say(note, "archive.results.showing", { first: number(first), last: number(last) });
    else say(note, "archive.results.no_more");
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

/** What a search hit is: a log note's kind, or a court event. */
function hitLabel(kind) {
  return kind === "event" ? t("archive.hit.event") : noteLabel(kind);
}

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
      h("ul", { class: "hits", "aria-label": t("archive.hit.list_label", { case: rec.case_number }) },
        hits.map((hit) => {
          const kind = hit.kind || "event";
          const body = [
            h("span", { class: "hit-time" }, formatHms(hit.offset)),
            h("span", { class: `t-tag t-tag-${kind} hit-kind` }, hitLabel(kind)),
            h("span", { class: "hit-text" }, marked(String(hit.text || ""), words)),
          ];
          return h("li", { class: "hit", dataset: { offset: String(hit.offset), kind } }, deleted ? body
            : h("button", {
              type: "button", class: "hit-button", title: t("archive.hit.play_from", { time: formatHms(hit.offset) }),
              onclick: (e) => { e.stopPropagation(); openRecording(rec.hearing_id, Number(hit.offset), hit.text); },
            }, body));
        }))));
}

function statusBadge(rec) {
  if (rec.status === "deleted" || rec.deleted_at) {
    return h("span", { class: "badge badge-deleted",
      title: rec.deleted_at ? t("archive.badge.deleted_at", { when: utcDateTime(rec.deleted_at) }) : undefined },
    t("archive.badge.deleted"));
  }
  const interrupted = rec.status === "interrupted";
  const gaps = Array.isArray(rec.gaps) ? rec.gaps.length : rec.gaps || 0;
  let text;
  if (gaps) text = t(interrupted ? "archive.badge.interrupted_gaps" : "archive.badge.complete_gaps", { count: gaps });
  else text = t(interrupted ? "archive.badge.interrupted" : "archive.badge.complete");
  return h("span", { class: `badge badge-${interrupted ? "interrupted" : "final"}`,
    title: gaps ? t("archive.badge.gaps_title", { count: gaps }) : undefined }, text);
}

/** The integrity's status in words: `archive.integrity.status.<status>` (short: in the results). */
function integrityText(status, short = false) {
  const key = `archive.integrity.${short ? "short" : "status"}.${status}`;
  return known(key) ? t(key) : status;
}

function integrityBadge(integrity) {
  const status = (integrity && typeof integrity === "object" ? integrity.status : integrity) || "unchecked";
  return h("span", { class: `badge badge-${status} badge-integrity`, dataset: { integrity: status },
    title: integrityText(status) }, integrityText(status, true));
}

/** "2036-12-02" of an ISO time (UTC). */
function utcDay(value) {
  return utcDateTime(value).slice(0, 10);
}

/** How long the recording is kept: until a day, for ever, on hold, or deleted. */
function keptText(rec) {
  if (rec.status === "deleted" || rec.deleted_at) {
    return rec.deleted_at ? t("archive.kept.deleted_on", { day: utcDay(rec.deleted_at) }) : t("archive.kept.deleted");
  }
  return rec.retain_until ? t("archive.kept.until", { day: utcDay(rec.retain_until) }) : t("archive.kept.for_ever");
}

function keptCell(rec) {
  return [
    rec.legal_hold ? h("span", { class: "badge badge-hold", title: t("archive.kept.hold_title") },
      t("archive.hold.badge")) : null,
    h("span", { class: `kept${rec.legal_hold && rec.retain_until ? " kept-suspended" : ""}`,
      title: rec.retain_until ? t("archive.kept.retention_ends", { when: utcDateTime(rec.retain_until) }) : undefined },
    keptText(rec)),
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
  state.sharesProblem = null;
  state.madeShare = null;
  state.checks = null;
  audit.entries = [];
  $("#shares-list").replaceChildren();
  $("#shares-count").textContent = "0";
  show($("#share-result"), false);
  $("#verify-checks").replaceChildren();
  show($("#verify-checks"), false);
  $("#audit-rows").replaceChildren();
  show($("#audit-older"), false);
  say($("#audit-shown"), "");
  closeHoldForm();
  showView("recording");
  setText($("#rec-case"), "");
  say($("#rec-title"), "archive.loading");
  $("#rec-meta").textContent = "";
  const path = `/api/recordings/${encodeURIComponent(id)}`;
  let detail;
  try {
    detail = await api("GET", path);
  } catch (error) {
    if (asked !== recordingAsked) return;
    reportError(error, error.status === 404 ? "archive.no_such_recording" : "archive.open_failed");
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
    else state.player.transcriptProblem(error);
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
  describeRecording(rec);
  state.player.knownDuration = rec.duration;

  // A tombstone has no player, transcript, download, verification or sharing: only what the catalog kept.
  show($("#tombstone"), deleted);
  show($("#rec-layout"), !deleted);
  show($("#integrity-badge"), !deleted);
  $("#integrity-title").closest("section").hidden = deleted;
  show($("#share-panel"), can("share_recordings") && !deleted);
  show($("#audit-panel"), can("view_audit"));
}

/** The open recording's words: its head, facts, participants, integrity and hold (again on a language change). */
function describeRecording(rec) {
  const deleted = isDeleted(rec);
  say($("title"), "archive.recording_page_title", { case: rec.case_number });
  setText($("#rec-case"), rec.case_number);
  setText($("#rec-title"), rec.title);
  $("#rec-meta").textContent = [rec.court, rec.courtroom, rec.judge_name || rec.judge, localDateTime(rec.opened_at)]
    .filter(Boolean).join(" · ");
  $("#rec-status").replaceWith(Object.assign(statusBadge(rec), { id: "rec-status" }));
  if (deleted) {
    setText($("#tombstone-title"), tombstoneTitle(rec));
    say($("#tombstone-detail"), "archive.tombstone.detail");
  }

  let record = t("player.record.complete");
  if (deleted) record = t("archive.badge.deleted");
  else if (rec.status === "interrupted") record = t("archive.record.interrupted");
  const facts = [
    [t("player.fact.opened"), recordDateTime(rec.opened_at)],
    [t("player.fact.closed"), recordDateTime(rec.closed_at)],
    [t("player.fact.duration"), formatDuration(rec.duration)],
    [t("player.fact.record"), record],
    [t("archive.fact.segments"), String(rec.segments)],
  ];
  if (rec.case_category) facts.push([t("archive.fact.category"), rec.case_category]);
  if (rec.size_bytes) facts.push([t("archive.fact.size"), formatBytes(rec.size_bytes)]);
  const gaps = Array.isArray(rec.gaps) ? rec.gaps : [];
  const pauses = rec.pauses || [];
  const open = (end) => end === null || end === undefined;
  const dl = $("#rec-facts");
  dl.replaceChildren();
  for (const [term, value] of facts) dl.append(h("dt", {}, term), h("dd", {}, value));
  dl.append(h("dt", {}, t("player.fact.gaps")), h("dd", { id: "rec-gaps" }, gaps.length ? gaps.map((g) => h("div", {},
    open(g.end) ? t("archive.gap.to_end", { from: formatOffset(g.start), reason: g.reason })
      : t("archive.gap.range", { from: formatOffset(g.start), to: formatOffset(g.end), reason: g.reason })))
    : t("archive.gap.none")));
  dl.append(h("dt", {}, t("archive.fact.paused")), h("dd", { id: "rec-pauses" }, pauses.length ? pauses.map((p) => {
    const params = { from: formatOffset(p.start), to: open(p.end) ? "" : formatOffset(p.end), reason: p.reason || "" };
    const key = `archive.pause.${open(p.end) ? "to_end" : "range"}${p.reason ? "_reason" : ""}`;
    return h("div", {}, t(key, params));
  }) : t("archive.pause.never")));
  if (rec.signature && rec.signature.algorithm) {
    dl.append(h("dt", {}, t("archive.fact.signed")), h("dd", {},
      t("archive.fact.signed_value", { algorithm: rec.signature.algorithm, key: rec.signature.key_id || "?" })));
  }
  if (rec.manifest_sha256) {
    dl.append(h("dt", {}, t("archive.fact.manifest")), h("dd", { class: "hash", title: t("archive.fact.manifest_title") },
      rec.manifest_sha256));
  }

  // Admitted is not present: from when their media connected; never, if it did not (older records: admitted).
  const presence = (p) => {
    if (p.present === false) {
      return h("span", { class: "flag flag-warn small", title: p.media_error || "" },
        t(p.media_error ? "archive.presence.media_failed" : "archive.presence.no_media"));
    }
    const from = p.present ? p.present_offset : p.first_offset;
    return from !== undefined ? h("span", { class: "muted small" }, t("archive.presence.from", { time: formatOffset(from) }))
      : null;
  };
  const people = rec.participants || [];
  $("#people-count").textContent = String(people.length);
  show($("#people-empty"), !people.length);
  $("#rec-participants").replaceChildren(...people.map((p) => h("li", { dataset: { pid: p.id || "" } },
    h("span", { class: "person-name" }, p.name), h("span", { class: "role-tag" }, roleLabel(p.role)),
    presence(p))));

  renderIntegrity(rec.integrity || { status: "unchecked" });
  renderHold(rec);
}

function tombstoneTitle(rec) {
  const when = rec.deleted_at ? utcDateTime(rec.deleted_at, false) : "";
  const reason = String(rec.deleted_reason || "");
  if (/^retention/i.test(reason)) {
    return when ? t("archive.tombstone.retention_on", { when, reason }) : t("archive.tombstone.retention", { reason });
  }
  if (when) return reason ? t("archive.tombstone.deleted_on_reason", { when, reason }) : t("archive.tombstone.deleted_on", { when });
  return reason ? t("archive.tombstone.deleted_reason", { reason }) : t("archive.tombstone.deleted");
}

/** "1.4 GB", "230 MB", "12 kB" (in the page's language). */
function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  const units = ["archive.size.kb", "archive.size.mb", "archive.size.gb", "archive.size.tb"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length) {
    value /= 1000;
    unit += 1;
  }
  if (!unit) return t("archive.size.bytes", { count: n });
  const digits = value < 10 ? 1 : 0;
  const shown = value.toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return t(units[unit - 1], { value: shown });
}

// -- retention and legal hold -------------------------------------------------------------------------

function renderHold(rec) {
  const deleted = isDeleted(rec);
  const held = !!rec.legal_hold;
  show($("#hold-badge"), held && !deleted);
  const hold = rec.hold || {};
  const badge = $("#hold-badge");
  if (!held) badge.title = "";
  else badge.title = hold.reason ? t("archive.hold.on_hold_reason", { reason: hold.reason }) : t("archive.hold.on_hold");

  let retention;
  if (deleted) retention = tombstoneTitle(rec);
  else if (rec.retain_until) {
    retention = t(held ? "archive.retention.ends_held" : "archive.retention.until", { day: utcDay(rec.retain_until) });
  } else retention = t("archive.retention.for_ever");
  const line = $("#retention-line");
  line.textContent = retention;
  line.dataset.retainUntil = rec.retain_until || "";

  const holdLine = $("#hold-line");
  holdLine.dataset.held = String(held);
  if (held) {
    const params = { by: hold.by || "", when: hold.at ? utcDateTime(hold.at, false) : "" };
    let key = "archive.hold.placed_line";
    if (hold.by && hold.at) key = "archive.hold.placed_by_on";
    else if (hold.by) key = "archive.hold.placed_by";
    else if (hold.at) key = "archive.hold.placed_on";
    holdLine.replaceChildren(h("span", { class: "badge badge-hold" }, t("archive.hold.badge")), " ",
      `${t(key, params)} `, hold.reason ? h("span", { class: "hold-reason" }, t("archive.hold.reason_is", { reason: hold.reason }))
        : null);
  } else {
    holdLine.textContent = deleted ? "" : t("archive.hold.none");
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
    notify("archive.hold.placed", {}, "success");
    refreshAudit();
  } catch (error) {
    reportError(error, "archive.hold.place_failed");
  } finally {
    submit.disabled = false;
  }
}

async function liftHold(event) {
  const button = event.currentTarget;
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    say(button, "archive.hold.lift_confirm");
    button.classList.add("armed");
    setTimeout(() => {
      if (!button.dataset.armed) return;
      delete button.dataset.armed;
      say(button, "archive.hold.lift");
      button.classList.remove("armed");
    }, 5000);
    return;
  }
  delete button.dataset.armed;
  say(button, "archive.hold.lift");
  button.classList.remove("armed");
  button.disabled = true;
  const id = state.recording.hearing_id;
  try {
    const detail = await api("DELETE", recordingPath("/hold"));
    if (!state.recording || state.recording.hearing_id !== id) return;
    updateRecording(detail);
    if (detail.retain_until) notify("archive.hold.lifted_until", { day: utcDay(detail.retain_until) }, "success");
    else notify("archive.hold.lifted", {}, "success");
    refreshAudit();
  } catch (error) {
    reportError(error, "archive.hold.lift_failed");
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

function renderIntegrity(integrity) {
  const status = integrity.status || "unchecked";
  const badge = $("#integrity-badge");
  badge.className = `badge badge-${status}`;
  badge.dataset.status = status;
  setText(badge, integrityText(status));
  const line = $("#integrity-status");
  line.dataset.status = status;
  setText(line, "");
  line.replaceChildren(h("span", { class: `badge badge-${status}` }, integrityText(status)));
  const detail = $("#integrity-detail");
  if (status === "unchecked") {
    say(detail, "archive.integrity.explain");
  } else {
    const checks = Array.isArray(integrity.checks) ? integrity.checks.length : integrity.checks; // reply or summary
    const failures = (integrity.failures || []).length;
    const params = { when: integrity.checked_at ? utcDateTime(integrity.checked_at) : "", count: checks || 0, failures };
    // archive.integrity.checked[_at][_count]_{passed,failed}
    const key = `archive.integrity.checked${params.when ? "_at" : ""}${checks ? "_count" : ""}_${failures ? "failed" : "passed"}`;
    say(detail, key, params);
  }
}

// The checks as recorder/verify.py words them, in the page's language; a check worded otherwise (a newer
// server) is shown as the server sent it. [pattern, key, the names of the pattern's groups]
const CHECK_NAMES = [
  [/^signature$/, "archive.check.signature", []],
  [/^segment (\d+) \((.*), ([\d.]+)–([\d.]+) s\)$/s, "archive.check.segment", ["index", "file", "start", "end"]],
  [/^gap ([\d.]+)–end s$/, "archive.check.gap_to_end", ["start"]],
  [/^gap ([\d.]+)–([\d.]+) s$/, "archive.check.gap", ["start", "end"]],
];
const CHECK_DETAILS = [
  [/^file missing$/, "archive.check.file_missing", []],
  [/^not a plain file inside the record's folder$/, "archive.check.not_inside", []],
  [/^not a plain file name: the manifest may only name files in the record's own folder$/, "archive.check.unsafe_name", []],
  [/^the manifest is not signed$/, "archive.check.not_signed", []],
  [/^Ed25519, made by the trusted court key$/, "archive.check.signed_by_court", []],
  [/^Ed25519, made by key (\S+)$/, "archive.check.signed_by_key", ["key"]],
  [/^the manifest names key (\S+), but it was signed by key (\S+)$/, "archive.check.key_mismatch", ["stated", "actual"]],
  [/^not made by the trusted court key$/, "archive.check.not_court_key", []],
  [/^does not match the manifest \(altered after signing\?\)$/, "archive.check.signature_mismatch", []],
  [/^sha256 (\S+), chain intact$/, "archive.check.segment_ok", ["hash"]],
  [/^sha256 (\S+)$/, "archive.check.file_ok", ["hash"]],
  [/^hash chain broken \(a segment before it was removed, added or reordered\)$/, "archive.check.chain_broken", []],
  [/^content differs from the manifest: sha256 (\S+) \((\d+) bytes\), manifest says (\S+) \((\d+) bytes\)$/,
    "archive.check.segment_differs", ["hash", "size", "expected", "expected_size"]],
  [/^content differs from the manifest \(sha256 (\S+)\)$/, "archive.check.file_differs", ["hash"]],
  [/^recorded in the manifest: (.*)$/s, "archive.check.gap_recorded", ["reason"]],
  [/^hearing (\S+), case (.*), (\d+) segments, status (\S+)$/s, "archive.check.manifest_ok",
    ["hearing", "case", "count", "status"]],
  [/^unreadable \((.*)\)$/s, "archive.check.unreadable", ["problem"]],
  [/^malformed \((.*)\)$/s, "archive.check.malformed", ["problem"]],
];

function checkText(text, table) {
  const value = String(text || "");
  for (const [pattern, key, names] of table) {
    const match = value.match(pattern);
    if (match) return t(key, Object.fromEntries(names.map((name, i) => [name, match[i + 1]])));
  }
  return value;
}

function renderChecks() {
  const list = $("#verify-checks");
  const checks = state.checks || [];
  list.replaceChildren(...checks.map((c) => h("li", { class: c.ok ? "check-ok" : "check-fail" },
    h("span", { class: "mark", "aria-label": c.ok ? t("archive.check.passed") : t("archive.check.failed") }, c.ok ? "✓" : "✗"),
    h("span", {}, checkText(c.what, CHECK_NAMES),
      c.detail ? h("span", { class: "check-detail" }, checkText(c.detail, CHECK_DETAILS)) : null))));
  show(list, checks.length > 0);
}

async function verify() {
  const button = $("#verify-button");
  button.disabled = true;
  say(button, "archive.verifying");
  try {
    const result = await api("POST", recordingPath("/verify"));
    if (state.recording) state.recording.integrity = result; // drawn again on a change of language
    renderIntegrity(result);
    const checks = result.checks || [];
    // Failures first: they are what the clerk needs to read.
    checks.sort((a, b) => Number(a.ok) - Number(b.ok));
    state.checks = checks;
    renderChecks();
    if (result.status === "verified") notify("archive.verified", {}, "success");
    else notify("archive.verify_failed_result", {}, "error");
    refreshAudit();
  } catch (error) {
    reportError(error, "archive.verify_failed");
  } finally {
    button.disabled = false;
    say(button, "archive.verify");
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
    reportError(error, purpose === "package" ? "archive.download_package_failed" : "archive.download_failed");
  } finally {
    setTimeout(() => { button.disabled = false; }, 1500);
  }
}

// -- shares -------------------------------------------------------------------------------------------

// The register of links handed out for the open recording comes from the server (GET …/shares: every link
// ever made, newest first, with its status); a link made on this page also keeps its URL here, so that the
// box showing it can be closed when it is revoked.
const madeHere = new Map(); // share_id → url

/** A share link's status in words: `archive.share.status.<status>`. */
function shareStatus(status) {
  const key = `archive.share.status.${status}`;
  return known(key) ? t(key) : status;
}
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
    state.sharesProblem = null;
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
    state.sharesProblem = error;
  }
  renderShares();
}

function shareLine(s) {
  const status = s.status || "active";
  let validity;
  if (status === "revoked") {
    validity = s.revoked_at ? t("archive.share.revoked_at", { when: localDateTime(s.revoked_at) }) : t("archive.share.revoked");
  } else if (status === "expired") validity = t("archive.share.expired_at", { when: localDateTime(s.expires_at) });
  else validity = t("archive.share.valid_until", { when: localDateTime(s.expires_at) });
  const params = { by: s.made_by || "", when: s.made_at ? localDateTime(s.made_at) : "" };
  let made = t("archive.share.made");
  if (params.by && params.when) made = t("archive.share.made_by_at", params);
  else if (params.by) made = t("archive.share.made_by", params);
  else if (params.when) made = t("archive.share.made_at", params);
  return h("li", { class: `share share-${status}`, dataset: { shareId: s.share_id, status } },
    h("span", { class: "who" },
      h("strong", {}, s.recipient),
      h("span", { class: "share-meta", title: t("archive.share.valid_until", { when: utcDateTime(s.expires_at) }) }, validity),
      h("span", { class: "share-meta",
        title: s.made_at ? t("archive.share.made_title", { when: utcDateTime(s.made_at) }) : undefined }, made)),
    h("span", { class: "share-side" },
      h("span", { class: `badge badge-share-${status}` }, shareStatus(status)),
      status === "active" ? h("button", {
        type: "button", class: "btn btn-danger-quiet btn-small",
        "aria-label": t("archive.share.revoke_label", { recipient: s.recipient }),
        onclick: (e) => revoke(s, e.currentTarget),
      }, t("archive.share.revoke")) : null));
}

function renderShares() {
  const list = $("#shares-list");
  const shares = state.shares || [];
  const items = shares.map(shareLine);
  if (state.sharesProblem) {
    items.push(h("li", { class: "shares-problem" },
      t("archive.share.list_failed", { error: apiErrorText(state.sharesProblem) })));
  } else if (!shares.length) items.push(h("li", { class: "empty" }, t("archive.share.none")));
  list.replaceChildren(...items);
  const active = shares.filter((s) => (s.status || "active") === "active").length;
  $("#shares-count").textContent = String(shares.length);
  $("#shares-count").title = t("archive.share.active_count", { count: active });
}

/** The box with the link made last on this page. */
function renderShareResult() {
  const made = state.madeShare;
  if (!made) return;
  say($("#share-for"), "archive.share.link_for", { recipient: made.recipient });
  $("#share-link").value = made.url;
  say($("#share-expiry"), "archive.share.expiry",
    { local: localDateTime(made.expires_at), utc: utcDateTime(made.expires_at, false) });
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
    state.madeShare = made;
    renderShareResult();
    show($("#share-result"), true);
    form.elements.recipient.value = "";
    notify("archive.share.made_notice", { recipient: made.recipient }, "success");
    loadShares();
    refreshAudit();
  } catch (error) {
    reportError(error, "archive.share.make_failed");
  } finally {
    submit.disabled = false;
  }
}

async function revoke(item, button) {
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    say(button, "archive.share.revoke_confirm");
    button.classList.add("armed");
    setTimeout(() => {
      if (!button.isConnected || !button.dataset.armed) return;
      delete button.dataset.armed;
      say(button, "archive.share.revoke");
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
    notify("archive.share.revoked_notice", { recipient: item.recipient }, "success");
    loadShares();
    refreshAudit();
  } catch (error) {
    reportError(error, "archive.share.revoke_failed");
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
  say($("#copy-share"), "archive.share.copied");
  setTimeout(() => { say($("#copy-share"), "archive.share.copy"); }, 2000);
}

// -- access log ---------------------------------------------------------------------------------------

// What each access was: archive.audit.action.<action> (the actions of the server's audit log).

function auditWhat(entry) {
  const details = { ...(entry.details || {}), ...entry }; // details nested or flat
  const key = `archive.audit.action.${entry.action}`;
  const text = known(key) ? t(key) : String(entry.action || "");
  if (entry.action === "verify" && details.result) {
    return details.result === "verified" ? t("archive.audit.verify_intact")
      : t("archive.audit.verify_not_intact", { result: details.result });
  }
  if (entry.action === "share" && details.recipient) {
    return details.expires_at
      ? t("archive.audit.share_for_until", { recipient: details.recipient, until: utcDateTime(details.expires_at, false) })
      : t("archive.audit.share_for", { recipient: details.recipient });
  }
  if (entry.action === "hold" && details.reason) return t("archive.audit.hold_reason", { reason: details.reason });
  if (entry.repeated && entry.suppressed) {
    return t("archive.audit.repeated_suppressed", { what: text, count: entry.repeated, suppressed: entry.suppressed });
  }
  if (entry.repeated) return t("archive.audit.repeated", { what: text, count: entry.repeated });
  if (entry.suppressed) return t("archive.audit.suppressed", { what: text, count: entry.suppressed });
  return text;
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
const audit = { before: null, shown: 0, entries: [] }; // entries: the rows shown, drawn again on a change of language

function auditRow(e) {
  return h("tr", { dataset: { action: e.action, seq: String(e.seq) } },
    h("td", { class: "num audit-seq" }, e.seq === undefined ? "" : String(e.seq)),
    h("td", { class: "audit-when", title: localDateTime(e.at) || undefined }, utcDateTime(e.at).replace(" UTC", "")),
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
    const entries = data.entries || [];
    const rows = entries.map(auditRow);
    const body = $("#audit-rows");
    if (older) {
      body.append(...rows);
      audit.entries.push(...entries);
    } else {
      body.replaceChildren(...(rows.length ? rows : [auditEmptyRow()]));
      audit.shown = 0;
      audit.entries = [...entries];
    }
    audit.shown += rows.length;
    audit.before = data.next_before ?? null;
    show(button, audit.before !== null);
    renderAuditShown();
  } catch (error) {
    if (asked !== auditAsked) return;
    if (error.status === 403) show($("#audit-panel"), false);
    else reportError(error, "archive.audit.load_failed");
  } finally {
    if (asked === auditAsked) button.disabled = false;
  }
}

function auditEmptyRow() {
  return h("tr", {}, h("td", { colspan: "7", class: "muted" }, t("archive.audit.empty")));
}

function renderAuditShown() {
  const node = $("#audit-shown");
  if (!audit.shown) say(node, "");
  else say(node, audit.before === null ? "archive.audit.shown_all" : "archive.audit.shown", { count: audit.shown });
}

/** The access log's rows again (the language changed). */
function renderAudit() {
  if (!state.recording || !audit.entries.length) {
    if (state.recording && $("#audit-rows").children.length) $("#audit-rows").replaceChildren(auditEmptyRow());
    return;
  }
  $("#audit-rows").replaceChildren(...audit.entries.map(auditRow));
  renderAuditShown();
}

// -- the language -------------------------------------------------------------------------------------

/** The page's language changed: what the page drew itself, again (marked nodes follow by themselves). */
function relabel() {
  if (state.user) $("#user-name").textContent = userLine();
  if (state.search && state.results) {
    renderResults(state.results);
    renderPager();
  }
  if (state.recording) {
    describeRecording(state.recording);
    renderChecks();
    if (can("share_recordings")) renderShares();
    renderShareResult();
    renderAudit();
  }
  if (statusText && !$("#status").hidden) $("#status-text").textContent = statusText();
}

// -- wiring -------------------------------------------------------------------------------------------

async function init() {
  await startLanguage();
  $("#language-slot").append(languageSwitcher());
  onLanguageChange(relabel);
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
  $("#play-button").addEventListener("click", () => state.player.start().catch((e) => reportError(e, "archive.play_failed")));
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
        if (error.status === 401) signOut("archive.session_expired");
        else enterArchive();
      });
  } else {
    show($("#login-view"), true);
  }
}

// shared.js imports the player from here; only the archive page runs the archive.
if (document.body && document.body.classList.contains("archive-page")) init();
