// Judge console: sign in, hearings, hearing controls, invitations, the live hearing, lobby and roster, log notes,
// the recording indicator with pause and resume, and the courtroom camera chooser.

import { dateTime, languageSwitcher, onLanguageChange, say, startLanguage, t } from "./i18n.js";
import {
  $, h, show, apiCall, ApiError, SignalingChannel, SignalError, CLOSE, createHearingPeer, offerWithCandidates,
  iceGatheringComplete, watchPeer, closePeer, getLocalMedia, stopStream, playWithSound, unmuteAndPlay,
  inboundVideoStats, Backoff, roleLabel, statusLabel, since, clockTime, formatSchedule, RETRY_LATER,
} from "./common.js";

const TOKEN_KEY = "court.staff.token";
const USER_KEY = "court.staff.user";
const SELECTED_KEY = "court.staff.hearing";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  user: readJson(sessionStorage.getItem(USER_KEY)),
  hearings: [],
  selected: null,
  live: null,
  notes: [], // log notes of the selected hearing seen by this page, newest first
  cameras: [], // the courtroom PC's cameras in the selected hearing: {key, label, participant_id, shown, online}
  recordingOff: false, // the server answered that it does not record
  invited: [], // the selected hearing's people invited and not yet in it (GET …/participants?all=1)
  waitingSeen: new Set(), // lobby entrants the court has been told of (a chime and a badge for each new one)
  lobbyTimer: null,
  lastLobby: null, // the lobby as last drawn: {entrants, session} (session null before the hearing is opened)
};

// Tests (and support staff) can reach the live peer connection: window.__hearing.pc.getStats().
window.__hearing = { pc: null, previews: new Map(), inboundVideoStats };

function readJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function can(permission) {
  const permissions = (state.user && state.user.permissions) || [];
  return permissions.includes(permission);
}

// -- status line --------------------------------------------------------------------------------------

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

/** An API error in the page's language: the catalog's words for its code when it has them, else the server's. */
function errorText(error) {
  const code = error && error.code;
  const known = code ? t(`error.${code}`) : "";
  if (code && known !== `error.${code}`) return known;
  return error && error.message ? String(error.message) : String(error);
}

function reportError(error, what) {
  if (error instanceof ApiError && error.status === 401 && error.code !== "invalid_credentials") {
    signOut(t("judge.session_expired"));
    return;
  }
  const code = error && error.code ? ` (${error.code})` : "";
  notify(what ? t("judge.error_with", { what, error: errorText(error) }) + code : errorText(error) + code, "error");
}

async function api(method, path, body) {
  return apiCall(method, path, { body, token: state.token });
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
    await enterConsole();
  } catch (error) {
    reportError(error, t("judge.err.sign_in"));
  } finally {
    button.disabled = false;
  }
}

function signOut(message) {
  if (state.live) state.live.stop();
  state.live = null;
  state.token = "";
  state.user = null;
  state.selected = null;
  state.notes = [];
  renderNotes();
  setCameras([]);
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  sessionStorage.removeItem(SELECTED_KEY);
  show($("#console-view"), false);
  show($("#user-box"), false);
  show($("#login-view"), true);
  if (message) notify(message, "error");
  $("#login-username").focus();
}

function renderUser() {
  $("#user-name").textContent = state.user ? `${state.user.display_name} · ${roleLabel(state.user.role)}` : "";
}

async function enterConsole() {
  show($("#login-view"), false);
  show($("#console-view"), true);
  show($("#user-box"), true);
  renderUser();
  show($("#new-hearing-toggle"), can("create_hearing"));
  show($("#archive-link"), can("view_recordings"));
  await loadHearings();
  const remembered = sessionStorage.getItem(SELECTED_KEY);
  if (remembered && state.hearings.some((x) => x.id === remembered)) selectHearing(remembered);
}

// -- hearings -----------------------------------------------------------------------------------------

async function loadHearings() {
  try {
    const data = await api("GET", "/api/hearings");
    state.hearings = (data.hearings || []).sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    renderHearingList();
  } catch (error) {
    reportError(error, t("judge.err.load_hearings"));
  }
}

function renderHearingList() {
  const list = $("#hearing-list");
  list.replaceChildren();
  if (!state.hearings.length) {
    list.append(h("li", { class: "empty" }, t("judge.no_hearings")));
    return;
  }
  for (const hearing of state.hearings) {
    const selected = state.selected && state.selected.id === hearing.id;
    list.append(h("li", {},
      h("button", {
        type: "button", class: `hearing-item${selected ? " selected" : ""}`,
        "aria-current": selected ? "true" : null, onclick: () => selectHearing(hearing.id),
      },
      h("span", { class: "hearing-item-top" },
        h("span", { class: "case-number" }, hearing.case_number),
        h("span", { class: `badge badge-${hearing.status}` }, statusLabel(hearing.status))),
      h("span", { class: "hearing-item-title" }, hearing.title),
      h("span", { class: "hearing-item-meta" }, [formatSchedule(hearing.scheduled_start), hearing.courtroom]
        .filter(Boolean).join(" · ")))));
  }
}

function toggleCreateForm(open) {
  const form = $("#create-form");
  show(form, open);
  $("#new-hearing-toggle").setAttribute("aria-expanded", String(open));
  show($("#new-hearing-toggle"), !open && can("create_hearing"));
  if (open) form.elements.case_number.focus();
}

async function createHearing(event) {
  event.preventDefault();
  const form = event.target;
  const values = Object.fromEntries(new FormData(form).entries());
  if (values.scheduled_start) {
    const date = new Date(values.scheduled_start);
    values.scheduled_start = Number.isNaN(date.getTime()) ? values.scheduled_start : date.toISOString();
  }
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const hearing = await api("POST", "/api/hearings", values);
    form.reset();
    toggleCreateForm(false);
    notify(t("judge.hearing_created", { case_number: hearing.case_number }), "success");
    state.hearings.unshift(hearing);
    selectHearing(hearing.id);
  } catch (error) {
    reportError(error, t("judge.err.create_hearing"));
  } finally {
    submit.disabled = false;
  }
}

function selectHearing(id) {
  const hearing = state.hearings.find((x) => x.id === id);
  if (!hearing) return;
  if (state.live && state.live.hearingId !== id) {
    state.live.stop();
    state.live = null;
  }
  if (!state.selected || state.selected.id !== id) {
    state.notes = [];
    renderNotes();
    setCameras([]);
  }
  state.selected = hearing;
  window.__hearing.hearingId = id;
  sessionStorage.setItem(SELECTED_KEY, id);
  $("#invite-result").hidden = true;
  $("#invite-form").reset();
  renderHearingList();
  renderHearing();
  resetPanels();
  syncLiveSession();
  loadCameras();
  loadInvited();
  watchLobbyBeforeOpening();
}

