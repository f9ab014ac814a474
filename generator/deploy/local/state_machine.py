"""Running a state machine's ASL on the local target, where moto records executions but runs none.

The interpreter walks the states the definition names, with Step Functions' semantics for the parts
pipectl's processing state machine uses: Pass (Parameters, Result), Choice (IsPresent, StringEquals,
BooleanEquals, NumericEquals, IsNull), Task (Parameters, ResultSelector, ResultPath, TimeoutSeconds,
Retry with backoff and MaxDelaySeconds, Catch), Succeed and Fail; paths `$`, `$.a.b` and the context
object `$$.Execution.Id|Name|StartTime|Input`, `$$.StateMachine.Id|Name`, `$$.State.Name|EnteredTime`.
What it does not know (another state type, intrinsic functions, bracketed paths) ends the execution
FAILED with States.Runtime, naming the construct: never a silent skip. Task resources are carried out
by the caller's `TaskRunner` (see `generator.deploy.run`), which raises `TaskFailed` as a service would.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

MAX_TRANSITIONS = 1000  # a loop in the definition ends the execution instead of the laptop's afternoon

TaskRunner = Callable[[str, Any, float | None], Any]
"""(resource ARN, resolved Parameters, TimeoutSeconds) -> the task's result; raises TaskFailed."""
Sleep = Callable[[float], None]


class TaskFailed(Exception):
    """A state failed with a Step Functions error name (`States.Timeout`, `Lambda.Unknown`, ...) and cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass
class Outcome:
    """How the execution ended: SUCCEEDED with output, or FAILED with error and cause; the states visited."""

    status: Literal["SUCCEEDED", "FAILED"]
    output: Any = None
    error: str | None = None
    cause: str | None = None
    states: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutionContext:
    """What `$$` holds for one execution."""

    execution_arn: str
    name: str
    start_time: str
    input: Any
    state_machine_arn: str
    state_machine_name: str

    def document(self, state: str, entered: str) -> dict[str, Any]:
        return {
            "Execution": {
                "Id": self.execution_arn,
                "Name": self.name,
                "StartTime": self.start_time,
                "Input": self.input,
            },
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name},
            "State": {"Name": state, "EnteredTime": entered},
        }


def run_definition(
    definition: dict[str, Any], context: ExecutionContext, tasks: TaskRunner, sleep: Sleep = time.sleep
) -> Outcome:
    """Walk the definition from StartAt with the execution's input; the outcome, never an exception."""
    data: Any = copy.deepcopy(context.input)
    states: dict[str, Any] = definition.get("States") or {}
    name = definition.get("StartAt")
    visited: list[str] = []
    try:
        while True:
            if not isinstance(name, str) or name not in states:
                raise TaskFailed("States.Runtime", f"no state named {name!r} in the definition")
            if len(visited) >= MAX_TRANSITIONS:
                raise TaskFailed("States.Runtime", f"more than {MAX_TRANSITIONS} state transitions")
            visited.append(name)
            state = states[name]
            entered = _now()
            kind = state.get("Type")
            if kind == "Fail":
                error, cause = str(state.get("Error", "States.Fail")), str(state.get("Cause", ""))
                return Outcome("FAILED", error=error, cause=cause, states=visited)
            if kind == "Succeed":
                return Outcome("SUCCEEDED", output=_output(state, _input(state, data)), states=visited)
            doc = context.document(name, entered)
            if kind == "Choice":
                data, name = _input(state, data), _choose(state, _input(state, data), doc)
                data = _output(state, data)
                continue
            if kind == "Pass":
                data, following = _pass(state, data, doc)
            elif kind == "Task":
                data, following = _task(state, data, doc, tasks, sleep)
            else:
                raise TaskFailed("States.Runtime", f"state {name}: type {kind!r} is not run by the local target")
            if following is None:
                return Outcome("SUCCEEDED", output=data, states=visited)
            name = following
    except TaskFailed as failed:
        return Outcome("FAILED", error=failed.error, cause=failed.cause, states=visited)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _next(state: dict[str, Any]) -> str | None:
    return None if state.get("End") else state.get("Next")


def _pass(state: dict[str, Any], data: Any, doc: dict[str, Any]) -> tuple[Any, str | None]:
    effective = _input(state, data)
    if "Parameters" in state:
        result = resolve(state["Parameters"], effective, doc)
    else:
        result = copy.deepcopy(state["Result"]) if "Result" in state else effective
    return _output(state, _place(state, data, result)), _next(state)


def _task(
    state: dict[str, Any], data: Any, doc: dict[str, Any], tasks: TaskRunner, sleep: Sleep
) -> tuple[Any, str | None]:
    effective = _input(state, data)
    parameters = resolve(state.get("Parameters", effective), effective, doc)
    timeout = state.get("TimeoutSeconds")
    attempts: dict[int, int] = {}
    while True:
        try:
            result = tasks(str(state.get("Resource", "")), parameters, float(timeout) if timeout else None)
            break
        except TaskFailed as failed:
            delay = _retry_delay(state.get("Retry") or [], failed.error, attempts)
            if delay is not None:
                sleep(delay)
                continue
            for catcher in state.get("Catch") or []:
                if _matches(catcher.get("ErrorEquals") or [], failed.error):
                    error = {"Error": failed.error, "Cause": failed.cause}
                    return _set(data, catcher.get("ResultPath", "$"), error), str(catcher["Next"])
            raise
    if "ResultSelector" in state:
        result = resolve(state["ResultSelector"], result, doc)
    return _output(state, _place(state, data, result)), _next(state)


