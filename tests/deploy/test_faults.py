"""The controller under faults on the local target, each test named after the promise it keeps.

After every fault: the run says what happened, the next run converges to the manifest, `status` never
shows a half-done stack as in sync, and no object in the data bucket is lost. Faults moto cannot produce
(throttling, connection resets, AccessDenied, UPDATE_ROLLBACK_FAILED) are injected by `Faults`, a botocore
event handler on the controller's clients; everything else is the embedded moto server over HTTP. Killed
runs, stale locks, two applies at once and stale change sets without injection are covered in
test_examples.py, test_lock.py and test_apply.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff

from generator.deploy.apply import apply_now, apply_plan
from generator.deploy.aws import Aws
from generator.deploy.errors import StalePlanError
from generator.deploy.manifest import Manifest
from generator.deploy.plan import make_plan
from generator.deploy.progress import NullProgress
from generator.deploy.status import status
from tests.deploy.conftest import Build, new_aws, queue

STORAGE = "pipectl-shop-test-storage"
PROCESSING = "pipectl-shop-test-processing"
MONITORING = "pipectl-shop-test-monitoring"
BUCKET = "shop-test-data"
OBJECTS = {f"raw/2026/11/26/part-{i:03d}.json": f'{{"event": {i}}}'.encode() for i in range(5)}
Record = Callable[[str, object], None]


class _Http:
    """The minimal HTTP response botocore parses an injected AWS error from."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None
        self.url = ""


def aws_error(status: int, code: str, message: str) -> tuple[_Http, dict[str, Any]]:
    return _Http(status), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}


