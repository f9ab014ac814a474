"""The monitoring stack: one dashboard per pipeline and the alarms that page a person, via one SNS topic.

Everything it watches belongs to other stacks; their names arrive as imports (see common.py's export
contract) and are substituted into the dashboard body and the alarm dimensions. The dashboard also
shows pipectl's own deployment metrics for this pipeline and environment (namespace `pipectl`, see
generator/deploy/telemetry.py), which the controller publishes in the pipeline's region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from troposphere import ImportValue, Ref, Sub, Template
from troposphere.cloudwatch import Dashboard, MetricDataQuery
from troposphere.sns import Topic

from generator.contract import TELEMETRY_NAMESPACE
from generator.spec.loader import Pipeline
from generator.stacks import common
from generator.stacks.alarms import FAILURE_PERIOD_S, Alarms, dashboard_name, failed_more_than, metric, query
from generator.stacks.notifications import email_subscriptions
from generator.stacks.sinks import sink_of

__all__ = ["DEPLOYMENT_PERIOD_S", "TELEMETRY_NAMESPACE", "MonitoringStack", "build_monitoring", "dashboard_name"]

KIND = "monitoring"
DASHBOARD_PERIOD_S = 300
# Evaluation windows: long enough to ride out one bad minute, short enough to page while it matters.
ERROR_RATE_PERIOD_S = 60
ERROR_RATE_PERIODS = 5
ERROR_RATE_BREACHING = 3
COLLECTORS_PERIOD_S = 60
DEPLOYMENT_PERIOD_S = 3600  # pipectl publishes once per plan or apply: hours, not minutes, apart


def build_monitoring(pipeline: Pipeline) -> Template:
    """Alarm topic, dashboard, and one alarm per way the pipeline can fail."""
    return MonitoringStack(pipeline).build()


class MonitoringStack:
    """The monitoring stack: what it watches, imported once by name, and the topic its alarms notify."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.name = common.stack_name(pipeline, KIND)
        self.template = common.new_template(
            common.describe(pipeline, KIND, "dashboard and alarms for collection, landing and enrichment")
        )

    def build(self) -> Template:
        """Collection alarms, the sink's, processing alarms, then the dashboard that shows them all."""
        sink = sink_of(self.pipeline)
        _ingestion_alarms(self)
        sink.add_alarms(self)
        _processing_alarms(self)
        _dashboard(self)
        return self.template

    def output(self, name: str, value: Any, description: str) -> None:
        common.add_output(self.template, self.name, name, value, description)

    def imported(self, kind: str, output: str) -> ImportValue:
        """A value another stack of this pipeline exports (see common.py's export contract)."""
        return common.imported(self.pipeline, kind, output)

    @cached_property
    def load_balancer(self) -> ImportValue:
        return self.imported("ingestion", "LoadBalancerFullName")

    @cached_property
    def target_group(self) -> ImportValue:
        return self.imported("ingestion", "TargetGroupFullName")

    @cached_property
    def cluster(self) -> ImportValue:
        return self.imported("ingestion", "ClusterName")

    @cached_property
    def service(self) -> ImportValue:
        return self.imported("ingestion", "ServiceName")

    @cached_property
    def bucket(self) -> ImportValue:
        return self.imported("storage", "DataBucketName")

    @cached_property
    def enrich_function(self) -> ImportValue:
        return self.imported("processing", "EnrichFunctionName")

    @cached_property
    def state_machine_arn(self) -> ImportValue:
        return self.imported("processing", "StateMachineArn")

    @cached_property
    def dead_letter_queue(self) -> ImportValue:
        return self.imported("processing", "DeadLetterQueueName")

    @cached_property
    def key_arn(self) -> ImportValue:
        return self.imported("storage", "KeyArn")

    @cached_property
    def topic(self) -> Topic:
        return _alarm_topic(self)

    @cached_property
    def alarms(self) -> Alarms:
        return Alarms(self.template, self.pipeline, Ref(self.topic))


def _alarm_topic(stack: MonitoringStack) -> Topic:
    """Every alarm and its recovery go here. The owner is always subscribed, and `monitoring.alarm_email`
    too when it names someone else; each address confirms its subscription once."""
    pipeline = stack.pipeline
    topic = stack.template.add_resource(
        Topic(
            "AlarmTopic",
            TopicName=f"pipectl-{pipeline.name}-{pipeline.env}-alarms",
            DisplayName=f"pipectl {pipeline.name} {pipeline.env}",
            KmsMasterKeyId=stack.key_arn,
        )
    )
    emails = {"AlarmEmailSubscription": pipeline.spec.alarm_email}
    if pipeline.spec.owner != pipeline.spec.alarm_email:
        emails["OwnerEmailSubscription"] = pipeline.spec.owner
    email_subscriptions(stack.template, topic, stack.key_arn, emails, pipeline.spec.retain)
    stack.output("AlarmTopicArn", Ref(topic), "SNS topic every alarm of the pipeline notifies")
    return topic