// -- who is invited and not yet here; who waits before the hearing is opened --------------------------------

/** The people invited who have not joined (or left before being admitted), with their contact and link. */
async function loadInvited() {
  const hearing = state.selected;
  if (!hearing || !can("invite")) return;
  try {
    const data = await api("GET", `/api/hearings/${encodeURIComponent(hearing.id)}/participants?all=1`);
    if (!state.selected || state.selected.id !== hearing.id) return;
    const invited = (data.participants || []).filter((p) => !p.username && (p.state === "invited"
      || p.state === "left" && !p.admitted_at));
    // Drawn again only when it changed: a button half-way through its confirmation keeps its state.
    if (JSON.stringify(invited) === JSON.stringify(state.invited)) return;
    state.invited = invited;
    renderInvited();
  } catch (error) {
    if (error.status === 401) reportError(error, "");
  }
}

function renderInvited() {
  const list = $("#invited-list");
  const people = state.invited || [];
  $("#invited-count").textContent = String(people.length);
  show($("#invited-empty"), !people.length);
  list.replaceChildren(...people.map((person) => h("li", { class: "invited-item", dataset: { pid: person.id } },
    h("div", { class: "invited-who" }, h("strong", {}, person.name), " ",
      h("span", { class: "role-tag" }, roleLabel(person.role))),
    h("div", { class: "invited-meta" },
      // Notices (SMS, e-mail) are not sent by this server yet: the court gives the link itself.
      t(person.state === "left" ? "invited.left_lobby" : "invited.not_joined"), " · ",
      [person.phone, person.email].filter(Boolean).join(" · ") || t("invited.no_contact"), " · ",
      t("invited.notice_none")),
    h("button", {
      type: "button", class: "btn btn-secondary btn-small", disabled: state.selected?.status === "closed",
      "aria-label": t("invited.show_link_of", { name: person.name }), onclick: (e) => newLink(person, e.target),
    }, t("invited.show_link")))));
}

/** A new link for the same seat (the old one stops working), shown with its QR code to copy or send. */
async function newLink(person, button) {
  if (!armed(button, t("invited.confirm_new_link"))) return;
  button.disabled = true;
  try {
    const invite = await api("POST", participantPath(person.id, "link"));
    showInvitation(invite);
    notify(t("invited.new_link_done", { name: person.name }), "success");
  } catch (error) {
    reportError(error, t("invited.err_new_link", { name: person.name }));
  } finally {
    button.disabled = false;
  }
}

/** Before the hearing is opened there is no live connection: the waiting room is asked for every few
 * seconds, so the court sees at once who has arrived (and hears a chime for each newcomer). */
function watchLobbyBeforeOpening() {
  clearInterval(state.lobbyTimer);
  state.lobbyTimer = null;
  const hearing = state.selected;
  if (!hearing || hearing.status !== "scheduled" || !can("admit")) return;
  const poll = async () => {
    const current = state.selected;
    if (!current || current.id !== hearing.id || current.status !== "scheduled") {
      clearInterval(state.lobbyTimer);
      return;
    }
    try {
      const data = await api("GET", `/api/hearings/${encodeURIComponent(hearing.id)}/lobby`);
      if (state.selected && state.selected.id === hearing.id && !state.live) renderLobby(data.entrants || [], null);
    } catch { /* the next poll tries again */ }
  };
  poll();
  state.lobbyTimer = setInterval(poll, 4000);
}

/** Someone new is waiting: a short chime, a badge in the page's title, and the lobby panel brought into view. */
function announceWaiting(entrants) {
  const fresh = entrants.filter((e) => !state.waitingSeen.has(e.id));
  for (const entrant of entrants) state.waitingSeen.add(entrant.id);
  const count = entrants.length;
  document.title = count ? `(${count}) ${t("judge.page_title")}` : t("judge.page_title");
  const badge = $("#lobby-badge");
  badge.textContent = count ? t("lobby.badge", { count }) : "";
  show(badge, count > 0);
  if (fresh.length) chime();
}

let chimeContext = null;
function chime() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    chimeContext = chimeContext || new Context();
    const start = chimeContext.currentTime + 0.02;
    const gain = chimeContext.createGain();
    gain.connect(chimeContext.destination);
    gain.gain.setValueAtTime(0.18, start);
    gain.gain.exponentialRampToValueAtTime(0.001, start + 0.6);
    const tone = chimeContext.createOscillator();
    tone.frequency.setValueAtTime(880, start);
    tone.frequency.setValueAtTime(1175, start + 0.15);
    tone.connect(gain);
    tone.start(start);
    tone.stop(start + 0.6);
    window.__hearing.chimes = (window.__hearing.chimes || 0) + 1;
  } catch { /* no sound: the badge still shows */ }
}

function renderHearing() {
  const hearing = state.selected;
  show($("#no-selection"), !hearing);
  show($("#hearing-view"), !!hearing);
  show($("#side-column"), !!hearing);
  if (!hearing) return;
  $("#h-case").textContent = hearing.case_number;
  $("#h-title").textContent = hearing.title;
  $("#h-meta").textContent = [hearing.court, hearing.courtroom, formatSchedule(hearing.scheduled_start)]
    .filter(Boolean).join(" · ");
  const status = $("#h-status");
  status.textContent = statusLabel(hearing.status);
  status.className = `badge badge-${hearing.status}`;
  show($("#h-locked"), !!hearing.locked);

  const allowed = can("control_hearing");
  const visible = {
    open: hearing.status === "scheduled",
    lock: hearing.status !== "closed" && !hearing.locked,
    unlock: hearing.status !== "closed" && hearing.locked,
    recess: hearing.status === "open",
    resume: hearing.status === "recess",
    close: hearing.status !== "closed",
  };
  for (const button of document.querySelectorAll(".hearing-controls [data-action]")) {
    const action = button.dataset.action;
    show(button, visible[action]);
    button.disabled = !allowed;
    disarm(button);
  }
  const inviteForm = $("#invite-form");
  for (const element of inviteForm.elements) element.disabled = hearing.status === "closed" || !can("invite");

  renderRecording(hearing);
  const record = $("#recording-link");
  record.href = `/archive#recording=${encodeURIComponent(hearing.id)}`;
  show(record, hearing.status === "closed" && can("view_recordings"));
  show($("#notes-panel"), isLive(hearing) && can("log_notes"));
  renderCameras();
  updateOverlay();
}

function isLive(hearing) {
  return !!hearing && (hearing.status === "open" || hearing.status === "recess");
}