class Faults:
    """Fault injection on the clients an `Aws` session hands to the controller (reads and writes)."""

    def __init__(self, aws: Aws, services: tuple[str, ...] = ("cloudformation", "dynamodb", "s3", "sts")) -> None:
        self.clients = [raw for service in services for raw in (aws.client(service).read, aws.client(service).write)]
        self.injected: list[str] = []

    def before_call(self, hook: Callable[[str, dict[str, Any]], Any]) -> None:
        """`hook(operation, params)` returns None to let the call through, or an injected (http, parsed) answer;
        `params` are the serialized request parameters (the query body for CloudFormation)."""

        def handler(model: Any, params: dict[str, Any], **_: Any) -> Any:
            body = params.get("body")
            answer = hook(model.name, body if isinstance(body, dict) else {})
            if answer is not None:
                self.injected.append(model.name)
            return answer

        for client in self.clients:
            client.meta.events.register_first("before-call.*.*", handler)

    def before_send(self, hook: Callable[[str, Any], BaseException | None]) -> None:
        """`hook(operation, request)` returns an exception to raise as the network layer would, or None."""

        def handler(request: Any, **kwargs: Any) -> None:
            operation = kwargs["event_name"].rsplit(".", 1)[-1]
            error = hook(operation, request)
            if error is not None:
                self.injected.append(operation)
                raise error

        for client in self.clients:
            client.meta.events.register_first("before-send.*.*", handler)

    def after_call(self, hook: Callable[[str, dict[str, Any]], None]) -> None:
        """`hook(operation, parsed)` may rewrite what the service answered."""

        def handler(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            hook(model.name, parsed)

        for client in self.clients:
            client.meta.events.register_first("after-call.*.*", handler)


@pytest.fixture
def no_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries network errors itself, sleeping up to seconds between attempts: keep its retries, drop the
    sleeps (as the `aws` fixture does for the controller's own RetryPolicy)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture
def shop(aws: Aws, build: Build) -> Build:
    """The console and the shop pipeline deployed, with events in its data bucket."""
    build.console()
    build.pipeline("shop")
    assert apply_now(aws, build.write(), "one")[1].ok
    s3 = aws.client("s3")
    for key, body in OBJECTS.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return build


def change_every_stack(build: Build, marker: str) -> Manifest:
    """An edit to every pipeline stack, so that every stack (the data bucket's included) is updated."""
    for name, stack in build.stacks.items():
        if name != "pipectl-console":
            stack["template"]["Resources"][f"Extra{marker}"] = queue()
    return build.write()


def assert_no_object_lost(aws: Aws, record_property: Record) -> None:
    s3 = aws.client("s3")
    kept = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in OBJECTS}
    record_property("data_lost", int(kept != OBJECTS))
    assert kept == OBJECTS


def assert_converges(moto_url: str, manifest: Manifest, revision: str) -> None:
    """A clean run after the fault finishes the job, and a plan after it finds nothing to do."""
    clean = new_aws(moto_url)
    _, result = apply_now(clean, manifest, revision)
    assert result.ok, result.stacks
    assert {s.action for s in make_plan(clean, manifest, f"{revision}-check").stacks} == {"none"}
    assert all(row.in_sync for row in status(clean, manifest))


def test_throttling_on_most_calls_of_every_service_is_retried_and_the_apply_converges(
    aws: Aws, shop: Build, moto_url: str, record_property: Record
) -> None:
    """Two calls in three of CloudFormation, DynamoDB (state and lock), S3 and STS are throttled."""
    record_property("fault_class", "throttling on most calls")
    manifest = change_every_stack(shop, "Throttled")
    throttled = new_aws(moto_url)
    tick = itertools.count()
    faults = Faults(throttled)
    faults.before_call(lambda op, _: aws_error(400, "ThrottlingException", "Rate exceeded") if next(tick) % 3 else None)

    plan, result = apply_now(throttled, manifest, "two")

    assert result.ok, result.stacks
    # storage's change set is made by plan, its dependents' by apply once storage is updated
    assert {s.name: s.action for s in plan.stacks if s.name != "pipectl-console"} == {
        "pipectl-shop-test-storage": "update",
        **{f"pipectl-shop-test-{k}": "update-after" for k in ("ingestion", "processing", "monitoring")},
    }
    assert len(faults.injected) > 20 and {"ExecuteChangeSet", "PutItem"} <= set(faults.injected)
    assert sum(throttled.counter.retries.values()) == len(faults.injected)
    assert_converges(moto_url, manifest, "three")
    assert_no_object_lost(aws, record_property)


def test_connection_resets_and_timeouts_on_reads_are_retried_and_the_apply_converges(
    aws: Aws, shop: Build, moto_url: str, record_property: Record, no_botocore_backoff: None
) -> None:
    """Every other read of CloudFormation and DynamoDB is cut: a reset connection, then a read timeout."""
    record_property("fault_class", "connection resets and timeouts")
    manifest = change_every_stack(shop, "Flaky")
    flaky = new_aws(moto_url)
    tick = itertools.count()

    def cut(operation: str, request: Any) -> BaseException | None:
        if not operation.startswith(("Describe", "Get", "List", "Query")):
            return None
        turn = next(tick) % 4
        if turn == 0:
            return ConnectionClosedError(endpoint_url=request.url)
        return ReadTimeoutError(endpoint_url=request.url) if turn == 2 else None

    faults = Faults(flaky, ("cloudformation", "dynamodb"))
    faults.before_send(cut)

    _, result = apply_now(flaky, manifest, "two")

    assert result.ok, result.stacks
    assert len(faults.injected) > 10
    assert_converges(moto_url, manifest, "three")
    assert_no_object_lost(aws, record_property)


def test_a_connection_reset_on_a_write_fails_that_stack_visibly_and_the_rerun_converges(
    aws: Aws, shop: Build, moto_url: str, record_property: Record, no_botocore_backoff: None
) -> None:
    """A write is never blindly repeated: the reset execute of the processing stack is reported, the rest goes on."""
    record_property("fault_class", "connection resets and timeouts")
    manifest = change_every_stack(shop, "Reset")
    flaky = new_aws(moto_url)
    faults = Faults(flaky, ("cloudformation",))
    faults.before_send(
        lambda op, request: (
            ConnectionClosedError(endpoint_url=request.url)
            if op == "ExecuteChangeSet" and PROCESSING in str(request.body)
            else None
        )
    )
    progress = NullProgress()

    _, result = apply_now(flaky, manifest, "two", progress)

    outcome = {name: r.result for name, r in result.stacks.items()}
    assert outcome[PROCESSING] == "failed" and outcome[MONITORING] == "skipped"
    assert outcome[STORAGE] == "done" and outcome["pipectl-shop-test-ingestion"] == "done"
    assert "Connection was closed" in result.stacks[PROCESSING].detail
    assert any(PROCESSING in line and "failed" in line for line in progress.lines)
    rows = {row.name: row for row in status(aws, manifest)}
    assert not rows[PROCESSING].in_sync and not rows[MONITORING].in_sync
    assert_converges(moto_url, manifest, "three")
    assert_no_object_lost(aws, record_property)


def test_access_denied_in_the_middle_of_an_apply_stops_only_that_branch_and_the_rerun_converges(
    aws: Aws, shop: Build, moto_url: str, record_property: Record
) -> None:
    """The deploy role loses cloudformation:ExecuteChangeSet on the processing stack halfway through the run."""
    record_property("fault_class", "AccessDenied mid-apply")
    manifest = change_every_stack(shop, "Denied")
    denied = new_aws(moto_url)
    faults = Faults(denied, ("cloudformation",))
    faults.before_call(
        lambda op, params: (
            aws_error(
                403,
                "AccessDenied",
                f"User is not authorized to perform: cloudformation:ExecuteChangeSet on {PROCESSING}",
            )
            if op == "ExecuteChangeSet" and params.get("StackName") == PROCESSING
            else None
        )
    )
    progress = NullProgress()

    _, result = apply_now(denied, manifest, "two", progress)

    assert not result.ok
    assert result.stacks[PROCESSING].result == "failed" and "not authorized" in result.stacks[PROCESSING].detail
    assert result.stacks[MONITORING].result == "skipped"
    assert result.stacks[STORAGE].result == "done"
    assert faults.injected == ["ExecuteChangeSet"]
    assert f"{MONITORING}: skipped ({PROCESSING} failed)" in progress.lines
    assert not {row.name: row for row in status(aws, manifest)}[PROCESSING].in_sync
    assert_converges(moto_url, manifest, "three")
    assert_no_object_lost(aws, record_property)


def test_a_stack_in_update_rollback_failed_is_reported_then_rolled_back_and_updated(
    aws: Aws, shop: Build, moto_url: str, record_property: Record
) -> None:
    """moto can neither leave a stack in UPDATE_ROLLBACK_FAILED nor continue a rollback: the wrapper reports the
    storage stack in that state until ContinueUpdateRollback is called, which it answers as CloudFormation would."""
    record_property("fault_class", "UPDATE_ROLLBACK_FAILED")
    manifest = change_every_stack(shop, "AfterRollback")
    broken = new_aws(moto_url)
    state = {"status": "UPDATE_ROLLBACK_FAILED"}
    faults = Faults(broken, ("cloudformation",))

    def continue_rollback(operation: str, params: dict[str, Any]) -> Any:
        if operation == "ContinueUpdateRollback":
            state["status"] = "UPDATE_ROLLBACK_COMPLETE"
            return _Http(200), {"ResponseMetadata": {"HTTPStatusCode": 200}}
        return None

    def rewrite(operation: str, parsed: dict[str, Any]) -> None:
        if operation == "DescribeStacks" and state["status"] != "done":
            for stack in parsed.get("Stacks", []):
                if stack["StackName"] == STORAGE:
                    stack["StackStatus"] = state["status"]
                    stack["StackStatusReason"] = "The following resource(s) failed to update: [DataBucket]."

    def executed(operation: str, params: dict[str, Any]) -> Any:
        if operation == "ExecuteChangeSet" and params.get("StackName") == STORAGE:
            state["status"] = "done"
        return continue_rollback(operation, params)

    faults.before_call(executed)
    faults.after_call(rewrite)
    before = {row.name: row for row in status(broken, manifest)}
    assert before[STORAGE].status == "UPDATE_ROLLBACK_FAILED" and not before[STORAGE].in_sync
    progress = NullProgress()

    plan, result = apply_now(broken, manifest, "two", progress)

    assert plan.get(STORAGE).recovery is not None  # type: ignore[union-attr]
    assert "ContinueUpdateRollback" in faults.injected
    assert any("continuing the failed rollback" in line for line in progress.lines)
    assert result.ok, result.stacks
    assert_converges(moto_url, manifest, "three")
    assert_no_object_lost(aws, record_property)


def test_a_change_set_made_stale_out_of_band_is_refused_and_a_fresh_plan_converges(
    aws: Aws, shop: Build, moto_url: str, record_property: Record
) -> None:
    """Someone updates the storage stack in the console between plan and apply."""
    record_property("fault_class", "stale change set")
    manifest = change_every_stack(shop, "Planned")
    plan = make_plan(aws, manifest, "two")
    cfn = aws.cfn()
    body = cfn.get_template(StackName=STORAGE)["TemplateBody"]
    live = json.loads(body) if isinstance(body, str) else body
    live["Resources"]["OutOfBand"] = queue()
    cfn.update_stack(StackName=STORAGE, TemplateBody=json.dumps(live))

    with pytest.raises(StalePlanError, match=f"{STORAGE}: the stack was updated since the plan"):
        apply_plan(aws, manifest, plan)

    assert not {row.name: row for row in status(aws, manifest)}[STORAGE].in_sync
    assert_converges(moto_url, manifest, "three")
    assert "OutOfBand" not in json.dumps(cfn.get_template(StackName=STORAGE)["TemplateBody"])
    assert_no_object_lost(aws, record_property)
