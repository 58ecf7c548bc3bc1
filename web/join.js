// The join page (phone first): name, camera check, waiting room, the hearing, automatic reconnection.

import {
  $, show, decodeJwtPayload, SignalingChannel, CLOSE, createHearingPeer, offerWithCandidates, watchPeer,
  closePeer, getLocalMedia, stopStream, playWithSound, unmuteAndPlay, inboundVideoStats, Backoff, roleLabel,
  STATUS_LABELS, RETRY_LATER,
} from "./common.js";

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
  $("#self-thumb-off").textContent = stream ? "Camera off" : "No camera";
}

let bannerTimer = null;

function banner(text, kind = "info", holdMs = 0) {
  const node = $("#banner");
  clearTimeout(bannerTimer);
  if (!text) {
    show(node, false);
    return;
  }
  node.textContent = text;
  node.className = `join-banner join-banner-${kind}`;
  show(node, true);
  if (holdMs) bannerTimer = setTimeout(() => show(node, false), holdMs);
}

const FINAL = {
  left: ["You have left the hearing", "Thank you. You can close this page now.", "ok"],
  closed: ["The hearing has ended", "The court has closed the hearing. You can close this page now.", "ok"],
  rejected: ["The court did not admit you", "If you think this is a mistake, please contact the court.", "stop"],
  removed: ["You were removed from the hearing", "The court has ended your participation.", "stop"],
  replaced: ["You joined from another device", "This hearing is open in another window or on another device, so this page was disconnected.", "info"],
  locked: ["The hearing is locked", "The court is not letting anyone new in at the moment. Please try again later or contact the court.", "info"],
  used: ["This link has already been used", "Your invitation was already used to enter the hearing. If you were disconnected, please contact the court for a new link.", "stop"],
  expired: ["This link has expired", "Please ask the court for a new invitation.", "stop"],
  invalid: ["This link cannot be used", "The invitation link is incomplete or no longer valid. Please check that you opened the whole link, or ask the court for a new one.", "stop"],
  seat: ["This link is open on another device",
    "Your invitation is being used on another phone, computer or browser window right now. Close it there, then try again here.", "info"],
  gone: ["You are no longer in this hearing", "Please contact the court if you need to join again.", "stop"],
};

function finish(kind, detail = "", retry = false) {
  app.finished = true;
  clearTimeout(app.retryTimer);
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
  const [title, text, mark] = FINAL[kind] || FINAL.invalid;
  $("#final-title").textContent = title;
  $("#final-text").textContent = detail ? `${text} ${detail}` : text;
  $("#final-mark").className = `final-mark final-${mark}`;
  const retryButton = $("#final-retry");
  retryButton.textContent = kind === "replaced" ? "Use this device instead" : "Try again";
  show(retryButton, retry);
  banner("");
  setScreen("final");
}

// -- camera and microphone ----------------------------------------------------------------------------

const MEDIA_NOTICES = {
  denied: ["Camera and microphone are blocked",
    "Your browser did not allow this page to use the camera and microphone. You can still join: you will see and hear the hearing, but the court will not see or hear you. To fix it, allow the camera and microphone for this site in your browser settings (the lock or camera icon next to the address), then tap “Try the camera again”."],
  none: ["No camera or microphone found",
    "This device has no camera or microphone that the page can use. You can still join to watch and listen, but the court will not see or hear you."],
  "no-camera": ["No camera found",
    "You can join with sound only: the court will hear you but not see you."],
  "no-microphone": ["No microphone found",
    "You can join with your camera only: the court will see you but not hear you."],
  busy: ["The camera is in use",
    "Another app is using the camera or microphone. Close it and tap “Try the camera again”, or join without it: you will see and hear the hearing, but the court may not see or hear you."],
  insecure: ["Camera not available on this connection",
    "The camera and microphone only work over a secure (https) link. You can still join to watch and listen."],
  error: ["The camera could not be started",
    "You can still join: you will see and hear the hearing, but the court may not see or hear you."],
};

async function startLocalMedia() {
  $("#setup-placeholder").textContent = "Starting your camera…";
  const { stream, problem } = await getLocalMedia();
  stopStream(app.local);
  app.local = stream;
  app.mediaProblem = problem;
  const notice = MEDIA_NOTICES[problem];
  show($("#media-notice"), !!notice);
  if (notice) {
    $("#media-notice-title").textContent = notice[0];
    $("#media-notice-text").textContent = notice[1];
    $("#media-notice").className = `notice ${problem === "no-camera" || problem === "no-microphone" ? "notice-info" : "notice-warn"}`;
  }
  $("#setup-placeholder").textContent = stream && stream.getVideoTracks().length ? "" : "No camera picture";
  const lobbyNote = $("#lobby-media-note");
  lobbyNote.textContent = notice ? `${notice[0]}. The court cannot check your identity on camera, and may ask you some questions instead.` : "";
  show(lobbyNote, !!notice && (problem === "denied" || problem === "none" || problem === "no-camera" || problem === "insecure" || problem === "busy" || problem === "error"));
  app.micMuted = false;
  app.cameraOff = false;
  updateControls();
  attachSelfView();
}

function updateControls() {
  const audio = app.local && app.local.getAudioTracks()[0];
  const video = app.local && app.local.getVideoTracks()[0];
  const mute = $("#mute-button");
  mute.disabled = !audio;
  mute.setAttribute("aria-pressed", String(app.micMuted));
  mute.classList.toggle("ctl-off", app.micMuted || !audio);
  $("#mute-label").textContent = !audio ? "No microphone" : app.micMuted ? "Unmute" : "Mute";
  const camera = $("#camera-button");
  camera.disabled = !video;
  camera.setAttribute("aria-pressed", String(app.cameraOff));
  camera.classList.toggle("ctl-off", app.cameraOff || !video);
  $("#camera-label").textContent = !video ? "No camera" : app.cameraOff ? "Camera on" : "Camera off";
}

