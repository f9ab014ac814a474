"""The monitoring stack: dashboard body, alarms, topic, exports; cfn-lint clean for every variation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from generator.spec.loader import Pipeline, load_directory
from generator.stacks.monitoring import build_monitoring

EXAMPLES = Path(__file__).resolve().parents[2] / "pipelines.d"
SHIPPED = [(name, env) for name in ("backoffice", "mobile", "shop") for env in ("prod", "test")]
# A description with Fn::Sub syntax and markup in it, and thresholds the examples do not set.
VARIATION = """\
description: "Costs ${oops} & <b>bold</b> \\"quoted\\""
owner: team@example.com
region: eu-west-1
apps: [{id: web, platform: web}]
ingestion:
  image: public.ecr.aws/pipectl/collector:1.4.2
  domain:
    name: collect.example.com
    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-4908-8706-050403020100
  sink: {type: kinesis}
monitoring: {no_events_minutes: 1440, error_rate_percent: 2.5, iterator_age_seconds: 120, alarm_email: pager@example.com}
environments: {prod: {}}
"""
VARIATION_KEY = ("odd", "prod")
ALL = [*SHIPPED, VARIATION_KEY]
COMMON_ALARMS = {
    "CollectorErrorRateAlarm",
    "NoEventsAlarm",
    "CollectorsBelowDesiredAlarm",
    "EnrichErrorsAlarm",
    "EnrichmentFailedAlarm",
    "DeadLettersAlarm",
}
KINESIS_ALARMS = {"SinkErrorsAlarm", "SinkIteratorAgeAlarm"}


def _pipelines(directory: Path) -> dict[tuple[str, str], Pipeline]:
    return {(p.name, p.env): p for p in load_directory(directory).pipelines}


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Pipeline]:
    directory = tmp_path_factory.mktemp("variation")
    (directory / "odd.yaml").write_text(VARIATION)
    return _pipelines(EXAMPLES) | _pipelines(directory)


@pytest.fixture(scope="module")
def texts(pipelines: dict[tuple[str, str], Pipeline]) -> dict[tuple[str, str], str]:
    return {key: build_monitoring(p).to_json() for key, p in pipelines.items()}


@pytest.fixture(scope="module")
def lint_findings(texts: dict[tuple[str, str], str]) -> dict[tuple[str, str], list[str]]:
    config = ManualArgs(regions=["eu-west-1"], include_checks=["I"])
    return {key: [str(m) for m in lint(text, config=config)] for key, text in texts.items()}


def _template(texts: dict[tuple[str, str], str], key: tuple[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(texts[key])
    return parsed


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def _imported(pipeline: Pipeline, kind: str, output: str) -> dict[str, str]:
    return {"Fn::ImportValue": f"pipectl-{pipeline.name}-{pipeline.env}-{kind}:{output}"}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _body(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dashboard body after Fn::Sub, with stand-ins for the variables, and the variable map."""
    text, names = _props(template, "Dashboard")["DashboardBody"]["Fn::Sub"]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # Fn::Sub's escape for a literal ${
        alarm = name.endswith(".Arn") and name[: -len(".Arn")] in _alarms(template)
        assert name in names or name == "AWS::Region" or alarm, f"unresolved ${{{name}}} in the dashboard"
        return f"stand-in-{name}"

    body: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", value, text))
    return body, names


def _metric_names(body: dict[str, Any]) -> set[str]:
    return {
        f"{row[0]}/{row[1]}"
        for widget in body["widgets"]
        if widget["type"] == "metric"
        for row in widget["properties"]["metrics"]
        if isinstance(row[0], str)
    }


@pytest.mark.parametrize("key", ALL)
def test_cfn_lint_finds_nothing(lint_findings: dict[tuple[str, str], list[str]], key: tuple[str, str]) -> None:
    assert lint_findings[key] == []


