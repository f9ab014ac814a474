"""smoke: does each deployed pipeline work? What the delivery pipeline's SmokeTest stage runs.

Per pipeline and environment of the manifest that is deployed, three checks: the collection endpoint
answers a sample event, the processing state machine starts and succeeds, the dashboard exists.
On the local target the collector is the local process `pipectl up` runs: a batch is posted to it
and every event must reach the data bucket's raw/ objects, enriched (`smoke_local`); the execution
is carried out by pipectl and recorded in the local Step Functions, as `pipectl run` does.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.deploy.aws import Aws, error_message
from generator.deploy.deployed import DeployedStack, read_deployed
from generator.deploy.errors import WaitTimeout
from generator.deploy.manifest import Manifest, StackSpec


class CheckOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # the pipeline environment is not deployed: there is nothing to check


OK, FAILED, SKIPPED = CheckOutcome.OK, CheckOutcome.FAILED, CheckOutcome.SKIPPED
FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
SMOKE_HEADER = "X-Pipectl-Smoke"
# An HTTP POST: (url, body, headers, timeout) -> (status, first bytes of the answer). Raises OSError.
Post = Callable[[str, bytes, dict[str, str], float], tuple[int, str]]


@dataclass(frozen=True)
class LocalCollector:
    """A collector `pipectl up` runs on the local target: where it takes events, where they land."""

    url: str
    raw_prefix: str = "raw/"


@dataclass(frozen=True)
class SmokeOptions:
    execution_timeout: float = 900.0
    http_timeout: float = 10.0
    post: Post | None = None
    local_collectors: dict[tuple[str, str], LocalCollector] = field(default_factory=dict)
    """On the local target: each pipeline environment's running collector (`pipectl up`)."""
    collect_timeout: float = 60.0
    """On the local target: how long the posted events may take to reach the data bucket."""
    workdir: Path = Path(".")


@dataclass(frozen=True)
class Check:
    """One check of one pipeline environment: ok, failed or skipped, and why."""

    pipeline: str
    env: str
    name: str
    result: CheckOutcome
    detail: str


@dataclass
class SmokeResult:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.result != FAILED for c in self.checks)

    def count(self, result: CheckOutcome) -> int:
        return sum(1 for c in self.checks if c.result == result)

    def summary(self) -> str:
        return f"{self.count(OK)} ok, {self.count(FAILED)} failed, {self.count(SKIPPED)} skipped"


def smoke(
    aws: Aws,
    manifest: Manifest,
    pipeline: str | None = None,
    env: str | None = None,
    options: SmokeOptions | None = None,
) -> SmokeResult:
    """Check every deployed pipeline environment of the manifest (or only `pipeline` / `env`)."""
    opts = options or SmokeOptions()
    deployed = read_deployed(aws, tuple(sorted({*manifest.regions, aws.target.region})))
    result = SmokeResult()
    for (name, environment), stacks in _environments(manifest, pipeline, env).items():
        live = {kind: deployed.get(spec.name) for kind, spec in stacks.items()}
        missing = sorted(kind for kind, stack in live.items() if stack is None)
        if missing:
            result.checks.append(Check(name, environment, "deployed", SKIPPED, f"not deployed: {', '.join(missing)}"))
            continue
        result.checks.append(_collector(aws, manifest, stacks, live, name, environment, opts))
        result.checks.append(_processing(aws, stacks, live, name, environment, opts))
        result.checks.append(_dashboard(aws, stacks, live, name, environment))
    return result


def _environments(
    manifest: Manifest, pipeline: str | None, env: str | None
) -> dict[tuple[str, str], dict[str, StackSpec]]:
    out: dict[tuple[str, str], dict[str, StackSpec]] = {}
    for spec in manifest.stacks:
        if spec.pipeline is None or spec.env is None:
            continue
        if (pipeline and spec.pipeline != pipeline) or (env and spec.env != env):
            continue
        out.setdefault((spec.pipeline, spec.env), {})[spec.kind] = spec
    return dict(sorted(out.items()))


def _output(live: dict[str, DeployedStack | None], kind: str, key: str) -> str | None:
    stack = live.get(kind)
    return stack.outputs.get(key) if stack is not None else None


def _collector(
    aws: Aws,
    manifest: Manifest,
    stacks: dict[str, StackSpec],
    live: dict[str, DeployedStack | None],
    pipeline: str,
    env: str,
    opts: SmokeOptions,
) -> Check:
    endpoint = _output(live, "ingestion", "CollectorEndpoint")
    if not endpoint:
        return Check(pipeline, env, "collector", FAILED, "the ingestion stack has no CollectorEndpoint output")
    app_id = _first_app_id(manifest, stacks.get("ingestion"))
    if not aws.target.is_local:
        return check_collector(pipeline, env, endpoint, app_id, opts)
    local = opts.local_collectors.get((pipeline, env))
    if local is None:
        return Check(pipeline, env, "collector", FAILED, "no local collector runs for it: `pipectl up` starts them")
    bucket = _output(live, "storage", "DataBucketName")
    if not bucket:
        return Check(pipeline, env, "collector", FAILED, "the storage stack has no DataBucketName output")
    from generator.deploy.smoke_local import check_local_collector

    region = stacks["ingestion"].region
    return check_local_collector(aws, region, local.url, bucket, local.raw_prefix, app_id, pipeline, env, opts)


