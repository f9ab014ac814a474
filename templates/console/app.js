// The console: sign-in, routes, loading through the API, and refresh by polling with backoff.
import { h, link, show } from "./dom.js";
import { ApiError, SessionEnded, query } from "./api.js";
import { SignInError, completeSignIn, forget, session, signIn, signOut } from "./auth.js";
import { Shape } from "./shape.js";
import * as views from "./views.js";

const main = document.getElementById("main");
const bar = document.getElementById("account");
const HEAVY = ["planMarkdownGzip"]; // only the run view asks for the plan
const BATCH = 10; // pipelines per request when an older API has no pages; the requests run side by side
const PAGE = 100; // pipelines per page (the API's most)
const RUNS_PAGE = 50; // runs per page

function batches(names) {
  const out = [];
  for (let i = 0; i < names.length; i += BATCH) out.push(names.slice(i, i + BATCH));
  return out;
}

/** One document asking `field(arg: $pN)` for each name, as aliases p0, p1, … */
function aliased(operation, field, arg, names, selection, extra = "") {
  const params = names.map((_, i) => `$p${i}: String!`).join(", ");
  const parts = names.map((_, i) => `p${i}: ${field}(${arg}: $p${i}${extra ? `, ${extra}` : ""}) { ${selection} }`);
  return `query ${operation}(${params}) { ${parts.join(" ")} }`;
}

function variables(names) {
  return Object.fromEntries(names.map((n, i) => [`p${i}`, n]));
}

/** plan.md arrives gzip-compressed and base64-encoded; the browser unpacks it (DecompressionStream). */
async function unpack(packed) {
  if (!packed) return null;
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).text();
}

const state = { config: null, shape: null, timer: null, delay: 0, last: null, generation: 0 };

