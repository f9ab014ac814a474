"""The state table in the console stack: runs, stack statuses, pipelines, and the deploy lock.

Keys (pk / sk): PIPELINE#<name> / META | ENV#<env> | STACK#<env>#<stack> | RUN#<started_at>#<run_id>;
RUN#<run_id> / META (the run index, with the run's plan.md); CONSOLE / ACCESS (the console's group
mapping); LOCK / deploy. `expires_at` (epoch seconds) is the table's TTL. The console API
(templates/appsync/) reads what is written here.
The key parts, and the pipeline and environment `_control` of the control-plane stacks, come from
`generator.contract`, which the console's recorder function and resolvers render in too.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from generator.contract import (
    ACCESS_SK,
    CONSOLE_PK,
    ENV_SK_PREFIX,
    LOCK_PK,
    LOCK_SK,
    META_SK,
    PIPELINE_PK_PREFIX,
    RUN_PREFIX,
    STACK_SK_PREFIX,
    STATE_TABLE_OUTPUT,
)
from generator.deploy.aws import Aws, error_code
from generator.deploy.deployed import STABLE, DeployedStack
from generator.deploy.errors import LockTimeout
from generator.deploy.manifest import CONSOLE_STACK, StackSpec
from generator.deploy.plan_archive import compressed_plan
from generator.deploy.state_layout import env_feed_keys, pipeline_feed_keys, run_feed_keys

LOCK_KEY = {"pk": LOCK_PK, "sk": LOCK_SK}
LEASE_SECONDS = 15 * 60
TRIGGERS = ("push", "nightly")
"""The delivery pipeline's RUN variable (PIPECTL_RUN in its builds); any other run was started by hand."""
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return str(uuid.uuid4())


def run_trigger(environ: Mapping[str, str] | None = None) -> str:
    """push or nightly inside the delivery pipeline's builds, local for a run started from a laptop."""
    run = (os.environ if environ is None else environ).get("PIPECTL_RUN", "")
    return run if run in TRIGGERS else "local"