def sample_event(app_id: str) -> bytes:
    """One page view, marked as a smoke test so it can be told apart downstream."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {"app_id": app_id, "events": [{"event": "page_view", "ts": now, "properties": {"smoke_test": True}}]}
    return json.dumps(event, separators=(",", ":")).encode()


def check_collector(pipeline: str, env: str, endpoint: str, app_id: str, opts: SmokeOptions) -> Check:
    """POST a sample event: 2xx is accepted; 401/403 means the collector answers and asks for sign-in."""
    post = opts.post or _post
    headers = {"Content-Type": "application/json", SMOKE_HEADER: "1"}
    try:
        status, text = post(endpoint, sample_event(app_id), headers, opts.http_timeout)
    except OSError as exc:
        return Check(pipeline, env, "collector", FAILED, f"{endpoint}: no answer ({exc})")
    if 200 <= status < 300:
        return Check(pipeline, env, "collector", OK, f"{endpoint} accepted a sample event (HTTP {status})")
    if 300 <= status < 400:
        # A redirect is a browser sign-in page: apps and servers cannot follow it, so no event was collected.
        return Check(
            pipeline,
            env,
            "collector",
            FAILED,
            f"{endpoint}: sign-in required, redirected to {text or 'another page'} (HTTP {status}); "
            "the collection path must not use browser sign-in",
        )
    if status in (401, 403):
        return Check(pipeline, env, "collector", OK, f"{endpoint} answered and requires sign-in (HTTP {status})")
    return Check(pipeline, env, "collector", FAILED, f"{endpoint} answered HTTP {status}: {text[:200]}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A check reports a redirect; following it would judge the sign-in page instead of the collector."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """(status, first bytes of the answer); for a redirect, its Location instead of the body."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return int(answer.status), answer.read(500).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            return int(exc.code), str(exc.headers.get("Location") or "")
        return int(exc.code), exc.read(500).decode(errors="replace")


def _first_app_id(manifest: Manifest, spec: StackSpec | None) -> str:
    """The collectors accept only their pipeline's apps: read the first from the built task definition."""
    if spec is None:
        return "pipectl_smoke"
    template = json.loads(manifest.template_body(spec))
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::ECS::TaskDefinition":
            continue
        for container in resource.get("Properties", {}).get("ContainerDefinitions", []):
            for variable in container.get("Environment", []):
                if variable.get("Name") == "APP_IDS" and isinstance(variable.get("Value"), str):
                    return str(variable["Value"]).split(",")[0]
    return "pipectl_smoke"


def _processing(
    aws: Aws,
    stacks: dict[str, StackSpec],
    live: dict[str, DeployedStack | None],
    pipeline: str,
    env: str,
    opts: SmokeOptions,
) -> Check:
    """Start the state machine and wait for it to succeed (on the local target: start and describe only)."""
    arn = _output(live, "processing", "StateMachineArn")
    if not arn:
        return Check(pipeline, env, "processing", FAILED, "the processing stack has no StateMachineArn output")
    client = aws.client("stepfunctions", stacks["processing"].region)
    name = f"pipectl-smoke-{int(time.time())}"
    document = {"smoke_test": True}
    try:
        execution = client.start_execution(stateMachineArn=arn, name=name, input=json.dumps(document))
        execution_arn = str(execution["executionArn"])
        if aws.target.is_local:
            _carry_out(aws, stacks["processing"], arn, execution_arn, document, opts)
        final = aws.poll(
            lambda: client.describe_execution(executionArn=execution_arn),
            lambda d: d["status"] in FINAL_STATES,
            opts.execution_timeout,
            f"smoke execution {name}",
        )
    except WaitTimeout as exc:
        return Check(pipeline, env, "processing", FAILED, str(exc))
    except (ClientError, BotoCoreError) as exc:
        return Check(pipeline, env, "processing", FAILED, f"could not run {arn}: {error_message(exc)}")
    if final["status"] != "SUCCEEDED":
        cause = final.get("cause") or final.get("error") or ""
        return Check(pipeline, env, "processing", FAILED, f"execution {name} ended {final['status']} {cause}".strip())
    output = json.loads(final.get("output") or "null")
    enriched = output.get("enrich", {}).get("result", {}) if isinstance(output, dict) else {}
    counted = f" (enriched {enriched['events']} events)" if isinstance(enriched, dict) and "events" in enriched else ""
    return Check(pipeline, env, "processing", OK, f"execution {name} succeeded{counted}")


def _carry_out(
    aws: Aws, spec: StackSpec, machine_arn: str, execution_arn: str, document: dict[str, Any], opts: SmokeOptions
) -> None:
    """The local target runs no state machine: pipectl carries the execution out, as `pipectl run` does."""
    from generator.deploy.run import carry_out_locally, live_stack, run_log

    stack = live_stack(aws, spec) or {}
    machine = aws.client("stepfunctions", spec.region).describe_state_machine(stateMachineArn=machine_arn)
    log = run_log(opts.workdir, str(spec.pipeline), str(spec.env), execution_arn.rsplit(":", 1)[-1])
    carry_out_locally(aws, stack, machine, execution_arn, document, log)


def _dashboard(
    aws: Aws, stacks: dict[str, StackSpec], live: dict[str, DeployedStack | None], pipeline: str, env: str
) -> Check:
    name = _output(live, "monitoring", "DashboardName")
    if not name:
        return Check(pipeline, env, "dashboard", FAILED, "the monitoring stack has no DashboardName output")
    try:
        body: dict[str, Any] = aws.client("cloudwatch", stacks["monitoring"].region).get_dashboard(DashboardName=name)
    except (ClientError, BotoCoreError) as exc:
        return Check(pipeline, env, "dashboard", FAILED, f"dashboard {name}: {error_message(exc)}")
    widgets = len(json.loads(body.get("DashboardBody") or "{}").get("widgets", []))
    if widgets == 0:
        return Check(pipeline, env, "dashboard", FAILED, f"dashboard {name} exists but shows nothing")
    return Check(pipeline, env, "dashboard", OK, f"dashboard {name} exists ({widgets} widgets)")
