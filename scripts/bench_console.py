"""Console benchmark on the local target: how soon the first view is interactive with a full state table.

The control plane is deployed as a user does it (`pipectl local start`, `pipectl bootstrap --target local`,
`pipectl console`), then the state table gets N pipelines (default 50, two environments, four stacks
each) and M runs (default 1,000) in the controller's layout. Debian's Chromium signs in once, then loads
the app afresh R times per view. "Interactive" is the moment a view's data is in the page and its links
take clicks: the app's `console:<view>` performance mark, measured from navigation start (config.json,
the schema, the query and rendering all included); "complete" is when the last of the view's
requests is shown (the pipelines view fills in each pipeline's environments after its first picture).
Target: the pipelines view's median time to interactive <= 1 s.
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

from generator.contract import META_SK, PIPELINE_PK_PREFIX, RUN_PREFIX, STACK_SK_PREFIX  # noqa: E402
from generator.deploy.local import local_session  # noqa: E402

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
                    "updated_at": start.isoformat()})  # fmt: skip
        for env in ("prod", "test"):
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
                    **body, "stacks": stacks})  # fmt: skip
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


def measure(url: str, user: str, password: str, rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    routes = {"pipelines": "#/pipelines", "pipeline": "#/pipelines/bench-007", "runs": "#/runs"}
    seconds: dict[str, list[float]] = {f"{view}{stage}": [] for view in routes for stage in ("", " complete")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("main[data-view=pipelines]", timeout=30_000)
        for _ in range(rounds):
            for view, route in routes.items():
                page.goto("about:blank")
                page.goto(f"{url}{route}")
                page.wait_for_selector(f"main[data-view={view}] #content[aria-busy=false]", timeout=60_000)
                for stage, mark in (("", f"console:{view}"), (" complete", f"console:{view}:complete")):
                    started = page.evaluate(f"() => performance.getEntriesByName('{mark}')[0].startTime")
                    seconds[f"{view}{stage}"].append(float(started) / 1000)
        browser.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7, help="fresh loads per view (default 7)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    shutil.copytree(REPO / "pipelines.d", workdir / "pipelines.d")
    try:
        pipectl(workdir, "local", "start")
        pipectl(workdir, "bootstrap", "--target", "local", "--codecommit", "pipectl", "--no-approvers")
        console = json.loads(pipectl(workdir, "console", "--region", REGION, "--output", "json"))
        endpoint = json.loads((workdir / ".pipectl" / "local.json").read_text())["endpoint"]
        count = fill(endpoint, args.pipelines, args.runs)
        seconds = measure(console["url"], console["user"], console["password"], args.rounds)
    finally:
        subprocess.run([shutil.which("pipectl") or "pipectl", "local", "stop"], cwd=workdir, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"state table: {args.pipelines} pipelines, {args.runs} runs ({count} items); {args.rounds} loads per view")
    print(f"{'view':<19} {'median':>8} {'max':>8}   (seconds from navigation start: interactive, then complete)")
    for view, values in seconds.items():
        print(f"{view:<19} {statistics.median(values):>8.3f} {max(values):>8.3f}")
    first = statistics.median(seconds["pipelines"])
    print(f"first view (pipelines) median {first:.3f} s / target {TARGET_S:.1f} s = {first / TARGET_S:.2f}")
    return 0 if first <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
