"""The monitoring stack: one dashboard per pipeline and the alarms that page a person, via one SNS topic.

Everything it watches belongs to other stacks; their names arrive as imports (see common.py's export
contract) and are substituted into the dashboard body and the alarm dimensions. The dashboard also
shows pipectl's own deployment metrics for this pipeline and environment (namespace `pipectl`, see
generator/deploy/telemetry.py), which the controller publishes in the pipeline's region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from troposphere import ImportValue, Ref, Sub, Template
from troposphere.cloudwatch import Alarm, Dashboard, Metric, MetricDataQuery, MetricDimension, MetricStat
from troposphere.sns import SubscriptionResource, Topic

from generator.contract import TELEMETRY_NAMESPACE
from generator.spec.loader import Pipeline
from generator.spec.models import KinesisSink
from generator.stacks import common

KIND = "monitoring"
DASHBOARD_PERIOD_S = 300
# Evaluation windows: long enough to ride out one bad minute, short enough to page while it matters.
ERROR_RATE_PERIOD_S = 60
ERROR_RATE_PERIODS = 5
ERROR_RATE_BREACHING = 3
COLLECTORS_PERIOD_S = 60
FAILURE_PERIOD_S = 300
DEPLOYMENT_PERIOD_S = 3600  # pipectl publishes once per plan or apply: hours, not minutes, apart
ITERATOR_AGE_PERIOD_S = 60
ITERATOR_AGE_PERIODS = 5


@dataclass(frozen=True)
class _Watched:
    """Names of the resources other stacks own, imported from their exports."""

    load_balancer: ImportValue
    target_group: ImportValue
    cluster: ImportValue
    service: ImportValue
    bucket: ImportValue
    stream: ImportValue | None
    sink_function: ImportValue | None
    enrich_function: ImportValue
    state_machine_arn: ImportValue
    dead_letter_queue: ImportValue
    key_arn: ImportValue


def build_monitoring(pipeline: Pipeline) -> Template:
    """Alarm topic, dashboard, and one alarm per way the pipeline can fail."""
    template = common.new_template(
        common.describe(pipeline, KIND, "dashboard and alarms for collection, landing and enrichment")
    )
    stack = common.stack_name(pipeline, KIND)
    watched = _watched(pipeline)
    topic = _alarm_topic(template, pipeline, stack, watched)
    alarm = _Alarms(template, pipeline, Ref(topic))
    _ingestion_alarms(alarm, pipeline, watched)
    _processing_alarms(alarm, pipeline, watched)
    _dashboard(template, pipeline, stack, watched, alarm.added)
    return template


def _watched(pipeline: Pipeline) -> _Watched:
    kinesis = isinstance(pipeline.spec.ingestion.sink, KinesisSink)

    def imported(kind: str, output: str) -> ImportValue:
        return common.imported(pipeline, kind, output)

    return _Watched(
        load_balancer=imported("ingestion", "LoadBalancerFullName"),
        target_group=imported("ingestion", "TargetGroupFullName"),
        cluster=imported("ingestion", "ClusterName"),
        service=imported("ingestion", "ServiceName"),
        bucket=imported("storage", "DataBucketName"),
        stream=imported("storage", "StreamName") if kinesis else None,
        sink_function=imported("processing", "SinkFunctionName") if kinesis else None,
        enrich_function=imported("processing", "EnrichFunctionName"),
        state_machine_arn=imported("processing", "StateMachineArn"),
        dead_letter_queue=imported("processing", "DeadLetterQueueName"),
        key_arn=imported("storage", "KeyArn"),
    )


def _alarm_topic(template: Template, pipeline: Pipeline, stack: str, watched: _Watched) -> Topic:
    """Every alarm and its recovery go here. The owner is always subscribed, and `monitoring.alarm_email`
    too when it names someone else; each address confirms its subscription once."""
    topic = template.add_resource(
        Topic(
            "AlarmTopic",
            TopicName=f"pipectl-{pipeline.name}-{pipeline.env}-alarms",
            DisplayName=f"pipectl {pipeline.name} {pipeline.env}",
            KmsMasterKeyId=watched.key_arn,
        )
    )
    template.add_resource(
        SubscriptionResource(
            "AlarmEmailSubscription", TopicArn=Ref(topic), Protocol="email", Endpoint=pipeline.spec.alarm_email
        )
    )
    if pipeline.spec.owner != pipeline.spec.alarm_email:
        template.add_resource(
            SubscriptionResource(
                "OwnerEmailSubscription", TopicArn=Ref(topic), Protocol="email", Endpoint=pipeline.spec.owner
            )
        )
    common.add_output(template, stack, "AlarmTopicArn", Ref(topic), "SNS topic every alarm of the pipeline notifies")
    return topic


def dashboard_name(pipeline: Pipeline) -> str:
    return f"pipectl-{pipeline.name}-{pipeline.env}"


def dashboard_body(pipeline: Pipeline, alarms: Sequence[str] = ()) -> str:
    """The dashboard JSON with ${...} placeholders for Fn::Sub, rendered from templates/; `alarms` are
    logical ids of this template's alarms, shown at the top by their ${Id.Arn}."""
    spec = pipeline.spec
    kinesis = isinstance(spec.ingestion.sink, KinesisSink)
    functions = [{"title": "Sink", "var": "SinkFunction"}] if kinesis else []
    functions.append({"title": "Enrich", "var": "EnrichFunction"})
    intro = (
        f"# pipectl {pipeline.name} / {pipeline.env}\n"
        f"{spec.description or 'Clickstream pipeline'}. Owner: {spec.owner}. "
        f"Events are collected at https://{spec.ingestion.domain.name}{spec.ingestion.endpoint_path}, "
        f"land in {'a Kinesis stream' if kinesis else 'the data bucket'} and are enriched on "
        f"`{spec.processing.schedule}`. Alarms go to {spec.alarm_email}."
    )
    body = common.render_json(
        "dashboard.json.j2",
        intro=intro.replace("${", "${!"),  # Fn::Sub would read ${ in a description as a variable
        sink="kinesis" if kinesis else "s3",
        functions=functions,
        period=DASHBOARD_PERIOD_S,
        deployment_period=DEPLOYMENT_PERIOD_S,
        telemetry_namespace=TELEMETRY_NAMESPACE,
        pipeline=pipeline.name,
        env=pipeline.env,
        alarm_arns=[f"${{{alarm}.Arn}}" for alarm in alarms],
        target_cpu=spec.ingestion.capacity.target_cpu,
        iterator_age_ms=spec.monitoring.iterator_age_seconds * 1000,
        timeout_ms=spec.processing.timeout_s * 1000,
    )
    return json.dumps(body, separators=(",", ":"))


