// The join page (phone first): name, camera check, waiting room, the hearing, automatic reconnection.

import {
  $, show, decodeJwtPayload, SignalingChannel, CLOSE, createHearingPeer, offerWithCandidates, watchPeer,
  closePeer, getLocalMedia, stopStream, playWithSound, unmuteAndPlay, inboundVideoStats, Backoff, roleLabel,
  statusLabel, RETRY_LATER,
} from "./common.js";
import { startLanguage, languageSwitcher, onLanguageChange, say, t } from "./i18n.js";
import {
  listDevices, fillPicker, levelMeter, speakerTest, watchConnection, connectionDetails,
} from "./devices.js";

const invite = readInviteToken();
const claims = decodeJwtPayload(invite);
const sessionKey = claims ? `court.session.${claims.sub}` : "";

const app = {
  screen: "setup",
  local: null,
  mediaProblem: undefined, // undefined: not asked yet; null: camera and microphone working
  channel: null,
  pc: null,
  unwatch: null,
  iceServers: [],
  hearing: null,
  me: null,
  admitted: false,
  sessionToken: sessionKey ? sessionStorage.getItem(sessionKey) || "" : "",
  finished: false,
  leaving: false,
  micMuted: false,
  cameraOff: false,
  mutedByCourt: false,
  handRaised: false,
  speaking: new Set(), // who the server hears speaking (the `speaking` message)
  devices: { camera: "", microphone: "" }, // what the person picked on the setup screen
  stopMeter: null,
  stopWatch: null,
  connection: null,
  mediaFailed: false, // the last media connection failed (the page says so until one connects)
  link: "good", // what the server says this phone's link carries: good, weak (reduced picture), poor
  backoff: new Backoff(1000, 10000),
  mediaBackoff: new Backoff(1000, 10000),
  mediaTimer: null,
  retryTimer: null,
  attempts: 0,
};

// For tests and support: window.__hearing.pc.getStats().
window.__hearing = { pc: null, inboundVideoStats, get state() { return app.screen; } };

function readInviteToken() {
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const fromQuery = new URLSearchParams(location.search).get("token");
  return (fromHash || fromQuery || "").trim();
}

// -- screens ------------------------------------------------------------------------------------------

const SCREENS = ["setup", "lobby", "hearing", "final"];

function setScreen(name) {
  app.screen = name;
  for (const screen of SCREENS) show($(`#screen-${screen}`), screen === name);
  attachSelfView();
  if (name !== "hearing") show($("#confirm-leave"), false);
}

function attachSelfView() {
  const stream = app.local && app.local.getVideoTracks().length ? app.local : null;
  const target = { setup: "#setup-self", lobby: "#lobby-self", hearing: "#hearing-self" }[app.screen];
  for (const id of ["#setup-self", "#lobby-self", "#hearing-self"]) {
    const video = $(id);
    const wanted = id === target ? stream : null;
    if (video.srcObject !== wanted) video.srcObject = wanted;
  }
  const cameraVisible = !!stream && !app.cameraOff;
  // Without a camera there is nothing to frame: the boxes go, the notice explains.
  show($("#setup-self").parentElement, !!stream || app.mediaProblem === undefined);
  show($("#lobby-self").parentElement, !!stream);
  show($("#lobby-placeholder"), !cameraVisible);
  show($("#hearing-self"), cameraVisible);
  show($("#self-thumb-off"), !cameraVisible);
  say($("#self-thumb-off"), stream ? "join.camera_is_off" : "join.no_camera");
}

let bannerTimer = null;
let bannerKeys = [];

/** The banner at the top: one or more catalog keys, said in a row (re-said when the language changes). */
function banner(keys, kind = "info", holdMs = 0) {
  const node = $("#banner");
  clearTimeout(bannerTimer);
  bannerKeys = (Array.isArray(keys) ? keys : [keys]).filter(Boolean);
  if (!bannerKeys.length) {
    show(node, false);
    return;
  }
  renderBanner();
  node.className = `join-banner join-banner-${kind}`;
  show(node, true);
  if (holdMs) bannerTimer = setTimeout(() => show(node, false), holdMs);
}

function renderBanner() {
  $("#banner").textContent = bannerKeys.map((key) => t(key)).join(" ");
}

