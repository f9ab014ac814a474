"""Console benchmark on the local target: how soon each view is interactive, and complete, with a full table.

The control plane is deployed as a user does it (`pipectl local start`, `pipectl bootstrap --target local`,
`pipectl console`), then the state table gets N pipelines (default 50, two environments, four stacks
each) and M runs (default 1,000) in the controller's layout. Debian's Chromium signs in, then loads
the app afresh R times per view. "Interactive" is the moment a view's data is in the page and its links
take clicks: the app's `console:<view>` performance mark, measured from navigation start (config.json,
the schema, the queries and rendering all included); "complete" is when the last of the view's
requests is shown. Each load counts the GraphQL requests the view made.

The same run measures the views as an API without pages serves them ("per pipeline": the app is shown a
schema without `pipelinesPage` and `recentRuns`, so it asks each pipeline's environments and runs on its
own, as before those queries existed), and prints the ratio. Targets: the first view interactive, and
the pipelines and runs views complete, within 1 s (medians).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from boto3.dynamodb.types import TypeSerializer  # noqa: E402

from generator.contract import ENV_SK_PREFIX, META_SK, PIPELINE_PK_PREFIX, RUN_PREFIX, STACK_SK_PREFIX  # noqa: E402
from generator.deploy.local import local_session  # noqa: E402
from generator.deploy.state_layout import env_feed_keys, pipeline_feed_keys, run_feed_keys  # noqa: E402

REGION = "eu-west-1"
TABLE = "pipectl-console-state"
KINDS = ("storage", "ingestion", "processing", "monitoring")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TARGET_S = 1.0


def pipectl(workdir: Path, *args: str) -> str:
    found = shutil.which("pipectl")
    if found is None:
        raise SystemExit("pipectl is not installed: pip install -e '.[test]'")
    return subprocess.run([found, *args], cwd=workdir, check=True, capture_output=True, text=True).stdout


def items(pipelines: int, runs: int) -> list[dict[str, Any]]:
    """The state table's items as the controller writes them (generator/deploy/state.py)."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    names = [f"bench-{i:03d}" for i in range(pipelines)]
    for name in names:
        out.append({"pk": f"{PIPELINE_PK_PREFIX}{name}", "sk": META_SK, "name": name, "envs": ["prod", "test"],
                    "owner": f"{name}@example.com", "region": REGION, "revision": f"{rng.getrandbits(160):040x}",
                    "updated_at": start.isoformat(), **pipeline_feed_keys(name)})  # fmt: skip
        for env in ("prod", "test"):
            graph = {f"pipectl-{name}-{env}-{kind}": [] for kind in KINDS}
            out.append({"pk": f"{PIPELINE_PK_PREFIX}{name}", "sk": f"{ENV_SK_PREFIX}{env}", "env": env,
                        "status": "succeeded", "revision": "r1", "run_id": "r1", "graph": graph,
                        "collector_url": f"https://{name}-{env}.example.com/collect", "updated_at": start.isoformat(),
                        **env_feed_keys(name, env)})  # fmt: skip
            for kind in KINDS:
                stack = f"pipectl-{name}-{env}-{kind}"
                out.append({"pk": f"{PIPELINE_PK_PREFIX}{name}", "sk": f"{STACK_SK_PREFIX}{env}#{stack}",
                            "stack": stack, "kind": kind, "env": env, "status": "done", "reason": "UPDATE_COMPLETE",
                            "revision": "r1", "updated_at": start.isoformat()})  # fmt: skip
    for index in range(runs):
        name = names[index % pipelines]
        run_id = str(uuid.UUID(int=rng.getrandbits(128)))
        began = start + timedelta(minutes=17 * index)
        body = {"run_id": run_id, "kind": "apply", "revision": f"{rng.getrandbits(160):040x}", "actor": "ci",
                "started_at": began.isoformat(), "ended_at": (began + timedelta(seconds=95)).isoformat(),
                "result": "succeeded"}  # fmt: skip
        stacks = {f"pipectl-{name}-prod-{kind}": "done" for kind in KINDS}
        out.append({"pk": f"{PIPELINE_PK_PREFIX}{name}", "sk": f"{RUN_PREFIX}{began.isoformat()}#{run_id}",
                    **body, "stacks": stacks, **run_feed_keys(began.isoformat(), run_id)})  # fmt: skip
        out.append({"pk": f"{RUN_PREFIX}{run_id}", "sk": META_SK, **body, "stacks": stacks, "pipelines": [name]})
    return out


