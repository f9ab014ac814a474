"""The embedded local AWS: moto's server on a loopback port, with pipectl's CloudFormation models.

moto keeps its state in module-level backends, so every server started in one process shares one
AWS account. The simulated provisioning delay is process-wide for the same reason. What the server
cannot answer is written to its log file, and the client gets the exception's text and the log's path.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from generator.deploy.local import changes, compat, limits, listener_actions, outcomes
from generator.deploy.local.deleted_stacks import freeze_deleted_stacks
from generator.deploy.local.execution_role import install as install_execution_role_checks
from generator.deploy.local.executions import with_outcome_route
from generator.deploy.local.models import register_models
from generator.deploy.local.protection import enforce as enforce_protection
from generator.deploy.local.report import attach_log, default_log_path, reporting

LOOPBACK = "127.0.0.1"

_delay = {"seconds": 0.0}


def set_resource_delay(seconds: float) -> None:
    """Make every resource creation in moto's CloudFormation engine take `seconds` (0 turns it off).

    moto creates a whole stack synchronously inside one request; real CloudFormation spends minutes
    waiting per resource. The delay lets benchmarks of the DAG walker see that shape.
    """
    if seconds < 0:
        raise ValueError(f"resource delay must be >= 0, got {seconds}")
    compat.patch_once(compat.parsing, "parse_and_create_resource", _delayed, key="resource-delay")
    _delay["seconds"] = seconds


def _delayed(original: Any) -> Any:
    """The wrapper sleeps only while a delay is set."""

    def delayed(*args: Any, **kwargs: Any) -> Any:
        if _delay["seconds"]:
            time.sleep(_delay["seconds"])
        return original(*args, **kwargs)

    return delayed


def _resolve_get_azs(original: Any) -> Any:
    """moto reads Fn::GetAZs' argument literally: `{"Ref": "AWS::Region"}` became a zone name.

    Resolve the argument first (a Ref to AWS::Region, or "" meaning this stack's region), as
    CloudFormation does, and list that region's zones.
    """

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            region = original(resource_json["Fn::GetAZs"], resources_map) or original(
                {"Ref": "AWS::Region"}, resources_map
            )
            return [f"{region}{zone}" for zone in ("a", "b", "c")]
        return original(resource_json, resources_map)

    return clean_json


def _substitute_like_cloudformation(original: Any) -> Any:
    """moto fills the variables of `Fn::Sub: [text, {name: value}]` with string.Template, which also turns
    `$$` into `$` and fills `$name` without braces: a state machine's `$$.Execution.Id` was deployed as
    `$.Execution.Id`. CloudFormation replaces `${name}` alone; so does the local target."""

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::Sub"), list):
            text, variables = resource_json["Fn::Sub"]
            text = str(original(text, resources_map))
            for name, value in (variables or {}).items():
                text = text.replace("${" + name + "}", str(original(value, resources_map)))
            return original({"Fn::Sub": text}, resources_map)
        return original(resource_json, resources_map)

    return clean_json


def make_app(log_path: Path | None = None) -> Any:
    """moto's WSGI application (all services), with pipectl's models and CloudFormation's rules, and the
    route that records how a Step Functions execution pipectl ran locally ended (`executions`)."""
    path = log_path or default_log_path()
    attach_log(path)
    register_models()
    outcomes.enforce()
    limits.enforce()
    changes.enforce()
    listener_actions.enforce()
    compat.patch_once(compat.parsing, "clean_json", _resolve_get_azs)
    compat.patch_once(compat.parsing, "clean_json", _substitute_like_cloudformation, key="fn-sub-variables")
    compat.make_kinesis_shards_safe()
    compat.make_stack_registry_safe()
    enforce_protection()
    freeze_deleted_stacks()
    install_execution_role_checks()
    return with_outcome_route(compat.wsgi_app(reporting(path)))


class QuietHandler(WSGIRequestHandler):
    """No access log on the terminal: the embedded AWS serves pipectl's own calls, not a person."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class EmbeddedAws:
    """A moto server running in a thread of this process; stop it, or use it as a context manager."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread, log_path: Path) -> None:
        self._server = server
        self._thread = thread
        self.log_path = log_path
        host, port = server.server_address[:2]
        self.endpoint = f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> EmbeddedAws:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedAws({self.endpoint})"


def start_embedded(resource_delay_s: float = 0.0, log_path: Path | None = None) -> EmbeddedAws:
    """Start moto's server in a daemon thread on 127.0.0.1 and a free port; returns once it listens.

    Failures of the server are written to `log_path` (default: a file in the temporary directory).
    """
    set_resource_delay(resource_delay_s)
    path = log_path or default_log_path()
    server = make_server(LOOPBACK, 0, make_app(path), threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="pipectl-local-aws", daemon=True)
    thread.start()
    return EmbeddedAws(server, thread, path)