/** The notice over the video: not open yet, closed, connecting; and the recess banner. */
function updateOverlay() {
  const hearing = state.selected;
  if (!hearing) return;
  const pc = state.live && state.live.pc;
  let text = "";
  if (hearing.status === "scheduled") text = "judge.overlay.not_opened";
  else if (hearing.status === "closed") text = "judge.overlay.closed";
  else if (!pc || pc.connectionState !== "connected") text = "judge.overlay.connecting";
  const overlay = $("#video-overlay");
  say(overlay, text);
  show(overlay, !!text);
  show($("#recess-banner"), hearing.status === "recess");
}

// What each control did: judge.done.<action>; what failed: judge.err.<action>.

async function hearingAction(button) {
  const action = button.dataset.action;
  if (action === "close" && !armed(button, t("judge.confirm_close"))) return;
  const hearing = state.selected;
  button.disabled = true;
  try {
    const updated = await api("POST", `/api/hearings/${encodeURIComponent(hearing.id)}/${action}`);
    mergeHearing(updated);
    notify(t(`judge.done.${action}`), "success");
  } catch (error) {
    reportError(error, t(`judge.err.${action}`));
  } finally {
    button.disabled = !can("control_hearing");
  }
}

function mergeHearing(update) {
  if (!update) return;
  const index = state.hearings.findIndex((x) => x.id === update.id);
  const merged = { ...(index >= 0 ? state.hearings[index] : {}), ...update };
  if (index >= 0) state.hearings[index] = merged;
  if (state.selected && state.selected.id === update.id) {
    const opened = state.selected.status !== merged.status;
    state.selected = merged;
    renderHearing();
    syncLiveSession();
    if (opened) watchLobbyBeforeOpening();
  }
  renderHearingList();
}

/** Join the hearing over signaling while it is open or in recess; leave it otherwise. */
function syncLiveSession() {
  const hearing = state.selected;
  const live = hearing && (hearing.status === "open" || hearing.status === "recess");
  if (live && !state.live) {
    state.live = new LiveSession(hearing.id);
    state.live.start();
  } else if (!live && state.live) {
    state.live.stop();
    state.live = null;
  }
}

// Two-step buttons for actions that cannot be undone.
function armed(button, confirmLabel) {
  if (button.dataset.armed) {
    disarm(button);
    return true;
  }
  button.dataset.armed = "1";
  button.dataset.label = button.textContent;
  button.textContent = confirmLabel;
  // A screen reader hears the question too (a labelled button would otherwise keep its old name).
  if (button.hasAttribute("aria-label")) {
    button.dataset.ariaLabel = button.getAttribute("aria-label");
    button.setAttribute("aria-label", confirmLabel);
  }
  button.classList.add("armed");
  button._disarm = setTimeout(() => disarm(button), 5000);
  return false;
}

function disarm(button) {
  if (!button.dataset.armed) return;
  clearTimeout(button._disarm);
  button.textContent = button.dataset.label;
  if (button.dataset.ariaLabel) button.setAttribute("aria-label", button.dataset.ariaLabel);
  delete button.dataset.ariaLabel;
  delete button.dataset.armed;
  button.classList.remove("armed");
}

// -- invitations --------------------------------------------------------------------------------------

async function createInvite(event) {
  event.preventDefault();
  const form = event.target;
  const values = Object.fromEntries(new FormData(form).entries());
  for (const key of ["phone", "email"]) if (!values[key]) delete values[key];
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const invite = await api("POST", `/api/hearings/${encodeURIComponent(state.selected.id)}/invites`, values);
    const person = invite.participant;
    showInvitation(invite);
    form.reset();
    form.elements.name.blur();
    notify(t("judge.invite.created", { name: person.name }), "success");
    loadInvited();
  } catch (error) {
    reportError(error, t("judge.err.invite"));
  } finally {
    submit.disabled = false;
  }
}

/** A join link and its QR code, as the invite (or a new link for the same seat) gave them. */
function showInvitation(invite) {
  const person = invite.participant;
  say($("#invite-for"), "judge.invite.for", { name: person.name, role: roleLabel(person.role) });
  $("#invite-link").value = invite.join_url;
  $("#invite-qr").src = invite.qr_svg;
  requestAnimationFrame(() => $("#invite-result").scrollIntoView({ block: "nearest", behavior: "smooth" }));
  say($("#invite-expiry"), invite.expires_at ? "judge.invite.valid_until" : "",
    { until: dateTime(invite.expires_at) });
  show($("#invite-result"), true);
}

async function copyLink() {
  const input = $("#invite-link");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  say($("#copy-link"), "judge.copied");
  setTimeout(() => say($("#copy-link"), "judge.copy"), 2000);
}

// -- the live hearing ---------------------------------------------------------------------------------

/** The connection state under the video: a catalog key (and its parameters), re-said on a language change. */
function setConn(kind, key, params) {
  const conn = $("#conn-state");
  conn.className = `conn conn-${kind}`;
  say($("#conn-text"), key, params);
}

function resetPanels() {
  state.lastLobby = null;
  $("#lobby-list").replaceChildren();
  $("#roster-list").replaceChildren();
  $("#lobby-count").textContent = "0";
  $("#roster-count").textContent = "0";
  show($("#lobby-empty"), true);
  show($("#roster-empty"), true);
}

class LiveSession {
  constructor(hearingId) {
    this.hearingId = hearingId;
    this.channel = null;
    this.pc = null;
    this.unwatch = null;
    this.local = null;
    this.mediaProblem = null;
    this.iceServers = [];
    this.me = null;
    this.stopped = false;
    this.backoff = new Backoff(1000, 10000);
    this.retryTimer = null;
    this.micMuted = false;
    this.cameraOff = false;
    this.previews = new LobbyPreviews(this);
    this.entrants = [];
    this.clock = setInterval(() => this.refreshWaitingTimes(), 30000);
  }

  async start() {
    setConn("connecting", "judge.conn.starting_camera");
    const { stream, problem } = await getLocalMedia();
    if (this.stopped) {
      stopStream(stream);
      return;
    }
    this.local = stream;
    this.mediaProblem = problem;
    const selfview = $("#selfview");
    selfview.srcObject = stream && stream.getVideoTracks().length ? stream : null;
    show(selfview, !!selfview.srcObject);
    // judge.media.<problem>: what the court's own camera check found.
    say($("#media-note"), problem ? `judge.media.${problem}` : "");
    this.updateMediaButtons();
    await this.connect();
  }

