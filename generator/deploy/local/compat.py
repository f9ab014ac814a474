"""Every use of moto's internals, in one place, so a moto upgrade shows exactly what moved.

The local target reaches into moto in three ways, all of them here:
- backends: `backend("cognito-idp", account, region)` instead of each model importing
  `moto.<service>.models.<service>_backends`; BACKEND_METHODS lists the methods pipectl's models
  call, with the parameter names they pass (the table lives in `moto_surface`; tests/deploy/local/
  test_compat.py checks it);
- the CloudFormation engine: its module `parsing`, backend, response and model classes, and the
  exceptions and result types pipectl raises or returns through them, patched with `patch_once`;
- moto model classes pipectl extends (`moto_class("elbv2", "FakeLoadBalancer")`).
The versions these were written against are pinned in pyproject.toml; `scripts/check-upgrades`
tries newer ones.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.backends import get_backend
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ExportNotFound, UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudformation.utils import generate_stack_id
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.utilities.utils import get_partition

from generator.deploy.local.moto_surface import BACKEND_METHODS, MOTO_CLASSES

__all__ = [
    "BACKEND_METHODS",
    "MOTO_CLASSES",
    "ActionResult",
    "ChangeSet",
    "CloudFormationBackend",
    "CloudFormationModel",
    "CloudFormationResponse",
    "EmptyResult",
    "Event",
    "ExportNotFound",
    "OutputMap",
    "ResourceMap",
    "Stack",
    "UnformattedGetAttTemplateException",
    "ValidationError",
    "allow_elbv2_action",
    "backend",
    "cfn_backend",
    "generate_stack_id",
    "get_partition",
    "model_list",
    "model_map",
    "null_models",
    "parsing",
    "partition_backend",
    "patch_once",
    "refresh_model_registry",
    "step_functions_execution",
    "wsgi_app",
]

# Services whose backends moto keys by partition rather than by region.
_PARTITION_KEYED = frozenset({"iam", "s3"})

_lock = threading.Lock()
_patched: set[str] = set()
_originals: dict[tuple[Any, str], Any] = {}


def backend(service: str, account_id: str, region_name: str) -> Any:
    """moto's backend of `service` for one account and region (partition for IAM and S3)."""
    where = get_partition(region_name) if service in _PARTITION_KEYED else region_name
    return get_backend(service)[account_id][where]  # type: ignore[call-overload]


def partition_backend(service: str, account_id: str, partition: str) -> Any:
    """moto's backend of a global service (IAM) for one account and partition (`aws`, `aws-cn` …)."""
    return get_backend(service)[account_id][partition]  # type: ignore[call-overload]


def backend_class(service: str) -> Any:
    """The class behind `backend(service, ...)`, for checking method signatures."""
    return get_backend(service).backend  # type: ignore[call-overload]


def cfn_backend(account_id: str, region_name: str) -> CloudFormationBackend:
    return backend("cloudformation", account_id, region_name)  # type: ignore[no-any-return]


def moto_class(service: str, name: str) -> Any:
    """A moto model or exception class listed in MOTO_CLASSES."""
    return getattr(importlib.import_module(MOTO_CLASSES[(service, name)]), name)


def model_map() -> dict[str, type[CloudFormationModel]]:
    """Resource type -> model class, as moto's CloudFormation engine sees it."""
    return parsing.get_model_map()


def null_models() -> frozenset[str]:
    """Types moto's engine accepts and creates nothing for."""
    return frozenset(parsing.NULL_MODELS)


def model_list() -> list[type[CloudFormationModel]]:
    """moto's models (the direct subclasses of CloudFormationModel), with each abstract base replaced
    by the concrete models below it, so pipectl's models can share one base class."""
    found: list[type[CloudFormationModel]] = []
    pending = list(CloudFormationModel.__subclasses__())
    while pending:
        model = pending.pop(0)
        if model.__dict__.get("ABSTRACT_MODEL", False):
            pending[:0] = model.__subclasses__()
        else:
            found.append(model)
    return found


def refresh_model_registry() -> None:
    """moto caches its model list; clear it after defining models so the engine sees them.

    moto lists direct subclasses only; its list is replaced, once, by `model_list()`.
    """
    patch_once(parsing, "get_model_list", lambda _original: functools.lru_cache(model_list))
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def patch_once(owner: Any, name: str, wrap: Callable[[Any], Any], key: str | None = None) -> None:
    """Replace (or add) `owner.name` as `wrap(original or None)`, once per process whatever the number of calls."""
    marker = key or f"{getattr(owner, '__name__', owner)}.{name}"
    with _lock:
        if marker in _patched:
            return
        original = getattr(owner, name, None)
        _originals.setdefault((owner, name), original)
        setattr(owner, name, wrap(original))
        _patched.add(marker)