def fill(endpoint: str, pipelines: int, runs: int) -> int:
    ddb = local_session(endpoint, REGION).client("dynamodb")
    serialize = TypeSerializer().serialize
    written = items(pipelines, runs)
    for first in range(0, len(written), 25):
        puts = [{"PutRequest": {"Item": {k: serialize(v) for k, v in i.items()}}} for i in written[first : first + 25]]
        pending: dict[str, Any] = {TABLE: puts}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(written)


PAGED_QUERIES = ("pipelinesPage", "recentRuns")


def _without_pages(route: Any) -> None:
    """Show the app the schema of an API without pages: it then asks per pipeline, as it did before them."""
    if "ConsoleShape" not in (route.request.post_data or ""):
        route.continue_()
        return
    response = route.fetch()
    body = response.json()
    fields = body["data"]["__schema"]["queryType"]["fields"]
    body["data"]["__schema"]["queryType"]["fields"] = [f for f in fields if f["name"] not in PAGED_QUERIES]
    for kind in body["data"]["__schema"]["types"]:
        if kind["name"] == "Query":
            kind["fields"] = [f for f in kind["fields"] if f["name"] not in PAGED_QUERIES]
    route.fulfill(response=response, json=body)


def measure(browser: Any, url: str, user: str, password: str, rounds: int, paged: bool) -> dict[str, list[float]]:
    """Seconds to interactive and to complete per view, and GraphQL requests per load, over fresh loads."""
    routes = {"pipelines": "#/pipelines", "pipeline": "#/pipelines/bench-007", "runs": "#/runs"}
    seconds: dict[str, list[float]] = {
        f"{view}{stage}": [] for view in routes for stage in ("", " complete", " requests")
    }
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    if not paged:
        page.route("**/graphql", _without_pages)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/graphql") else None)
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main[data-view=pipelines] #content[aria-busy=false]", timeout=120_000)
    for _ in range(rounds):
        for view, route in routes.items():
            page.goto("about:blank")
            asked.clear()
            page.goto(f"{url}{route}")
            page.wait_for_selector(f"main[data-view={view}] #content[aria-busy=false]", timeout=120_000)
            for stage, mark in (("", f"console:{view}"), (" complete", f"console:{view}:complete")):
                started = page.evaluate(f"() => performance.getEntriesByName('{mark}')[0].startTime")
                seconds[f"{view}{stage}"].append(float(started) / 1000)
            seconds[f"{view} requests"].append(float(len(asked)))
    page.close()
    return seconds


def report(title: str, seconds: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'view':<20} {'median':>8} {'max':>8}   (seconds from navigation start; GraphQL requests per load)")
    for view, values in seconds.items():
        digits = 0 if view.endswith("requests") else 3
        print(f"{view:<20} {statistics.median(values):>8.{digits}f} {max(values):>8.{digits}f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7, help="fresh loads per view (default 7)")
    parser.add_argument(
        "--rounds-before", type=int, default=2, help="fresh loads per view asking per pipeline (default 2; 0 skips)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    shutil.copytree(REPO / "pipelines.d", workdir / "pipelines.d")
    try:
        pipectl(workdir, "local", "start")
        pipectl(workdir, "bootstrap", "--target", "local", "--codecommit", "pipectl", "--no-approvers")
        console = json.loads(pipectl(workdir, "console", "--region", REGION, "--output", "json"))
        endpoint = json.loads((workdir / ".pipectl" / "local.json").read_text())["endpoint"]
        count = fill(endpoint, args.pipelines, args.runs)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            paged = measure(browser, console["url"], console["user"], console["password"], args.rounds, True)
            before = (
                measure(browser, console["url"], console["user"], console["password"], args.rounds_before, False)
                if args.rounds_before
                else None
            )
            browser.close()
    finally:
        subprocess.run([shutil.which("pipectl") or "pipectl", "local", "stop"], cwd=workdir, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"state table: {args.pipelines} pipelines, {args.runs} runs ({count} items)")
    report(f"one request per page ({args.rounds} loads per view)", paged)
    if before is not None:
        report(f"per pipeline, as an API without pages serves it ({args.rounds_before} loads per view)", before)
        print()
        for view in ("pipelines complete", "runs complete"):
            old, new = statistics.median(before[view]), statistics.median(paged[view])
            print(f"{view}: per pipeline {old:.3f} s / one request per page {new:.3f} s = {old / new:.1f}x")
    print()
    checks = {
        "first view (pipelines)": "pipelines",
        "pipelines complete": "pipelines complete",
        "runs complete": "runs complete",
    }
    ok = True
    for label, view in checks.items():
        median = statistics.median(paged[view])
        ok = ok and median <= TARGET_S
        print(f"{label} median {median:.3f} s / target {TARGET_S:.1f} s = {median / TARGET_S:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