def _seconds(started: str, ended: str) -> int:
    return int((datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds())


@dataclass(frozen=True)
class StateTable:
    name: str
    region: str


def find_state_table(deployed: Mapping[str, DeployedStack]) -> StateTable | None:
    """The table named by the deployed console stack's output, or None before the console exists."""
    console = deployed.get(CONSOLE_STACK)
    if console is None or console.status not in STABLE or not console.outputs.get(STATE_TABLE_OUTPUT):
        return None
    return StateTable(console.outputs[STATE_TABLE_OUTPUT], console.region)


@dataclass
class RunRecord:
    """One plan, apply, prune or destroy: who, which revision, and the result per stack."""

    run_id: str
    kind: str
    revision: str
    actor: str
    started_at: str
    pipelines: dict[str, str] = field(default_factory=dict)  # stack -> owning pipeline
    stacks: dict[str, str] = field(default_factory=dict)  # stack -> result
    ended_at: str | None = None
    result: str = "running"
    trigger: str = field(default_factory=run_trigger)
    plan_markdown: str | None = None  # kept on the run's index item, compressed


@dataclass(frozen=True)
class EnvironmentRecord:
    """What the console shows of one pipeline environment after an apply (drift is written on its own)."""

    pipeline: str
    env: str
    status: str
    revision: str
    run_id: str
    graph: dict[str, list[str]]  # stack -> the stacks it depends on, as `pipectl graph` draws them
    collector_url: str | None = None
    dashboard_url: str | None = None


class StateStore:
    """Typed writes and reads of the state table, through the controller's one AWS door."""

    def __init__(self, aws: Aws, table: StateTable) -> None:
        self.aws = aws
        self.table = table
        self.ddb = aws.client("dynamodb", table.region)

    def put(self, item: Mapping[str, Any], **conditions: Any) -> None:
        self.ddb.put_item(TableName=self.table.name, Item=_to_ddb(item), **conditions)

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self.ddb.get_item(TableName=self.table.name, Key=_to_ddb({"pk": pk, "sk": sk}), ConsistentRead=True)
        raw = found.get("Item")
        return {k: _deserialize(v) for k, v in raw.items()} if raw else None

    def query(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        """Items of one partition whose sort key starts with `prefix`, all pages."""
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = self.ddb.query(
                TableName=self.table.name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=_to_ddb({":pk": pk, ":prefix": prefix}),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items.extend({k: _deserialize(v) for k, v in raw.items()} for raw in page.get("Items") or [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def record_run(self, run: RunRecord) -> None:
        """The run under each pipeline it touched, and once under its id for lookup."""
        body: dict[str, Any] = {
            "run_id": run.run_id,
            "kind": run.kind,
            "revision": run.revision,
            "actor": run.actor,
            "started_at": run.started_at,
            "result": run.result,
            "trigger": run.trigger,
        }
        if run.ended_at:
            body["ended_at"] = run.ended_at
            body["duration_s"] = _seconds(run.started_at, run.ended_at)
        owners = sorted(set(run.pipelines.values()))
        for owner in owners:
            mine = {s: r for s, r in run.stacks.items() if run.pipelines.get(s) == owner}
            key = {"pk": f"{PIPELINE_PK_PREFIX}{owner}", "sk": f"{RUN_PREFIX}{run.started_at}#{run.run_id}"}
            self.put({**key, **body, **run_feed_keys(run.started_at, run.run_id), "stacks": mine})
        index = {"pk": f"{RUN_PREFIX}{run.run_id}", "sk": META_SK}
        plan: dict[str, Any] = {}
        if run.plan_markdown is not None:
            data, truncated = compressed_plan(run.plan_markdown)
            plan = {"plan_md_gz": Binary(data), "plan_truncated": truncated}
        self.put({**index, **body, **plan, "stacks": dict(run.stacks), "pipelines": owners})

    def record_stack(
        self, spec: StackSpec, status: str, reason: str, revision: str, outputs: Mapping[str, str] | None = None
    ) -> None:
        self.put(
            {
                "pk": f"{PIPELINE_PK_PREFIX}{spec.owner}",
                "sk": f"{STACK_SK_PREFIX}{spec.state_env}#{spec.name}",
                "stack": spec.name,
                "kind": str(spec.kind),
                "env": spec.state_env,
                "status": status,
                "reason": reason,
                "revision": revision,
                "outputs": dict(outputs or {}),
                "updated_at": now_iso(),
            }
        )

    def _set(self, key: Mapping[str, str], values: Mapping[str, Any]) -> None:
        """Set some attributes of an item and keep the others: apply and drift write one environment item."""
        self.ddb.update_item(
            TableName=self.table.name,
            Key=_to_ddb(key),
            UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in values),
            ExpressionAttributeNames={f"#{n}": n for n in values},
            ExpressionAttributeValues=_to_ddb({f":{n}": v for n, v in values.items()}),
        )

    def record_environment(self, env: EnvironmentRecord) -> None:
        key = {"pk": f"{PIPELINE_PK_PREFIX}{env.pipeline}", "sk": f"{ENV_SK_PREFIX}{env.env}"}
        values = {
            "env": env.env,
            "status": env.status,
            "revision": env.revision,
            "run_id": env.run_id,
            "graph": env.graph,
            "collector_url": env.collector_url,
            "dashboard_url": env.dashboard_url,
            "updated_at": now_iso(),
            **env_feed_keys(env.pipeline, env.env),
        }
        self._set(key, {k: v for k, v in values.items() if v is not None})

    def record_drift(self, pipeline: str, env: str, drift: str, drifted: list[str]) -> None:
        key = {"pk": f"{PIPELINE_PK_PREFIX}{pipeline}", "sk": f"{ENV_SK_PREFIX}{env}"}
        drifted_at = {"drift": drift, "drifted_stacks": sorted(drifted), "drift_checked_at": now_iso()}
        self._set(key, {"env": env, **drifted_at, **env_feed_keys(pipeline, env)})

    def record_access(self, access: Mapping[str, Any]) -> None:
        """The console's group mapping (`_console.yaml` access), read by the API on every request."""
        self.put({"pk": CONSOLE_PK, "sk": ACCESS_SK, **access, "updated_at": now_iso()})

    def record_pipeline(self, name: str, envs: list[str], revision: str, run_id: str) -> None:
        self.put(
            {
                "pk": f"{PIPELINE_PK_PREFIX}{name}",
                "sk": META_SK,
                "name": name,
                "envs": sorted(envs),
                "revision": revision,
                "last_run_id": run_id,
                "updated_at": now_iso(),
                **pipeline_feed_keys(name),
            }
        )


def _to_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serialize(v) for k, v in item.items() if v is not None}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lock:
    """The deploy lock: a conditional put with a lease, renewed by a heartbeat, released on exit.

    A killed run cannot release its lock; its lease (15 minutes) runs out and the next run takes
    over. A run that waits longer than `timeout` fails and names the holder.
    """

    def __init__(
        self,
        store: StateStore,
        owner: str,
        run_id: str,
        lease: float = LEASE_SECONDS,
        heartbeat: float | None = None,
        poll: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.owner = owner
        self.run_id = run_id
        self.lease = lease
        self.heartbeat = heartbeat if heartbeat is not None else lease / 3
        self.poll = poll
        self.clock = clock
        self.lost = False
        self.took_over: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            now = int(self.clock())
            item = {
                **LOCK_KEY,
                "owner": self.owner,
                "run_id": self.run_id,
                "acquired_at": now_iso(),
                "expires_at": now + int(self.lease),
                "host": socket.gethostname(),
                "pid": os.getpid(),
            }
            try:
                self.store.put(
                    item,
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                    ExpressionAttributeValues=_to_ddb({":now": now}),
                )
                break
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
            if self._take_over_from_dead_run(item):
                break
            if time.monotonic() >= deadline:
                raise LockTimeout(self._held_by(timeout))
            time.sleep(self.poll)
        self._thread = threading.Thread(target=self._beat, name="pipectl-lock-heartbeat", daemon=True)
        self._thread.start()

    def _take_over_from_dead_run(self, item: dict[str, Any]) -> bool:
        """A lock held by a process of this machine that no longer runs was left by a killed run.

        Take it over at once (conditionally on that very run still holding it) instead of waiting for
        its lease; a lock held from another machine is only ever taken over when its lease expired.
        """
        holder = self.store.get(**LOCK_KEY) or {}
        pid = holder.get("pid")
        if holder.get("host") != socket.gethostname() or pid is None or _process_alive(int(pid)):
            return False
        try:
            self.store.put(
                item,
                ConditionExpression="run_id = :stale",
                ExpressionAttributeValues=_to_ddb({":stale": holder.get("run_id", "")}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        self.took_over = str(holder.get("run_id", "?"))
        return True

    def _held_by(self, timeout: float) -> str:
        holder = self.store.get(**LOCK_KEY) or {}
        expires = holder.get("expires_at")
        until = datetime.fromtimestamp(int(expires), UTC).isoformat(timespec="seconds") if expires else "?"
        return (
            f"another run holds the deploy lock: {holder.get('owner', '?')} (run {holder.get('run_id', '?')}, "
            f"since {holder.get('acquired_at', '?')}, lease until {until}); waited {timeout:g}s. "
            "Retry later or raise --lock-timeout; a lock left by a killed run expires with its lease."
        )

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                self.store.ddb.update_item(
                    TableName=self.store.table.name,
                    Key=_to_ddb(LOCK_KEY),
                    UpdateExpression="SET expires_at = :expires",
                    ConditionExpression="run_id = :run",
                    ExpressionAttributeValues=_to_ddb(
                        {":expires": int(self.clock() + self.lease), ":run": self.run_id}
                    ),
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    self.lost = True
                    return
            except BotoCoreError:
                continue  # a dropped connection: the next beat, well within the lease, tries again

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.store.ddb.delete_item(
                TableName=self.store.table.name,
                Key=_to_ddb(LOCK_KEY),
                ConditionExpression="run_id = :run",
                ExpressionAttributeValues=_to_ddb({":run": self.run_id}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