def unpatched(owner: Any, name: str) -> Any:
    """moto's own `owner.name`, as it was before pipectl wrapped it (the attribute itself if never wrapped):
    what the compatibility tests check against moto's release, whatever ran before them in the process."""
    with _lock:
        return _originals[(owner, name)] if (owner, name) in _originals else getattr(owner, name)


def allow_elbv2_action(action_type: str, problem: Callable[[dict[str, Any]], str | None]) -> None:
    """Teach moto's ELBv2 an action type AWS accepts and moto 5.2.5 does not know (`jwt-validation`).

    moto lists allowed types twice: `ALLOWED_ACTIONS` (read when CloudFormation converts a rule's or a
    listener's actions) and an inline list in `ELBv2Backend._validate_actions`. The type is added to the
    first; the second is wrapped so that an action of this type is checked with `problem(action)`, which
    names what AWS would refuse, and the other actions keep moto's own checks.
    """
    from moto.elbv2 import models as elbv2
    from moto.elbv2.exceptions import ValidationError as Elbv2ValidationError

    with _lock:
        if action_type not in elbv2.ALLOWED_ACTIONS:
            elbv2.ALLOWED_ACTIONS.append(action_type)

    def wrap(original: Any) -> Any:
        def validate_actions(self: Any, actions: list[Any]) -> None:
            for action in actions:
                if action.type == action_type:
                    reason = problem(action.data)
                    if reason is not None:
                        raise Elbv2ValidationError(reason)
            original(self, [action for action in actions if action.type != action_type])

        return validate_actions

    patch_once(elbv2.ELBv2Backend, "_validate_actions", wrap, key=f"elbv2._validate_actions.{action_type}")


def wsgi_app(wrap_service_app: Callable[[Any], Any] | None = None) -> Any:
    """moto's WSGI application for all services; `wrap_service_app` sees each service's Flask app."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    if wrap_service_app is None:
        return DomainDispatcherApplication(create_backend_app)

    def create(service: str) -> Any:
        return wrap_service_app(create_backend_app(service))  # type: ignore[arg-type]

    return DomainDispatcherApplication(create)


def make_kinesis_shards_safe() -> None:
    """moto numbers a shard's next record `list(keys)[-1] + 1`, unlocked: each record costs O(records
    in the shard), so a stream slows down quadratically as it fills, and concurrent PutRecords to one
    shard can give two records one number, losing one. Kinesis does neither, so neither may the local
    target: number from the last key in O(1), under a lock."""
    from moto.kinesis.models import Record, Shard

    lock = threading.Lock()

    def last_number(records: Any) -> int:
        return int(next(reversed(records))) if records else 0

    def put_record(original: Any) -> Any:
        def put(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
            with lock:
                number = last_number(self.records) + 1
                self.records[number] = Record(partition_key, data, number, explicit_hash_key)
            return str(number)

        return put

    def max_number(original: Any) -> Any:
        return lambda self: last_number(self.records)

    patch_once(Shard, "put_record", put_record, key="kinesis-shard-put-record")
    patch_once(Shard, "get_max_sequence_number", max_number, key="kinesis-shard-max-sequence")


class _SnapshotDict(OrderedDict[Any, Any]):
    """A dict whose iteration walks a copy: another request may add an entry meanwhile."""

    def __iter__(self) -> Any:
        return iter(list(super().keys()))

    def keys(self) -> Any:
        return list(super().keys())

    def values(self) -> Any:
        return list(super().values())

    def items(self) -> Any:
        return list(super().items())


def make_stack_registry_safe() -> None:
    """moto's CloudFormation backend keeps stacks and exports in plain dicts that one request iterates
    (resolving `Fn::ImportValue`, listing exports) while a concurrent one adds to them: "OrderedDict
    mutated during iteration" failed a resource. CloudFormation serves concurrent stack operations, so
    the local target must too: iteration walks a snapshot."""

    def init(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self.stacks = _SnapshotDict(self.stacks)
            self.exports = _SnapshotDict(self.exports)

        return __init__

    patch_once(CloudFormationBackend, "__init__", init, key="cloudformation-backend-snapshots")


def step_functions_execution(account_id: str, region_name: str, execution_arn: str) -> Any | None:
    """moto's record of one Step Functions execution (status, stop_date, output, error, cause), or None."""
    for machine in backend("stepfunctions", account_id, region_name).state_machines:
        for execution in machine.executions:
            if execution.execution_arn == execution_arn:
                return execution
    return None