def _dashboard(
    template: Template, pipeline: Pipeline, stack: str, watched: _Watched, alarms: Sequence[str]
) -> Dashboard:
    """Alarms first, then collection, landing and enrichment in the order events flow, then deployments."""
    names: dict[str, Any] = {
        "LoadBalancer": watched.load_balancer,
        "TargetGroup": watched.target_group,
        "Cluster": watched.cluster,
        "Service": watched.service,
        "EnrichFunction": watched.enrich_function,
        "StateMachineArn": watched.state_machine_arn,
        "DeadLetterQueue": watched.dead_letter_queue,
    }
    if watched.stream is not None and watched.sink_function is not None:
        names |= {"Stream": watched.stream, "SinkFunction": watched.sink_function}
    else:
        names["Bucket"] = watched.bucket
    dashboard = template.add_resource(
        Dashboard(
            "Dashboard",
            DashboardName=dashboard_name(pipeline),
            DashboardBody=Sub(dashboard_body(pipeline, alarms), **names),
        )
    )
    common.add_output(template, stack, "DashboardName", Ref(dashboard), "CloudWatch dashboard of the pipeline")
    return dashboard


def _dimensions(**values: Any) -> list[MetricDimension]:
    return [MetricDimension(Name=name, Value=value) for name, value in values.items()]


class _Alarms:
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