def dashboard_body(pipeline: Pipeline, alarms: Sequence[str] = ()) -> str:
    """The dashboard JSON with ${...} placeholders for Fn::Sub, rendered from templates/; `alarms` are
    logical ids of this template's alarms, shown at the top by their ${Id.Arn}. The sink's row comes
    from its sink module."""
    spec = pipeline.spec
    sink = sink_of(pipeline)
    functions = [*sink.functions(), {"title": "Enrich", "var": "EnrichFunction"}]
    intro = (
        f"# pipectl {pipeline.name} / {pipeline.env}\n"
        f"{spec.description or 'Clickstream pipeline'}. Owner: {spec.owner}. "
        f"Events are collected at https://{spec.ingestion.domain.name}{spec.ingestion.endpoint_path}, "
        f"land in {sink.landing} and are enriched on "
        f"`{spec.processing.schedule}`. Alarms go to {spec.alarm_email}."
    )
    body = common.render_json(
        "dashboard.json.j2",
        intro=intro.replace("${", "${!"),  # Fn::Sub would read ${ in a description as a variable
        sink_widgets=sink.widgets(pipeline),
        functions=functions,
        period=DASHBOARD_PERIOD_S,
        deployment_period=DEPLOYMENT_PERIOD_S,
        telemetry_namespace=TELEMETRY_NAMESPACE,
        pipeline=pipeline.name,
        env=pipeline.env,
        alarm_arns=[f"${{{alarm}.Arn}}" for alarm in alarms],
        target_cpu=spec.ingestion.capacity.target_cpu,
        timeout_ms=spec.processing.timeout_s * 1000,
    )
    return json.dumps(body, separators=(",", ":"))


def _dashboard(stack: MonitoringStack) -> Dashboard:
    """Alarms first, then collection, landing and enrichment in the order events flow, then deployments."""
    names: dict[str, Any] = {
        "LoadBalancer": stack.load_balancer,
        "TargetGroup": stack.target_group,
        "Cluster": stack.cluster,
        "Service": stack.service,
        "EnrichFunction": stack.enrich_function,
        "StateMachineArn": stack.state_machine_arn,
        "DeadLetterQueue": stack.dead_letter_queue,
    }
    names |= sink_of(stack.pipeline).dashboard_names(stack)
    dashboard = stack.template.add_resource(
        Dashboard(
            "Dashboard",
            DashboardName=dashboard_name(stack.pipeline),
            DashboardBody=Sub(dashboard_body(stack.pipeline, stack.alarms.added), **names),
        )
    )
    stack.output("DashboardName", Ref(dashboard), "CloudWatch dashboard of the pipeline")
    return dashboard


def _ingestion_alarms(stack: MonitoringStack) -> None:
    """Collection is failing, silent, or short of collectors."""
    spec = stack.pipeline.spec
    alarm = stack.alarms
    endpoint = f"https://{spec.ingestion.domain.name}{spec.ingestion.endpoint_path}"
    alarm.add(
        "CollectorErrorRateAlarm",
        "collector-error-rate",
        f"More than {spec.monitoring.error_rate_percent:g}% of requests to {endpoint} got a 5xx answer "
        f"(from the load balancer or the collectors) in {ERROR_RATE_BREACHING} of the last "
        f"{ERROR_RATE_PERIODS} minutes: apps are losing events. Check the collector service's tasks and "
        "logs in ECS and the load balancer's target health.",
        Metrics=_error_rate_queries(stack.load_balancer),
        ComparisonOperator="GreaterThanThreshold",
        Threshold=spec.monitoring.error_rate_percent,
        EvaluationPeriods=ERROR_RATE_PERIODS,
        DatapointsToAlarm=ERROR_RATE_BREACHING,
        TreatMissingData="notBreaching",
    )
    arrivals = sink_of(stack.pipeline).arrivals(stack)
    if arrivals is not None:
        where, counted = arrivals.where, arrivals.metric
    else:
        where, counted = (
            "the collectors",
            metric(
                "AWS/ApplicationELB", "RequestCount", LoadBalancer=stack.load_balancer, TargetGroup=stack.target_group
            ),
        )
    minutes = spec.monitoring.no_events_minutes
    alarm.add(
        "NoEventsAlarm",
        "no-events",
        f"No events reached {where} for {minutes} minutes. Either the apps stopped sending (a release, "
        f"a tracking change, DNS for {spec.ingestion.domain.name}) or collection is down: open the "
        "dashboard and check collector requests and errors first.",
        **counted,
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
        Metrics=_below_desired_queries(stack.cluster, stack.service),
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        EvaluationPeriods=missing,
        TreatMissingData="notBreaching",
    )


def _processing_alarms(stack: MonitoringStack) -> None:
    """Enrichment fails, or leaves work in the dead-letter queue."""
    errors = stack.pipeline.spec.monitoring.function_errors
    alarm = stack.alarms
    alarm.add(
        "EnrichErrorsAlarm",
        "enrich-errors",
        f"The enrich function failed {failed_more_than(errors)}. The enrichment run of that window fails too and is "
        "reported in the dead-letter queue; raw events are safe in S3 and the window can be rerun. Read the "
        "function's log group for the error.",
        **metric("AWS/Lambda", "Errors", FunctionName=stack.enrich_function),
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
        **metric("AWS/States", "ExecutionsFailed", StateMachineArn=stack.state_machine_arn),
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
        **metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=stack.dead_letter_queue),
        Statistic="Maximum",
        Period=FAILURE_PERIOD_S,
        EvaluationPeriods=1,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=0,
        TreatMissingData="notBreaching",
    )


def _error_rate_queries(load_balancer: ImportValue) -> list[MetricDataQuery]:
    """5xx answers, from the load balancer or the collectors, as a percentage of all requests."""
    period = ERROR_RATE_PERIOD_S
    return [
        query("requests", "AWS/ApplicationELB", "RequestCount", period, "Sum", LoadBalancer=load_balancer),
        query("elb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", period, "Sum", LoadBalancer=load_balancer),
        query(
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
        query("desired", "ECS/ContainerInsights", "DesiredTaskCount", period, "Average", **dims),
        query("running", "ECS/ContainerInsights", "RunningTaskCount", period, "Average", **dims),
        MetricDataQuery(Id="missing", Label="collectors missing", Expression="desired - running", ReturnData=True),
    ]
