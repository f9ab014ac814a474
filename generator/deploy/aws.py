"""The one door to AWS: every call of the controller goes through `Aws` and its `Client`s.

Here, and only here, live the credential choice (`--target aws` or a local endpoint), botocore's
retry mode, the controller's own backoff for throttling and transient errors, the per-operation
call counter the benchmarks read, and `poll`, the only way to wait (always with a timeout).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from generator.deploy.errors import WaitTimeout

T = TypeVar("T")

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)
TRANSIENT = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# Operations that change nothing, so a transient failure (reset connection, 5xx) can be retried
# safely. Writes are retried only when throttled: a throttled request was never carried out.
READ_PREFIXES = ("describe_", "list_", "get_", "validate_", "estimate_", "scan", "query", "batch_get_")
LOCAL_CREDENTIALS = "testing"


@dataclass(frozen=True)
class Target:
    """Where stacks go: real AWS (credential chain, profile, AWS_ENDPOINT_URL) or a local endpoint."""

    kind: Literal["aws", "local"]
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    # The role CloudFormation deploys with (the delivery stack's execution role), so that the caller
    # itself never needs the permissions to create resources. None: CloudFormation uses the caller's.
    cloudformation_role_arn: str | None = None

    @classmethod
    def aws(cls, region: str, profile: str | None = None, role_arn: str | None = None) -> Target:
        return cls(
            "aws",
            region,
            profile,
            os.environ.get("AWS_ENDPOINT_URL") or None,
            role_arn or os.environ.get("PIPECTL_CLOUDFORMATION_ROLE_ARN") or None,
        )

    @classmethod
    def local(cls, endpoint_url: str, region: str, role_arn: str | None = None) -> Target:
        return cls("local", region, None, endpoint_url, role_arn)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"{self.kind} ({self.region}{where})"


@dataclass(frozen=True)
class Timeouts:
    """Upper bounds for every wait; `poll` is the pause between two reads."""

    change_set: float = 300.0
    stack: float = 3600.0
    drift: float = 600.0
    poll: float = 5.0

    @classmethod
    def for_target(cls, target: Target) -> Timeouts:
        # moto answers synchronously: short polls, and a stack still in progress after two minutes is stuck.
        return cls(change_set=30.0, stack=120.0, drift=60.0, poll=0.05) if target.is_local else cls()


@dataclass
class RetryPolicy:
    """The controller's own backoff, on top of botocore's: full jitter, capped, bounded attempts."""

    attempts: int = 8
    base: float = 0.5
    cap: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2**attempt))


class CallCounter:
    """Calls and retries per `service:Operation`, thread-safe; the benchmarks read it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()

    def count(self, key: str, retry: bool = False) -> None:
        with self._lock:
            (self.retries if retry else self.calls)[key] += 1

    def total(self, service: str, reads_only: bool = False) -> int:
        with self._lock:
            return sum(
                n
                for key, n in self.calls.items()
                if key.startswith(f"{service}:") and (not reads_only or is_read(key.split(":")[1]))
            )

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)


def is_read(operation: str) -> bool:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
    return snake.startswith(READ_PREFIXES)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return error_code(exc) in TRANSIENT or status >= 500
    return False


class Client:
    """A boto3 client whose every method is counted and retried by the controller's policy."""

    def __init__(
        self, service: str, read: BaseClient, write: BaseClient, counter: CallCounter, policy: RetryPolicy
    ) -> None:
        self.service = service
        self.read = read
        self.write = write
        self._counter = counter
        self._policy = policy

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        readonly = method.startswith(READ_PREFIXES)
        raw = getattr(self.read if readonly else self.write, method)
        operation = raw.__name__ if hasattr(raw, "__name__") else method
        key = f"{self.service}:{_camel(operation)}"

        def call(**kwargs: Any) -> Any:
            attempt = 0
            while True:
                self._counter.count(key, retry=attempt > 0)
                try:
                    try:
                        return raw(**kwargs)
                    except ResponseParserError as exc:
                        # An HTTP 500 page instead of an AWS error (moto does this when a resource fails).
                        raise ClientError(
                            {"Error": {"Code": "InternalFailure", "Message": f"the service failed: {exc}"[:300]}},
                            operation,
                        ) from exc
                except (ClientError, BotoCoreError) as exc:
                    retryable = is_throttling(exc) or (readonly and is_transient(exc))
                    if not retryable or attempt + 1 >= self._policy.attempts:
                        raise
                    self._policy.sleep(self._policy.delay(attempt))
                    attempt += 1

        return call

    def paginate(self, method: str, key: str, **kwargs: Any) -> list[Any]:
        """All items of a NextToken-paginated read, one counted (and retried) call per page."""
        items: list[Any] = []
        token: str | None = None
        while True:
            page = getattr(self, method)(**kwargs, **({"NextToken": token} if token else {}))
            items.extend(page.get(key, []))
            token = page.get("NextToken")
            if not token:
                return items


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


class Aws:
    """Clients per service and region for one target, sharing one counter and one retry policy."""

    def __init__(self, target: Target, policy: RetryPolicy | None = None, timeouts: Timeouts | None = None) -> None:
        self.target = target
        self.counter = CallCounter()
        self.policy = policy or RetryPolicy()
        self.timeouts = timeouts or Timeouts.for_target(target)
        self._session = self._new_session()
        self._clients: dict[tuple[str, str], Client] = {}
        self._lock = threading.Lock()

    def _new_session(self) -> boto3.session.Session:
        if self.target.is_local:
            return boto3.session.Session(
                aws_access_key_id=LOCAL_CREDENTIALS,
                aws_secret_access_key=LOCAL_CREDENTIALS,
                region_name=self.target.region,
            )
        return boto3.session.Session(profile_name=self.target.profile, region_name=self.target.region)

    def client(self, service: str, region: str | None = None) -> Client:
        """A cached client; create clients before starting threads, boto3 sessions are not thread-safe."""
        where = region or self.target.region
        with self._lock:
            if (service, where) not in self._clients:
                mode = "standard" if self.target.is_local else "adaptive"
                common: dict[str, Any] = {"connect_timeout": 10, "read_timeout": 70}
                reads = Config(retries={"mode": mode, "max_attempts": 5}, **common)
                writes = Config(retries={"mode": mode, "total_max_attempts": 1}, **common)
                kwargs: dict[str, Any] = {"region_name": where}
                if self.target.endpoint_url:
                    kwargs["endpoint_url"] = self.target.endpoint_url
                self._clients[(service, where)] = Client(
                    service,
                    self._session.client(service, config=reads, **kwargs),
                    self._session.client(service, config=writes, **kwargs),
                    self.counter,
                    self.policy,
                )
            return self._clients[(service, where)]

    def cfn(self, region: str | None = None) -> Client:
        return self.client("cloudformation", region)

    def actor(self) -> str:
        """Who runs this: the caller identity's ARN, or $USER when STS cannot tell."""
        try:
            return str(self.client("sts").get_caller_identity()["Arn"])
        except (ClientError, BotoCoreError):
            return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"

    def poll(self, read: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str) -> T:
        """Read until `done`, pausing `timeouts.poll` between reads; WaitTimeout after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = read()
            if done(value):
                return value
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}")
            time.sleep(self.timeouts.poll)
