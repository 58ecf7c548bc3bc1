// The pages' languages: Kazakh, Russian and English from one JSON catalog each (web/locales/<code>.json, the
// same files the server draws the picture's words from). A key's text may hold {name} parameters, and a
// plural key holds the CLDR forms ("one", "few", "many", "other") that the browser's Intl.PluralRules picks
// by its "count" parameter. The language: the one the person chose on any page (remembered in this
// browser), else the first of the browser's languages (Accept-Language) the court has, else the court's.
// Times are shown in the court's time zone, not the device's.

export const STORAGE_KEY = "courtroom.language";
const LOCALES = { kk: "kk-KZ", ru: "ru-RU", en: "en-GB" };

const state = {
  language: "en",
  court: { language: "en", languages: [{ code: "en", name: "English" }], time_zone: "UTC" },
  strings: {},
  fallback: {},
  listeners: [],
};

async function fetchJson(path) {
  const response = await fetch(path, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

const catalogs = new Map();
function catalog(code) {
  if (!catalogs.has(code)) catalogs.set(code, fetchJson(`/static/locales/${code}.json`).catch(() => ({})));
  return catalogs.get(code);
}

function stored() {
  try {
    return localStorage.getItem(STORAGE_KEY) || "";
  } catch {
    return ""; // storage blocked (private mode): the choice lasts for this page only
  }
}

/** The first of `wanted` (BCP 47 tags, best first) that `known` has, by its primary language. */
export function negotiate(wanted, known, fallback) {
  for (const tag of wanted) {
    const primary = String(tag || "").toLowerCase().split("-")[0];
    if (known.includes(primary)) return primary;
  }
  return fallback;
}

/** Load the court's settings and the language's catalog, then put the page into it. Call once, first. */
export async function startLanguage() {
  // The person's own choice first, then the browser's languages (what it sends as Accept-Language).
  const wanted = [stored(), ...(navigator.languages || [navigator.language])];
  const guess = negotiate(wanted, ["kk", "ru", "en"], "");
  const [court] = await Promise.all([
    fetchJson("/api/court").catch(() => state.court),
    guess ? catalog(guess) : null, catalog("en"),
  ]);
  state.court = court;
  const codes = (court.languages || []).map((l) => l.code);
  const language = negotiate(wanted, codes, codes.includes(court.language) ? court.language : "en");
  await useLanguage(language, false);
}

/** Switch the page to another language (the switcher calls this); remembered in this browser. */
export async function useLanguage(code, remember = true) {
  const [strings, fallback] = await Promise.all([catalog(code), catalog("en")]);
  state.language = code;
  state.strings = strings;
  state.fallback = fallback;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, code);
    } catch { /* see stored() */ }
  }
  document.documentElement.lang = code;
  translate(document);
  for (const listener of state.listeners) listener(code);
}

export function language() {
  return state.language;
}

export function locale() {
  return LOCALES[state.language] || state.language;
}

/** Re-render whatever a page drew itself (lists, banners) when the language changes. */
export function onLanguageChange(listener) {
  state.listeners.push(listener);
}

/** A key's text in the page's language (English if the catalog lacks it; the key itself if both do). */
export function t(key, params = {}) {
  let value = state.strings[key];
  if (value === undefined) value = state.fallback[key];
  if (value === undefined) return key;
  if (typeof value === "object") {
    const form = new Intl.PluralRules(locale()).select(Number(params.count) || 0);
    value = value[form] ?? value.other ?? "";
  }
  return String(value).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Set a node's text to a key's, kept on the node so that a change of language re-renders it. */
export function say(node, key, params) {
  if (!node) return;
  if (!key) {
    delete node.dataset.i18n;
    delete node.dataset.i18nParams;
    node.textContent = "";
    return;
  }
  node.dataset.i18n = key;
  if (params && Object.keys(params).length) node.dataset.i18nParams = JSON.stringify(params);
  else delete node.dataset.i18nParams;
  node.textContent = t(key, params || {});
}

/** Translate every marked node under root: data-i18n (its text), data-i18n-attrs ("attr:key attr:key"). */
export function translate(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    let params = {};
    try {
      params = node.dataset.i18nParams ? JSON.parse(node.dataset.i18nParams) : {};
    } catch { /* a page's own data: never broken */ }
    node.textContent = t(node.dataset.i18n, params);
  }
  for (const node of root.querySelectorAll("[data-i18n-attrs]")) {
    for (const pair of node.dataset.i18nAttrs.split(/\s+/)) {
      const [attribute, key] = pair.split(":");
      if (attribute && key) node.setAttribute(attribute, t(key));
    }
  }
}

/** A language switcher (a labelled select) for the page's header; every page has one. */
export function languageSwitcher() {
  const select = document.createElement("select");
  select.className = "language-select";
  select.id = "language-select";
  select.dataset.i18nAttrs = "aria-label:language.choose";
  select.setAttribute("aria-label", t("language.choose"));
  for (const { code, name } of state.court.languages || []) {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code;
    option.textContent = name;
    select.append(option);
  }
  select.value = state.language;
  select.addEventListener("change", () => useLanguage(select.value));
  onLanguageChange((code) => {
    select.value = code;
  });
  return select;
}

// -- the court's clock ------------------------------------------------------------------------------

// Dates are written as the court writes them: day.month.year, 24-hour clock. Chromium's own Kazakh data is
// missing in some builds (it falls back to "2026 M11 28"), so Kazakh takes the numeric form Kazakhstan uses,
// which is Russian's ("28.11.2026, 14:00").
const NUMERIC = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
const STYLE_PARTS = {
  date: { year: "numeric", month: "2-digit", day: "2-digit" },
  short: { hour: "2-digit", minute: "2-digit" },
  medium: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
};

function zoned(options) {
  const parts = { ...options };
  if (parts.dateStyle || parts.timeStyle) {
    const { dateStyle, timeStyle } = parts;
    delete parts.dateStyle;
    delete parts.timeStyle;
    Object.assign(parts, dateStyle ? STYLE_PARTS.date : {}, timeStyle ? STYLE_PARTS[timeStyle] || STYLE_PARTS.short : {});
  }
  if (parts.hour) parts.hourCycle = "h23";
  const tag = state.language === "kk" ? "ru-RU" : locale();
  try {
    return new Intl.DateTimeFormat(tag, { ...parts, timeZone: state.court.time_zone });
  } catch {
    return new Intl.DateTimeFormat(tag, parts); // a zone this browser does not know: the device's
  }
}

/** "10:02" in the court's time zone, from epoch seconds. */
export function clockTime(epochSeconds) {
  if (!epochSeconds) return "";
  return zoned({ hour: "2-digit", minute: "2-digit" }).format(new Date(epochSeconds * 1000));
}

/** Date and time in the court's time zone ("28.11.2026, 14:00"), from an ISO string or epoch seconds. */
export function dateTime(value, options = NUMERIC) {
  if (value === undefined || value === null || value === "") return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return zoned(options).format(date);
}

export function courtTimeZone() {
  return state.court.time_zone;
}