  updateMediaButtons() {
    const audio = this.local && this.local.getAudioTracks()[0];
    const video = this.local && this.local.getVideoTracks()[0];
    const mic = $("#mic-toggle");
    const cam = $("#cam-toggle");
    mic.disabled = !audio;
    cam.disabled = !video;
    show(mic, !!audio || !this.mediaProblem);
    show(cam, !!video || !this.mediaProblem);
    mic.textContent = t(this.micMuted ? "join.unmute" : "join.mute");
    mic.setAttribute("aria-label", t(this.micMuted ? "judge.unmute_own" : "judge.mute_own"));
    mic.setAttribute("aria-pressed", String(this.micMuted));
    cam.textContent = t(this.cameraOff ? "join.camera_turn_on" : "join.camera_turn_off");
    cam.setAttribute("aria-label", t(this.cameraOff ? "judge.camera_on_own" : "judge.camera_off_own"));
    cam.setAttribute("aria-pressed", String(this.cameraOff));
  }

  toggleMic() {
    this.micMuted = !this.micMuted;
    this.local?.getAudioTracks().forEach((t) => { t.enabled = !this.micMuted; });
    this.channel?.send({ type: "mute", muted: this.micMuted });
    this.updateMediaButtons();
  }

  toggleCamera() {
    this.cameraOff = !this.cameraOff;
    this.local?.getVideoTracks().forEach((t) => { t.enabled = !this.cameraOff; });
    this.channel?.send({ type: "camera", on: !this.cameraOff });
    this.updateMediaButtons();
  }

  async connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    show($("#rejoin"), false);
    setConn("connecting", "judge.overlay.connecting");
    const channel = new SignalingChannel();
    this.channel = channel;
    channel.addEventListener("message", (event) => this.onMessage(channel, event.detail));
    channel.addEventListener("close", (event) => this.onClose(channel, event.detail));
    try {
      await channel.open();
    } catch (error) {
      // A refused connection is reported by the close event; only a timeout needs handling here.
      if (this.channel === channel && error.code === "timeout") this.retry("join.why.no_answer");
      return;
    }
    let welcome;
    try {
      welcome = await channel.request({ type: "hello", token: state.token, hearing_id: this.hearingId }, ["welcome"]);
    } catch (error) {
      if (this.channel !== channel || error.code === "disconnected") return; // onClose takes over
      if (error.code === "timeout") {
        this.restart("join.why.no_answer");
        return;
      }
      channel.close(1000, "hello refused");
      if (RETRY_LATER.includes(error.code)) {
        this.retry("join.why.busy_moment");
        return;
      }
      if (["token_expired", "invalid_token", "token_revoked", "unauthorized"].includes(error.code)) {
        signOut(t("judge.session_expired"));
        return;
      }
      this.fail("judge.conn.join_failed", { error: `${errorText(error)} (${error.code})` });
      return;
    }
    if (this.channel !== channel || this.stopped) return;
    this.backoff.reset();
    this.iceServers = welcome.ice_servers || [];
    this.me = welcome.participant;
    mergeHearing(welcome.hearing);
    loadCameras(); // the server sends "cameras" on changes only: ask for the list as it is now
    if (this.micMuted) channel.send({ type: "mute", muted: true });
    if (this.cameraOff) channel.send({ type: "camera", on: false });
    await this.startPeer(channel);
  }

  async startPeer(channel) {
    const { pc, remote } = createHearingPeer(this.iceServers, this.local);
    this.pc = pc;
    window.__hearing.pc = pc;
    const video = $("#composite");
    video.srcObject = remote;
    pc.addEventListener("track", () => {
      playWithSound(video, () => show($("#sound-button"), true));
    });
    pc.addEventListener("connectionstatechange", () => {
      if (this.pc !== pc) return;
      const kinds = { new: "connecting", connecting: "connecting", connected: "ok", disconnected: "warn",
        failed: "error", closed: "idle" };
      const known = pc.connectionState in kinds;
      setConn(known ? kinds[pc.connectionState] : "idle", known ? `judge.conn.${pc.connectionState}` : "judge.conn.idle");
      updateOverlay();
    });
    this.unwatch = watchPeer(pc, () => this.restart("judge.why.media_lost"));
    try {
      const sdp = await offerWithCandidates(pc);
      if (this.pc !== pc) return;
      const answer = await channel.request({ type: "offer", sdp }, ["answer"]);
      if (this.pc !== pc) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      if (this.pc !== pc || this.stopped) return;
      if (error instanceof SignalError && error.code === "disconnected") return; // onClose takes over
      reportError(error, t("judge.err.video"));
      this.restart("join.why.setup_failed");
    }
  }

  onMessage(channel, message) {
    if (channel !== this.channel) return;
    switch (message.type) {
      case "lobby":
        this.entrants = message.entrants || [];
        renderLobby(this.entrants, this);
        this.previews.sync(this.entrants);
        loadInvited();
        break;
      case "roster":
        renderRoster(message.participants || [], this);
        break;
      case "speaking":
        this.speaking = new Set(message.participants || []);
        if (this.people) renderRoster(this.people, this);
        break;
      case "hearing":
        mergeHearing(message.hearing);
        break;
      case "log-note":
        addNote(message.note);
        break;
      case "cameras":
        setCameras(message.cameras || []);
        break;
      case "preview-ended":
        this.previews.ended(message.participant_id);
        break;
      case "muted":
        if (message.by === "court") notify(t(message.muted ? "judge.own_muted" : "judge.own_unmuted"));
        break;
      case "error":
        if (message.ref === undefined) notify(t("judge.conn.error", { error: `${errorText(message)} (${message.code})` }), "error");
        break;
      default:
        break;
    }
  }

  onClose(channel, { code, reason, local }) {
    if (channel !== this.channel || local || this.stopped) return;
    this.teardownMedia();
    if (code === CLOSE.HEARING_CLOSED && /shutting down/i.test(reason || "")) {
      this.retry("join.why.restarting");
      return;
    }
    if (code === CLOSE.HEARING_CLOSED) {
      this.fail("judge.overlay.closed", {}, "idle");
      loadHearings().then(() => {
        const fresh = state.hearings.find((x) => x.id === this.hearingId);
        if (fresh) mergeHearing(fresh);
      });
      return;
    }
    if (code === CLOSE.REPLACED) {
      this.fail("judge.conn.replaced");
      return;
    }
    if (code === CLOSE.UNAUTHORIZED) {
      signOut(t("judge.session_expired"));
      return;
    }
    if (code === CLOSE.FORBIDDEN || code === CLOSE.REMOVED) {
      this.fail("judge.conn.ended");
      return;
    }
    this.retry("judge.why.lost");
  }

  retry(reason) {
    if (this.stopped) return;
    this.teardownMedia();
    const delay = this.backoff.next();
    setConn("warn", "judge.conn.retrying", { reason: t(reason), seconds: Math.ceil(delay / 1000) });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  restart(reason) {
    const channel = this.channel;
    this.channel = null;
    if (channel) channel.close(4000, "restart");
    this.retry(reason);
  }

  fail(key, params = {}, kind = "error") {
    this.teardownMedia();
    setConn(kind === "idle" ? "idle" : "error", key, params);
    show($("#rejoin"), kind !== "idle" && !this.stopped);
  }

  teardownMedia() {
    this.previews.stopAll(false);
    if (this.unwatch) this.unwatch();
    this.unwatch = null;
    closePeer(this.pc);
    this.pc = null;
    window.__hearing.pc = null;
    const video = $("#composite");
    video.srcObject = null;
    show($("#sound-button"), false);
    updateOverlay();
  }

  refreshWaitingTimes() {
    if (this.entrants.length) renderLobby(this.entrants, this);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.clock);
    const channel = this.channel;
    this.channel = null;
    this.teardownMedia();
    if (channel) {
      channel.send({ type: "leave" });
      setTimeout(() => channel.close(1000, "left"), 300);
    }
    stopStream(this.local);
    this.local = null;
    const selfview = $("#selfview");
    selfview.srcObject = null;
    show(selfview, false);
    say($("#media-note"), "");
    $("#mic-toggle").disabled = true;
    $("#cam-toggle").disabled = true;
    show($("#rejoin"), false);
    setConn("idle", "judge.conn.idle");
    resetPanels();
    setCameras([]);
  }
}

