// Shared helpers for the judge console and the join page: HTTP API, signaling, WebRTC, small DOM tools.
// Plain ES module, no build step, nothing fetched from off-host.

import { dateTime, t } from "./i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);

/** Build an element: h("button", {class: "btn", onclick}, "Text", child...). Text is never parsed as HTML. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(node, visible = true) {
  if (node) node.hidden = !visible;
}

// -- HTTP API -----------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the JSON API. Errors ({error: {code, message}}) and network failures become an ApiError. */
export async function apiCall(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", t("error.network_error"));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "http_error",
      error.message || `The server answered ${response.status}.`);
  }
  return data;
}

// -- tokens -------------------------------------------------------------------------------------------

/** The payload of a JWT, unverified (display only: the server checks every token). Null if malformed. */
export function decodeJwtPayload(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    let b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    b64 += "=".repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === "object" ? payload : null;
  } catch {
    return null;
  }
}

// -- signaling ----------------------------------------------------------------------------------------

export function signalingUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/signal`;
}

export class SignalError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// Close codes the server uses (docs/signaling.md).
export const CLOSE = {
  NORMAL: 1000,
  POLICY: 1008,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  REPLACED: 4409,
  REMOVED: 4410,
  HEARING_CLOSED: 4411,
  SLOW_CONSUMER: 4429,
  MEDIA_RESTARTING: 1012,
};

// Refusals of a hello that pass by themselves: the hearing is moving between servers, the court's shared
// state or the hearing's media is away for a moment, or the server is full (docs/signaling.md, error codes).
export const RETRY_LATER = ["hearing_moving", "state_unavailable", "server_full", "media_failed", "media_restarting"];

const PING_INTERVAL_MS = 20000;

/**
 * One signaling WebSocket. Emits "message" (detail: the parsed message) and "close" (detail: {code, reason,
 * local}) once. request() sends a message with a fresh ref and resolves with the reply carrying that ref.
 */
export class SignalingChannel extends EventTarget {
  constructor(url = signalingUrl()) {
    super();
    this.url = url;
    this.ws = null;
    this.closed = false;
    this.pending = new Map();
    this.nextRef = 1;
    this.lastPong = Date.now();
    this.pingTimer = null;
  }

  open(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const ws = new WebSocket(this.url);
      this.ws = ws;
      const timer = setTimeout(() => {
        if (!settled) {
          settled = true;
          reject(new SignalError("timeout", "The server did not answer in time."));
          this.close(4000, "open timeout");
        }
      }, timeoutMs);
      ws.onopen = () => {
        settled = true;
        clearTimeout(timer);
        this.startKeepalive();
        resolve();
      };
      ws.onmessage = (event) => this.receive(event.data);
      ws.onclose = (event) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(new SignalError("unreachable", "The server cannot be reached."));
        }
        this.finish(event.code, event.reason, false);
      };
      ws.onerror = () => {}; // a close event always follows
    });
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.type === "pong") this.lastPong = Date.now();
    if (message.ref !== undefined && this.pending.has(String(message.ref))) {
      const waiter = this.pending.get(String(message.ref));
      if (message.type === "error") {
        this.pending.delete(String(message.ref));
        waiter.reject(new SignalError(message.code, message.message));
      } else if (waiter.types.includes(message.type)) {
        this.pending.delete(String(message.ref));
        waiter.resolve(message);
      }
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
  }

  get isOpen() {
    return !this.closed && this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send `message` with a new ref; resolve with the reply of one of `types`, reject on an error reply. */
  request(message, types, timeoutMs = 15000) {
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new SignalError("timeout", "The server did not answer in time."));
      }, timeoutMs);
      this.pending.set(ref, {
        types,
        resolve: (value) => { clearTimeout(timer); resolve(value); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      if (!this.send({ ...message, ref })) {
        this.pending.get(ref)?.reject(new SignalError("not_connected", "Not connected to the server."));
        this.pending.delete(ref);
      }
    });
  }

  startKeepalive() {
    this.lastPong = Date.now();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastPong > PING_INTERVAL_MS * 2.5) {
        // No answer to two pings: the connection is dead even if the socket has not noticed yet.
        this.finish(4000, "keepalive timeout", false);
        try { this.ws.close(4000, "keepalive timeout"); } catch { /* already closing */ }
        return;
      }
      this.send({ type: "ping" });
    }, PING_INTERVAL_MS);
  }

  /** Close on purpose: the "close" event reports local=true. */
  close(code = 1000, reason = "") {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      try { this.ws.close(code, reason); } catch { /* ignore */ }
    }
    this.finish(code, reason, true);
  }

  finish(code, reason, local) {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    for (const waiter of this.pending.values()) {
      waiter.reject(new SignalError("disconnected", "The connection to the server was lost."));
    }
    this.pending.clear();
    this.dispatchEvent(new CustomEvent("close", { detail: { code, reason, local } }));
  }
}

// -- WebRTC -------------------------------------------------------------------------------------------

/** Wait until ICE gathering is complete (the server is half-trickle: candidates travel in the SDP). */
export function iceGatheringComplete(pc, capMs = 2000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, capMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** Create the offer, apply it, wait for gathering (max 2 s) and return the SDP with its candidates. */
export async function offerWithCandidates(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringComplete(pc, 2000);
  return pc.localDescription.sdp;
}

/**
 * A peer connection to the hearing: audio and video transceivers, sendrecv with a local track, else
 * recvonly. No codec restriction (the composite arrives in H.264). Remote tracks are gathered in one stream.
 */
export function createHearingPeer(iceServers, localStream) {
  const pc = new RTCPeerConnection({ iceServers: iceServers || [] });
  const remote = new MediaStream();
  const streams = localStream ? [localStream] : [];
  for (const kind of ["audio", "video"]) {
    const track = localStream ? localStream.getTracks().find((t) => t.kind === kind) : null;
    if (track) pc.addTransceiver(track, { direction: "sendrecv", streams });
    else pc.addTransceiver(kind, { direction: "recvonly" });
  }
  pc.addEventListener("track", (event) => {
    if (!remote.getTracks().includes(event.track)) remote.addTrack(event.track);
  });
  return { pc, remote };
}

/** Watch a peer connection: onTrouble() after `failed`, or after `disconnected` lasting `graceMs`. */
export function watchPeer(pc, onTrouble, graceMs = 5000) {
  let timer = null;
  const check = () => {
    const state = pc.connectionState;
    if (state === "failed") {
      clearTimeout(timer);
      timer = null;
      onTrouble(state);
    } else if (state === "disconnected") {
      if (!timer) {
        timer = setTimeout(() => {
          timer = null;
          if (pc.connectionState === "disconnected" || pc.connectionState === "failed") onTrouble("disconnected");
        }, graceMs);
      }
    } else {
      clearTimeout(timer);
      timer = null;
    }
  };
  pc.addEventListener("connectionstatechange", check);
  return () => {
    clearTimeout(timer);
    pc.removeEventListener("connectionstatechange", check);
  };
}

export function closePeer(pc) {
  if (!pc) return;
  try {
    pc.getReceivers().forEach((r) => r.track && r.track.stop());
  } catch { /* ignore */ }
  try { pc.close(); } catch { /* ignore */ }
}

/** Inbound video numbers of a peer connection (for the status line and for tests). */
export async function inboundVideoStats(pc) {
  const result = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, codec: "" };
  if (!pc) return result;
  const report = await pc.getStats();
  report.forEach((stat) => {
    if (stat.type === "inbound-rtp" && (stat.kind === "video" || stat.mediaType === "video")) {
      result.framesDecoded += stat.framesDecoded || 0;
      result.frameWidth = stat.frameWidth || result.frameWidth;
      result.frameHeight = stat.frameHeight || result.frameHeight;
      const codec = stat.codecId && report.get(stat.codecId);
      if (codec) result.codec = codec.mimeType;
    }
  });
  return result;
}

// -- camera and microphone ----------------------------------------------------------------------------

export const VIDEO_CONSTRAINTS = {
  width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 24 }, facingMode: "user",
};
export const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * Ask for camera and microphone. Never throws: returns {stream, problem} where problem is null or one of
 * "insecure", "denied", "none", "no-camera", "no-microphone", "busy", "error".
 */
export async function getLocalMedia(choice = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, problem: "insecure" };
  }
  const attempt = (constraints) => navigator.mediaDevices.getUserMedia(constraints);
  // A camera or microphone the person picked: asked for by id ("ideal", so a device gone meanwhile falls back).
  const audio = choice.microphone ? { ...AUDIO_CONSTRAINTS, deviceId: { ideal: choice.microphone } } : AUDIO_CONSTRAINTS;
  const video = choice.camera ? { ...VIDEO_CONSTRAINTS, facingMode: undefined, deviceId: { ideal: choice.camera } }
    : VIDEO_CONSTRAINTS;
  try {
    return { stream: await attempt({ audio, video }), problem: null };
  } catch (error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return { stream: null, problem: "denied" };
    }
    // A missing or busy device: try each one alone, so that a phone without a camera still speaks.
    try {
      return { stream: await attempt({ audio }), problem: name === "NotReadableError" ? "busy" : "no-camera" };
    } catch { /* no microphone either */ }
    try {
      return { stream: await attempt({ video }), problem: "no-microphone" };
    } catch { /* nothing at all */ }
    if (name === "NotReadableError" || name === "AbortError") return { stream: null, problem: "busy" };
    if (name === "NotFoundError" || name === "OverconstrainedError") return { stream: null, problem: "none" };
    return { stream: null, problem: "error" };
  }
}

export function stopStream(stream) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
}

/**
 * Play a media element with sound. If the browser's autoplay policy refuses, play it muted and call
 * onBlocked(): the page then offers a "tap to turn on sound" button that calls unmuteAndPlay().
 */
export async function playWithSound(video, onBlocked) {
  video.muted = false;
  try {
    await video.play();
    return true;
  } catch (error) {
    if (error && error.name === "AbortError") return false; // a new source replaced this one
    video.muted = true;
    try { await video.play(); } catch { /* nothing to play yet */ }
    onBlocked();
    return false;
  }
}

export async function unmuteAndPlay(video) {
  video.muted = false;
  try {
    await video.play();
    return true;
  } catch {
    return false;
  }
}

// -- small things -------------------------------------------------------------------------------------

/** Exponential backoff with a little jitter: 1 s, 2 s, 4 s, 8 s, then the cap. */
export class Backoff {
  constructor(baseMs = 1000, capMs = 10000) {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.attempt = 0;
  }

  next() {
    const delay = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(delay * (0.85 + Math.random() * 0.3));
  }

  reset() {
    this.attempt = 0;
  }
}

/** A role as the page's language names it ("Witness", "Куә", "Свидетель"). */
export function roleLabel(role) {
  if (!role) return "";
  const said = t(`role.${role}`);
  return said === `role.${role}` ? role.charAt(0).toUpperCase() + role.slice(1) : said;
}

/** A hearing's status ("In session", "Отырыс жүріп жатыр", …). */
export function statusLabel(status) {
  const said = t(`status.${status}`);
  return said === `status.${status}` ? String(status || "") : said;
}

/** "just now", "3 min", "1 h 05 min" since an epoch time in seconds. */
export function since(epochSeconds) {
  if (!epochSeconds) return "";
  const seconds = Math.max(0, Math.floor(Date.now() / 1000 - epochSeconds));
  if (seconds < 45) return t("time.just_now");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t("time.minutes", { count: minutes });
  return t("time.hours_minutes", { hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, "0") });
}

export { clockTime } from "./i18n.js";

/** A scheduled start (ISO 8601) as the court's local date and time. */
export function formatSchedule(iso) {
  return dateTime(iso);
}