// The last screen: its title and text are join.final.<kind>.title / .text in the catalogs.
const FINAL = {
  left: "ok", closed: "ok", rejected: "stop", removed: "stop", replaced: "info", locked: "info", used: "stop",
  expired: "stop", invalid: "stop", seat: "info", gone: "stop",
};

function finish(kind, detail = "", retry = false) {
  app.finished = true;
  clearTimeout(app.retryTimer);
  if (app.stopWatch) app.stopWatch();
  app.stopWatch = null;
  if (app.stopMeter && !retry) app.stopMeter();
  const channel = app.channel;
  app.channel = null;
  if (channel) channel.close(1000, "done");
  teardownPeer();
  if (!retry) {
    stopStream(app.local);
    app.local = null;
  }
  if (["left", "closed", "rejected", "removed", "used", "gone"].includes(kind) && sessionKey) {
    sessionStorage.removeItem(sessionKey);
    app.sessionToken = "";
  }
  const known = kind in FINAL ? kind : "invalid";
  say($("#final-title"), `join.final.${known}.title`);
  const text = $("#final-text");
  say(text, `join.final.${known}.text`);
  const reason = document.createElement("span");
  if (detail) say(reason, "join.reason_given", { reason: detail });
  text.append(detail ? " " : "", reason);
  $("#final-mark").className = `final-mark final-${FINAL[known]}`;
  const retryButton = $("#final-retry");
  say(retryButton, kind === "replaced" ? "join.use_this_device" : "join.try_again");
  show(retryButton, retry);
  banner("");
  setScreen("final");
}

// -- camera and microphone ----------------------------------------------------------------------------

// What the camera check found: join.media.<problem>.title / .text in the catalogs.
const MEDIA_NOTICES = ["denied", "none", "no-camera", "no-microphone", "busy", "insecure", "error"];

async function startLocalMedia() {
  say($("#setup-placeholder"), "join.camera_starting");
  stopStream(app.local); // a phone has one camera to give: free it before asking for another
  const { stream, problem } = await getLocalMedia(app.devices);
  app.local = stream;
  app.mediaProblem = problem;
  await showDevices();
  replaceSentTracks();
  const notice = MEDIA_NOTICES.includes(problem) ? problem : "";
  show($("#media-notice"), !!notice);
  if (notice) {
    say($("#media-notice-title"), `join.media.${notice}.title`);
    say($("#media-notice-text"), `join.media.${notice}.text`);
    $("#media-notice").className = `notice ${problem === "no-camera" || problem === "no-microphone" ? "notice-info" : "notice-warn"}`;
  }
  say($("#setup-placeholder"), stream && stream.getVideoTracks().length ? "" : "join.no_camera_picture");
  const lobbyNote = $("#lobby-media-note");
  say(lobbyNote, notice ? `join.media.${notice}.lobby` : "");
  show(lobbyNote, !!notice && (problem === "denied" || problem === "none" || problem === "no-camera" || problem === "insecure" || problem === "busy" || problem === "error"));
  app.micMuted = false;
  app.cameraOff = false;
  updateControls();
  attachSelfView();
}

/** The setup screen's camera and microphone pickers and level meter, once the browser names the devices. */
async function showDevices() {
  if (app.stopMeter) app.stopMeter();
  app.stopMeter = null;
  let found = { cameras: [], microphones: [] };
  try {
    found = await listDevices();
  } catch { /* no pickers: the default devices serve */ }
  const tracks = app.local ? app.local.getTracks() : [];
  const inUse = (kind) => tracks.find((tr) => tr.kind === kind)?.getSettings?.().deviceId || "";
  fillPicker($("#camera-select"), found.cameras, app.devices.camera || inUse("video"));
  fillPicker($("#microphone-select"), found.microphones, app.devices.microphone || inUse("audio"));
  show($("#device-check"), !!app.local);
  if (app.local) app.stopMeter = levelMeter(app.local, $("#mic-level"));
}

/** A device changed during the hearing: the new tracks replace the old in the peer connection. */
function replaceSentTracks() {
  if (!app.pc || !app.local) return;
  for (const sender of app.pc.getSenders()) {
    const kind = sender.track ? sender.track.kind : null;
    const track = kind && app.local.getTracks().find((tr) => tr.kind === kind);
    if (track) sender.replaceTrack(track).catch((error) => console.warn("could not switch device", error));
  }
}

