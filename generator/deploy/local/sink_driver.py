"""The local target's event source mapping: the sink function driven from the local stream as Lambda would.

Per shard, records are read from the checkpoint on (TRIM_HORIZON at first), gathered into batches of up
to `batch_size` or whatever waited `window_s`, and handed to the handler with Lambda's Kinesis event
shape. A batch that fails is split in two (BisectBatchOnFunctionError) and retried with backoff up to
`max_retries` times; one that still fails is reported to the dead-letter queue, as the mapping's
OnFailure destination is, and skipped. The checkpoint (per shard, the last sequence number handled)
moves only past handled or reported batches and is kept in a file, so a restarted driver resumes.

Run as a process: `python -m generator.deploy.local.sink_driver --endpoint URL --region R --stream S
--bucket B --checkpoint FILE [--dead-letter-queue URL]`, stopped by SIGTERM after one last poll.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]
SINK_BATCH_SIZE = 1000  # the processing stack's event source mapping (generator/stacks/processing.py)
SINK_RETRIES = 10
LOCAL_WINDOW_S = 1.0  # AWS waits up to 60 s to fill a batch; locally a second keeps `pipectl up` lively
POLL_INTERVAL_S = 0.2


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = field(default_factory=lambda: time.monotonic() + 60)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class Mapping:
    """What the processing stack's EventSourceMapping says, with a local batching window."""

    stream_name: str
    region: str
    function_name: str = "sink"
    batch_size: int = SINK_BATCH_SIZE
    window_s: float = LOCAL_WINDOW_S
    max_retries: int = SINK_RETRIES
    backoff_s: float = 0.05


@dataclass
class _Shard:
    iterator: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)
    first_seen: float = 0.0


class StreamDriver:
    def __init__(
        self,
        kinesis: Any,
        handler: Handler,
        mapping: Mapping,
        checkpoint: Path,
        report_failure: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.kinesis = kinesis
        self.handler = handler
        self.mapping = mapping
        self.checkpoint = checkpoint
        self.report_failure = report_failure or (lambda message: None)
        self.positions: dict[str, str] = _read_checkpoint(checkpoint)
        self.shards: dict[str, _Shard] = {}
        self.invocations = 0
        self.failed_batches = 0
        description = kinesis.describe_stream_summary(StreamName=mapping.stream_name)["StreamDescriptionSummary"]
        self.stream_arn = str(description["StreamARN"])

    def poll(self, flush: bool = False) -> int:
        """One pass over every shard; returns the records handed to the handler. `flush` ignores the window."""
        handled = 0
        for shard_id in self._shard_ids():
            shard = self.shards.setdefault(shard_id, _Shard())
            if shard.iterator is None:
                shard.iterator = self._iterator(shard_id)
            page = self.kinesis.get_records(ShardIterator=shard.iterator, Limit=self.mapping.batch_size)
            shard.iterator = page.get("NextShardIterator") or shard.iterator
            if page["Records"] and not shard.pending:
                shard.first_seen = time.monotonic()
            shard.pending += [self._event_record(shard_id, r) for r in page["Records"]]
            while shard.pending and (
                flush
                or len(shard.pending) >= self.mapping.batch_size
                or time.monotonic() - shard.first_seen >= self.mapping.window_s
            ):
                size = self.mapping.batch_size
                batch, shard.pending = shard.pending[:size], shard.pending[size:]
                self._deliver(shard_id, batch)
                handled += len(batch)
                self.positions[shard_id] = batch[-1]["kinesis"]["sequenceNumber"]
                _write_checkpoint(self.checkpoint, self.positions)
                shard.first_seen = time.monotonic()
        return handled

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll()
            stop.wait(POLL_INTERVAL_S)
        self.poll(flush=True)

    def _shard_ids(self) -> list[str]:
        shards = self.kinesis.list_shards(StreamName=self.mapping.stream_name)["Shards"]
        return [str(s["ShardId"]) for s in shards]

    def _iterator(self, shard_id: str) -> str:
        after = self.positions.get(shard_id)
        where: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        answer = self.kinesis.get_shard_iterator(StreamName=self.mapping.stream_name, ShardId=shard_id, **where)
        return str(answer["ShardIterator"])

    def _event_record(self, shard_id: str, record: dict[str, Any]) -> dict[str, Any]:
        """A record as Lambda hands it over: base64 data, sequence number, `shardId:sequence` event id."""
        arrived = record.get("ApproximateArrivalTimestamp")
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode(),
                "approximateArrivalTimestamp": arrived.timestamp() if arrived else time.time(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "awsRegion": self.mapping.region,
            "eventSourceARN": self.stream_arn,
        }

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """Invoke with retries; a failing batch is bisected, and a single failing half reported."""
        error = ""
        for attempt in range(self.mapping.max_retries + 1):
            try:
                self.invocations += 1
                self.handler({"Records": batch}, LambdaContext(self.mapping.function_name))
                return
            except Exception as exc:  # a handler's failure of any kind is the function error Lambda sees
                error = f"{type(exc).__name__}: {exc}"
            if len(batch) > 1:
                middle = len(batch) // 2
                self._deliver(shard_id, batch[:middle])
                self._deliver(shard_id, batch[middle:])
                return
            time.sleep(min(2.0, self.mapping.backoff_s * 2**attempt))
        self.failed_batches += 1
        self.report_failure(self._failure(shard_id, batch, error))

    def _failure(self, shard_id: str, batch: list[dict[str, Any]], error: str) -> dict[str, Any]:
        """The message Lambda sends to an OnFailure destination: where the batch is, not its data."""
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.mapping.function_name,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.mapping.max_retries + 1,
            },
            "responseContext": {"statusCode": 200, "functionError": "Unhandled", "error": error[:500]},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "KinesisBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": batch[0]["kinesis"]["sequenceNumber"],
                "endSequenceNumber": batch[-1]["kinesis"]["sequenceNumber"],
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }


def _read_checkpoint(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_checkpoint(path: Path, positions: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(positions, indent=2, sort_keys=True) + "\n")
    scratch.replace(path)


def sink_handler(bucket: str, raw_prefix: str) -> Handler:
    """The processing stack's sink function, configured as its template configures it (BUCKET, RAW_PREFIX).

    Like Lambda, the variables are the process's environment; the caller points boto3 at the local target.
    """
    os.environ["BUCKET"] = bucket
    os.environ["RAW_PREFIX"] = raw_prefix
    from generator.stacks.functions import sink

    return sink.handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.deploy.local.sink_driver")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--raw-prefix", default="raw/")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--dead-letter-queue", default=None)
    parser.add_argument("--window", type=float, default=LOCAL_WINDOW_S)
    args = parser.parse_args(argv)

    from generator.deploy.local.session import local_env, local_session

    os.environ.update(local_env(args.endpoint, args.region))
    session = local_session(args.endpoint, args.region)
    sqs = session.client("sqs") if args.dead_letter_queue else None

    def report(message: dict[str, Any]) -> None:
        print(json.dumps({"level": "error", "message": "batch sent to the dead-letter queue", **message}), flush=True)
        if sqs is not None:
            sqs.send_message(QueueUrl=args.dead_letter_queue, MessageBody=json.dumps(message))

    mapping = Mapping(args.stream, args.region, window_s=args.window)
    driver = StreamDriver(
        session.client("kinesis"), sink_handler(args.bucket, args.raw_prefix), mapping, args.checkpoint, report
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(json.dumps({"level": "info", "message": "driving the sink function", "stream": args.stream}), flush=True)
    driver.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
