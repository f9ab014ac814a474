// A small Markdown subset for plan.md (headings, paragraphs, lists, tables, code, emphasis, links),
// rendered as DOM nodes: the text of a plan never becomes markup.
import { h, external } from "./dom.js";

/** Inline: `code`, **bold**, *emphasis*, [text](https://...). */
function inline(text) {
  const out = [];
  const pattern = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*|\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    const token = match[0];
    if (token.startsWith("`")) out.push(h("code", {}, token.slice(1, -1)));
    else if (token.startsWith("**")) out.push(h("strong", {}, token.slice(2, -2)));
    else if (token.startsWith("*")) out.push(h("em", {}, token.slice(1, -1)));
    else {
      const [, label, url] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
      out.push(external(url, label));
    }
    last = match.index + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function cells(row) {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

/** The plan as a list of nodes; headings start at level `base` so they fit under the page's own. */
export function markdown(source, base = 2) {
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  // plan.md folds long parts in <details>: those three tags (alone on their line) become elements, any other markup stays text
  const open = [{ summary: null, nodes: [] }];
  let nodes = open[0].nodes;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) { i += 1; continue; }
    if (/^\s*<details>\s*$/i.test(line)) {
      open.push({ summary: null, nodes: [] });
      nodes = open[open.length - 1].nodes;
      i += 1;
      continue;
    }
    const summary = /^\s*<summary>(.*)<\/summary>\s*$/i.exec(line);
    if (summary && open.length > 1) { open[open.length - 1].summary = summary[1]; i += 1; continue; }
    if (/^\s*<\/details>\s*$/i.test(line) && open.length > 1) {
      const done = open.pop();
      nodes = open[open.length - 1].nodes;
      nodes.push(h("details", {}, h("summary", {}, inline(done.summary ?? "Details")), done.nodes));
      i += 1;
      continue;
    }
    const fence = /^```/.exec(line);
    if (fence) {
      const body = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i += 1) body.push(lines[i]);
      nodes.push(h("pre", { tabindex: "0" }, h("code", {}, body.join("\n"))));
      i += 1;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + base - 1);
      nodes.push(h(`h${level}`, {}, inline(heading[2])));
      i += 1;
      continue;
    }
    if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1])) {
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && /^\s*\|/.test(lines[i]); i += 1) rows.push(cells(lines[i]));
      nodes.push(h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, inline(c))))),
        h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, inline(c)))))),
      )));
      continue;
    }
    const item = /^\s*([-*+]|\d+\.)\s+/;
    if (item.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items = [];
      for (; i < lines.length && item.test(lines[i]); i += 1) items.push(h("li", {}, inline(lines[i].replace(item, ""))));
      nodes.push(h(ordered ? "ol" : "ul", {}, items));
      continue;
    }
    if (/^>\s?/.test(line)) {
      const quoted = [];
      for (; i < lines.length && /^>\s?/.test(lines[i]); i += 1) quoted.push(lines[i].replace(/^>\s?/, ""));
      nodes.push(h("blockquote", {}, inline(quoted.join(" "))));
      continue;
    }
    const para = [];
    for (; i < lines.length && lines[i].trim() && !/^(#{1,6}\s|```|\s*\||\s*([-*+]|\d+\.)\s|>|\s*<\/?(details|summary)>)/i.test(lines[i]); i += 1) para.push(lines[i].trim());
    if (!para.length) { nodes.push(h("p", {}, inline(line))); i += 1; continue; }
    nodes.push(h("p", {}, inline(para.join(" "))));
  }
  while (open.length > 1) {
    const done = open.pop();
    open[open.length - 1].nodes.push(h("details", {}, h("summary", {}, inline(done.summary ?? "Details")), done.nodes));
  }
  return open[0].nodes;
}