function updateControls() {
  const audio = app.local && app.local.getAudioTracks()[0];
  const video = app.local && app.local.getVideoTracks()[0];
  const mute = $("#mute-button");
  // The court's mute is not the person's switch: shown apart, and not to be undone by a tap.
  mute.disabled = !audio || app.mutedByCourt;
  mute.setAttribute("aria-pressed", String(app.micMuted || app.mutedByCourt));
  mute.classList.toggle("ctl-off", app.micMuted || !audio);
  mute.classList.toggle("ctl-court-muted", app.mutedByCourt);
  say($("#mute-label"), app.mutedByCourt ? "join.muted_by_court" : !audio ? "join.no_microphone"
    : app.micMuted ? "join.unmute" : "join.mute");
  const hand = $("#hand-button");
  hand.setAttribute("aria-pressed", String(app.handRaised));
  hand.classList.toggle("ctl-hand-up", app.handRaised);
  say($("#hand-label"), app.handRaised ? "join.lower_hand" : "join.raise_hand");
  const camera = $("#camera-button");
  camera.disabled = !video;
  camera.setAttribute("aria-pressed", String(app.cameraOff));
  camera.classList.toggle("ctl-off", app.cameraOff || !video);
  say($("#camera-label"), !video ? "join.no_camera" : app.cameraOff ? "join.camera_turn_on" : "join.camera_turn_off");
}

function toggleHand() {
  app.handRaised = !app.handRaised;
  app.channel?.send({ type: "hand", raised: app.handRaised });
  updateControls();
  banner(app.handRaised ? "join.hand_raised" : "", "info", 5000);
}

function toggleMute() {
  if (app.mutedByCourt) return; // only the court lifts its mute
  app.micMuted = !app.micMuted;
  app.local?.getAudioTracks().forEach((t) => { t.enabled = !app.micMuted; });
  app.channel?.send({ type: "mute", muted: app.micMuted });
  updateControls();
}

function toggleCamera() {
  app.cameraOff = !app.cameraOff;
  app.local?.getVideoTracks().forEach((t) => { t.enabled = !app.cameraOff; });
  app.channel?.send({ type: "camera", on: !app.cameraOff });
  updateControls();
  attachSelfView();
}

// -- connecting ---------------------------------------------------------------------------------------

async function join(event) {
  event.preventDefault();
  const name = $("#name").value.trim();
  show($("#name-error"), !name);
  if (!name) {
    $("#name").focus();
    return;
  }
  $("#join-button").disabled = true;
  say($("#join-button"), "join.joining");
  app.statedName = name;
  await connect();
}

async function connect() {
  if (app.finished) return;
  clearTimeout(app.retryTimer);
  const channel = new SignalingChannel();
  app.channel = channel;
  channel.addEventListener("message", (event) => onMessage(channel, event.detail));
  channel.addEventListener("close", (event) => onClose(channel, event.detail));
  try {
    await channel.open();
  } catch (error) {
    if (app.channel === channel && error.code === "timeout") reconnect("join.why.no_answer");
    return; // a refused connection is reported by the close event
  }
  const usingSession = !!app.sessionToken;
  const hello = usingSession ? { type: "hello", token: app.sessionToken }
    : { type: "hello", token: invite, name: app.statedName || $("#name").value.trim() };
  let welcome;
  try {
    welcome = await channel.request(hello, ["welcome"]);
  } catch (error) {
    if (app.channel !== channel || error.code === "disconnected") return; // onClose takes over
    channel.helloRefused = true;
    helloRefused(error, usingSession);
    return;
  }
  if (app.channel !== channel) return;
  app.backoff.reset();
  app.attempts = 0;
  app.seatTaken = 0;
  app.iceServers = welcome.ice_servers || [];
  app.hearing = welcome.hearing;
  app.me = welcome.participant;
  app.mutedByCourt = !!(welcome.participant && welcome.participant.muted_by_court);
  if (welcome.session_token && sessionKey) {
    // Back in their seat by their link (a closed tab, a crashed phone): the way back after the next drop.
    app.sessionToken = welcome.session_token;
    sessionStorage.setItem(sessionKey, welcome.session_token);
  }
  renderHearingInfo();
  if (welcome.state === "admitted") {
    enterHearing();
    // Tell the court how we left things before the connection dropped.
    if (app.micMuted) channel.send({ type: "mute", muted: true });
    if (app.cameraOff) channel.send({ type: "camera", on: false });
  } else {
    const wasAdmitted = app.admitted;
    app.admitted = false;
    setScreen("lobby");
    // Back in the waiting room after being admitted: say why, so it is not a mystery.
    const why = welcome.returning || (wasAdmitted ? "away_too_long" : "");
    banner(why ? `join.returning.${why}` : "", "info");
  }
  // The offer goes out at once, in the lobby too: the court sees the camera before admitting.
  await startPeer(channel);
}