// -- the court record: recording indicator, pause and resume, log notes ---------------------------------

function renderRecording(hearing) {
  const live = isLive(hearing);
  const off = state.recordingOff || hearing.recording === false;
  const paused = !!hearing.recording_paused;
  const badge = $("#h-rec");
  show(badge, live);
  const which = off ? "off" : paused ? "paused" : "on";
  badge.className = { off: "badge badge-rec-off", paused: "badge badge-rec-paused", on: "badge badge-rec" }[which];
  badge.textContent = t(`judge.rec.${which}`);
  badge.title = t(`judge.rec.${which}_title`);
  const allowed = can("control_recording");
  show($("#rec-pause"), live && !off && !paused);
  show($("#rec-resume"), live && !off && paused);
  $("#rec-pause").disabled = !allowed;
  $("#rec-resume").disabled = !allowed;
}

async function setRecording(action, button) {
  const hearing = state.selected;
  if (!hearing) return;
  button.disabled = true;
  try {
    const updated = await api("POST", `/api/hearings/${encodeURIComponent(hearing.id)}/recording/${action}`);
    mergeHearing(updated);
    notify(t(action === "pause" ? "judge.rec.paused_done" : "judge.rec.resumed_done"), "success");
  } catch (error) {
    if (error instanceof ApiError && error.code === "recording_disabled") {
      state.recordingOff = true;
      renderHearing();
      notify(t("judge.rec.off_title"), "error");
      return;
    }
    reportError(error, t(action === "pause" ? "judge.err.rec_pause" : "judge.err.rec_resume"));
  } finally {
    button.disabled = !can("control_recording");
  }
}

// A note's kind is note.kind.<kind>; what a one-click button logs when nothing was typed, note.default.<kind>
// (in the language of the page that logs it: the record keeps the words as written).

/** A note's time as the court reads it: its local clock, to the second. */
function noteClock(epochSeconds) {
  return dateTime(epochSeconds, { timeStyle: "medium" });
}

/** A note from the POST reply or the signaling "log-note" message (both arrive: each note is kept once). */
function addNote(note) {
  if (!note || !note.id || state.notes.some((n) => n.id === note.id)) return;
  state.notes.unshift(note);
  state.notes.sort((a, b) => (b.at || 0) - (a.at || 0));
  renderNotes(note.id);
}

function renderNotes(freshId = "") {
  const list = $("#notes-list");
  list.replaceChildren(...state.notes.map((note) => h("li", {
    class: note.id === freshId ? "fresh" : "", dataset: { noteId: note.id, kind: note.kind },
  },
  h("span", { class: "note-time" }, noteClock(note.at)),
  h("span", {},
    h("span", { class: `t-tag t-tag-${note.kind}` }, t(`note.kind.${note.kind}`)),
    note.text, note.author ? h("span", { class: "note-author" }, ` — ${note.author}`) : null))));
  $("#notes-count").textContent = String(state.notes.length);
  show($("#notes-empty"), !state.notes.length);
}

async function logNote(kind, button) {
  const hearing = state.selected;
  if (!hearing) return;
  const input = $("#note-text");
  const typed = input.value.trim();
  const text = typed || (kind === "note" ? "" : t(`note.default.${kind}`));
  if (!text) {
    notify(t("judge.type_note_first"), "error");
    input.focus();
    return;
  }
  if (button) button.disabled = true;
  try {
    const note = await api("POST", `/api/hearings/${encodeURIComponent(hearing.id)}/notes`, { kind, text });
    if (input.value.trim() === typed) input.value = "";
    addNote(note);
    input.focus();
  } catch (error) {
    reportError(error, t("judge.err.note"));
  } finally {
    if (button) button.disabled = false;
  }
}

// -- courtroom cameras: which of the courtroom PC's cameras are in the picture -------------------------------

// The list comes from GET …/cameras when a hearing is opened here or the connection is made again, and from
// the server's "cameras" message whenever it changes (a camera arrives, goes offline or comes back, or is put
// in or taken out of the picture). Only the court running the hearing (control_hearing) gets the message.
let camerasAsked = 0; // a "cameras" message or a newer request makes an answer still on its way stale
const cameraPending = new Set(); // keys whose change is on its way to the server

function setCameras(cameras) {
  camerasAsked += 1;
  state.cameras = Array.isArray(cameras) ? cameras : [];
  renderCameras();
}

async function loadCameras() {
  const hearing = state.selected;
  if (!hearing || !isLive(hearing) || !can("control_hearing")) return;
  const asked = ++camerasAsked;
  try {
    const data = await api("GET", `/api/hearings/${encodeURIComponent(hearing.id)}/cameras`);
    if (asked !== camerasAsked || !state.selected || state.selected.id !== hearing.id) return;
    state.cameras = data.cameras || [];
    renderCameras();
  } catch (error) {
    if (asked !== camerasAsked) return;
    if (error.status === 401) reportError(error, "");
    // Otherwise the next "cameras" message brings the list; nothing to tell the judge yet.
  }
}

