"""The Task states of a local execution, carried out as the services would carry them out on AWS.

- `lambda:invoke`: the deployed function is looked up on the local target (`GetFunction`), its code
  is the zip Lambda read from the asset bucket, checked against the function's CodeSha256, and its
  handler runs in a process of its own (`lambda_runner`) with the function's variables, pointed at the
  local target, under the shorter of the function's and the state's timeout. A handler's exception
  is a task failure named after its errorType with Lambda's error document as cause, as the
  `lambda:invoke` integration reports it.
- `sqs:sendMessage`: a real SendMessage to the local queue (an object body is sent as JSON).
Any other resource fails the execution with States.Runtime, naming it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from generator.deploy.aws import Aws, error_code, error_message
from generator.deploy.local import lambda_runner
from generator.deploy.local.session import local_env
from generator.deploy.local.state_machine import TaskFailed

LAMBDA_INVOKE = ":states:::lambda:invoke"
SQS_SEND = ":states:::sqs:sendMessage"
CodeBucket = Callable[[str], str | None]
"""The asset bucket of a region: where the deployed functions' code was read from."""


class LocalTasks:
    """A `TaskRunner` for executions on the local target; handlers' output is appended to `log`."""

    def __init__(self, aws: Aws, code_bucket: CodeBucket, log: Path) -> None:
        if aws.target.endpoint_url is None:
            raise ValueError("local tasks need the local target's endpoint")
        self.aws = aws
        self.endpoint = aws.target.endpoint_url
        self.code_bucket = code_bucket
        self.log = log
        self.invocations = 0
        self._scratch = tempfile.TemporaryDirectory(prefix="pipectl-function-")
        self._code: dict[str, Path] = {}

    def close(self) -> None:
        self._scratch.cleanup()

    def __call__(self, resource: str, parameters: Any, timeout: float | None) -> Any:
        if not isinstance(parameters, dict):
            raise TaskFailed("States.Runtime", f"{resource}: expected Parameters as an object")
        if resource.endswith(LAMBDA_INVOKE):
            return self.invoke(parameters, timeout)
        if resource.endswith(SQS_SEND):
            return self.send_message(parameters)
        raise TaskFailed("States.Runtime", f"the local target does not run tasks of resource {resource}")

    def send_message(self, parameters: dict[str, Any]) -> dict[str, Any]:
        url, body = parameters.get("QueueUrl"), parameters.get("MessageBody")
        if not isinstance(url, str) or body is None:
            raise TaskFailed("States.Runtime", "sqs:sendMessage: expected QueueUrl and MessageBody")
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        try:
            sent = self.aws.client("sqs", _region_of_queue(url, self.aws)).send_message(QueueUrl=url, MessageBody=text)
        except (ClientError, BotoCoreError) as exc:
            raise TaskFailed(f"SQS.{error_code(exc) or 'SdkClientException'}", error_message(exc)) from None
        return {"MessageId": sent.get("MessageId"), "MD5OfMessageBody": sent.get("MD5OfMessageBody")}

    def invoke(self, parameters: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        name = parameters.get("FunctionName")
        if not isinstance(name, str):
            raise TaskFailed("States.Runtime", "lambda:invoke: expected FunctionName")
        region = name.split(":")[3] if name.startswith("arn:") else self.aws.target.region
        try:
            function = self.aws.client("lambda", region).get_function(FunctionName=name)
        except (ClientError, BotoCoreError) as exc:
            raise TaskFailed(f"Lambda.{error_code(exc) or 'SdkClientException'}", error_message(exc)) from None
        config = function["Configuration"]
        code = self._unpacked(function, region)
        limit = float(config.get("Timeout") or 3)
        deadline = min(limit, timeout) if timeout else limit
        env = {
            "PATH": os.environ.get("PATH", ""),
            **(config.get("Environment") or {}).get("Variables", {}),
            **local_env(self.endpoint, region),
            "AWS_LAMBDA_FUNCTION_NAME": str(config["FunctionName"]),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(limit),
        }
        self.invocations += 1
        ok, value = self._run(code, str(config["Handler"]), parameters.get("Payload"), env, deadline, timeout)
        if not ok:
            raise TaskFailed(str(value.get("errorType") or "Lambda.Unknown"), json.dumps(value))
        return {"ExecutedVersion": "$LATEST", "Payload": value, "StatusCode": 200}

    def _unpacked(self, function: dict[str, Any], region: str) -> Path:
        """The deployed code, fetched once per CodeSha256 from the asset bucket and checked against it."""
        config = function["Configuration"]
        digest = str(config.get("CodeSha256") or "")
        if digest in self._code:
            return self._code[digest]
        location = str((function.get("Code") or {}).get("Location") or "")
        key = urlsplit(location).path.lstrip("/")
        bucket = self.code_bucket(region)
        if not key or bucket is None:
            raise TaskFailed("Lambda.Unknown", f"{config['FunctionName']}: its code is not in an asset bucket")
        try:
            data = self.aws.client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise TaskFailed("Lambda.Unknown", f"code s3://{bucket}/{key}: {error_message(exc)}") from None
        if base64.b64encode(hashlib.sha256(data).digest()).decode() != digest:
            raise TaskFailed("Lambda.Unknown", f"code s3://{bucket}/{key} is not the code the function deployed")
        folder = Path(self._scratch.name) / hashlib.sha256(data).hexdigest()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(folder)
        self._code[digest] = folder
        return folder

    def _run(
        self, code: Path, handler: str, payload: Any, env: dict[str, str], deadline: float, state_timeout: float | None
    ) -> tuple[bool, Any]:
        result = code.parent / f"result-{self.invocations}.json"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # Run as a script, not `-m`: the package's __init__ would load the local server (moto) into each invocation.
        command = [sys.executable, str(Path(lambda_runner.__file__)), str(code), handler, str(result)]
        with self.log.open("ab") as log:
            try:
                subprocess.run(
                    command,
                    input=json.dumps(payload).encode(),
                    env=env,
                    cwd=str(code),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=deadline,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                if state_timeout is not None and state_timeout <= deadline:
                    raise TaskFailed("States.Timeout", f"the task ran past its {state_timeout:g}s") from None
                raise TaskFailed("Sandbox.Timedout", f"the function ran past its {deadline:g}s timeout") from None
        try:
            answer = json.loads(result.read_text())
        except (FileNotFoundError, ValueError):
            raise TaskFailed(
                "Lambda.Unknown", f"the function's process ended without a result; see {self.log}"
            ) from None
        return bool(answer["ok"]), answer["value"]


def _region_of_queue(url: str, aws: Aws) -> str:
    """sqs.REGION.amazonaws.com/ACCOUNT/NAME (or moto's sqs.REGION.localhost...); else the target's region."""
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "sqs" else aws.target.region
