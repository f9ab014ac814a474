// The views: data from the API in, page content out. Fields the API does not offer show as "—".
import { h, link, external, table, badge, when, duration } from "./dom.js";
import { markdown } from "./markdown.js";
import { stackGraph } from "./graph.js";

/** The first of `names` the object has a value for. */
export function pick(item, ...names) {
  for (const name of names) if (item && item[name] !== undefined && item[name] !== null) return item[name];
  return null;
}

const enc = encodeURIComponent;
const short = (revision) => (revision ? String(revision).slice(0, 12) : "—");

function driftText(drift) {
  if (drift === null || drift === undefined) return "—";
  if (typeof drift === "boolean") return drift ? "drifted" : "in sync";
  if (typeof drift === "object") return pick(drift, "status", "state") ?? "—";
  return String(drift);
}

/** Pipelines: one row per pipeline environment when the API gives environments, else per pipeline;
 * `pending` while the environments are still on their way. */
export function pipelines(list, pending = false) {
  const rows = [];
  for (const p of list) {
    const envs = Array.isArray(p.environments) && p.environments.length ? p.environments : [p];
    for (const e of envs) {
      rows.push([
        link(`/pipelines/${enc(p.name)}`, p.name),
        pick(e, "env", "environment") ?? (p.envs ?? []).join(", ") ?? "—",
        pending ? h("span", { class: "badge none" }, "loading…") : badge(pick(e, "status")),
        h("code", {}, short(pick(e, "revision", "lastRevision"))),
        external(pick(e, "collectorUrl"), pick(e, "collectorUrl")),
        external(pick(e, "dashboardUrl"), "dashboard"),
        badge(driftText(pick(e, "drift", "driftStatus"))),
      ]);
    }
  }
  return table("Pipelines and their environments", ["pipeline", "environment", "status", "last revision", "collector", "dashboard", "drift"], rows,
    "No pipelines yet: `pipectl up` deploys the files in pipelines.d/.");
}

function outputs(stack) {
  const list = pick(stack, "outputs") ?? [];
  if (!list.length) return "—";
  return h("dl", { class: "outputs" }, list.map((o) => [h("dt", {}, pick(o, "key", "name", "outputKey")), h("dd", {}, /^https?:\/\//.test(pick(o, "value", "outputValue") ?? "") ? external(o.value ?? o.outputValue) : h("code", {}, pick(o, "value", "outputValue") ?? ""))]));
}

export function stacks(list) {
  return table("Stacks", ["stack", "environment", "status", "last change", "reason", "outputs"], list.map((s) => [
    s.stack, s.env ?? "—", badge(s.status), when(pick(s, "updatedAt", "lastChange")), s.reason || "—", outputs(s),
  ]), "No stacks recorded for this pipeline yet.");
}

/** Edges from the API: each environment's `graph` (a stack and what it depends on), as `pipectl graph` draws it. */
export function graph(pipelineName, list, environments) {
  const ids = new Set(list.map((s) => s.stack));
  const edges = [];
  for (const env of environments ?? []) for (const node of env.graph ?? []) for (const d of node.dependsOn ?? []) edges.push({ from: node.stack, to: d });
  for (const env of environments ?? []) for (const node of env.graph ?? []) ids.add(node.stack);
  const status = new Map(list.map((s) => [s.stack, s.status]));
  const nodes = [...ids].sort().map((id) => ({ id, label: id.replace(`pipectl-${pipelineName}-`, ""), status: status.get(id) ?? null }));
  const known = edges.filter((e) => ids.has(e.from) && ids.has(e.to));
  return stackGraph(nodes, known, `Stack graph of ${pipelineName}`);
}

export function runSeconds(run) {
  const given = pick(run, "durationSeconds", "duration");
  if (typeof given === "number") return given;
  const start = Date.parse(run.startedAt ?? ""), end = Date.parse(run.endedAt ?? "");
  return Number.isNaN(start) || Number.isNaN(end) ? null : (end - start) / 1000;
}

function counted(value, fallback) {
  if (Array.isArray(value)) return value.length;
  return typeof value === "number" ? value : fallback;
}

function counts(run) {
  const results = run.stacks ?? [];
  const changed = counted(run.changed, results.filter((s) => s.result === "done").length);
  const failed = counted(run.failed, results.filter((s) => /fail/i.test(s.result ?? "")).length);
  return [String(changed), failed ? h("span", { class: "badge bad" }, `${failed} failed`) : "0"];
}

export function runs(list, withPipeline = false) {
  const headers = ["run", ...(withPipeline ? ["pipeline"] : []), "trigger", "revision", "who", "started", "duration", "result", "stacks changed", "stacks failed"];
  return table("Runs, newest first", headers, list.map((r) => [
    link(`/pipelines/${enc(r.pipeline ?? r.pipelines?.[0] ?? "-")}/runs/${enc(r.runId)}`, `${r.kind ?? "run"} ${String(r.runId).slice(0, 8)}`, { "aria-label": `${r.kind ?? "run"} ${r.runId}` }),
    ...(withPipeline ? [link(`/pipelines/${enc(r.pipeline)}`, r.pipeline)] : []),
    pick(r, "trigger") ?? "—", h("code", {}, short(r.revision)), r.actor ?? "—", when(r.startedAt), duration(runSeconds(r)), badge(r.result), ...counts(r),
  ]), "No runs recorded yet.");
}

/** One run; `plan` is its plan.md as text (already unpacked), or null. */
export function run(r, plan) {
  const owners = r.pipelines?.length ? r.pipelines : [r.pipeline].filter(Boolean);
  const facts = [
    ["pipelines", owners.length ? owners.map((p, i) => [i ? ", " : "", link(`/pipelines/${enc(p)}`, p)]) : "—"], ["kind", r.kind ?? "—"], ["trigger", pick(r, "trigger") ?? "—"],
    ["revision", h("code", {}, r.revision ?? "—")], ["who", r.actor ?? "—"], ["started", when(r.startedAt)], ["ended", when(r.endedAt)],
    ["duration", duration(runSeconds(r))], ["result", badge(r.result)],
    ["stacks failed", r.failed?.length ? r.failed.join(", ") : "none"],
  ];
  return [
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", {}, "Stacks in this run"),
    table("Result per stack", ["stack", "result"], (r.stacks ?? []).map((s) => [s.stack, badge(s.result)]), "This run touched no stack."),
    h("h2", { id: "plan" }, "Plan"),
    plan ? h("article", { class: "plan", "aria-labelledby": "plan" }, markdown(plan, 3)) : h("p", { class: "empty" }, "This run has no plan recorded."),
    r.planTruncated ? h("p", { class: "notice" }, "The plan was cut to fit the state table; the whole plan.md is in the run's artifacts.") : null,
  ];
}

export function approvals(list) {
  return table("Waiting approvals", ["delivery pipeline", "execution", "stage / action", "state", "waiting since", "approve or reject"], list.map((a) => [
    pick(a, "deliveryPipeline", "pipeline") ?? "—", h("code", {}, short(a.executionId)), `${a.stage ?? "—"} / ${a.action ?? "—"}`,
    badge(a.state), when(pick(a, "startedAt", "updatedAt")), external(pick(a, "url"), "open in CodePipeline"),
  ]), "Nothing waits for approval.");
}