def _ingestion_alarms(alarm: _Alarms, pipeline: Pipeline, watched: _Watched) -> None:
    """Collection is failing, silent, or short of collectors."""
    spec = pipeline.spec
    endpoint = f"https://{spec.ingestion.domain.name}{spec.ingestion.endpoint_path}"
    alarm.add(
        "CollectorErrorRateAlarm",
        "collector-error-rate",
        f"More than {spec.monitoring.error_rate_percent:g}% of requests to {endpoint} got a 5xx answer "
        f"(from the load balancer or the collectors) in {ERROR_RATE_BREACHING} of the last "
        f"{ERROR_RATE_PERIODS} minutes: apps are losing events. Check the collector service's tasks and "
        "logs in ECS and the load balancer's target health.",
        Metrics=_error_rate_queries(watched.load_balancer),
        ComparisonOperator="GreaterThanThreshold",
        Threshold=spec.monitoring.error_rate_percent,
        EvaluationPeriods=ERROR_RATE_PERIODS,
        DatapointsToAlarm=ERROR_RATE_BREACHING,
        TreatMissingData="notBreaching",
    )
    if watched.stream is not None:
        where, metric = "the Kinesis stream", _metric("AWS/Kinesis", "IncomingRecords", StreamName=watched.stream)
    else:
        where, metric = (
            "the collectors",
            _metric(
                "AWS/ApplicationELB",
                "RequestCount",
                LoadBalancer=watched.load_balancer,
                TargetGroup=watched.target_group,
            ),
        )
    minutes = spec.monitoring.no_events_minutes
    alarm.add(
        "NoEventsAlarm",
        "no-events",
        f"No events reached {where} for {minutes} minutes. Either the apps stopped sending (a release, "
        f"a tracking change, DNS for {spec.ingestion.domain.name}) or collection is down: open the "
        "dashboard and check collector requests and errors first.",
        **metric,
        Statistic="Sum",
        Period=minutes * 60,
        EvaluationPeriods=1,
        ComparisonOperator="LessThanThreshold",
        Threshold=1,
        TreatMissingData="breaching",
    )
    missing = spec.monitoring.collectors_missing_minutes
    alarm.add(
        "CollectorsBelowDesiredAlarm",
        "collectors-below-desired",
        f"Fewer collector tasks are running than ECS wants, for {missing} minutes in a row: tasks "
        "keep failing to start or to stay healthy, and the remaining collectors may not keep up. Look at "
        "the service's events and stopped tasks in ECS (image pull, health checks, capacity).",
        Metrics=_below_desired_queries(watched.cluster, watched.service),
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        EvaluationPeriods=missing,
        TreatMissingData="notBreaching",
    )


