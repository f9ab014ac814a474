"""What a sink type contributes to each stack of a pipeline: the one place a sink's behaviour lives.

A sink type is a strategy. Every stack builder asks the pipeline's sink for its part: the storage
stack for the resources events land in, the ingestion stack for the collector's settings and IAM
policy, the processing stack for what moves events into `raw/`, the monitoring stack for alarms and
dashboard widgets. The defaults are "nothing to add"; a sink overrides what it needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from generator.spec.loader import Pipeline
from generator.spec.sinks import SinkSettings, tag_of

if TYPE_CHECKING:
    from awacs.aws import Policy

    from generator.stacks.ingestion.context import IngestionStack
    from generator.stacks.monitoring import MonitoringStack
    from generator.stacks.processing import ProcessingStack
    from generator.stacks.storage import StorageStack

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
    def add_storage(self, stack: StorageStack) -> None:
        """Resources events land in, besides the data bucket, with their outputs."""

    # The ingestion stack.
    @abstractmethod
    def collector_environment(self, stack: IngestionStack) -> dict[str, Any]:
        """The collector's settings for this sink (environment variables besides SINK_TYPE)."""

    @abstractmethod
    def collector_policy(self, stack: IngestionStack) -> Policy:
        """Everything the collector's task role may do: write to this sink, nothing else."""

    # The processing stack.
    def add_processing(self, stack: ProcessingStack) -> None:
        """What moves events from the sink into raw/, when the sink does not write there itself."""

    # The monitoring stack.
    def dashboard_names(self, stack: MonitoringStack) -> dict[str, Any]:
        """Values for the ${Name} placeholders of this sink's widgets."""
        return {}

    def widgets(self, pipeline: Pipeline) -> list[Widget]:
        """The dashboard's sink row, left to right."""
        return []

    def functions(self) -> list[dict[str, str]]:
        """Functions of this sink that get the dashboard's per-function row (title, placeholder)."""
        return []

    def arrivals(self, stack: MonitoringStack) -> Arrivals | None:
        """The metric that counts events reaching the sink; None: count requests at the collectors."""
        return None

    def add_alarms(self, stack: MonitoringStack) -> None:
        """Alarms for the ways this sink fails or falls behind."""
