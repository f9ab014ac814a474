"""CloudWatch metric alarms (the pipeline's alarms to its SNS topic) in moto's CloudWatch backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend, moto_class
from generator.deploy.local.models._base import PipectlModel, tag_list


def _backend(account_id: str, region_name: str) -> Any:
    return backend("cloudwatch", account_id, region_name)


class PipectlAlarm(PipectlModel):
    """Ref is the alarm name; put_metric_alarm overwrites, so updates happen in place."""

    TYPE = "AWS::CloudWatch::Alarm"

    ATTRIBUTES = ("Arn",)
    NAME_PROPERTY = "AlarmName"

    def __init__(self, name: str, arn: str) -> None:
        self.physical_resource_id = name
        self.attributes = {"Arn": arn}

    @classmethod
    def create(cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str) -> PipectlAlarm:
        p = properties
        alarm = _backend(account_id, region_name).put_metric_alarm(
            name=resource_name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            metric_data_queries=[_query(m) for m in p["Metrics"]] if p.get("Metrics") else None,
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if "DatapointsToAlarm" in p else None,
            period=int(p["Period"]) if "Period" in p else None,
            threshold=float(p["Threshold"]) if "Threshold" in p else None,
            statistic=p.get("Statistic"),
            extended_statistic=p.get("ExtendedStatistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
            tags=tag_list(p.get("Tags")),
        )
        return cls(alarm.name, alarm.alarm_arn)

    def update(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> PipectlAlarm | None:
        """put_metric_alarm overwrites: in place unless renamed."""
        return None if name != self.current_name() else self.create(name, properties, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_alarms([self.physical_resource_id])


def _query(metric: dict[str, Any]) -> Any:
    stat = metric.get("MetricStat")
    metric_stat = None
    if stat:
        definition = stat["Metric"]
        dimensions = [
            moto_class("cloudwatch", "Dimension")(d["Name"], d["Value"]) for d in definition.get("Dimensions", [])
        ]
        metric_stat = moto_class("cloudwatch", "MetricStat")(
            metric=moto_class("cloudwatch", "Metric")(
                definition["MetricName"], definition.get("Namespace"), dimensions
            ),
            period=str(stat["Period"]),
            stat=stat["Stat"],
            unit=stat.get("Unit"),
        )
    return moto_class("cloudwatch", "MetricDataQuery")(
        query_id=metric["Id"],
        label=metric.get("Label"),
        period=metric.get("Period"),
        return_data=metric.get("ReturnData"),
        expression=metric.get("Expression"),
        metric_stat=metric_stat,
    )
