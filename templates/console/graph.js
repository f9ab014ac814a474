// The stack graph: columns by dependency depth, arrows from a stack to what it depends on.
// Drawn as SVG for the eye and repeated as a list for screen readers and keyboard users.
import { h } from "./dom.js";

const W = 190, H = 44, GAP_X = 60, GAP_Y = 18;

function depths(nodes, edges) {
  const needs = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (needs.has(e.from) && needs.has(e.to)) needs.get(e.from).push(e.to);
  const depth = new Map();
  const visit = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...needs.get(id).map((t) => visit(t, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  nodes.forEach((n) => visit(n.id));
  return depth;
}

function tone(status) {
  if (/fail|rollback/i.test(status ?? "")) return "bad";
  if (/in_progress|running|pending/i.test(status ?? "")) return "busy";
  if (/_complete$|^done$|^succeeded$/i.test(status ?? "")) return "ok";
  return "none";
}

/** nodes: [{id, label, status}], edges: [{from, to}] meaning `from` depends on `to`. */
export function stackGraph(nodes, edges, caption) {
  if (!nodes.length) return h("p", { class: "empty" }, "No stacks.");
  const depth = depths(nodes, edges);
  const columns = [];
  for (const n of nodes) (columns[depth.get(n.id)] ??= []).push(n);
  const at = new Map();
  columns.forEach((col, x) => col.forEach((n, y) => at.set(n.id, { x: 10 + x * (W + GAP_X), y: 10 + y * (H + GAP_Y) })));
  const width = 20 + columns.length * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  const arrows = edges.filter((e) => at.has(e.from) && at.has(e.to)).map((e) => {
    const a = at.get(e.from), b = at.get(e.to);
    return h("line", { x1: a.x, y1: a.y + H / 2, x2: b.x + W, y2: b.y + H / 2, class: "edge", "marker-end": "url(#arrow)" });
  });
  const boxes = nodes.map((n) => {
    const p = at.get(n.id);
    return h("g", { class: `node ${tone(n.status)}` },
      h("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6 }),
      h("text", { x: p.x + 10, y: p.y + 18, class: "label" }, n.label),
      h("text", { x: p.x + 10, y: p.y + 35, class: "status" }, n.status ?? "not deployed"),
    );
  });
  const described = nodes.map((n) => {
    const needs = edges.filter((e) => e.from === n.id).map((e) => e.to);
    return h("li", {}, `${n.label}: ${n.status ?? "not deployed"}`, needs.length ? `; depends on ${needs.join(", ")}` : "; depends on nothing");
  });
  return h("figure", { class: "graph" },
    h("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "graph-title" },
      h("title", { id: "graph-title" }, caption),
      h("defs", {}, h("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
        h("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))),
      arrows, boxes),
    h("figcaption", {}, h("details", {}, h("summary", {}, `${caption} as a list`), h("ul", {}, described))),
  );
}
