"""One Lambda invocation in a process of its own: `python lambda_runner.py CODE HANDLER RESULT`, the event
on standard input. It is run as a script and imports nothing of pipectl, so an invocation starts as fast
as Python and the function's own imports allow.

The function's code (its deployed zip, unpacked in CODE) is first on the import path and its
variables are the process's environment, as in Lambda's Python runtime; the handler's return value,
or Lambda's error document (errorType, errorMessage, stackTrace), is written to RESULT as JSON.
What it prints is its log.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any


class Context:
    """The attributes of Lambda's context object that handlers read."""

    def __init__(self, function_name: str, timeout_s: float) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(code: Path, handler: str, event: Any, function_name: str, timeout_s: float) -> tuple[bool, Any]:
    """(True, the handler's result) or (False, Lambda's error document)."""
    module_name, _, attribute = handler.rpartition(".")
    sys.path.insert(0, str(code))
    try:
        function = getattr(importlib.import_module(module_name), attribute)
        return True, function(event, Context(function_name, timeout_s))
    except Exception as exc:  # the function's failure of any kind is the error Lambda reports
        stack = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return False, {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": stack}


def main(argv: list[str] | None = None) -> int:
    code, handler, result = (argv or sys.argv[1:])[:3]
    import os

    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "900"))
    ok, value = invoke(Path(code), handler, json.loads(sys.stdin.read() or "null"), name, timeout)
    Path(result).write_text(json.dumps({"ok": ok, "value": value}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
