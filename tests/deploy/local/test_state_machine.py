"""Running ASL on the local target: the interpreter's Step Functions semantics (paths, Choice, Retry
with backoff, Catch, Fail, unsupported constructs as States.Runtime), the definition as CloudFormation
deploys it (Fn::Sub leaves `$$` alone), and the smoke check's search for posted events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.deploy.local import LocalSession
from generator.deploy.local.state_machine import ExecutionContext, TaskFailed, run_definition
from generator.deploy.smoke import FAILED, OK
from generator.deploy.smoke_local import Sent, find_events
from tests.deploy.local.conftest import create_stack, role, unique

CONTEXT = ExecutionContext(
    execution_arn="arn:aws:states:eu-west-1:123456789012:execution:m:e1",
    name="e1",
    start_time="2026-01-31T12:00:00.000Z",
    input={},
    state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:m",
    state_machine_name="m",
)
LAMBDA = "arn:aws:states:::lambda:invoke"


def machine(retry: list[dict[str, Any]] | None = None, catch: bool = True) -> dict[str, Any]:
    """The shape of the processing state machine: choose the window, invoke, report a failure."""
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"Payload": {"window_end.$": "$.window_end", "execution.$": "$$.Execution.Id", "n": 60}},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": "$.enrich",
        "Retry": retry or [],
        "End": True,
    }
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Report"}]
    return {
        "StartAt": "Choose",
        "States": {
            "Choose": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.window_end", "IsPresent": True, "Next": "Task"}],
                "Default": "Now",
            },
            "Now": {"Type": "Pass", "Parameters": {"window_end.$": "$$.Execution.StartTime"}, "Next": "Task"},
            "Task": task,
            "Report": {"Type": "Pass", "Parameters": {"error.$": "$.error"}, "ResultPath": None, "Next": "Failed"},
            "Failed": {"Type": "Fail", "Error": "EnrichFailed", "Cause": "see the queue"},
        },
    }


class Tasks:
    """Records each call; fails the first `failures` calls with `error`."""

    def __init__(self, failures: int = 0, error: str = "Lambda.ServiceException") -> None:
        self.calls: list[tuple[str, Any, float | None]] = []
        self.failures = failures
        self.error = error

    def __call__(self, resource: str, parameters: Any, timeout: float | None) -> Any:
        self.calls.append((resource, parameters, timeout))
        if len(self.calls) <= self.failures:
            raise TaskFailed(self.error, "it broke")
        return {"Payload": {"events": 3}, "StatusCode": 200}


def test_a_manual_run_ends_its_window_at_the_start_and_passes_the_context() -> None:
    tasks = Tasks()
    outcome = run_definition(machine(), CONTEXT, tasks)
    assert outcome.status == "SUCCEEDED" and outcome.states == ["Choose", "Now", "Task"]
    ((_, parameters, _),) = tasks.calls
    assert parameters == {"Payload": {"window_end": CONTEXT.start_time, "execution": CONTEXT.execution_arn, "n": 60}}
    assert outcome.output == {"window_end": CONTEXT.start_time, "enrich": {"result": {"events": 3}}}


def test_a_scheduled_run_keeps_its_window_end() -> None:
    scheduled = ExecutionContext(**{**CONTEXT.__dict__, "input": {"window_end": "2026-01-01T00:00:00Z"}})
    outcome = run_definition(machine(), scheduled, Tasks())
    assert outcome.states == ["Choose", "Task"] and outcome.output["window_end"] == "2026-01-01T00:00:00Z"


def test_service_errors_are_retried_with_capped_exponential_backoff() -> None:
    retry = [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 6,
              "BackoffRate": 2.0, "MaxDelaySeconds": 10}]  # fmt: skip
    waits: list[float] = []
    tasks = Tasks(failures=4)
    outcome = run_definition(machine(retry), CONTEXT, tasks, sleep=waits.append)
    assert outcome.status == "SUCCEEDED" and len(tasks.calls) == 5
    assert waits == [2.0, 4.0, 8.0, 10.0]


def test_a_spent_retrier_or_an_unmatched_error_goes_to_catch_then_fail() -> None:
    retry = [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    waits: list[float] = []
    spent = run_definition(machine(retry), CONTEXT, Tasks(failures=9), sleep=waits.append)
    assert (spent.status, spent.error, spent.states[-2:]) == ("FAILED", "EnrichFailed", ["Report", "Failed"])
    assert waits == [1.0, 2.0]
    unmatched = run_definition(machine(retry), CONTEXT, Tasks(failures=1, error="KeyError"), sleep=waits.append)
    assert unmatched.error == "EnrichFailed" and waits == [1.0, 2.0]  # the handler's own error is not retried


def test_an_uncaught_task_failure_fails_the_execution_with_its_error() -> None:
    outcome = run_definition(machine(catch=False), CONTEXT, Tasks(failures=1, error="States.Timeout"))
    assert (outcome.status, outcome.error, outcome.cause) == ("FAILED", "States.Timeout", "it broke")


@pytest.mark.parametrize(
    ("state", "named"),
    [
        ({"Type": "Map", "End": True}, "type 'Map' is not run by the local target"),
        ({"Type": "Pass", "Parameters": {"x.$": "States.Format('{}', $.a)"}, "End": True}, "intrinsic functions"),
        ({"Type": "Pass", "Parameters": {"x.$": "$.items[0]"}, "End": True}, "dotted names only"),
        ({"Type": "Pass", "Parameters": {"x.$": "$.absent"}, "End": True}, "the path $.absent was not found"),
    ],
)
def test_what_the_interpreter_does_not_know_fails_the_execution_naming_it(state: dict[str, Any], named: str) -> None:
    outcome = run_definition({"StartAt": "S", "States": {"S": state}}, CONTEXT, Tasks())
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime") and named in str(outcome.cause)


def test_the_deployed_definition_keeps_the_context_object_paths(session: LocalSession) -> None:
    """CloudFormation's Fn::Sub replaces `${Name}` only; `$$.Execution.Id` and `$name` reach the machine as written."""
    definition = json.dumps(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Parameters": {"id.$": "$$.Execution.Id", "queue": "${Queue}", "kept": "$Queue"},
                    "End": True,
                }
            },
        }
    )
    template = {
        "Resources": {
            "Role": role("states.amazonaws.com"),
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "DefinitionString": {"Fn::Sub": [definition, {"Queue": "the-queue"}]},
                },
            },
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Machine"}}},
    }
    arn = create_stack(session, template, unique("sub"))["Arn"]
    deployed = json.loads(session.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"])
    assert deployed["States"]["P"]["Parameters"] == {"id.$": "$$.Execution.Id", "queue": "the-queue", "kept": "$Queue"}


def test_smoke_names_the_events_it_did_not_find_and_those_found_bare() -> None:
    sent = Sent(["a", "b", "c"], "Root=1-trace", b"")
    enriched = {"ingest_time": "t", "ip": "192.0.2.1", "user_agent": "ua", "trace_id": "Root=1-trace"}
    found = {"a": {"event_id": "a", **enriched}, "b": {"event_id": "b", "ingest_time": "t"}}
    check = find_events(lambda: found, sent, "s3://data/raw/", "shop", "test", timeout=0)
    assert check.result == FAILED
    assert "1 of 3 events not found: c" in check.detail and "1 found without ingest_time" in check.detail
    assert ": b" in check.detail
    complete = {i: {"event_id": i, **enriched} for i in sent.ids}
    assert find_events(lambda: complete, sent, "s3://data/raw/", "shop", "test", timeout=0).result == OK