/** The hash route: `#/runs?pipeline=shop&after=…` gives parts ["runs"] and params {pipeline, after}. */
function route() {
  const path = decodeURI(location.hash.replace(/^#/, "")) || "/pipelines";
  const [where, search = ""] = path.split("?");
  const parts = where.split("/").filter(Boolean).map(decodeURIComponent);
  parts.params = Object.fromEntries(new URLSearchParams(search));
  return { path, parts };
}

/** A link to the same view with other params (a page token, a filter), or none when `params` say nothing. */
function pageLink(view, params, text) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  return link(search ? `/${view}?${search}` : `/${view}`, text, { rel: params.after ? "next" : null });
}

/** The links under a paged list: the first page (when not on it) and the next one (when there is one). */
function pager(view, params, nextToken) {
  const first = params.after ? pageLink(view, { ...params, after: null }, "First page") : null;
  const next = nextToken ? pageLink(view, { ...params, after: nextToken }, "Next page") : null;
  return first || next ? h("nav", { class: "pager", "aria-label": "Pages" }, first, first && next ? " · " : null, next) : null;
}

function token() {
  const s = session();
  if (!s) throw new SessionEnded("Your session has ended.");
  return s.idToken;
}

async function ask(document, variables) {
  return query(state.config.graphqlUrl, token(), document, variables);
}

/** Each route: its heading and how to load it; `load` returns the nodes to show. */
const ROUTES = [
  {
    name: "pipelines",
    match: (p) => p.length === 0 || (p[0] === "pipelines" && p.length === 1),
    title: () => "Pipelines",
    async load(p, paint) {
      const s = state.shape;
      if (s.has("pipelinesPage", "limit", "nextToken")) {
        // One request per page: the page of pipelines with every environment of them.
        const page = s.rootType("pipelinesPage");
        const data = await ask(
          `query Pipelines($limit: Int, $nextToken: String) { pipelinesPage(limit: $limit, nextToken: $nextToken) {
            items { ${s.select(s.rootType("pipelines") ?? "Pipeline", [], 2)} } nextToken } }`,
          { limit: PAGE, nextToken: p.params.after ?? null },
        );
        return [views.pipelines(data.pipelinesPage.items), pager("pipelines", p.params, s.fields(page).has("nextToken") ? data.pipelinesPage.nextToken : null)];
      }
      // An older API: the list first (one query), then each pipeline's environments (a query per pipeline), in batches side by side.
      const data = await ask(`query Pipelines { pipelines { ${s.select("Pipeline", ["environments"])} } }`);
      if (!s.fields("Pipeline").has("environments")) return [views.pipelines(data.pipelines)];
      paint?.([views.pipelines(data.pipelines, true)]);
      const fields = s.select("Pipeline", [], 2);
      const found = new Map();
      await Promise.all(batches(data.pipelines.map((p) => p.name)).map(async (names) => {
        const answer = await ask(aliased("Environments", "pipeline", "name", names, fields), variables(names));
        for (const p of Object.values(answer)) if (p) found.set(p.name, p);
      }));
      return [views.pipelines(data.pipelines.map((p) => found.get(p.name) ?? p))];
    },
  },
  {
    name: "pipeline",
    match: (p) => p[0] === "pipelines" && p.length === 2,
    title: (p) => `Pipeline ${p[1]}`,
    async load(p) {
      const s = state.shape;
      const runType = s.rootType("runs") ?? "Run";
      const data = await ask(
        `query Pipeline($name: String!) { pipeline(name: $name) { ${s.select("Pipeline", [], 3)} }
          stacks(pipeline: $name) { ${s.select(s.rootType("stacks") ?? "Stack")} }
          runs(pipeline: $name, limit: 20) { ${s.select(runType, HEAVY)} } }`,
        { name: p[1] },
      );
      if (!data.pipeline) return [h("p", { role: "status" }, `No pipeline named ${p[1]}.`)];
      return [
        views.pipelines([data.pipeline]),
        h("h2", {}, "Stack graph"), views.graph(p[1], data.stacks, data.pipeline.environments),
        h("h2", {}, "Stacks"), views.stacks(data.stacks),
        h("h2", {}, "Runs"), views.runs(data.runs),
        s.has("recentRuns", "pipeline") ? h("p", {}, pageLink("runs", { pipeline: p[1] }, `Every run of ${p[1]}`)) : null,
      ];
    },
  },
  {
    name: "run",
    match: (p) => p[0] === "pipelines" && p[2] === "runs" && p.length === 4,
    title: (p) => `Run ${p[3].slice(0, 8)} of ${p[1]}`,
    async load(p) {
      const s = state.shape;
      if (s.has("run", "runId")) {
        const data = await ask(`query Run($id: ID!) { run(runId: $id) { ${s.select(s.rootType("run"))} } }`, { id: p[3] });
        if (!data.run) return [h("p", { role: "status" }, `No run ${p[3]}.`)];
        return views.run(data.run, await unpack(data.run.planMarkdownGzip));
      }
      const data = await ask(`query Runs($name: String!) { runs(pipeline: $name, limit: 100) { ${s.select(s.rootType("runs"))} } }`, { name: p[1] });
      const found = data.runs.find((r) => r.runId === p[3]);
      return found ? views.run(found, null) : [h("p", { role: "status" }, `No run ${p[3]} among the latest runs of ${p[1]}.`)];
    },
  },
  {
    name: "runs",
    match: (p) => p[0] === "runs" && p.length === 1,
    title: (p) => (p.params.pipeline ? `Runs of ${p.params.pipeline}` : "Runs"),
    async load(p) {
      const s = state.shape;
      if (s.has("recentRuns", "pipeline", "limit", "nextToken")) {
        // One request per page: the newest runs of every pipeline the caller may see (or of one).
        const data = await ask(
          `query Runs($pipeline: String, $limit: Int, $nextToken: String) { recentRuns(pipeline: $pipeline, limit: $limit, nextToken: $nextToken) {
            items { ${s.select(s.rootType("runs") ?? "Run", HEAVY)} } nextToken } }`,
          { pipeline: p.params.pipeline ?? null, limit: RUNS_PAGE, nextToken: p.params.after ?? null },
        );
        const filter = p.params.pipeline ? h("p", {}, `Only ${p.params.pipeline}. `, pageLink("runs", {}, "Show every pipeline")) : null;
        return [filter, views.runs(data.recentRuns.items, true), pager("runs", p.params, data.recentRuns.nextToken)];
      }
      const names = (await ask("query Names { pipelines { name } }")).pipelines.map((x) => x.name);
      if (!names.length) return [views.runs([], true)];
      const fields = s.select(s.rootType("runs"), HEAVY);
      const answers = await Promise.all(batches(names).map((batch) =>
        ask(aliased("RecentRuns", "runs", "pipeline", batch, fields, "limit: 10"), variables(batch))));
      const seen = new Map();
      for (const data of answers) for (const list of Object.values(data)) for (const r of list) seen.set(`${r.pipeline}#${r.runId}`, r);
      const all = [...seen.values()].sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt))).slice(0, 50);
      return [views.runs(all, true)];
    },
  },
  {
    name: "approvals",
    match: (p) => p[0] === "approvals" && p.length === 1,
    title: () => "Waiting approvals",
    async load() {
      const s = state.shape;
      const root = ["approvals", "waitingApprovals", "pendingApprovals"].find((name) => s.has(name));
      if (!root) return [h("p", { class: "empty" }, "This API does not list approvals.")];
      const data = await ask(`query Approvals { ${root} { ${s.select(s.rootType(root))} } }`);
      return [views.approvals(data[root])];
    },
  },
];

