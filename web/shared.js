// A party's view of a recording the court shared: what it is, the video beside its transcript, a download.
// The link (/shared#token=…) carries a share token; it works until it expires or the court revokes it.

import { languageSwitcher, startLanguage } from "./i18n.js";
import { $, h, show, apiCall, ApiError, roleLabel } from "./common.js";
import { RecordingPlayer, formatDuration, localDateTime, utcDateTime } from "./archive.js";

const TOKEN_KEY = "court.share.token";

const token = readShareToken();
let player = null;

function readShareToken() {
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const found = (fromHash || "").trim();
  // Kept for this tab so that a reload still works if the address bar lost the fragment.
  if (found) sessionStorage.setItem(TOKEN_KEY, found);
  return found || sessionStorage.getItem(TOKEN_KEY) || "";
}

function api(method, path, body) {
  return apiCall(method, path, { body, token });
}

const PROBLEMS = {
  token_expired: ["This link has expired",
    "The court's link to this recording is no longer valid. Please ask the court for a new one."],
  token_revoked: ["This link was withdrawn",
    "The court has withdrawn this link to the recording. Please contact the court if you still need it."],
  missing: ["This link is incomplete",
    "The address does not contain the whole link. Please open the complete link the court sent you."],
  invalid: ["This link cannot be used",
    "The link is incomplete or not valid. Please check that you opened the whole link, or ask the court for a new one."],
  not_found: ["The recording is not available",
    "The recording this link points to cannot be found. Please contact the court."],
};

/** Replace the page with a clear explanation. Any 401 means the link no longer opens anything. */
function linkProblem(error) {
  const code = typeof error === "string" ? error : error && error.code;
  let kind = "invalid";
  if (code === "token_expired" || code === "token_revoked" || code === "missing" || code === "not_found") kind = code;
  else if (error instanceof ApiError && error.status === 0) {
    $("#loading").textContent = "The server cannot be reached. Check the network connection and reload the page.";
    show($("#loading"), true);
    return;
  }
  const [title, text] = PROBLEMS[kind];
  player?.reset();
  $("#problem-title").textContent = title;
  $("#problem-text").textContent = text;
  document.title = `${title} · Remote hearings`;
  show($("#loading"), false);
  show($("#recording-view"), false);
  show($("#link-problem"), true);
  $("#link-problem").dataset.problem = kind;
}

function handle(error, what) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
    linkProblem(error.status === 404 ? "not_found" : error);
    return;
  }
  const text = `${what}: ${error && error.message ? error.message : error}`;
  const node = $("#player-error");
  node.textContent = text;
  show(node, true);
}

function render(rec) {
  document.title = `${rec.case_number} · Hearing recording`;
  $("#rec-case").textContent = rec.case_number;
  $("#rec-title").textContent = rec.title;
  $("#rec-meta").textContent = [rec.court, rec.courtroom, rec.judge_name, localDateTime(rec.opened_at)]
    .filter(Boolean).join(" · ");
  $("#shared-for").textContent = `Shared by the court with ${rec.shared_with || "you"}. `
    + (rec.link_expires_at ? `This link works until ${localDateTime(rec.link_expires_at)}.` : "");
  player.knownDuration = rec.duration;
  const facts = [
    ["Opened", utcDateTime(rec.opened_at)],
    ["Closed", utcDateTime(rec.closed_at)],
    ["Duration", formatDuration(rec.duration)],
    ["Record", rec.status === "interrupted" ? "Interrupted: the recording stopped before the hearing ended"
      : "Complete"],
  ];
  if (rec.gaps) facts.push(["Gaps", `${rec.gaps} part${rec.gaps === 1 ? "" : "s"} of the hearing were not recorded`]);
  $("#rec-facts").replaceChildren(...facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  const people = rec.participants || [];
  $("#people-count").textContent = String(people.length);
  show($("#people-empty"), !people.length);
  $("#rec-participants").replaceChildren(...people.map((p) => h("li", {},
    h("span", { class: "person-name" }, p.name), h("span", { class: "role-tag" }, roleLabel(p.role)))));
  show($("#loading"), false);
  show($("#recording-view"), true);
}

async function download(purpose = "download") {
  const button = $(purpose === "package" ? "#package-button" : "#download-button");
  button.disabled = true;
  try {
    const link = await api("POST", "/api/shared/links", { purpose });
    location.href = link.url; // served as an attachment: the page stays
  } catch (error) {
    handle(error, "The download could not start");
  } finally {
    setTimeout(() => { button.disabled = false; }, 1500);
  }
}

async function init() {
  await startLanguage();
  $("#language-slot").append(languageSwitcher());
  player = new RecordingPlayer({
    video: $("#recording-video"),
    list: $("#transcript"),
    scroller: $("#transcript-scroll"),
    count: $("#transcript-count"),
    overlay: $("#player-start"),
    clock: $("#player-clock"),
    error: $("#player-error"),
    // A link that stopped working while the page was open (expired, revoked) replaces the page.
    getLink: () => api("POST", "/api/shared/links", { purpose: "play" }).catch((error) => {
      if (error.status === 401) linkProblem(error);
      throw error;
    }),
  });
  window.__shared = { player };
  $("#play-button").addEventListener("click", () => player.start().catch((e) => handle(e, "The recording cannot be played")));
  $("#download-button").addEventListener("click", () => download("download"));
  $("#package-button").addEventListener("click", () => download("package"));
  if (!token) {
    linkProblem("missing");
    return;
  }
  let rec;
  try {
    rec = await api("GET", "/api/shared");
  } catch (error) {
    handle(error, "The recording could not be opened");
    return;
  }
  render(rec);
  try {
    const transcript = await api("GET", "/api/shared/transcript");
    player.setEntries(transcript.entries || []);
  } catch (error) {
    if (error.status === 401) linkProblem(error);
    else player.transcriptProblem(`The transcript cannot be loaded right now (${error.message}).`);
  }
}

init();