def _processing_alarms(alarm: _Alarms, pipeline: Pipeline, watched: _Watched) -> None:
    """Landing or enrichment fails, falls behind, or leaves work in the dead-letter queue."""
    errors = pipeline.spec.monitoring.function_errors
    failed = _failed_more_than(errors)
    if watched.sink_function is not None:
        alarm.add(
            "SinkErrorsAlarm",
            "sink-errors",
            f"The sink function failed {failed} while writing stream batches to S3. Kinesis retries the "
            "batch, so events are delayed, not lost, until retries run out and the batch lands in the "
            "dead-letter queue. Read the function's log group for the error.",
            **_metric("AWS/Lambda", "Errors", FunctionName=watched.sink_function),
            Statistic="Sum",
            Period=FAILURE_PERIOD_S,
            EvaluationPeriods=1,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=errors,
            TreatMissingData="notBreaching",
        )
        age_s = pipeline.spec.monitoring.iterator_age_seconds
        alarm.add(
            "SinkIteratorAgeAlarm",
            "sink-iterator-age",
            f"The sink function is more than {age_s} seconds behind the Kinesis stream: events reach S3 "
            "late, and are lost once they are older than the stream's retention. Check the sink's errors "
            "and throttles on the dashboard; raise processing.concurrency if it is throttled.",
            **_metric("AWS/Lambda", "IteratorAge", FunctionName=watched.sink_function),
            Statistic="Maximum",
            Period=ITERATOR_AGE_PERIOD_S,
            EvaluationPeriods=ITERATOR_AGE_PERIODS,
            ComparisonOperator="GreaterThanThreshold",
            Threshold=age_s * 1000,
            TreatMissingData="notBreaching",
        )
    alarm.add(
        "EnrichErrorsAlarm",
        "enrich-errors",
        f"The enrich function failed {failed}. The enrichment run of that window fails too and is "
        "reported in the dead-letter queue; raw events are safe in S3 and the window can be rerun. Read the "
        "function's log group for the error.",
        **_metric("AWS/Lambda", "Errors", FunctionName=watched.enrich_function),
        Statistic="Sum",
        Period=FAILURE_PERIOD_S,
        EvaluationPeriods=1,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=errors,
        TreatMissingData="notBreaching",
    )
    alarm.add(
        "EnrichmentFailedAlarm",
        "enrichment-failed",
        "A scheduled enrichment run failed after its retries: enriched data for that time window is "
        "missing. The execution in Step Functions and the message in the dead-letter queue name the "
        "window; fix the cause, then start the state machine again with that window_end.",
        **_metric("AWS/States", "ExecutionsFailed", StateMachineArn=watched.state_machine_arn),
        Statistic="Sum",
        Period=FAILURE_PERIOD_S,
        EvaluationPeriods=1,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        TreatMissingData="notBreaching",
    )
    alarm.add(
        "DeadLettersAlarm",
        "dead-letters",
        "Messages are waiting in the pipeline's dead-letter queue: a stream batch, an enrichment run or a "
        "scheduled start failed for good. Each message says what failed; it stays 14 days. Handle and "
        "delete them, and the alarm clears.",
        **_metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=watched.dead_letter_queue),
        Statistic="Maximum",
        Period=FAILURE_PERIOD_S,
        EvaluationPeriods=1,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        TreatMissingData="notBreaching",
    )


def _failed_more_than(errors: int) -> str:
    """How often a function failed for its alarm to fire, in words (`monitoring.function_errors`)."""
    window = f"{FAILURE_PERIOD_S // 60} minutes"
    return f"in the last {window}" if errors == 0 else f"more than {errors} times in {window}"


def _metric(namespace: str, name: str, **dimensions: Any) -> dict[str, Any]:
    """Alarm properties naming one metric."""
    return {"Namespace": namespace, "MetricName": name, "Dimensions": _dimensions(**dimensions)}


def _query(query_id: str, namespace: str, name: str, period: int, stat: str, **dimensions: Any) -> MetricDataQuery:
    return MetricDataQuery(
        Id=query_id,
        MetricStat=MetricStat(
            Metric=Metric(Namespace=namespace, MetricName=name, Dimensions=_dimensions(**dimensions)),
            Period=period,
            Stat=stat,
        ),
        ReturnData=False,
    )


def _error_rate_queries(load_balancer: ImportValue) -> list[MetricDataQuery]:
    """5xx answers, from the load balancer or the collectors, as a percentage of all requests."""
    period = ERROR_RATE_PERIOD_S
    return [
        _query("requests", "AWS/ApplicationELB", "RequestCount", period, "Sum", LoadBalancer=load_balancer),
        _query("elb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", period, "Sum", LoadBalancer=load_balancer),
        _query(
            "target5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", period, "Sum", LoadBalancer=load_balancer
        ),
        MetricDataQuery(
            Id="errorRate",
            Label="5xx responses (% of requests)",
            Expression="IF(FILL(requests, 0) > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)",
            ReturnData=True,
        ),
    ]


def _below_desired_queries(cluster: ImportValue, service: ImportValue) -> list[MetricDataQuery]:
    """Desired minus running collector tasks, from Container Insights."""
    period = COLLECTORS_PERIOD_S
    dims = {"ClusterName": cluster, "ServiceName": service}
    return [
        _query("desired", "ECS/ContainerInsights", "DesiredTaskCount", period, "Average", **dims),
        _query("running", "ECS/ContainerInsights", "RunningTaskCount", period, "Average", **dims),
        MetricDataQuery(Id="missing", Label="collectors missing", Expression="desired - running", ReturnData=True),
    ]