def _matches(names: list[str], error: str) -> bool:
    """States.ALL matches every error but States.Runtime; States.TaskFailed every error but States.Timeout."""
    if error in names:
        return True
    if "States.ALL" in names and error != "States.Runtime":
        return True
    return "States.TaskFailed" in names and error not in ("States.Timeout", "States.Runtime")


def _retry_delay(retriers: list[dict[str, Any]], error: str, attempts: dict[int, int]) -> float | None:
    """The wait before the next attempt, from the first retrier matching `error`; None when it is spent."""
    for index, retrier in enumerate(retriers):
        if not _matches(retrier.get("ErrorEquals") or [], error):
            continue
        done = attempts.get(index, 0)
        if done >= int(retrier.get("MaxAttempts", 3)):
            return None
        attempts[index] = done + 1
        delay = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** done
        if "MaxDelaySeconds" in retrier:
            delay = min(delay, float(retrier["MaxDelaySeconds"]))
        return delay
    return None


def _choose(state: dict[str, Any], data: Any, doc: dict[str, Any]) -> str:
    for rule in state.get("Choices") or []:
        if _rule(rule, data, doc):
            return str(rule["Next"])
    if "Default" in state:
        return str(state["Default"])
    raise TaskFailed("States.NoChoiceMatched", "no choice rule matched and the Choice state has no Default")


def _rule(rule: dict[str, Any], data: Any, doc: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_rule(r, data, doc) for r in rule["And"])
    if "Or" in rule:
        return any(_rule(r, data, doc) for r in rule["Or"])
    if "Not" in rule:
        return not _rule(rule["Not"], data, doc)
    variable = str(rule.get("Variable", ""))
    present, value = _lookup(variable, data, doc)
    for test, expected in rule.items():
        if test in ("Variable", "Next", "Comment"):
            continue
        if test == "IsPresent":
            return present == bool(expected)
        if not present:
            raise TaskFailed("States.Runtime", f"choice: {variable} is not present in the state's input")
        if test == "IsNull":
            return (value is None) == bool(expected)
        if test == "StringEquals":
            return isinstance(value, str) and value == expected
        if test == "BooleanEquals":
            return isinstance(value, bool) and value == expected
        if test == "NumericEquals":
            return isinstance(value, int | float) and not isinstance(value, bool) and value == expected
        raise TaskFailed("States.Runtime", f"choice operator {test} is not run by the local target")
    raise TaskFailed("States.Runtime", f"choice rule on {variable} has no operator")


def resolve(template: Any, data: Any, doc: dict[str, Any]) -> Any:
    """A payload template: keys ending in `.$` take the value at their path, the rest are copied."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str) or not value.startswith("$"):
                    raise TaskFailed("States.Runtime", f"{key}: intrinsic functions are not run by the local target")
                present, found = _lookup(value, data, doc)
                if not present:
                    raise TaskFailed("States.Runtime", f"{key}: the path {value} was not found in the input")
                out[key[:-2]] = copy.deepcopy(found)
            else:
                out[key] = resolve(value, data, doc)
        return out
    if isinstance(template, list):
        return [resolve(item, data, doc) for item in template]
    return template


def _lookup(path: str, data: Any, doc: dict[str, Any]) -> tuple[bool, Any]:
    """(present, value) at a `$`/`$$` path of dotted names."""
    root, rest = (doc, path[2:]) if path.startswith("$$") else (data, path[1:])
    if not path.startswith("$") or any(c in rest for c in "[]*"):
        raise TaskFailed("States.Runtime", f"path {path!r} is not run by the local target (dotted names only)")
    value = root
    for part in (p for p in rest.split(".") if p):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _set(data: Any, path: str | None, value: Any) -> Any:
    """ResultPath: `$` replaces the input, `$.a.b` sets a field in a copy of it, null keeps the input."""
    if path is None:
        return data
    if path == "$":
        return value
    _lookup(path, {}, {})  # refuses what is not a dotted path
    out = copy.deepcopy(data) if isinstance(data, dict) else {}
    parts = path[2:].split(".")
    target = out
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise TaskFailed("States.Runtime", f"ResultPath {path}: {part} is not an object")
    target[parts[-1]] = value
    return out


def _place(state: dict[str, Any], data: Any, result: Any) -> Any:
    return _set(data, state.get("ResultPath", "$"), result)


def _input(state: dict[str, Any], data: Any) -> Any:
    path = state.get("InputPath", "$")
    if path is None:
        return {}
    present, value = _lookup(path, data, {})
    if not present:
        raise TaskFailed("States.Runtime", f"InputPath {path} was not found in the input")
    return value


def _output(state: dict[str, Any], data: Any) -> Any:
    path = state.get("OutputPath", "$")
    if path is None:
        return {}
    present, value = _lookup(path, data, {})
    if not present:
        raise TaskFailed("States.Runtime", f"OutputPath {path} was not found in the output")
    return value


def as_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