function renderSignIn(message) {
  stop();
  state.generation += 1;
  show(bar);
  document.title = "Sign in · pipectl console";
  show(main,
    h("h1", { tabindex: "-1" }, "Sign in to the pipectl console"),
    message ? h("p", { class: "notice", role: "alert" }, message) : null,
    h("p", {}, "The console shows every pipeline, its stacks, runs and waiting approvals."),
    state.config.signIn?.clientId
      ? h("button", { type: "button", class: "primary", onclick: () => signIn(state.config.signIn, route().path).catch((err) => renderSignIn(failed(err))) }, "Sign in")
      : h("p", { role: "alert" }, "Sign-in is not available yet: config.json names no app client (is the console stack deployed?)."),
  );
  main.dataset.view = "signin";
  main.querySelector("h1").focus();
}

function renderAccount(user) {
  show(bar,
    h("span", { class: "user" }, "Signed in as ", h("strong", {}, user)),
    h("button", { type: "button", onclick: async () => { stop(); if (!(await signOut(state.config.signIn))) renderSignIn("You have signed out."); } }, "Sign out"),
  );
}

function renderError(err) {
  const id = err instanceof ApiError ? err.requestId : null;
  const what = err instanceof ApiError ? "The API returned an error: " : "The console could not show this page: ";
  return h("div", { class: "error", role: "alert" },
    h("p", {}, h("strong", {}, what), err.message),
    h("p", {}, `Error type: ${err.errorType ?? "unknown"}`, " · ", "Request id: ", h("code", { class: "request-id" }, id ?? "none")),
    h("button", { type: "button", onclick: () => refresh(true) }, "Retry now"),
  );
}

function stop() {
  clearTimeout(state.timer);
  state.timer = null;
}

function schedule(failed) {
  stop();
  const base = (state.config.refreshSeconds ?? 5) * 1000;
  state.delay = failed ? Math.min(Math.max(state.delay * 2, base * 2), 60000) : base;
  state.timer = setTimeout(() => refresh(false), state.delay);
}