function helloRefused(error, usingSession) {
  const code = error.code || "";
  app.channel?.close(1000, "hello refused");
  app.channel = null;
  if (code === "seat_taken") {
    // Right after a reload the server may not have noticed the old connection yet; a few tries, then ask.
    app.seatTaken = (app.seatTaken || 0) + 1;
    if (app.seatTaken > 3) {
      app.seatTaken = 0;
      finish("seat", "", true);
      return;
    }
  }
  if (code === "timeout" || code === "rate_limited" || code === "internal_error" || code === "seat_taken") {
    reconnect(code === "seat_taken" ? "join.why.seat_taken" : "join.why.busy");
    return;
  }
  if (RETRY_LATER.includes(code)) {
    // The hearing is between servers, or the court's state or media is away for a moment: come back.
    reconnect("join.why.busy_moment");
    return;
  }
  if (usingSession && ["invalid_token", "token_revoked", "token_expired", "wrong_token_kind"].includes(code)) {
    // The session is no longer valid: fall back to the invitation, which the server checks again.
    sessionStorage.removeItem(sessionKey);
    app.sessionToken = "";
    app.admitted = false;
    reconnect("", 0);
    return;
  }
  const kinds = {
    hearing_closed: "closed", participant_rejected: "rejected", participant_removed: "removed",
    participant_left: "gone", hearing_locked: "locked", invite_used: "used", token_expired: "expired",
    token_revoked: "invalid", invalid_token: "invalid", wrong_token_kind: "invalid", not_found: "invalid",
  };
  const kind = kinds[code] || "invalid";
  finish(kind, "", kind === "locked");
}

