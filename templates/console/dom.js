// Building the page without innerHTML: every piece of data reaches the DOM as text.

/** An element with attributes (`on…` functions become listeners) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "rect", "line", "path", "text", "title", "marker", "defs"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what `el` shows. */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A link that stays inside the app (hash routes work with Tab and Enter, no script needed). */
export function link(route, text, attrs = {}) {
  return h("a", { href: `#${route}`, ...attrs }, text);
}

/** A link that leaves the app: only http(s) addresses become links, anything else is shown as text. */
export function external(url, text) {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return url ? String(url) : "—";
  return h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, text ?? url, h("span", { class: "sr-only" }, " (opens a new tab)"));
}

/** A table with a caption, column headers and one row per item. */
export function table(caption, headers, rows, empty = "Nothing yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div", { class: "table-wrap" },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))),
    ),
  );
}

const TONES = {
  ok: /(_COMPLETE$|^succeeded$|^ok$|^done$|^in sync$|^IN_SYNC$|^deployed$|^planned$)/i,
  bad: /(FAILED|ROLLBACK|^failed$|^error$|DRIFTED|^drifted$)/i,
  busy: /(IN_PROGRESS|^running$|^waiting$|^pending$)/i,
};

/** A status as a badge whose colour follows its meaning (the word itself always shows). */
export function badge(status) {
  const text = status ?? "unknown";
  const tone = TONES.bad.test(text) ? "bad" : TONES.busy.test(text) ? "busy" : TONES.ok.test(text) ? "ok" : "none";
  return h("span", { class: `badge ${tone}` }, text);
}

/** An ISO time as the reader's local time, keeping the exact value in a tooltip. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return h("time", { datetime: iso, title: iso }, date.toLocaleString());
}

/** Seconds as "1 min 5 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