/** Load the current route; `fresh` when the route changed (heading and focus move), else a quiet refresh. */
async function refresh(fresh) {
  stop();
  const generation = ++state.generation; // a load overtaken by a newer one paints nothing
  const s = session();
  if (!s) return renderSignIn("Your session has ended; sign in again.");
  const { parts } = route();
  const view = ROUTES.find((r) => r.match(parts));
  if (!view) return show(main, h("h1", {}, "Not found"), h("p", {}, "This page does not exist. "), link("/pipelines", "Go to pipelines"));
  renderAccount(s.user);
  const title = view.title(parts);
  const heading = main.querySelector("h1");
  const arriving = fresh || !heading || heading.textContent !== title || !["error", view.name].includes(main.dataset.view);
  if (arriving) {
    show(main, h("h1", { tabindex: "-1" }, title), h("div", { id: "content", "aria-busy": "true" }, h("p", {}, "Loading…")));
    document.title = `${title} · pipectl console`;
    main.querySelector("h1").focus();
    main.dataset.view = "loading";
    state.last = null;
  }
  const content = document.getElementById("content");
  const paint = (found) => {
    if (generation !== state.generation) return;
    const nodes = found.filter(Boolean);
    const snapshot = nodes.map((n) => n.outerHTML ?? n.textContent).join("\n");
    if (snapshot !== state.last) {
      const focused = document.activeElement?.getAttribute?.("href");
      show(content, nodes);
      if (focused && !content.contains(document.activeElement)) content.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus();
      state.last = snapshot;
    }
    if (main.dataset.view !== view.name) performance.mark(`console:${view.name}`); // the first interactive picture
    main.dataset.view = view.name;
  };
  try {
    state.shape ??= await Shape.load(state.config.graphqlUrl, token());
    // a partial first picture only on arrival: a quiet refresh replaces the complete picture at once
    const nodes = await view.load(parts, arriving ? paint : null);
    if (generation !== state.generation) return;
    paint(nodes);
    content.setAttribute("aria-busy", "false");
    performance.mark(`console:${view.name}:complete`);
    document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    schedule(false);
  } catch (err) {
    if (generation !== state.generation) return;
    if (err instanceof ApiError && err.errorType === "ValidationError" && state.shape?.cached) {
      state.shape = await Shape.load(state.config.graphqlUrl, token(), true).catch(() => null); // the API changed
      return refresh(false);
    }
    if (err instanceof SessionEnded) {
      forget();
      return renderSignIn("Your session has ended or was not accepted; sign in again.");
    }
    show(content, renderError(err));
    content.setAttribute("aria-busy", "false");
    main.dataset.view = "error";
    state.last = null;
    schedule(true);
  }
}

function failed(err) {
  return err instanceof SignInError ? err.message : `Sign-in failed: ${err.message}`;
}

/**
 * config.json as the local console writes it (`signIn` with every endpoint, or with the OIDC `issuer`),
 * or as the console stack publishes it on AWS: `signInDomain` of Cognito's hosted UI, or the OIDC
 * `issuer`, with `clientId` and `consoleUrl`.
 */
function configured(config) {
  if (config.signIn || !(config.signInDomain || config.issuer)) return config;
  const home = `${String(config.consoleUrl ?? location.origin).replace(/\/$/, "")}/`;
  if (config.issuer) {
    const signIn = { issuer: config.issuer, clientId: config.clientId, redirectUri: home, scopes: ["openid", "email", "profile"] };
    return { ...config, refreshSeconds: config.refreshSeconds ?? 10, signIn };
  }
  const origin = String(config.signInDomain).replace(/\/$/, "");
  return {
    ...config,
    refreshSeconds: config.refreshSeconds ?? 10,
    signIn: {
      authorizeUrl: `${origin}/oauth2/authorize`,
      tokenUrl: `${origin}/oauth2/token`,
      logoutUrl: `${origin}/logout`,
      clientId: config.clientId,
      redirectUri: home,
      scopes: ["openid", "email", "profile"],
    },
  };
}

async function boot() {
  try {
    state.config = configured(await (await fetch("config.json", { cache: "no-store" })).json());
  } catch {
    show(main, h("h1", {}, "The console is not configured"), h("p", { role: "alert" }, "config.json could not be read."));
    return;
  }
  try {
    const back = await completeSignIn(state.config.signIn);
    if (back) history.replaceState(null, "", `${location.pathname}#${back}`);
  } catch (err) {
    return renderSignIn(failed(err));
  }
  if (!session()) return renderSignIn();
  window.addEventListener("hashchange", () => refresh(true));
  document.addEventListener("visibilitychange", () => { if (!document.hidden && session()) refresh(false); });
  refresh(true);
}

boot();
