"""When the embedded AWS itself fails, an AWS-shaped error naming the exception and the server's log.

Without this, moto's services answer an unhandled exception with Flask's HTML 500 page, which boto3
reports as "Unable to parse response ... invalid XML". Here the traceback goes to the log file and
the client gets an `InternalFailure` in the service's own protocol, carrying the exception's text
and the log's path.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

log = logging.getLogger("pipectl.local")
STATUS = 400
_write_lock = threading.Lock()


def default_log_path() -> Path:
    """Where an in-process server writes when no working directory gave it a log."""
    return Path(tempfile.gettempdir()) / f"pipectl-local-{os.getpid()}.log"


def attach_log(path: Path) -> None:
    """Send the local target's own log records (failed resources, rollbacks) to `path` as well."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = str(path.resolve())
    if any(getattr(h, "baseFilename", None) == target for h in log.handlers):
        return
    handler = logging.FileHandler(target)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the log file, not the terminal of whoever runs pipectl


def reporting(log_path: Path) -> Any:
    """Wrap each of moto's per-service Flask apps so an unhandled exception becomes an AWS error."""

    def wrap(app: Any) -> Any:
        app.register_error_handler(Exception, lambda exc: _answer(exc, log_path))
        return app

    return wrap


def failure_message(exc: BaseException, log_path: Path) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"the local AWS failed: {type(exc).__name__}: {text} (traceback in {log_path})"


def _answer(exc: BaseException, log_path: Path) -> Any:
    from flask import request
    from werkzeug.exceptions import HTTPException
    from werkzeug.wrappers import Response

    if isinstance(exc, HTTPException):
        return exc
    action = request.values.get("Action") or request.headers.get("X-Amz-Target") or request.path
    _write(log_path, f"{request.method} {request.host} {action}", exc)
    message = failure_message(exc, log_path)
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type or request.headers.get("X-Amz-Target"):
        body = json.dumps({"__type": "InternalFailure", "message": message})
        return Response(body, status=STATUS, headers={"x-amzn-ErrorType": "InternalFailure"},
                        content_type="application/x-amz-json-1.1")  # fmt: skip
    xml = (
        "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>pipectl-local</RequestId></ErrorResponse>"
    )
    return Response(xml, status=STATUS, content_type="text/xml")


def _write(log_path: Path, what: str, exc: BaseException) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    with _write_lock:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as out:
            out.write(f"{stamp} {what} failed:\n{text}\n")