function toggleMute() {
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
  $("#join-button").textContent = "Joining…";
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
    if (app.channel === channel && error.code === "timeout") reconnect("The server does not answer.");
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
    banner(wasAdmitted ? "You were away for a while: the court has to admit you again." : "", "info");
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
    reconnect(code === "seat_taken" ? "This invitation is still connected on another device. Retrying…"
      : "The server is busy.");
    return;
  }
  if (RETRY_LATER.includes(code)) {
    // The hearing is between servers, or the court's state or media is away for a moment: come back.
    reconnect("The court's server is busy for a moment.");
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
  finish(kind, kinds[code] ? "" : error.message || "", kind === "locked");
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
    else restart("The connection was interrupted.");
  });
  try {
    const sdp = await offerWithCandidates(pc);
    if (app.pc !== pc) return;
    const answer = await channel.request({ type: "offer", sdp }, ["answer"]);
    if (app.pc !== pc) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  } catch (error) {
    if (app.pc !== pc || app.finished || error.code === "disconnected") return;
    restart("The connection could not be set up.");
  }
}

/** The media connection failed while signaling is fine: a new peer connection and offer on the same
 * channel, after a back-off. The court meanwhile sees "not connected (media failed)", not a lost party. */
function retryMedia() {
  const channel = app.channel;
  app.mediaFailed = true;
  teardownPeer();
  banner("The connection to the hearing failed. Retrying…", "warn");
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
  $("#stage-wait").textContent = app.mediaFailed ? "The connection to the hearing failed. Retrying…"
    : app.pc ? "Connecting to the hearing…" : "Reconnecting…";
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
  const texts = {
    weak: "Weak connection — reduced picture.",
    poor: "Very weak connection — audio only; the picture is refreshed every few seconds.",
  };
  note.textContent = texts[app.link] || "";
  show(note, !!texts[app.link]);
}

function enterHearing() {
  app.admitted = true;
  setScreen("hearing");
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
  $("#fact-you").textContent = me.name ? `You: ${me.name}${me.role ? ` · ${roleLabel(me.role)}` : ""}` : "";
  $("#lobby-hearing").textContent = [hearing.case_number, hearing.title].filter(Boolean).join(" · ");
  $("#hearing-title").textContent = hearing.title || hearing.case_number || "Hearing";
  const status = $("#hearing-status");
  status.textContent = STATUS_LABELS[hearing.status] || hearing.status;
  status.className = `badge badge-${hearing.status}`;
  const note = $("#hearing-note");
  if (hearing.status === "recess") {
    note.textContent = "The hearing is in recess. Please stay connected; it will resume shortly.";
    show(note, true);
  } else {
    courtMuteNote();
  }
}

function courtMuteNote() {
  const note = $("#hearing-note");
  if (app.hearing && app.hearing.status === "recess") return;
  note.textContent = app.mutedByCourt ? "The court muted your microphone." : "";
  show(note, app.mutedByCourt);
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
      finish("rejected", message.reason ? `Reason given: ${message.reason}` : "");
      break;
    case "removed":
      finish("removed", message.reason ? `Reason given: ${message.reason}` : "");
      break;
    case "muted":
      app.mutedByCourt = !!message.muted;
      courtMuteNote();
      banner(message.muted ? "The court muted your microphone" : "The court turned your microphone back on",
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

function renderPeople(people) {
  const list = $("#people-list");
  list.replaceChildren();
  for (const person of people) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "person-name";
    name.textContent = person.name + (app.me && person.id === app.me.id ? " (you)" : "");
    const role = document.createElement("span");
    role.className = "role-tag";
    role.textContent = roleLabel(person.role);
    item.append(name, role);
    const flags = [];
    if (person.muted) flags.push(person.muted_by_court ? "muted by the court" : "microphone off");
    if (person.camera_off) flags.push("camera off");
    if (person.state === "disconnected" || person.online === false) flags.push("reconnecting");
    else if (person.media === "failed") flags.push("no connection");
    else if (person.media === "connecting") flags.push("connecting");
    else if (person.link === "weak") flags.push("weak connection");
    else if (person.link === "poor") flags.push("very weak connection");
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
    reconnect("The court's server is restarting.");
  } else if (app.leaving || code === CLOSE.NORMAL) finish("left");
  else if (code === CLOSE.FORBIDDEN) finish(app.admitted ? "gone" : "rejected");
  else if (code === CLOSE.REMOVED) finish("removed");
  else if (code === CLOSE.HEARING_CLOSED) finish("closed");
  else if (code === CLOSE.REPLACED) finish("replaced", "", true);
  else if (code === CLOSE.UNAUTHORIZED) finish("invalid");
  else reconnect("The connection was lost.");
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
  const hint = app.attempts > 4 ? " Check that the phone is online (Wi-Fi or mobile data)." : "";
  banner(`Reconnecting… ${reason || ""}${hint}`.trim(), "warn");
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

function init() {
  $("#join-form").addEventListener("submit", join);
  $("#media-retry").addEventListener("click", startLocalMedia);
  $("#mute-button").addEventListener("click", toggleMute);
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
    banner("Connecting…", "info");
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
  $("#invite-line").replaceChildren("You are invited as ",
    Object.assign(document.createElement("strong"), { textContent: roleLabel(claims.role) || "a participant" }), ".");
  setScreen("setup");
  startLocalMedia().then(() => {
    if (app.sessionToken) {
      // A reload during the hearing: go straight back in with the session.
      setScreen("hearing");
      banner("Reconnecting…", "warn");
      app.admitted = true;
      connect();
    }
  });
}

init();