@pytest.mark.parametrize("key", ALL)
def test_dashboard_body_is_json_with_real_widgets(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    template = _template(texts, key)
    pipeline = pipelines[key]
    assert _props(template, "Dashboard")["DashboardName"] == f"pipectl-{pipeline.name}-{pipeline.env}"
    body, names = _body(template)
    assert len(body["widgets"]) >= 10
    for widget in body["widgets"]:
        assert {"type", "properties", "width", "height", "x", "y"} <= widget.keys()
        if widget["type"] == "text":
            assert widget["properties"]["markdown"].strip()
        elif widget["type"] == "alarm":
            assert sorted(widget["properties"]["alarms"]) == sorted(f"stand-in-{a}.Arn" for a in _alarms(template))
        else:
            assert widget["type"] == "metric"
            assert widget["properties"]["metrics"], widget
            assert widget["properties"]["region"] == "stand-in-AWS::Region"
            assert widget["properties"]["title"]
        assert widget["x"] + widget["width"] <= 24
    placed = {(w["x"], w["y"]) for w in body["widgets"]}
    assert len(placed) == len(body["widgets"])  # no two widgets on the same spot
    assert names["LoadBalancer"] == _imported(pipeline, "ingestion", "LoadBalancerFullName")
    assert names["StateMachineArn"] == _imported(pipeline, "processing", "StateMachineArn")


@pytest.mark.parametrize("key", ALL)
def test_dashboard_shows_collection_landing_and_processing(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    body, names = _body(_template(texts, key))
    metrics = _metric_names(body)
    assert {
        "AWS/ApplicationELB/RequestCount",
        "AWS/ApplicationELB/HTTPCode_Target_4XX_Count",
        "AWS/ApplicationELB/HTTPCode_Target_5XX_Count",
        "AWS/ApplicationELB/TargetResponseTime",
        "AWS/ECS/CPUUtilization",
        "AWS/ECS/MemoryUtilization",
        "ECS/ContainerInsights/RunningTaskCount",
        "ECS/ContainerInsights/DesiredTaskCount",
        "AWS/Lambda/Errors",
        "AWS/Lambda/Throttles",
        "AWS/Lambda/Duration",
        "AWS/States/ExecutionsFailed",
        "AWS/States/ExecutionsSucceeded",
        "AWS/States/ExecutionTime",
        "AWS/SQS/ApproximateNumberOfMessagesVisible",
    } <= metrics
    p99 = [w for w in body["widgets"] if "TargetResponseTime" in json.dumps(w)]
    assert p99[0]["properties"]["stat"] == "p99"
    if pipelines[key].spec.ingestion.sink.type == "kinesis":
        assert {"AWS/Kinesis/IncomingRecords", "AWS/Kinesis/GetRecords.IteratorAgeMilliseconds"} <= metrics
        assert "AWS/S3/PutRequests" not in metrics
        functions = {"stand-in-SinkFunction", "stand-in-EnrichFunction"}
        assert names["Stream"] == _imported(pipelines[key], "storage", "StreamName")
    else:
        assert "AWS/S3/PutRequests" in metrics
        assert not any(m.startswith("AWS/Kinesis/") for m in metrics)
        assert "Stream" not in names and "SinkFunction" not in names
        functions = {"stand-in-EnrichFunction"}
    for function in functions:
        per_function = {
            row[1]
            for w in body["widgets"]
            if w["type"] == "metric"
            for row in w["properties"]["metrics"]
            if row[0] == "AWS/Lambda" and function in row
        }
        assert {"Errors", "Throttles", "Duration"} <= per_function, function


def test_a_description_cannot_inject_sub_variables(texts: dict[tuple[str, str], str]) -> None:
    body, _ = _body(_template(texts, VARIATION_KEY))
    assert 'Costs ${oops} & <b>bold</b> "quoted"' in body["widgets"][0]["properties"]["markdown"]


@pytest.mark.parametrize("key", ALL)
def test_every_alarm_pages_the_topic_with_an_explanation(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    template = _template(texts, key)
    pipeline = pipelines[key]
    alarms = _alarms(template)
    expected = COMMON_ALARMS | (KINESIS_ALARMS if pipeline.spec.ingestion.sink.type == "kinesis" else set())
    assert set(alarms) == expected
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert alarm["AlarmName"].startswith(f"pipectl-{pipeline.name}-{pipeline.env}-")
        description = alarm["AlarmDescription"]
        assert description.startswith(f"[{pipeline.name}/{pipeline.env}] ")
        assert 120 <= len(description) <= 1024, logical_id
        assert alarm["TreatMissingData"] in ("breaching", "notBreaching")
    assert len({a["AlarmName"] for a in alarms.values()}) == len(alarms)


@pytest.mark.parametrize("key", ALL)
def test_alarm_thresholds_come_from_the_file(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    alarms = _alarms(_template(texts, key))
    pipeline = pipelines[key]
    monitoring = pipeline.spec.monitoring

    rate = alarms["CollectorErrorRateAlarm"]
    assert rate["Threshold"] == monitoring.error_rate_percent
    [expression] = [q for q in rate["Metrics"] if "Expression" in q]
    assert expression["ReturnData"] is True
    ids = {q["Id"] for q in rate["Metrics"] if "MetricStat" in q}
    assert set(re.findall(r"[a-z][A-Za-z0-9]*", expression["Expression"])) - {"IF", "FILL"} <= ids
    assert all(q["ReturnData"] is False for q in rate["Metrics"] if "MetricStat" in q)

    silent = alarms["NoEventsAlarm"]
    assert silent["Period"] * silent["EvaluationPeriods"] == monitoring.no_events_minutes * 60
    assert silent["TreatMissingData"] == "breaching"
    assert silent["ComparisonOperator"] == "LessThanThreshold"
    if pipeline.spec.ingestion.sink.type == "kinesis":
        assert silent["MetricName"] == "IncomingRecords"
        age = alarms["SinkIteratorAgeAlarm"]
        assert age["Threshold"] == monitoring.iterator_age_seconds * 1000
        assert age["Dimensions"] == [
            {"Name": "FunctionName", "Value": _imported(pipeline, "processing", "SinkFunctionName")}
        ]
    else:
        assert silent["MetricName"] == "RequestCount"

    below = alarms["CollectorsBelowDesiredAlarm"]
    assert {q["MetricStat"]["Metric"]["MetricName"] for q in below["Metrics"] if "MetricStat" in q} == {
        "RunningTaskCount",
        "DesiredTaskCount",
    }
    assert alarms["EnrichmentFailedAlarm"]["Dimensions"] == [
        {"Name": "StateMachineArn", "Value": _imported(pipeline, "processing", "StateMachineArn")}
    ]
    assert alarms["DeadLettersAlarm"]["Dimensions"] == [
        {"Name": "QueueName", "Value": _imported(pipeline, "processing", "DeadLetterQueueName")}
    ]


@pytest.mark.parametrize("key", ALL)
def test_topic_is_encrypted_and_mails_the_on_call_address(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    template = _template(texts, key)
    pipeline = pipelines[key]
    assert _props(template, "AlarmTopic")["KmsMasterKeyId"] == _imported(pipeline, "storage", "KeyArn")
    subscription = _props(template, "AlarmEmailSubscription")
    assert subscription == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": pipeline.spec.alarm_email,
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["AlarmTopicDeadLetterQueue", "Arn"]}},
    }
    # What SNS cannot deliver waits in a queue encrypted with the pipeline key, which only the topic may fill.
    queue = _props(template, "AlarmTopicDeadLetterQueue")
    assert queue["KmsMasterKeyId"] == _imported(pipeline, "storage", "KeyArn")
    (statement,) = _props(template, "AlarmTopicDeadLetterQueuePolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Condition"] == {"ArnLike": {"aws:SourceArn": {"Ref": "AlarmTopic"}}}
    stack = f"pipectl-{pipeline.name}-{pipeline.env}-monitoring"
    assert {name: o["Export"]["Name"] for name, o in template["Outputs"].items()} == {
        "DashboardName": f"{stack}:DashboardName",
        "AlarmTopicArn": f"{stack}:AlarmTopicArn",
    }


def test_alarm_addresses_follow_the_file(texts: dict[tuple[str, str], str]) -> None:
    def endpoint(key: tuple[str, str]) -> str:
        value: str = _props(_template(texts, key), "AlarmEmailSubscription")["Endpoint"]
        return value

    assert endpoint(("shop", "prod")) == "oncall@example.com"  # monitoring.alarm_email
    assert endpoint(("mobile", "prod")) == "mobile-data@example.com"  # falls back to the owner
    assert endpoint(VARIATION_KEY) == "pager@example.com"


def test_output_is_deterministic(pipelines: dict[tuple[str, str], Pipeline], texts: dict[tuple[str, str], str]) -> None:
    for key in (("shop", "prod"), ("mobile", "test")):
        assert build_monitoring(pipelines[key]).to_json() == texts[key]
