// A party's view of a recording the court shared: what it is, the video beside its transcript, a download.
// The link (/shared#token=…) carries a share token; it works until it expires or the court revokes it.
// Every word is a key of the catalogs (shared.* for this page, player.* for what the archive shows too);
// what the page drew itself is drawn again when the language changes.

import { languageSwitcher, startLanguage, onLanguageChange, say, t } from "./i18n.js";
import { $, h, show, apiCall, ApiError, roleLabel } from "./common.js";
import {
  RecordingPlayer, apiErrorText, formatDuration, localDateTime, recordDateTime, setText,
} from "./archive.js";

const TOKEN_KEY = "court.share.token";

const token = readShareToken();
let player = null;
let shown = null; // what the page shows: {problem: kind} or {recording}

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

// Why a link opens nothing, each with its title and text: shared.problem.<kind>.title and .text.
const PROBLEMS = ["token_expired", "token_revoked", "missing", "invalid", "not_found"];

/** Replace the page with a clear explanation. Any 401 means the link no longer opens anything. */
function linkProblem(error) {
  const code = typeof error === "string" ? error : error && error.code;
  let kind = "invalid";
  if (PROBLEMS.includes(code)) kind = code;
  else if (error instanceof ApiError && error.status === 0) {
    say($("#loading"), "shared.unreachable");
    show($("#loading"), true);
    return;
  }
  player?.reset();
  shown = { problem: kind };
  drawProblem(kind);
  show($("#loading"), false);
  show($("#recording-view"), false);
  show($("#link-problem"), true);
  $("#link-problem").dataset.problem = kind;
}

function drawProblem(kind) {
  say($("#problem-title"), `shared.problem.${kind}.title`);
  say($("#problem-text"), `shared.problem.${kind}.text`);
  say($("title"), "shared.problem_page_title", { title: t(`shared.problem.${kind}.title`) });
}

/** What went wrong (`key`: a text with {error}), under the player; a link that stopped working replaces the page. */
function handle(error, key) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
    linkProblem(error.status === 404 ? "not_found" : error);
    return;
  }
  player.problem(() => t(key, { error: apiErrorText(error) }));
}

function render(rec) {
  shown = { recording: rec };
  describe(rec);
  player.knownDuration = rec.duration;
  show($("#loading"), false);
  show($("#recording-view"), true);
}

/** The recording's words (again when the language changes). */
function describe(rec) {
  say($("title"), "shared.recording_page_title", { case: rec.case_number });
  setText($("#rec-case"), rec.case_number);
  setText($("#rec-title"), rec.title);
  $("#rec-meta").textContent = [rec.court, rec.courtroom, rec.judge_name, localDateTime(rec.opened_at)]
    .filter(Boolean).join(" · ");
  const until = rec.link_expires_at ? localDateTime(rec.link_expires_at) : "";
  let sharedFor;
  if (rec.shared_with) sharedFor = until ? "shared.shared_with_until" : "shared.shared_with";
  else sharedFor = until ? "shared.shared_with_you_until" : "shared.shared_with_you";
  say($("#shared-for"), sharedFor, { recipient: rec.shared_with || "", until });
  const facts = [
    [t("player.fact.opened"), recordDateTime(rec.opened_at)],
    [t("player.fact.closed"), recordDateTime(rec.closed_at)],
    [t("player.fact.duration"), formatDuration(rec.duration)],
    [t("player.fact.record"), rec.status === "interrupted" ? t("shared.record.interrupted") : t("player.record.complete")],
  ];
  if (rec.gaps) facts.push([t("player.fact.gaps"), t("shared.gaps", { count: rec.gaps })]);
  $("#rec-facts").replaceChildren(...facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  const people = rec.participants || [];
  $("#people-count").textContent = String(people.length);
  show($("#people-empty"), !people.length);
  $("#rec-participants").replaceChildren(...people.map((p) => h("li", {},
    h("span", { class: "person-name" }, p.name), h("span", { class: "role-tag" }, roleLabel(p.role)))));
}

function relabel() {
  if (shown && shown.problem) drawProblem(shown.problem);
  else if (shown && shown.recording) describe(shown.recording);
}

async function download(purpose = "download") {
  const button = $(purpose === "package" ? "#package-button" : "#download-button");
  button.disabled = true;
  try {
    const link = await api("POST", "/api/shared/links", { purpose });
    location.href = link.url; // served as an attachment: the page stays
  } catch (error) {
    handle(error, "shared.download_failed");
  } finally {
    setTimeout(() => { button.disabled = false; }, 1500);
  }
}

async function init() {
  await startLanguage();
  $("#language-slot").append(languageSwitcher());
  onLanguageChange(relabel);
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
  $("#play-button").addEventListener("click", () => player.start().catch((e) => handle(e, "shared.play_failed")));
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
    handle(error, "shared.open_failed");
    return;
  }
  render(rec);
  try {
    const transcript = await api("GET", "/api/shared/transcript");
    player.setEntries(transcript.entries || []);
  } catch (error) {
    if (error.status === 401) linkProblem(error);
    else player.transcriptProblem(error);
  }
}

init();