async function startPeer(channel) {
  teardownPeer();
  app.link = "good"; // a new peer connection starts on the full picture
  linkNote();
  const { pc, remote } = createHearingPeer(app.iceServers, app.local);
  app.pc = pc;
  window.__hearing.pc = pc;
  const video = $("#remote");
  video.srcObject = remote;
  pc.addEventListener("track", () => {
    if (app.screen === "hearing") startPlayback();
  });
  pc.addEventListener("connectionstatechange", () => {
    if (app.pc !== pc) return;
    updateStageWait();
    if (pc.connectionState === "connected" && app.screen !== "final") banner("");
  });
  app.unwatch = watchPeer(pc, (trouble) => {
    if (app.pc !== pc) return;
    if (trouble === "failed" && app.channel && app.channel.isOpen) retryMedia();
    else restart("join.why.interrupted");
  });
  try {
    const sdp = await offerWithCandidates(pc);
    if (app.pc !== pc) return;
    const answer = await channel.request({ type: "offer", sdp }, ["answer"]);
    if (app.pc !== pc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  } catch (error) {
    if (app.pc !== pc || app.finished || error.code === "disconnected") return;
    restart("join.why.setup_failed");
  }
}

/** The media connection failed while signaling is fine: a new peer connection and offer on the same
 * channel, after a back-off. The court meanwhile sees "not connected (media failed)", not a lost party. */
function retryMedia() {
  const channel = app.channel;
  app.mediaFailed = true;
  teardownPeer();
  banner("join.media_failed", "warn");
  clearTimeout(app.mediaTimer);
  app.mediaTimer = setTimeout(() => {
    if (app.channel === channel && channel && channel.isOpen && !app.finished) startPeer(channel);
  }, app.mediaBackoff.next());
}

function teardownPeer() {
  if (app.unwatch) app.unwatch();
  app.unwatch = null;
  closePeer(app.pc);
  app.pc = null;
  window.__hearing.pc = null;
  const video = $("#remote");
  if (video.srcObject) video.srcObject = null;
  updateStageWait();
}

function updateStageWait() {
  const connected = app.pc && app.pc.connectionState === "connected";
  show($("#stage-wait"), !connected);
  say($("#stage-wait"), app.mediaFailed ? "join.media_failed" : app.pc ? "join.stage.connecting" : "join.reconnecting");
  if (connected) app.mediaFailed = false;
}

/** A weak link cannot carry this phone's camera either: send less, so the voice gets through (0: no limit). */
async function limitCamera(bitsPerSecond) {
  const sender = app.pc && app.pc.getSenders().find((s) => s.track && s.track.kind === "video");
  if (!sender) return;
  try {
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    for (const encoding of params.encodings) {
      if (bitsPerSecond) encoding.maxBitrate = bitsPerSecond;
      else delete encoding.maxBitrate;
    }
    await sender.setParameters(params);
  } catch (error) {
    console.warn("could not limit the camera's bit rate", error);
  }
}

function linkNote() {
  const note = $("#link-note");
  if (!note) return;
  const known = app.link === "weak" || app.link === "poor";
  say(note, known ? `join.link.${app.link}` : "");
  show(note, known);
}

function enterHearing() {
  app.admitted = true;
  if (app.stopMeter) app.stopMeter(); // the meter was for the check; the hearing has its own indicator
  app.stopMeter = null;
  setScreen("hearing");
  startConnectionWatch();
  updateControls();
  renderHearingInfo();
  startPlayback();
  courtMuteNote();
}

function startPlayback() {
  playWithSound($("#remote"), () => show($("#tap-sound"), true));
}

function renderHearingInfo() {
  const hearing = app.hearing;
  if (!hearing) return;
  $("#fact-case").textContent = hearing.case_number || "";
  $("#fact-court").textContent = [hearing.court, hearing.courtroom, hearing.judge_name].filter(Boolean).join(" · ");
  const me = app.me || {};
  if (me.name) say($("#fact-you"), me.role ? "join.you_as" : "join.you", { name: me.name, role: roleLabel(me.role) });
  else say($("#fact-you"), "");
  $("#lobby-hearing").textContent = [hearing.case_number, hearing.title].filter(Boolean).join(" · ");
  if (hearing.title || hearing.case_number) $("#hearing-title").textContent = hearing.title || hearing.case_number;
  else say($("#hearing-title"), "join.hearing");
  const status = $("#hearing-status");
  status.textContent = statusLabel(hearing.status);
  status.className = `badge badge-${hearing.status}`;
  const note = $("#hearing-note");
  if (hearing.status === "recess") {
    say(note, "join.recess_note");
    show(note, true);
  } else {
    courtMuteNote();
  }
}

function courtMuteNote() {
  updateControls();
  const note = $("#hearing-note");
  if (app.hearing && app.hearing.status === "recess") return;
  say(note, app.mutedByCourt ? "join.court_muted_note" : "");
  show(note, app.mutedByCourt);
}

/** The connection indicator under the picture: round trip, loss and bit rate, and a warning when poor. */
function startConnectionWatch() {
  if (app.stopWatch) app.stopWatch();
  app.stopWatch = watchConnection(() => app.pc, (figures) => {
    app.connection = figures;
    renderConnection();
  });
}

function renderConnection() {
  const line = $("#connection-line");
  const figures = app.connection;
  if (!figures || figures.quality === "unknown" || app.screen !== "hearing") {
    show(line, false);
    return;
  }
  show(line, true);
  line.className = `connection-line connection-${figures.quality}`;
  say($("#connection-text"), figures.quality === "poor" ? "connection.poor_warning"
    : figures.quality === "fair" ? "connection.fair_note" : "connection.good_note");
  line.title = connectionDetails(figures);
  $("#connection-text").setAttribute("aria-description", line.title);
}

function onMessage(channel, message) {
  if (channel !== app.channel) return;
  switch (message.type) {
    case "admitted":
      if (message.session_token) {
        app.sessionToken = message.session_token;
        sessionStorage.setItem(sessionKey, message.session_token);
      }
      if (message.participant) app.me = message.participant;
      banner("");
      enterHearing();
      break;
    case "rejected":
      finish("rejected", message.reason || "");
      break;
    case "removed":
      finish("removed", message.reason || "");
      break;
    case "muted":
      app.mutedByCourt = !!message.muted;
      if (!message.muted) app.handRaised = false; // the court gave the floor
      courtMuteNote();
      banner(message.muted ? "join.court_muted" : "join.court_unmuted",
        message.muted ? "warn" : "info", 6000);
      break;
    case "hearing":
      app.hearing = { ...app.hearing, ...message.hearing };
      renderHearingInfo();
      if (app.hearing.status === "closed") finish("closed");
      break;
    case "roster": {
      renderPeople(message.participants || []);
      const mine = (message.participants || []).find((p) => app.me && p.id === app.me.id);
      if (mine && mine.muted_by_court !== app.mutedByCourt) {
        app.mutedByCourt = mine.muted_by_court;
        courtMuteNote();
      }
      if (mine && !!mine.hand_raised !== app.handRaised) {
        app.handRaised = !!mine.hand_raised; // lowered by the court, or raised on another device
        updateControls();
      }
      break;
    }
    case "media":
      // The server's side of the media connection: a failure it saw (a DTLS handshake refused, ICE that
      // never connected) may look like a slow start from here.
      if (message.state === "failed") {
        if (message.reason) console.warn("media connection failed:", message.reason);
        retryMedia();
      } else if (message.state === "connected") {
        app.mediaFailed = false;
        app.mediaBackoff.reset();
        updateStageWait();
      }
      break;
    case "speaking":
      app.speaking = new Set(message.participants || []);
      if (app.lastPeople) renderPeople(app.lastPeople);
      break;
    case "link":
      // The server adapts what it sends to this phone's link; say so, so a frozen face is not a mystery.
      app.link = message.quality;
      linkNote();
      limitCamera(message.max_send_bitrate || 0);
      break;
    case "bye":
      finish("left");
      break;
    case "error":
      if (message.code === "replaced") finish("replaced", "", true);
      break;
    default:
      break;
  }
}

/** The picture alone, filling the screen (the phone turned sideways, or someone who reads lips). */
async function toggleFullscreen() {
  const stage = $("#stage");
  const video = $("#remote");
  try {
    if (document.fullscreenElement) await document.exitFullscreen();
    else if (stage.requestFullscreen) await stage.requestFullscreen({ navigationUI: "hide" });
    else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen(); // iOS Safari: the video alone
  } catch (error) {
    console.warn("full screen refused", error);
  }
}

function renderPeople(people) {
  app.lastPeople = people;
  const list = $("#people-list");
  list.replaceChildren();
  for (const person of people) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "person-name";
    name.textContent = app.me && person.id === app.me.id ? t("join.person_you", { name: person.name }) : person.name;
    const role = document.createElement("span");
    role.className = "role-tag";
    role.textContent = roleLabel(person.role);
    item.append(name, role);
    const speaking = app.speaking.has(person.id);
    item.classList.toggle("person-speaking", speaking);
    if (speaking) item.append(Object.assign(document.createElement("span"), { className: "speaking-tag", textContent: t("person.speaking") }));
    if (person.hand_raised) item.append(Object.assign(document.createElement("span"), { className: "hand-tag", textContent: t("person.hand_raised") }));
    const flags = [];
    if (person.muted) flags.push(t(person.muted_by_court ? "person.muted_by_court" : "person.microphone_off"));
    if (person.camera_off) flags.push(t("person.camera_off"));
    if (person.state === "disconnected" || person.online === false) flags.push(t("person.reconnecting"));
    else if (person.media === "failed") flags.push(t("person.no_connection"));
    else if (person.media === "connecting") flags.push(t("person.connecting"));
    else if (person.link === "weak") flags.push(t("person.weak_connection"));
    else if (person.link === "poor") flags.push(t("person.very_weak_connection"));
    if (flags.length) {
      const note = document.createElement("span");
      note.className = "person-flags";
      note.textContent = flags.join(" · ");
      item.append(note);
    }
    list.append(item);
  }
  show($("#people-list").parentElement, people.length > 0);
}

