"""Collectors on the local target: what `pipectl up` runs so that an event posted locally lands in the local S3.

- `collector_specs(manifest, exports)`: per deployed pipeline environment, the variables its ingestion
  template's task definition gives the collector container (imports resolved from the local target's
  exports), and for Kinesis pipelines what the processing template gives the sink function.
- `start_collectors(endpoint, manifest, workdir)`: one `python -m collector` process per pipeline
  environment on a free loopback port, pointed at the local target; for Kinesis pipelines also a
  sink driver (`sink_driver`), the local stand-in for the sink function's event source mapping.
  Running ones are kept. Each is recorded in `<workdir>/.pipectl/collectors.json`.
- `collector_status(workdir)`: the recorded collectors still alive, with their URLs.
- `stop_collectors(workdir)`: SIGTERM (the collector drains to its sink), then the drivers.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generator.deploy.local.session import ACCOUNT_ID, local_env
from generator.deploy.local.supervisor import (
    LOOPBACK,
    Supervised,
    answers,
    free_port,
    launch,
    recorded,
    write_record,
)
from generator.deploy.manifest import Manifest, StackSpec

COLLECTOR = "the collector"
DRIVER = "the sink driver"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 30.0  # the collector's own drain deadline is 25 s
# An S3 sink flushes an object by size or age (INTERVAL_S, often minutes on AWS, where objects should be
# large); locally an event posted should be in the bucket within seconds, like the sink driver's window.
LOCAL_INTERVAL_S = 2.0


@dataclass(frozen=True)
class CollectorSpec:
    """One pipeline environment's collector as the local target runs it."""

    pipeline: str
    env: str
    region: str
    variables: dict[str, str]  # the container's environment, as the task definition sets it
    stream_name: str | None = None  # Kinesis pipelines: what the sink driver reads
    bucket: str | None = None  # ... and where the sink function writes
    raw_prefix: str = "raw/"
    dead_letter_queue: str | None = None  # the processing stack's queue name


def state_file(workdir: Path) -> Path:
    return workdir / ".pipectl" / "collectors.json"


def _folder(workdir: Path) -> Path:
    return workdir / ".pipectl" / "collectors"


def checkpoint_file(workdir: Path, spec: CollectorSpec) -> Path:
    """Where the sink driver keeps its positions: per stream, as sequence numbers mean nothing in another
    (a local target started afresh makes a new stream, whose records a stale checkpoint would skip)."""
    return _folder(workdir) / f"{spec.pipeline}-{spec.env}.{spec.stream_name}.checkpoint.json"


def local_exports(session: Any) -> dict[str, str]:
    """Every CloudFormation export of the local target in one region (a `local_session`)."""
    pages = session.client("cloudformation").get_paginator("list_exports").paginate()
    return {e["Name"]: e["Value"] for page in pages for e in page["Exports"]}


def _resolve(value: Any, exports: dict[str, str]) -> str | None:
    """A literal, or an import of an export that exists; None when the export is missing (not deployed)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::ImportValue"), str):
        return exports.get(value["Fn::ImportValue"])
    return None


def _resources(manifest: Manifest, spec: StackSpec, kind: str) -> list[dict[str, Any]]:
    template = json.loads(manifest.template_body(spec))
    return [r for r in (template.get("Resources") or {}).values() if r.get("Type") == kind]


def _variables(pairs: dict[str, Any], exports: dict[str, str]) -> dict[str, str] | None:
    resolved = {name: _resolve(value, exports) for name, value in pairs.items()}
    if any(value is None for value in resolved.values()):
        return None
    return {name: str(value) for name, value in resolved.items()}


def collector_specs(manifest: Manifest, exports: dict[str, str]) -> list[CollectorSpec]:
    """The collectors of every pipeline environment whose ingestion stack's imports are all exported."""
    stacks: dict[tuple[str, str], dict[str, StackSpec]] = {}
    for stack in manifest.stacks:
        if stack.pipeline and stack.env:
            stacks.setdefault((stack.pipeline, stack.env), {})[stack.kind] = stack
    out = []
    for (pipeline, env), kinds in sorted(stacks.items()):
        ingestion = kinds.get("ingestion")
        if ingestion is None:
            continue
        containers = [
            c for task in _resources(manifest, ingestion, "AWS::ECS::TaskDefinition")
            for c in task["Properties"]["ContainerDefinitions"]
        ]  # fmt: skip
        if not containers:
            continue
        variables = _variables({v["Name"]: v["Value"] for v in containers[0].get("Environment", [])}, exports)
        if variables is None:
            continue  # its storage stack is not deployed: nothing to collect into
        spec = CollectorSpec(pipeline, env, ingestion.region, variables)
        if variables.get("SINK_TYPE") == "kinesis" and "processing" in kinds:
            spec = _with_sink_function(spec, manifest, kinds["processing"], exports)
        out.append(spec)
    return out


def _with_sink_function(
    spec: CollectorSpec, manifest: Manifest, processing: StackSpec, exports: dict[str, str]
) -> CollectorSpec:
    for function in _resources(manifest, processing, "AWS::Lambda::Function"):
        pairs = function["Properties"].get("Environment", {}).get("Variables", {})
        if set(pairs) != {"BUCKET", "RAW_PREFIX"}:
            continue  # the enrich function
        variables = _variables(pairs, exports)
        if variables is None:
            return spec
        queue = exports.get(f"{processing.name}:DeadLetterQueueName")
        return CollectorSpec(
            spec.pipeline,
            spec.env,
            spec.region,
            spec.variables,
            spec.variables.get("STREAM_NAME"),
            variables["BUCKET"],
            variables["RAW_PREFIX"],
            queue,
        )
    return spec