function renderCameras() {
  const panel = $("#cameras-panel");
  const cameras = state.cameras || [];
  const visible = isLive(state.selected) && can("control_hearing") && cameras.length > 0;
  show(panel, visible);
  const list = $("#cameras-list");
  if (!visible) {
    list.replaceChildren();
    return;
  }
  $("#cameras-count").textContent = String(cameras.length);
  const offline = cameras.filter((c) => !c.online).length;
  $("#cameras-summary").textContent = offline
    ? t("judge.cameras.offline", { count: offline, total: cameras.length })
    : t("judge.cameras.summary");
  $("#cameras-summary").classList.toggle("cameras-warn", offline > 0);
  // Rows are kept and updated in place, so a checkbox keeps its focus while the list changes around it.
  const keep = new Set(cameras.map((c) => c.key));
  for (const row of [...list.children]) if (!keep.has(row.dataset.key)) row.remove();
  for (const camera of cameras) {
    let row = [...list.children].find((r) => r.dataset.key === camera.key);
    if (!row) {
      const box = h("input", { type: "checkbox", class: "switch", onchange: (e) => showCamera(camera.key, e.currentTarget) });
      row = h("li", { class: "camera-item", dataset: { key: camera.key } },
        h("span", { class: "camera-name" }),
        h("span", { class: "camera-state", role: "status" }),
        h("label", { class: "camera-toggle" }, box, h("span", { dataset: { i18n: "judge.cameras.in_picture" } }, t("judge.cameras.in_picture"))));
      list.append(row);
    } else {
      list.append(row); // the server's order
    }
    row.dataset.online = String(!!camera.online);
    row.dataset.shown = String(!!camera.shown);
    row.classList.toggle("camera-offline", !camera.online);
    row.classList.toggle("camera-hidden", !camera.shown);
    row.querySelector(".camera-name").textContent = camera.label;
    const status = row.querySelector(".camera-state");
    const text = t(camera.online ? "judge.cameras.online" : "judge.cameras.offline_one");
    if (status.textContent !== text) status.textContent = text; // a live region: speak changes only
    status.className = `camera-state ${camera.online ? "online" : "offline"}`;
    status.title = t(camera.online ? "judge.cameras.online_title" : "judge.cameras.offline_title");
    const box = row.querySelector("input");
    box.setAttribute("aria-label", t("judge.cameras.in_picture_of", { label: camera.label }));
    if (!cameraPending.has(camera.key)) {
      box.checked = !!camera.shown;
      box.disabled = false;
    }
  }
}

async function showCamera(key, box) {
  const hearing = state.selected;
  const camera = state.cameras.find((c) => c.key === key);
  if (!hearing || !camera) return;
  const shown = box.checked;
  cameraPending.add(key);
  box.disabled = true;
  try {
    const updated = await api("POST", `/api/hearings/${encodeURIComponent(hearing.id)}/cameras`, { camera: key, shown });
    const current = state.cameras.find((c) => c.key === key);
    if (current) Object.assign(current, updated);
    notify(t(shown ? "judge.cameras.shown" : "judge.cameras.hidden", { label: camera.label }), "success");
  } catch (error) {
    reportError(error, t("judge.err.camera", { label: camera.label }));
  } finally {
    cameraPending.delete(key);
    renderCameras(); // the checkbox shows what the server holds, whatever happened
    if (box.isConnected) box.focus();
  }
}

// -- lobby: entrants and their camera previews ---------------------------------------------------------

/**
 * One receive-only peer connection per lobby entrant, so that the court can check their identity on camera.
 * The server answers {type:"preview"} with "preview-answer", or an error "no_camera" while the entrant's
 * picture has not arrived yet: then we try again a little later.
 */
class LobbyPreviews {
  constructor(session) {
    this.session = session;
    this.items = window.__hearing.previews;
    this.items.clear();
  }

  sync(entrants) {
    const present = new Set(entrants.map((e) => e.id));
    for (const pid of [...this.items.keys()]) if (!present.has(pid)) this.stop(pid, true);
    for (const entrant of entrants) {
      const item = this.items.get(entrant.id);
      if (!entrant.online) {
        if (item) this.stop(entrant.id, true);
        setPreviewNote(entrant.id, "lobby.offline");
        continue;
      }
      if (!item) this.start(entrant.id, entrant.camera ? 0 : 1);
      else if (entrant.camera && item.state === "waiting") {
        clearTimeout(item.timer);
        this.start(entrant.id, 0);
      }
    }
  }

  async start(pid, attempts = 0) {
    const session = this.session;
    const channel = session.channel;
    if (!channel || !channel.isOpen) return;
    const old = this.items.get(pid);
    if (old) this.close(old);
    const pc = new RTCPeerConnection({ iceServers: session.iceServers });
    const item = { pid, pc, state: "connecting", timer: null, attempts };
    this.items.set(pid, item);
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addEventListener("track", (event) => {
      const video = previewVideo(pid);
      if (video) {
        video.srcObject = new MediaStream([event.track]);
        video.play().catch(() => {});
      }
    });
    pc.addEventListener("connectionstatechange", () => {
      if (this.items.get(pid) !== item) return;
      if (pc.connectionState === "connected") {
        item.state = "live";
        item.attempts = 0;
        setPreviewNote(pid, "");
      } else if (pc.connectionState === "failed") {
        this.later(item, "lobby.preview.lost");
      }
    });
    setPreviewNote(pid, attempts ? "lobby.preview.waiting" : "lobby.preview.connecting");
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc, 2000);
      if (this.items.get(pid) !== item) return;
      const reply = await channel.request({ type: "preview", participant_id: pid, sdp: pc.localDescription.sdp },
        ["preview-answer"]);
      if (this.items.get(pid) !== item) return;
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    } catch (error) {
      if (this.items.get(pid) !== item) return;
      if (error.code === "disconnected") {
        this.stop(pid, false);
        return;
      }
      if (error.code === "no_camera") this.later(item, "lobby.preview.no_camera");
      else if (error.code === "not_in_lobby") this.stop(pid, false); // admitted or gone: a lobby update follows
      else if (error.code === "forbidden") {
        this.close(item);
        item.state = "forbidden";
        setPreviewNote(pid, "lobby.preview.forbidden");
      } else this.later(item, "lobby.preview.unavailable", { code: error.code || "error" });
    }
  }

  /** Try again after a pause that grows with each failed attempt (1 s … 6 s). */
  later(item, note, params) {
    this.close(item);
    item.state = "waiting";
    item.attempts += 1;
    setPreviewNote(item.pid, note, params);
    const delay = Math.min(6000, 700 * 1.6 ** Math.min(item.attempts, 6));
    item.timer = setTimeout(() => {
      if (this.items.get(item.pid) === item) this.start(item.pid, item.attempts);
    }, delay);
  }

  ended(pid) {
    const item = this.items.get(pid);
    if (!item) return;
    const stillWaiting = this.session.entrants.some((e) => e.id === pid && e.online);
    if (stillWaiting) this.later(item, "lobby.preview.stopped");
    else this.stop(pid, false);
  }

  close(item) {
    clearTimeout(item.timer);
    closePeer(item.pc);
    item.pc = null;
  }

  stop(pid, tellServer) {
    const item = this.items.get(pid);
    if (!item) return;
    this.items.delete(pid);
    this.close(item);
    if (tellServer) this.session.channel?.send({ type: "preview-stop", participant_id: pid });
    const video = previewVideo(pid);
    if (video) video.srcObject = null;
  }

  stopAll(tellServer) {
    for (const pid of [...this.items.keys()]) this.stop(pid, tellServer);
  }
}