function onClose(channel, { code, reason, local }) {
  if (channel !== app.channel || local || app.finished || channel.helloRefused) return;
  app.channel = null;
  if (code === CLOSE.HEARING_CLOSED && /shutting down/i.test(reason || "") && app.hearing?.status !== "closed") {
    reconnect("join.why.restarting");
  } else if (app.leaving || code === CLOSE.NORMAL) finish("left");
  else if (code === CLOSE.FORBIDDEN) finish(app.admitted ? "gone" : "rejected");
  else if (code === CLOSE.REMOVED) finish("removed");
  else if (code === CLOSE.HEARING_CLOSED) finish("closed");
  else if (code === CLOSE.REPLACED) finish("replaced", "", true);
  else if (code === CLOSE.UNAUTHORIZED) finish("invalid");
  else reconnect("join.why.lost");
}

/** Drop the current connection (peer or signaling trouble) and come back through the usual door. */
function restart(reason) {
  const channel = app.channel;
  app.channel = null;
  if (channel) channel.close(4000, "restart");
  reconnect(reason);
}

function reconnect(reason, delay = null) {
  if (app.finished) return;
  teardownPeer();
  const wait = delay === null ? app.backoff.next() : delay;
  app.attempts += 1;
  banner(["join.reconnecting", reason, app.attempts > 4 ? "join.why.check_online" : ""], "warn");
  clearTimeout(app.retryTimer);
  app.retryTimer = setTimeout(connect, wait);
}