def start_collectors(endpoint: str, manifest: Manifest, workdir: Path) -> list[dict[str, Any]]:
    """Start the collectors of every deployed pipeline environment (keeping running ones); their records."""
    from generator.deploy.local.session import local_session

    running = {(r["pipeline"], r["env"]): r for r in collector_status(workdir)}
    regions = sorted({spec.region for spec in manifest.stacks})
    exports: dict[str, str] = {}
    for region in regions:
        exports |= local_exports(local_session(endpoint, region))
    records: list[dict[str, Any]] = []
    try:
        for spec in collector_specs(manifest, exports):
            record = running.pop((spec.pipeline, spec.env), None)
            if record is None or record["variables"] != spec.variables:
                if record is not None:
                    _stop(record)
                record = start_collector(endpoint, spec, workdir)
            records.append(record)
    except RuntimeError:
        _write(workdir, [*records, *running.values()])  # what runs stays recorded: `local stop` stops it
        raise
    for gone in running.values():  # pipeline environments no longer deployed
        _stop(gone)
    _write(workdir, records)
    return records


def start_collector(endpoint: str, spec: CollectorSpec, workdir: Path) -> dict[str, Any]:
    """One collector (and, for Kinesis, its sink driver) as detached processes; returns its record."""
    folder = _folder(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{spec.pipeline}-{spec.env}"
    port = free_port(LOOPBACK)
    env = {
        **os.environ,
        **spec.variables,
        **local_env(endpoint, spec.region),
        "PORT": str(port),
        "HOST": LOOPBACK,
        "PIPELINE": spec.pipeline,
        "ENVIRONMENT": spec.env,
    }
    if spec.variables.get("SINK_TYPE") == "s3":
        env["INTERVAL_S"] = str(min(LOCAL_INTERVAL_S, float(spec.variables.get("INTERVAL_S") or LOCAL_INTERVAL_S)))
    log = folder / f"{name}.log"
    health = f"http://{LOOPBACK}:{port}{spec.variables.get('HEALTH_PATH', '/health')}"
    collector = launch(COLLECTOR, [sys.executable, "-m", "collector"], log, answers(health), START_TIMEOUT_S, env)
    driver: dict[str, Any] = {"driver_pid": None}
    if spec.stream_name and spec.bucket:
        command = [
            sys.executable, "-m", "generator.deploy.local.sink_driver",
            "--endpoint", endpoint, "--region", spec.region, "--stream", spec.stream_name,
            "--bucket", spec.bucket, "--raw-prefix", spec.raw_prefix,
            "--checkpoint", str(checkpoint_file(workdir, spec).resolve()),
        ]  # fmt: skip
        if spec.dead_letter_queue:
            command += ["--dead-letter-queue", f"{endpoint}/{ACCOUNT_ID}/{spec.dead_letter_queue}"]
        driver_env = {**os.environ, **local_env(endpoint, spec.region)}
        # Nothing to wait for: the driver polls the stream, and its checkpoint keeps what it read.
        started = launch(DRIVER, command, folder / f"{name}.sink.log", lambda: True, START_TIMEOUT_S, driver_env)
        driver = started.fields("driver_pid")
    return {
        **asdict(spec),
        "url": f"http://{LOOPBACK}:{port}{spec.variables.get('ENDPOINT_PATH', '/collect')}",
        "health": health,
        "port": port,
        **collector.fields(),
        **driver,
        "log": str(log),
    }


def collector_status(workdir: Path) -> list[dict[str, Any]]:
    """The recorded collectors whose process is alive (stale records are dropped from the file, and the
    sink drivers of the dead ones stopped)."""
    try:
        records: list[dict[str, Any]] = json.loads(state_file(workdir).read_text())
    except (FileNotFoundError, ValueError):
        return []
    alive = [r for r in records if isinstance(r, dict) and _collector(r).running()]
    if len(alive) != len(records):
        for record in records:
            if record not in alive and isinstance(record, dict) and record.get("driver_pid"):
                _driver(record).stop(STOP_TIMEOUT_S)
        _write(workdir, alive)
    return alive


def collector_url(workdir: Path, pipeline: str, env: str) -> str | None:
    """Where the local collector of one pipeline environment takes events, if it runs."""
    return next((r["url"] for r in collector_status(workdir) if (r["pipeline"], r["env"]) == (pipeline, env)), None)


def stop_collectors(workdir: Path) -> int:
    """Drain and stop every recorded collector, then its sink driver; returns how many were running."""
    records = collector_status(workdir)
    for record in records:
        _stop(record)
    state_file(workdir).unlink(missing_ok=True)
    return len(records)


def _stop(record: dict[str, Any]) -> None:
    """The collector first, so what it drains to the stream is still read by the driver's last poll."""
    _collector(record).stop(STOP_TIMEOUT_S)
    if record.get("driver_pid"):
        _driver(record).stop(STOP_TIMEOUT_S)


def _collector(record: dict[str, Any]) -> Supervised:
    """The record's collector; a record that names no pid names no running process."""
    try:
        return recorded(COLLECTOR, record, Path(str(record.get("log", ""))))
    except (ValueError, KeyError, TypeError):
        return Supervised(COLLECTOR, 0, Path(), None)


def _driver(record: dict[str, Any]) -> Supervised:
    return recorded(DRIVER, record, Path(str(record.get("log", ""))).with_suffix(".sink.log"), key="driver_pid")


def _write(workdir: Path, records: list[dict[str, Any]]) -> None:
    write_record(state_file(workdir), records, sort_keys=True)
