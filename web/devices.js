// Before and during a hearing: which camera and microphone, is the microphone heard (a level meter), do the
// speakers play (a test sound), and how good is the connection (getStats: round trip, loss, bit rate).
// Shared by the join page and the judge console; every text comes from the catalogs (i18n.js).

import { t } from "./i18n.js";

/** The cameras and microphones the browser lists (names only after camera/microphone permission). */
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return { cameras: [], microphones: [], speakers: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  const named = (kind, key) => devices.filter((d) => d.kind === kind).map((d, i) => ({
    id: d.deviceId, label: d.label || t(key, { number: i + 1 }),
  }));
  return {
    cameras: named("videoinput", "devices.camera_n"),
    microphones: named("audioinput", "devices.microphone_n"),
    speakers: named("audiooutput", "devices.speaker_n"),
  };
}

/** Fill a <select> with devices, keeping `current` chosen. */
export function fillPicker(select, devices, current) {
  select.replaceChildren(...devices.map((d) => Object.assign(document.createElement("option"), {
    value: d.id, textContent: d.label,
  })));
  if (current && devices.some((d) => d.id === current)) select.value = current;
  select.disabled = devices.length < 2;
}

/** A microphone level meter on a <meter> (0…1), from the stream's first audio track; returns stop(). */
export function levelMeter(stream, meter) {
  const track = stream && stream.getAudioTracks()[0];
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!track || !Context) {
    meter.value = 0;
    return () => {};
  }
  const context = new Context();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  let peak = 0;
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const dbfs = 10 * Math.log10(sum / samples.length + 1e-12);
    // -60 dBFS (silence) … -10 dBFS (a loud voice) onto 0 … 1; falls back slowly, like a VU meter.
    const level = Math.min(1, Math.max(0, (dbfs + 60) / 50));
    peak = Math.max(level, peak * 0.92);
    meter.value = peak;
    meter.dataset.heard = String(peak > 0.25);
    frame = requestAnimationFrame(tick);
  };
  context.resume().catch(() => {});
  tick();
  return () => {
    cancelAnimationFrame(frame);
    source.disconnect();
    context.close().catch(() => {});
  };
}

/** A short two-tone chime through the speakers (on `sinkId` where the browser lets a page choose). */
export async function speakerTest(sinkId = "") {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return false;
  const context = new Context();
  if (sinkId && typeof context.setSinkId === "function") {
    try {
      await context.setSinkId(sinkId);
    } catch { /* the default output plays it */ }
  }
  const gain = context.createGain();
  gain.connect(context.destination);
  const start = context.currentTime + 0.05;
  for (const [index, frequency] of [660, 880].entries()) {
    const tone = context.createOscillator();
    tone.frequency.value = frequency;
    tone.connect(gain);
    tone.start(start + index * 0.35);
    tone.stop(start + index * 0.35 + 0.3);
  }
  gain.gain.setValueAtTime(0.25, start);
  setTimeout(() => context.close().catch(() => {}), 1200);
  return true;
}

// -- the connection during the hearing --------------------------------------------------------------

/** Judged from getStats: "good", "fair" or "poor", with the figures. Thresholds a phone call would use. */
export function judgeConnection({ rttMs, lossPercent, kbps }) {
  if (rttMs === null && lossPercent === null) return "unknown";
  if ((rttMs ?? 0) > 600 || (lossPercent ?? 0) > 8 || (kbps !== null && kbps < 80)) return "poor";
  if ((rttMs ?? 0) > 300 || (lossPercent ?? 0) > 3 || (kbps !== null && kbps < 250)) return "fair";
  return "good";
}

/**
 * Every 2 s, the peer connection's round trip (the nominated candidate pair), what was lost of what came in
 * (audio and video) and the bit rate received; `onUpdate({quality, rttMs, lossPercent, kbps})`. Returns stop().
 */
export function watchConnection(getPc, onUpdate, intervalMs = 2000) {
  let last = null;
  const timer = setInterval(async () => {
    const pc = getPc();
    if (!pc || pc.connectionState !== "connected") {
      last = null;
      return;
    }
    let stats;
    try {
      stats = await pc.getStats();
    } catch {
      return;
    }
    let rtt = null;
    let received = 0;
    let lost = 0;
    let bytes = 0;
    stats.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && s.currentRoundTripTime !== undefined) {
        rtt = s.currentRoundTripTime * 1000;
      }
      if (s.type === "inbound-rtp") {
        received += s.packetsReceived || 0;
        lost += Math.max(0, s.packetsLost || 0);
        bytes += s.bytesReceived || 0;
      }
    });
    const now = { at: performance.now(), received, lost, bytes };
    let lossPercent = null;
    let kbps = null;
    if (last) {
      const got = now.received - last.received;
      const missed = now.lost - last.lost;
      lossPercent = got + missed > 0 ? (100 * missed) / (got + missed) : 0;
      kbps = ((now.bytes - last.bytes) * 8) / (now.at - last.at);
    }
    last = now;
    const figures = { rttMs: rtt === null ? null : Math.round(rtt), lossPercent, kbps: kbps === null ? null : Math.round(kbps) };
    onUpdate({ quality: judgeConnection(figures), ...figures });
  }, intervalMs);
  return () => clearInterval(timer);
}

/** The figures in words for the indicator's title and for screen readers. */
export function connectionDetails({ quality, rttMs, lossPercent, kbps }) {
  return t("connection.details", {
    quality: t(`connection.${quality}`),
    rtt: rttMs === null ? "—" : String(rttMs),
    loss: lossPercent === null ? "—" : lossPercent.toFixed(1),
    kbps: kbps === null ? "—" : String(kbps),
  });
}
