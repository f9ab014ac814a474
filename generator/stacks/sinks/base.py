"""What a sink type contributes to each stack of a pipeline: the one place a sink's behaviour lives.

A sink type is a strategy. Every stack builder asks the pipeline's sink for its part, handing it the
stack's context; the `...View` protocols below say what a sink may use of each: the storage
stack for the resources events land in, the ingestion stack for the collector's settings and IAM
policy, the processing stack for what moves events into `raw/`, the monitoring stack for alarms and
dashboard widgets. The defaults are "nothing to add"; a sink overrides what it needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from awacs.aws import Policy
from troposphere import ImportValue, Template
from troposphere.awslambda import Function
from troposphere.iam import Role
from troposphere.logs import LogGroup
from troposphere.sqs import Queue

from generator.spec.loader import Pipeline
from generator.spec.sinks import SinkSettings, tag_of
from generator.stacks.alarms import Alarms

Settings = TypeVar("Settings", bound=SinkSettings)

RAW_PREFIX = "raw/"
"""Where every sink lands events in the data bucket, as `raw/YYYY/MM/DD/HH/…` (UTC): what enrichment reads."""


@dataclass(frozen=True)
class Widget:
    """One metric widget of the sink's dashboard row: the dashboard template's `metric_widget` arguments."""

    x: int
    width: int
    title: str
    metrics: list[list[Any]]
    stat: str = "Sum"
    annotations: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Arrivals:
    """The metric that counts events reaching the sink, for the no-events alarm: where, and which metric."""

    where: str
    metric: dict[str, Any] = field(default_factory=dict)


class StorageView(Protocol):
    """What a sink uses of the storage stack (`storage.StorageStack`)."""

    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def template(self) -> Template: ...
    @property
    def retain(self) -> bool: ...
    @property
    def key_arn(self) -> Any: ...
    @property
    def data_bucket_arn(self) -> Any: ...
    def output(self, name: str, value: Any, description: str) -> None: ...


class IngestionView(Protocol):
    """What a sink uses of the ingestion stack (`ingestion.context.IngestionStack`)."""

    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def key_arn(self) -> ImportValue: ...
    def storage_output(self, name: str) -> ImportValue: ...


class ProcessingView(Protocol):
    """What a sink uses of the processing stack (`processing.ProcessingStack`)."""

    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def template(self) -> Template: ...
    @property
    def key_arn(self) -> ImportValue: ...
    @property
    def bucket_name(self) -> ImportValue: ...
    @property
    def bucket_arn(self) -> ImportValue: ...
    @property
    def dead_letter_queue(self) -> Queue: ...
    def storage_output(self, name: str) -> ImportValue: ...
    def output(self, name: str, value: Any, description: str) -> None: ...
    def function_log_group(self, prefix: str, function: str) -> LogGroup: ...
    def function_role(self, prefix: str, document: Policy) -> Role: ...
    def function(
        self, prefix: str, source: str, role: Role, log_group: LogGroup, description: str, variables: dict[str, Any]
    ) -> Function: ...


class MonitoringView(Protocol):
    """What a sink uses of the monitoring stack (`monitoring.MonitoringStack`)."""

    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def bucket(self) -> ImportValue: ...
    @property
    def alarms(self) -> Alarms: ...
    def imported(self, kind: str, output: str) -> ImportValue: ...


class SinkType(ABC, Generic[Settings]):
    """One sink type. Subclasses set `model`, say how collectors write to the sink, and override the
    other contributions their sink makes."""

    model: ClassVar[type[SinkSettings]]
    landing: ClassVar[str]
    """Where collected events land first, in words, for the dashboard's introduction."""
    resource_types: ClassVar[frozenset[str]] = frozenset()
    """Resource types this sink adds to the pipeline's stacks: the execution role must be able to create
    them, and the local target must be able to materialise them."""
    sample: ClassVar[dict[str, Any]]
    """Settings that turn on every resource of this sink, for synthesizing the types pipectl emits."""

    @property
    def tag(self) -> str:
        return tag_of(self.model)

    def settings(self, pipeline: Pipeline) -> Settings:
        """The pipeline's sink settings, typed as this sink's model."""
        sink = pipeline.spec.ingestion.sink
        if not isinstance(sink, self.model):
            raise TypeError(f"{pipeline.name}/{pipeline.env}: sink {sink.type!r} asked of the {self.tag} sink")
        settings: Settings = sink  # type: ignore[assignment]  # checked just above
        return settings

    # The storage stack.
    def add_storage(self, stack: StorageView) -> None:
        """Resources events land in, besides the data bucket, with their outputs."""

    # The ingestion stack.
    @abstractmethod
    def collector_environment(self, stack: IngestionView) -> dict[str, Any]:
        """The collector's settings for this sink (environment variables besides SINK_TYPE)."""

    @abstractmethod
    def collector_policy(self, stack: IngestionView) -> Policy:
        """Everything the collector's task role may do: write to this sink, nothing else."""

    # The processing stack.
    def add_processing(self, stack: ProcessingView) -> None:
        """What moves events from the sink into raw/, when the sink does not write there itself."""

    # The monitoring stack.
    def dashboard_names(self, stack: MonitoringView) -> dict[str, Any]:
        """Values for the ${Name} placeholders of this sink's widgets."""
        return {}

    def widgets(self, pipeline: Pipeline) -> list[Widget]:
        """The dashboard's sink row, left to right."""
        return []

    def functions(self) -> list[dict[str, str]]:
        """Functions of this sink that get the dashboard's per-function row (title, placeholder)."""
        return []

    def arrivals(self, stack: MonitoringView) -> Arrivals | None:
        """The metric that counts events reaching the sink; None: count requests at the collectors."""
        return None

    def add_alarms(self, stack: MonitoringView) -> None:
        """Alarms for the ways this sink fails or falls behind."""
