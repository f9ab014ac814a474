"""run: start one pipeline environment's processing (the enrich state machine) now, on demand.

On AWS the execution is started with StartExecution and, unless told not to wait, followed with
DescribeExecution until it ends. On the local target moto records executions but runs none, so the
execution is started on the deployed state machine all the same, then pipectl walks the states its
definition names (`local.state_machine`), invoking the deployed functions' code (`local.tasks`), and
records the outcome with the local server (`local.executions`): DescribeExecution and ListExecutions
then show it SUCCEEDED or FAILED with its output, as on AWS. The local target runs no schedules:
`pipectl run` is how processing runs there.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.contract import ASSET_BUCKET_PARAMETER
from generator.deploy.aws import Aws, error_code, error_message
from generator.deploy.errors import DeployError, NotRunnable
from generator.deploy.manifest import Manifest, StackSpec

FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
LIVE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")


@dataclass(frozen=True)
class RunOptions:
    wait: bool = True
    timeout: float = 900.0
    window_end: str | None = None  # ISO time the enriched window ends at; default: the execution's start
    workdir: Path = Path(".")  # where the local target keeps the functions' logs (.pipectl/runs/)


@dataclass
class RunResult:
    """One execution as DescribeExecution shows it after the run (or right after the start, --no-wait)."""

    pipeline: str
    env: str
    state_machine_arn: str
    execution_arn: str
    name: str
    status: str
    started: str | None = None
    stopped: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    console_url: str | None = None
    log: str | None = None  # the local target: what the functions printed

    @property
    def ok(self) -> bool:
        return self.status in ("SUCCEEDED", "RUNNING")


def console_url(region: str, execution_arn: str) -> str:
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def processing_stack(aws: Aws, manifest: Manifest, pipeline: str, env: str | None) -> StackSpec:
    """The processing stack of the pipeline environment to run; NotRunnable names what is missing."""
    stacks = [s for s in manifest.stacks if s.pipeline == pipeline and s.kind == "processing"]
    if not stacks:
        known = ", ".join(sorted(manifest.pipelines)) or "none"
        raise NotRunnable(f"run: no pipeline named {pipeline!r} in build/manifest.json; expected one of: {known}")
    envs = sorted(str(s.env) for s in stacks)
    if env is not None:
        chosen = [s for s in stacks if s.env == env]
        if not chosen:
            raise NotRunnable(f"--env: {pipeline} has no environment {env!r}; expected one of: {', '.join(envs)}")
        return chosen[0]
    deployed = [s for s in stacks if live_stack(aws, s) is not None]
    if len(deployed) == 1:
        return deployed[0]
    if not deployed:
        raise NotRunnable(
            f"run: {pipeline} is not deployed in any environment ({', '.join(envs)}) on the {aws.target.kind} "
            "target: deploy it first (`pipectl up`)"
        )
    names = ", ".join(sorted(str(s.env) for s in deployed))
    raise NotRunnable(f"--env: {pipeline} is deployed in {names}; expected one of them named with --env")


def live_stack(aws: Aws, spec: StackSpec) -> dict[str, Any] | None:
    try:
        stacks = aws.cfn(spec.region).describe_stacks(StackName=spec.name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in error_message(exc):
            return None
        raise
    stack: dict[str, Any] = stacks[0]
    return stack if stack.get("StackStatus") in LIVE else None


def run_pipeline(
    aws: Aws, manifest: Manifest, pipeline: str, env: str | None, options: RunOptions | None = None
) -> RunResult:
    """Start the state machine of one pipeline environment; on the local target, also carry it out."""
    opts = options or RunOptions()
    spec = processing_stack(aws, manifest, pipeline, env)
    stack = live_stack(aws, spec)
    if stack is None:
        raise NotRunnable(
            f"run: {spec.name} is not deployed on the {aws.target.kind} target (environment {spec.env} of "
            f"{pipeline}): deploy it first (`pipectl up --env {spec.env}`)"
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    arn = outputs.get("StateMachineArn")
    sfn = aws.client("stepfunctions", spec.region)
    if not arn:
        raise NotRunnable(f"run: {spec.name} has no StateMachineArn output: its state machine is missing")
    try:
        machine = sfn.describe_state_machine(stateMachineArn=arn)
    except ClientError as exc:
        if error_code(exc) in ("StateMachineDoesNotExist", "InvalidArn"):
            raise NotRunnable(f"run: the state machine {arn} of {spec.name} is missing ({error_code(exc)})") from None
        raise
    name = f"pipectl-run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    document = {"window_end": opts.window_end} if opts.window_end else {}
    try:
        started = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(document))
    except (ClientError, BotoCoreError) as exc:
        raise DeployError(f"run: could not start {arn}: {error_message(exc)}") from None
    execution_arn = str(started["executionArn"])
    log: Path | None = None
    if aws.target.is_local:
        log = run_log(opts.workdir, pipeline, str(spec.env), name)
        carry_out_locally(aws, stack, machine, execution_arn, document, log)
        final = sfn.describe_execution(executionArn=execution_arn)
    elif opts.wait:
        final = aws.poll(
            lambda: sfn.describe_execution(executionArn=execution_arn),
            lambda d: d["status"] in FINAL_STATES,
            opts.timeout,
            f"execution {name}",
        )
    else:
        final = sfn.describe_execution(executionArn=execution_arn)
    return _result(aws, spec, arn, final, log)


def _result(aws: Aws, spec: StackSpec, arn: str, described: dict[str, Any], log: Path | None) -> RunResult:
    output = described.get("output")
    return RunResult(
        pipeline=str(spec.pipeline),
        env=str(spec.env),
        state_machine_arn=arn,
        execution_arn=str(described["executionArn"]),
        name=str(described["name"]),
        status=str(described["status"]),
        started=_iso(described.get("startDate")),
        stopped=_iso(described.get("stopDate")),
        output=json.loads(output) if isinstance(output, str) and output else None,
        error=described.get("error"),
        cause=described.get("cause"),
        console_url=None if aws.target.is_local else console_url(spec.region, str(described["executionArn"])),
        log=str(log) if log is not None else None,
    )


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return None if value is None else str(value)


def run_log(workdir: Path, pipeline: str, env: str, name: str) -> Path:
    """Where the local target keeps what the functions of one execution printed."""
    return workdir / ".pipectl" / "runs" / f"{pipeline}-{env}-{name}.log"


def carry_out_locally(
    aws: Aws, stack: dict[str, Any], machine: dict[str, Any], execution_arn: str, document: Any, log: Path
) -> None:
    """Walk the definition of a started execution with the local task runner, then record its outcome
    with the local server. `stack` is the processing stack as DescribeStacks shows it: its AssetBucket
    parameter says where the functions' code was read from."""
    from generator.deploy.local.state_machine import ExecutionContext, as_json, run_definition
    from generator.deploy.local.tasks import LocalTasks

    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    bucket = parameters.get(ASSET_BUCKET_PARAMETER)

    described = aws.client("stepfunctions", execution_arn.split(":")[3]).describe_execution(executionArn=execution_arn)
    context = ExecutionContext(
        execution_arn=execution_arn,
        name=str(described["name"]),
        start_time=str(_iso(described.get("startDate"))),
        input=document,
        state_machine_arn=str(machine["stateMachineArn"]),
        state_machine_name=str(machine["name"]),
    )
    tasks = LocalTasks(aws, lambda region: bucket, log)
    try:
        outcome = run_definition(json.loads(machine["definition"]), context, tasks)
    finally:
        tasks.close()
    record: dict[str, Any] = {"executionArn": execution_arn, "status": outcome.status}
    if outcome.status == "SUCCEEDED":
        record["output"] = as_json(outcome.output)
    else:
        record["error"], record["cause"] = outcome.error, outcome.cause
    _record(str(aws.target.endpoint_url), record)


def _record(endpoint: str, record: dict[str, Any]) -> None:
    from generator.deploy.local.executions import OUTCOME_PATH

    request = urllib.request.Request(
        endpoint + OUTCOME_PATH,
        data=json.dumps(record).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10):
                return
        except urllib.error.HTTPError as exc:
            raise DeployError(
                f"run: the local target refused the outcome: {exc.read().decode(errors='replace')}"
            ) from None
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise DeployError(f"run: the local target did not take the outcome: {exc}") from None
            time.sleep(0.2)