/** The ID check: the entrant's camera large over the console, and back. */
function enlargePreview(button) {
  const card = button.closest(".entrant");
  const large = !card.classList.contains("entrant-large");
  for (const other of document.querySelectorAll(".entrant-large")) {
    other.classList.remove("entrant-large");
    other.querySelector(".preview-enlarge").setAttribute("aria-pressed", "false");
  }
  card.classList.toggle("entrant-large", large);
  button.setAttribute("aria-pressed", String(large));
}

function entrantCard(pid) {
  return document.querySelector(`.entrant[data-pid="${CSS.escape(pid)}"]`);
}

function previewVideo(pid) {
  const card = entrantCard(pid);
  return card ? card.querySelector("video") : null;
}

function setPreviewNote(pid, key, params) {
  const card = entrantCard(pid);
  if (!card) return;
  const note = card.querySelector(".preview-note");
  say(note, key, params);
  show(note, !!key);
}

function renderLobby(entrants, session) {
  state.lastLobby = { entrants, session }; // drawn again as it is when the language changes
  announceWaiting(entrants);
  const list = $("#lobby-list");
  const present = new Set(entrants.map((e) => e.id));
  for (const card of [...list.children]) if (!present.has(card.dataset.pid)) card.remove();
  $("#lobby-count").textContent = String(entrants.length);
  show($("#lobby-empty"), !entrants.length);
  for (const entrant of entrants) {
    let card = entrantCard(entrant.id);
    if (!card) {
      card = h("article", { class: "entrant", dataset: { pid: entrant.id }, "aria-label": t("lobby.waiting_label", { name: entrant.name }) },
        h("div", { class: "preview" },
          h("video", { autoplay: true, playsinline: true, muted: true, "aria-label": t("lobby.camera_of", { name: entrant.name }) }),
          h("span", { class: "preview-note" }, t("lobby.preview.connecting")),
          h("button", {
            type: "button", class: "preview-enlarge", "aria-pressed": "false",
            "aria-label": t("lobby.enlarge_of", { name: entrant.name }), title: t("lobby.enlarge"),
            onclick: (e) => enlargePreview(e.currentTarget),
          }, "⤢")),
        h("div", { class: "entrant-body" },
          h("div", { class: "entrant-name" }),
          h("div", { class: "entrant-stated" }),
          h("div", { class: "entrant-meta" }),
          h("div", { class: "entrant-actions" },
            h("button", { type: "button", class: "btn btn-success btn-small", onclick: (e) => admit(entrant.id, e.target) }, t("lobby.admit")),
            h("button", { type: "button", class: "btn btn-danger-quiet btn-small", onclick: (e) => reject(entrant.id, e.target) }, t("lobby.reject")))));
      card.querySelector("video").muted = true;
      list.append(card);
      $("#side-column").scrollTo({ top: 0, behavior: "smooth" }); // someone new is waiting: show them
    } else {
      list.append(card); // keep the server's order (longest waiting first) without re-creating the video
    }
    card.querySelector(".entrant-name").replaceChildren(
      h("strong", {}, entrant.name), " ", h("span", { class: "role-tag" }, roleLabel(entrant.role)),
      // Admitted once already (a closed tab, a long drop, Leave by mistake): readmitted with one click.
      entrant.returning ? h("span", { class: "returning-tag", title: t(`lobby.returning_why.${entrant.returning}`) },
        entrant.admitted_at ? t("lobby.returning_admitted_at", { time: clockTime(entrant.admitted_at) })
          : t("lobby.returning")) : "");
    card.querySelector(".entrant-actions .btn-success").textContent =
      entrant.returning ? t("lobby.readmit") : t("lobby.admit");
    const stated = (entrant.stated_name || "").trim();
    const differs = stated && stated.toLowerCase() !== (entrant.name || "").trim().toLowerCase();
    card.querySelector(".entrant-stated").replaceChildren(
      stated ? h("span", { class: differs ? "stated-differs" : "" }, t("lobby.typed_name"), " ", h("strong", {}, stated),
        differs ? ` ${t("lobby.differs")}` : "") : h("span", { class: "muted" }, t("lobby.no_name_typed")));
    card.querySelector(".entrant-meta").replaceChildren(
      h("span", { class: `presence ${entrant.online ? "online" : "offline"}` }, t(entrant.online ? "lobby.online" : "lobby.offline")),
      " · ", t("lobby.waiting_for", { time: since(entrant.waiting_since) }),
      entrant.waiting_since ? ` ${t("lobby.since", { time: clockTime(entrant.waiting_since) })}` : "");
    // Before the hearing is opened the court sees who waits, but admits them once it is open.
    const open = !!session;
    for (const button of card.querySelectorAll(".entrant-actions button")) {
      button.disabled = !can("admit") || !open && button.classList.contains("btn-success");
      button.title = open ? "" : t("lobby.open_to_admit");
    }
    if (!entrant.online) setPreviewNote(entrant.id, "lobby.offline");
    else if (!open) setPreviewNote(entrant.id, "lobby.preview.after_opening");
  }
}

async function admit(pid, button) {
  button.disabled = true;
  try {
    const person = await api("POST", participantPath(pid, "admit"));
    notify(t("lobby.admitted", { name: person.name }), "success");
  } catch (error) {
    reportError(error, t("judge.err.admit"));
    button.disabled = false;
  }
}

async function reject(pid, button) {
  if (!armed(button, t("lobby.confirm_reject"))) return;
  button.disabled = true;
  try {
    const person = await api("POST", participantPath(pid, "reject"), {});
    notify(t("lobby.rejected", { name: person.name }), "success");
  } catch (error) {
    reportError(error, t("judge.err.reject"));
    button.disabled = false;
  }
}

function participantPath(pid, action) {
  return `/api/hearings/${encodeURIComponent(state.selected.id)}/participants/${encodeURIComponent(pid)}/${action}`;
}

// -- roster -------------------------------------------------------------------------------------------

