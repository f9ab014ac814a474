"""Recording how a Step Functions execution ended, on the local target.

moto starts executions (`StartExecution`) and answers `DescribeExecution`/`ListExecutions`, but never
runs them: they stay RUNNING. pipectl runs the states itself (`state_machine`), and reports the outcome
to the server through one route of its own, `POST /_pipectl/stepfunctions/outcome`, so that the
execution moto holds ends as it would on AWS: SUCCEEDED with its output, or FAILED with error and cause.
An execution that already ended cannot be ended again, as on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from generator.deploy.local import compat
from generator.deploy.local.session import ACCOUNT_ID

OUTCOME_PATH = "/_pipectl/stepfunctions/outcome"
FinalStatus = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
FINAL_STATUSES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
MAX_OUTPUT_BYTES = 256 * 1024  # Step Functions' limit on an execution's input and output

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class OutcomeRefused(ValueError):
    """The outcome names no execution, or one that already ended, or breaks a Step Functions limit."""


def record_outcome(document: dict[str, Any]) -> dict[str, Any]:
    """End the execution `document["executionArn"]` with `status` (and `output`, or `error`/`cause`)."""
    arn = document.get("executionArn")
    status = document.get("status")
    if not isinstance(arn, str) or arn.count(":") < 7:
        raise OutcomeRefused(f"executionArn: expected an execution ARN, found {arn!r}")
    if status not in FINAL_STATUSES:
        raise OutcomeRefused(f"status: expected one of {', '.join(sorted(FINAL_STATUSES))}, found {status!r}")
    region = arn.split(":")[3]
    execution = compat.step_functions_execution(ACCOUNT_ID, region, arn)
    if execution is None:
        raise OutcomeRefused(f"no execution {arn}")
    if execution.status != "RUNNING":
        raise OutcomeRefused(f"execution {arn} already ended {execution.status}")
    output = document.get("output")
    if output is not None and len(str(output).encode()) > MAX_OUTPUT_BYTES:
        raise OutcomeRefused(f"output: expected at most {MAX_OUTPUT_BYTES} bytes, found {len(str(output).encode())}")
    execution.status = status
    execution.stop_date = datetime.now(UTC)
    execution.output = output if status == "SUCCEEDED" else None
    execution.error = document.get("error") if status != "SUCCEEDED" else None
    execution.cause = document.get("cause") if status != "SUCCEEDED" else None
    return {"executionArn": arn, "status": status}


def with_outcome_route(app: WsgiApp) -> WsgiApp:
    """moto's application, with the outcome route answered before moto sees the request."""

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != OUTCOME_PATH:
            return app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"message": "POST an outcome"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            document = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if not isinstance(document, dict):
                raise OutcomeRefused("expected a JSON object")
            return _answer(start_response, "200 OK", record_outcome(document))
        except (OutcomeRefused, ValueError) as exc:
            return _answer(start_response, "400 Bad Request", {"message": str(exc)})

    return dispatch


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
