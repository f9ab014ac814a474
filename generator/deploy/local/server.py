"""The embedded local AWS: moto's server on a loopback port, with pipectl's CloudFormation models.

moto keeps its state in module-level backends, so every server started in one process shares one
AWS account. The simulated provisioning delay is process-wide for the same reason.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from generator.deploy.local.deleted_stacks import freeze_deleted_stacks
from generator.deploy.local.execution_role import install as install_execution_role_checks
from generator.deploy.local.models import register_models
from generator.deploy.local.protection import enforce as enforce_protection

LOOPBACK = "127.0.0.1"

_delay = {"seconds": 0.0}
_patch_lock = threading.Lock()


def set_resource_delay(seconds: float) -> None:
    """Make every resource creation in moto's CloudFormation engine take `seconds` (0 turns it off).

    moto creates a whole stack synchronously inside one request; real CloudFormation spends minutes
    waiting per resource. The delay lets benchmarks of the DAG walker see that shape.
    """
    if seconds < 0:
        raise ValueError(f"resource delay must be >= 0, got {seconds}")
    _install_delay_hook()
    _delay["seconds"] = seconds


def _install_delay_hook() -> None:
    """Wrap moto's per-resource creation once; the wrapper sleeps only while a delay is set."""
    from moto.cloudformation import parsing

    with _patch_lock:
        original = parsing.parse_and_create_resource
        if getattr(original, "_pipectl_delay", False):
            return

        def delayed(*args: Any, **kwargs: Any) -> Any:
            if _delay["seconds"]:
                time.sleep(_delay["seconds"])
            return original(*args, **kwargs)

        delayed._pipectl_delay = True  # type: ignore[attr-defined]
        parsing.parse_and_create_resource = delayed


def _refresh_outputs_after_change_sets() -> None:
    """moto applies a change set to the resources only, unlike CloudFormation.

    A stack created from a change set holds an empty copy of the account's exports (its
    Fn::ImportValue fails), and after execution its outputs, exports and tags are those of
    before. Give it the account's exports first; afterwards rebuild outputs and exports from the
    executed template, as create_stack and update_stack do, and take the change set's tags.
    """
    from moto.cloudformation.models import CloudFormationBackend

    with _patch_lock:
        original = CloudFormationBackend.execute_change_set
        if getattr(original, "_pipectl_refresh", False):
            return

        def execute_change_set(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
            change_set = backend.change_sets.get(change_set_name) or next(
                cs for cs in backend.change_sets.values() if cs.change_set_name == change_set_name
            )
            stack = backend.stacks[change_set.stack_id]
            stack.cross_stack_resources = stack.resource_map.cross_stack_resources = backend.exports
            original(backend, change_set_name, stack_name)
            stack._parse_template()
            stack.output_map = stack._create_output_map()
            current = {export.name: export for export in stack.exports}
            for name, export in list(backend.exports.items()):
                if export.exporting_stack_id == stack.stack_id and name not in current:
                    del backend.exports[name]
            backend.exports.update(current)
            if change_set.tags:
                stack.tags = dict(change_set.tags)

        execute_change_set._pipectl_refresh = True  # type: ignore[attr-defined]
        CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign, assignment]


def _resolve_get_azs() -> None:
    """moto reads Fn::GetAZs' argument literally: `{"Ref": "AWS::Region"}` became a zone name.

    Resolve the argument first (a Ref to AWS::Region, or "" meaning this stack's region), as
    CloudFormation does, and list that region's zones.
    """
    from moto.cloudformation import parsing

    with _patch_lock:
        original = parsing.clean_json
        if getattr(original, "_pipectl_azs", False):
            return

        def clean_json(resource_json: Any, resources_map: Any) -> Any:
            if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
                region = original(resource_json["Fn::GetAZs"], resources_map) or original(
                    {"Ref": "AWS::Region"}, resources_map
                )
                return [f"{region}{zone}" for zone in ("a", "b", "c")]
            return original(resource_json, resources_map)

        clean_json._pipectl_azs = True  # type: ignore[attr-defined]
        parsing.clean_json = clean_json


def make_app() -> Any:
    """moto's WSGI application (all services), with pipectl's models registered before any stack."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    register_models()
    _refresh_outputs_after_change_sets()
    _resolve_get_azs()
    enforce_protection()
    freeze_deleted_stacks()
    install_execution_role_checks()
    return DomainDispatcherApplication(create_backend_app)


class QuietHandler(WSGIRequestHandler):
    """No access log on the terminal: the embedded AWS serves pipectl's own calls, not a person."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class EmbeddedAws:
    """A moto server running in a thread of this process; stop it, or use it as a context manager."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
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


def start_embedded(resource_delay_s: float = 0.0) -> EmbeddedAws:
    """Start moto's server in a daemon thread on 127.0.0.1 and a free port; returns once it listens."""
    set_resource_delay(resource_delay_s)
    server = make_server(LOOPBACK, 0, make_app(), threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="pipectl-local-aws", daemon=True)
    thread.start()
    return EmbeddedAws(server, thread)