function renderRoster(people, session) {
  session.people = people;
  const list = $("#roster-list");
  list.replaceChildren();
  $("#roster-count").textContent = String(people.length);
  show($("#roster-empty"), !people.length);
  const myId = session.me && session.me.id;
  const speaking = session.speaking || new Set();
  for (const person of people) {
    const me = person.id === myId;
    const lost = person.state === "disconnected" || !person.online;
    // Present only once their media flows: signaling alone is not being seen and heard.
    const mediaFailed = !lost && person.media === "failed";
    const mediaPending = !lost && (person.media === "connecting" || person.media === "none");
    const flags = [];
    if (speaking.has(person.id)) flags.push(h("span", { class: "flag flag-speaking" }, t("person.speaking")));
    if (person.hand_raised) flags.push(h("span", { class: "flag flag-hand" }, t("roster.hand_raised")));
    // The court's mute and the person's own are two states: both may hold at once.
    if (person.muted_by_court) flags.push(h("span", { class: "flag flag-muted" }, t("roster.muted_by_court")));
    if (person.muted && !person.muted_by_court || person.self_muted) {
      flags.push(h("span", { class: "flag" }, t("roster.microphone_off")));
    }
    if (person.camera_off) flags.push(h("span", { class: "flag" }, t("roster.camera_off")));
    if (lost) flags.push(h("span", { class: "flag flag-warn" }, t("roster.connection_lost")));
    if (mediaFailed) {
      flags.push(h("span", { class: "flag flag-warn flag-media-failed", title: person.media_error || "" },
        t("roster.media_failed")));
    }
    if (mediaPending) flags.push(h("span", { class: "flag flag-media-pending" }, t("roster.connecting")));
    // Their own link's quality: they get a reduced picture (the record is not affected).
    if (!lost && !mediaFailed && person.link === "weak") {
      flags.push(h("span", { class: "flag flag-link-weak", title: t("roster.weak_title") }, t("roster.weak")));
    } else if (!lost && !mediaFailed && person.link === "poor") {
      flags.push(h("span", { class: "flag flag-warn flag-link-poor", title: t("roster.poor_title") }, t("roster.poor")));
    }
    const actions = h("div", { class: "roster-actions" });
    if (!me) {
      if (person.hand_raised) {
        actions.append(h("button", {
          type: "button", class: "btn btn-secondary btn-small", disabled: !can("moderate"),
          "aria-label": t("roster.lower_hand_of", { name: person.name }),
          onclick: (e) => moderate(person, "lower-hand", e.target),
        }, t("roster.lower_hand")));
      }
      actions.append(
        h("button", {
          type: "button", class: "btn btn-secondary btn-small", disabled: !can("moderate"),
          "aria-label": t(person.muted_by_court ? "roster.unmute_of" : "roster.mute_of", { name: person.name }),
          onclick: (e) => moderate(person, person.muted_by_court ? "unmute" : "mute", e.target),
        }, t(person.muted_by_court ? "roster.unmute" : "roster.mute")),
        h("button", {
          type: "button", class: "btn btn-danger-quiet btn-small", disabled: !can("moderate"),
          "aria-label": t("roster.remove_of", { name: person.name }), onclick: (e) => moderate(person, "remove", e.target),
        }, t("roster.remove")));
    }
    list.append(h("li", {
      class: `roster-item${speaking.has(person.id) ? " roster-speaking" : ""}${person.hand_raised ? " roster-hand" : ""}`,
      dataset: { pid: person.id, media: person.media || "none" },
    },
    h("div", { class: "roster-who" },
      h("span", { class: `presence ${lost || mediaFailed ? "offline" : mediaPending ? "pending" : "online"}`,
        "aria-hidden": "true" }),
      h("strong", {}, person.name), me ? h("span", { class: "muted" }, ` ${t("roster.you")}`) : null,
      " ", h("span", { class: "role-tag" }, roleLabel(person.role))),
    flags.length ? h("div", { class: "roster-flags" }, flags) : null,
    actions));
  }
}

async function moderate(person, action, button) {
  if (action === "remove" && !armed(button, t("roster.confirm_remove"))) return;
  button.disabled = true;
  try {
    await api("POST", participantPath(person.id, action), action === "remove" ? {} : undefined);
    notify(t(`roster.done.${action}`, { name: person.name }), "success");
  } catch (error) {
    reportError(error, t(`roster.err.${action}`, { name: person.name }));
    button.disabled = false;
  }
}

// -- wiring -------------------------------------------------------------------------------------------

/** Everything the console drew itself, said again in the language just chosen. */
function sayAgain() {
  renderUser();
  renderHearingList();
  if (state.selected) renderHearing();
  renderNotes();
  renderInvited();
  const live = state.live;
  if (live) {
    live.updateMediaButtons();
    if (live.people) renderRoster(live.people, live);
  }
  document.title = t("judge.page_title");
  // Before the hearing is opened the lobby comes from polling, after it from the live session: either way
  // the last one drawn (it also sets the badge and the title's count).
  if (state.lastLobby) renderLobby(state.lastLobby.entrants, state.lastLobby.session);
}

async function init() {
  await startLanguage();
  $("#language-slot").append(languageSwitcher());
  onLanguageChange(sayAgain);
  $("#login-form").addEventListener("submit", signIn);
  $("#logout").addEventListener("click", () => signOut());
  $("#status-close").addEventListener("click", () => show($("#status"), false));
  $("#refresh-hearings").addEventListener("click", loadHearings);
  $("#new-hearing-toggle").addEventListener("click", () => toggleCreateForm(true));
  $("#create-cancel").addEventListener("click", () => toggleCreateForm(false));
  $("#create-form").addEventListener("submit", createHearing);
  $("#invite-form").addEventListener("submit", createInvite);
  $("#copy-link").addEventListener("click", copyLink);
  for (const button of document.querySelectorAll(".hearing-controls [data-action]")) {
    button.addEventListener("click", () => hearingAction(button));
  }
  $("#rec-pause").addEventListener("click", (e) => setRecording("pause", e.currentTarget));
  $("#rec-resume").addEventListener("click", (e) => setRecording("resume", e.currentTarget));
  $("#note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    logNote("note", event.target.querySelector("button[type=submit]"));
  });
  for (const button of document.querySelectorAll("#notes-panel [data-note-kind]")) {
    button.addEventListener("click", () => logNote(button.dataset.noteKind, button));
  }
  $("#mic-toggle").addEventListener("click", () => state.live?.toggleMic());
  $("#cam-toggle").addEventListener("click", () => state.live?.toggleCamera());
  $("#rejoin").addEventListener("click", () => {
    if (!state.live) return;
    state.live.backoff.reset();
    state.live.connect();
  });
  $("#sound-button").addEventListener("click", async () => {
    if (await unmuteAndPlay($("#composite"))) show($("#sound-button"), false);
  });
  window.addEventListener("pagehide", () => state.live?.stop());
  if (state.token && state.user) {
    apiCall("GET", "/api/me", { token: state.token })
      .then(() => enterConsole())
      .catch((error) => {
        if (error.status === 401) signOut(t("judge.session_expired"));
        else enterConsole();
      });
  } else {
    show($("#login-view"), true);
  }
}

init();
