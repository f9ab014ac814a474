"""Alarms and the metrics they watch, shared by the monitoring stack and the sink modules.

Every alarm of a pipeline is named `pipectl-<pipeline>-<env>-<slug>`, notifies one topic on alarm and on
recovery, and has a description that opens with pipeline and environment and ends with where to look.
"""

from __future__ import annotations

from typing import Any

from troposphere import Ref, Template
from troposphere.cloudwatch import Alarm, Metric, MetricDataQuery, MetricDimension, MetricStat

from generator.spec.loader import Pipeline

FAILURE_PERIOD_S = 300


def dashboard_name(pipeline: Pipeline) -> str:
    return f"pipectl-{pipeline.name}-{pipeline.env}"


class Alarms:
    """Adds alarms that share the pipeline's naming and the topic for both alarm and recovery."""

    def __init__(self, template: Template, pipeline: Pipeline, topic: Ref) -> None:
        self.template = template
        self.pipeline = pipeline
        self.topic = topic
        self.added: list[str] = []

    def add(self, logical_id: str, slug: str, description: str, **properties: Any) -> Alarm:
        """The description opens with pipeline and environment and ends with where to look first."""
        alarm = Alarm(
            logical_id,
            AlarmName=f"pipectl-{self.pipeline.name}-{self.pipeline.env}-{slug}",
            AlarmDescription=(
                f"[{self.pipeline.name}/{self.pipeline.env}] {description} "
                f"Dashboard: {dashboard_name(self.pipeline)} in CloudWatch."
            ),
            AlarmActions=[self.topic],
            OKActions=[self.topic],
            **properties,
        )
        added: Alarm = self.template.add_resource(alarm)
        self.added.append(logical_id)
        return added


def failed_more_than(errors: int) -> str:
    """How often a function failed for its alarm to fire, in words (`monitoring.function_errors`)."""
    window = f"{FAILURE_PERIOD_S // 60} minutes"
    return f"in the last {window}" if errors == 0 else f"more than {errors} times in {window}"


def dimensions(**values: Any) -> list[MetricDimension]:
    return [MetricDimension(Name=name, Value=value) for name, value in values.items()]


def metric(namespace: str, name: str, **dimension_values: Any) -> dict[str, Any]:
    """Alarm properties naming one metric."""
    return {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions(**dimension_values)}


def query(query_id: str, namespace: str, name: str, period: int, stat: str, **dimension_values: Any) -> MetricDataQuery:
    """One metric of a metric math alarm, not itself returned."""
    return MetricDataQuery(
        Id=query_id,
        MetricStat=MetricStat(
            Metric=Metric(Namespace=namespace, MetricName=name, Dimensions=dimensions(**dimension_values)),
            Period=period,
            Stat=stat,
        ),
        ReturnData=False,
    )