function leave() {
  if (!app.channel || !app.channel.isOpen) {
    finish("left");
    return;
  }
  app.leaving = true;
  app.channel.send({ type: "leave" });
  // The server answers "bye" and closes; do not wait long for it.
  setTimeout(() => { if (!app.finished) finish("left"); }, 1500);
}

// -- start --------------------------------------------------------------------------------------------

async function init() {
  await startLanguage();
  $("#language-slot").append(languageSwitcher());
  onLanguageChange(() => {
    renderBanner();
    renderHearingInfo();
    renderConnection();
    if (app.lastPeople) renderPeople(app.lastPeople);
  });
  $("#join-form").addEventListener("submit", join);
  $("#media-retry").addEventListener("click", startLocalMedia);
  $("#mute-button").addEventListener("click", toggleMute);
  $("#hand-button").addEventListener("click", toggleHand);
  $("#camera-select").addEventListener("change", (event) => {
    app.devices.camera = event.target.value;
    startLocalMedia();
  });
  $("#microphone-select").addEventListener("change", (event) => {
    app.devices.microphone = event.target.value;
    startLocalMedia();
  });
  $("#speaker-test").addEventListener("click", async () => {
    if (await speakerTest()) show($("#speaker-note"), true);
  });
  $("#fullscreen-button").addEventListener("click", toggleFullscreen);
  // M mutes and unmutes, H raises and lowers the hand (not while typing).
  document.addEventListener("keydown", (event) => {
    if (app.screen !== "hearing" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    if (event.key === "m" || event.key === "M") toggleMute();
    else if (event.key === "h" || event.key === "H") toggleHand();
  });
  $("#camera-button").addEventListener("click", toggleCamera);
  $("#leave-button").addEventListener("click", () => show($("#confirm-leave"), true));
  $("#confirm-leave-no").addEventListener("click", () => show($("#confirm-leave"), false));
  $("#confirm-leave-yes").addEventListener("click", leave);
  $("#lobby-leave").addEventListener("click", leave);
  $("#tap-sound").addEventListener("click", async () => {
    if (await unmuteAndPlay($("#remote"))) show($("#tap-sound"), false);
  });
  $("#final-retry").addEventListener("click", async () => {
    app.finished = false;
    app.leaving = false;
    app.backoff.reset();
    if (!app.local) await startLocalMedia();
    setScreen(app.admitted ? "hearing" : "lobby");
    banner("join.connecting", "info");
    connect();
  });
  window.addEventListener("online", () => {
    if (app.retryTimer && !app.finished && !app.channel) {
      clearTimeout(app.retryTimer);
      connect();
    }
  });

  if (!invite || !claims) {
    finish("invalid");
    return;
  }
  $("#name").value = claims.name || "";
  say($("#invite-line"), "join.invited_as", { role: roleLabel(claims.role) || t("join.a_participant") });
  setScreen("setup");
  startLocalMedia().then(() => {
    if (app.sessionToken) {
      // A reload during the hearing: go straight back in with the session.
      setScreen("hearing");
      banner("join.reconnecting", "warn");
      app.admitted = true;
      connect();
    }
  });
}

init();
