"""Observability in the synthesized templates of every shipped example: traces, logs, dashboards, alarms.

Each check reads the templates as synth writes them, the way a reviewer of build/ would: every stage
traces, logs JSON into its own encrypted log group with the file's retention, shows on a valid
CloudWatch dashboard and pages the pipeline's topic, with thresholds the file can tune.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from generator.spec.loader import Installation, load_directory
from generator.stacks.synth import build_all

REPO = Path(__file__).resolve().parents[2]
# Not the examples' values, so a threshold that ignores the file shows.
TUNED = """\
owner: team@example.com
region: eu-west-1
apps: [{id: web, platform: web}]
ingestion:
  image: public.ecr.aws/pipectl/collector:1.4.2
  domain:
    name: collect.example.com
    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-4908-8706-050403020100
  sink: {type: kinesis}
monitoring:
  log_retention_days: 90
  no_events_minutes: 45
  error_rate_percent: 5
  iterator_age_seconds: 300
  collectors_missing_minutes: 3
  function_errors: 4
  execution_log_level: ERROR
  execution_data: true
environments: {prod: {}}
"""
WIDGET_TYPES = {"metric", "text", "alarm", "log", "explorer"}
VIEWS = {"timeSeries", "singleValue", "gauge", "bar", "pie"}
STAT = re.compile(r"^(Sum|Average|Maximum|Minimum|SampleCount|p\d{1,2}(\.\d+)?|tm\d{1,2}|IQM)$")
ROW_OPTIONS = {"label", "stat", "yAxis", "period", "color", "id", "visible", "region", "accountId"}
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
Templates = dict[str, dict[str, Any]]


def _templates(installation: Installation) -> Templates:
    return {b.entry.name: json.loads(b.text) for b in build_all(installation)}


@pytest.fixture(scope="module")
def shipped() -> Templates:
    return _templates(load_directory(REPO / "pipelines.d", "pipelines.d"))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    directory = tmp_path_factory.mktemp("tuned")
    (directory / "tuned.yaml").write_text(TUNED)
    return _templates(load_directory(directory))


@pytest.fixture(scope="module")
def installation() -> Installation:
    return load_directory(REPO / "pipelines.d", "pipelines.d")


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r.get("Properties", {}) for k, r in template["Resources"].items() if r["Type"] == kind}


def _of_kind(templates: Templates, suffix: str) -> dict[str, dict[str, Any]]:
    return {name: t for name, t in templates.items() if name.endswith(suffix)}


# --- a CloudWatch dashboard body, checked against the documented structure --------------------------


def check_dashboard(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """Validates one AWS::CloudWatch::Dashboard of `template` and returns its body with stand-ins."""
    text, variables = template["Resources"][logical_id]["Properties"]["DashboardBody"]["Fn::Sub"]
    alarms = set(_resources(template, "AWS::CloudWatch::Alarm"))
    known = {*variables, "AWS::Region", *(f"{a}.Arn" for a in alarms)}
    used = {name for name in PLACEHOLDER.findall(text) if not name.startswith("!")}
    assert used <= known, f"unresolved placeholders: {used - known}"
    assert set(variables) <= used, f"variables never used: {set(variables) - used}"
    raw: dict[str, Any] = json.loads(text)
    assert set(raw) <= {"start", "end", "periodOverride", "widgets"}
    assert re.fullmatch(r"-P(T\d+[HM]|\d+D)", raw.get("start", "-PT3H"))
    assert 0 < len(raw["widgets"]) <= 500
    cells: set[tuple[int, int]] = set()
    for widget in raw["widgets"]:
        _check_widget(widget, alarms)
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not area & cells, f"overlapping widget {widget['properties'].get('title')}"
        cells |= area
    return raw


def _check_widget(widget: dict[str, Any], alarms: set[str]) -> None:
    assert widget["type"] in WIDGET_TYPES
    assert all(isinstance(widget[k], int) and widget[k] >= 0 for k in ("x", "y", "width", "height"))
    assert widget["width"] >= 1 and widget["x"] + widget["width"] <= 24 and 1 <= widget["height"] <= 1000
    props = widget["properties"]
    if widget["type"] == "text":
        assert props["markdown"].strip()
    elif widget["type"] == "alarm":
        assert 0 < len(props["alarms"]) <= 100
        assert {a.removeprefix("${").removesuffix(".Arn}") for a in props["alarms"]} == alarms
    else:
        _check_metric_widget(props)


def _check_metric_widget(props: dict[str, Any]) -> None:
    assert props["region"] == "${AWS::Region}", props.get("title")  # never a hard-coded region
    assert props["title"].strip()
    assert props.get("view", "timeSeries") in VIEWS
    assert STAT.match(props.get("stat", "Average"))
    assert props.get("period", 300) % 60 == 0
    ids: set[str] = set()
    assert props["metrics"]
    for row in props["metrics"]:
        assert isinstance(row, list) and row, row
        if isinstance(row[0], dict):
            assert len(row) == 1 and set(row[0]) <= {"expression", "id", "label", "period", "yAxis"}
            assert re.fullmatch(r"[a-z][a-zA-Z0-9_]*", row[0]["id"]) and row[0]["id"] not in ids
            assert re.match(r"^(SEARCH|SUM|MAX|IF|FILL|METRICS)\(", row[0]["expression"]), row
            ids.add(row[0]["id"])
            continue
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = row[:-1] if options else row
        assert all(isinstance(n, str) and n for n in names), row
        assert len(names) >= 2 and len(names) % 2 == 0, f"namespace, metric, then name/value pairs: {row}"
        assert set(options) <= ROW_OPTIONS, row
        assert STAT.match(options.get("stat", "Sum")) and options.get("yAxis", "left") in ("left", "right")


def _metric_rows(body: dict[str, Any]) -> list[list[Any]]:
    return [row for w in body["widgets"] if w["type"] == "metric" for row in w["properties"]["metrics"]]


def _metrics(body: dict[str, Any]) -> set[str]:
    return {f"{r[0]}/{r[1]}" for r in _metric_rows(body) if isinstance(r[0], str)}


def test_every_dashboard_is_a_valid_cloudwatch_dashboard(shipped: Templates, tuned: Templates) -> None:
    dashboards = [
        (name, logical)
        for name, t in {**shipped, **tuned}.items()
        for logical in _resources(t, "AWS::CloudWatch::Dashboard")
    ]
    assert len(dashboards) == 1 + 3 * 2 + 1  # the console, every pipeline and environment, the tuned one
    for name, logical in dashboards:
        check_dashboard({**shipped, **tuned}[name], logical)


def test_the_validator_rejects_what_cloudwatch_would() -> None:
    """The checks above must be able to fail: a hard-coded region, a broken metric row, a stray variable."""

    def dashboard(body: dict[str, Any], variables: dict[str, Any] | None = None) -> dict[str, Any]:
        sub = [json.dumps(body), variables or {}]
        return {
            "Resources": {
                "D": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": {"Fn::Sub": sub}}}
            }
        }

    def widget(**props: Any) -> dict[str, Any]:
        base = {"title": "t", "region": "${AWS::Region}", "metrics": [["AWS/SQS", "NumberOfMessagesSent"]]}
        return {"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6, "properties": {**base, **props}}

    check_dashboard(dashboard({"widgets": [widget()]}), "D")
    for broken in (
        {"widgets": [widget(region="eu-west-1")]},
        {"widgets": [widget(metrics=[["AWS/SQS", "NumberOfMessagesSent", "QueueName"]])]},
        {"widgets": [widget(stat="Median")]},
        {"widgets": [widget(metrics=[["AWS/SQS", "X", "QueueName", "${Queue}"]])]},
        {"widgets": [widget(), widget()]},
        {"widgets": [{**widget(), "type": "chart"}]},
    ):
        with pytest.raises(AssertionError):
            check_dashboard(dashboard(broken), "D")


@pytest.mark.parametrize(
    "stack", [f"pipectl-{p}-{e}-monitoring" for p in ("backoffice", "mobile", "shop") for e in ("prod", "test")]
)
def test_each_pipeline_dashboard_shows_every_stage_and_its_deployments(shipped: Templates, stack: str) -> None:
    template = shipped[stack]
    body = check_dashboard(template, "Dashboard")
    metrics = _metrics(body)
    kinesis = "Stream" in template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][1]
    assert {
        "AWS/ApplicationELB/RequestCount",
        "AWS/ApplicationELB/HTTPCode_Target_4XX_Count",
        "AWS/ApplicationELB/HTTPCode_ELB_5XX_Count",
        "AWS/ApplicationELB/TargetResponseTime",
        "AWS/ECS/CPUUtilization",
        "AWS/ECS/MemoryUtilization",
        "ECS/ContainerInsights/RunningTaskCount",
        "ECS/ContainerInsights/DesiredTaskCount",
        "AWS/Lambda/Errors",
        "AWS/Lambda/Throttles",
        "AWS/Lambda/Duration",
        "AWS/States/ExecutionsFailed",
        "AWS/States/ExecutionTime",
    } <= metrics
    sink = (
        {"AWS/Kinesis/IncomingRecords", "AWS/Kinesis/GetRecords.IteratorAgeMilliseconds"}
        if kinesis
        else {"AWS/S3/PutRequests", "AWS/S3/NumberOfObjects"}
    )
    assert sink <= metrics
    pipeline, env = stack.removeprefix("pipectl-").rsplit("-", 2)[:2]
    deployments = {r[1] for r in _metric_rows(body) if r[0] == "pipectl"}
    assert deployments == {
        "StacksChanged",
        "StacksFailed",
        "ApplyDuration",
        "ChangeSetsAwaitingApproval",
        "DriftedStacks",
    }
    for row in (r for r in _metric_rows(body) if r[0] == "pipectl"):
        assert dict(zip(row[2:-1:2], row[3:-1:2], strict=True)) == {"Pipeline": pipeline, "Environment": env}


def test_the_console_dashboard_shows_runs_failed_stacks_and_waiting_approvals(shipped: Templates) -> None:
    body = check_dashboard(shipped["pipectl-console"], "ConsoleDashboard")
    searches = [r[0]["expression"] for r in _metric_rows(body) if isinstance(r[0], dict)]
    for metric, stat in (
        ("ApplyDuration", "SampleCount"),
        ("StacksFailed", "Sum"),
        ("ChangeSetsAwaitingApproval", "Maximum"),
    ):
        assert f"SEARCH('{{pipectl,Environment,Pipeline}} MetricName=\"{metric}\"', '{stat}', 3600)" in searches


# --- traces --------------------------------------------------------------------------------------


def test_every_function_state_machine_and_api_is_traced(shipped: Templates) -> None:
    functions = machines = apis = 0
    for template in shipped.values():
        for props in _resources(template, "AWS::Lambda::Function").values():
            assert props["TracingConfig"] == {"Mode": "Active"}
            functions += 1
        for props in _resources(template, "AWS::StepFunctions::StateMachine").values():
            assert props["TracingConfiguration"] == {"Enabled": True}
            machines += 1
        for props in _resources(template, "AWS::AppSync::GraphQLApi").values():
            assert props["XrayEnabled"] is True
            apis += 1
    assert (functions, machines, apis) == (1 + 3 * 2 * 1 + 2 * 2, 3 * 2, 1)  # recorder, enrich, sink (Kinesis)


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def test_tracing_permissions_are_the_xray_writes_alone(shipped: Templates) -> None:
    """X-Ray's write actions take no resource, so they get a statement of their own and nothing else."""
    for name, template in shipped.items():
        roles = _resources(template, "AWS::IAM::Role")
        traced = {p["Role"]["Fn::GetAtt"][0] for p in _resources(template, "AWS::Lambda::Function").values()}
        traced |= {
            p["RoleArn"]["Fn::GetAtt"][0] for p in _resources(template, "AWS::StepFunctions::StateMachine").values()
        }
        for role in traced:
            xray = [s for s in _statements(roles[role]) if any(str(a).startswith("xray:") for a in s["Action"])]
            assert xray, f"{name} {role} cannot write traces"
            for statement in xray:
                assert all(str(a).startswith("xray:") for a in statement["Action"]), statement
                assert "xray:PutTraceSegments" in statement["Action"] and statement["Resource"] == ["*"]


def test_collectors_log_the_load_balancers_trace_header(shipped: Templates) -> None:
    for template in _of_kind(shipped, "-ingestion").values():
        (definition,) = _resources(template, "AWS::ECS::TaskDefinition").values()
        (container,) = definition["ContainerDefinitions"]
        env = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert env["TRACE_HEADER"] == "X-Amzn-Trace-Id" and env["LOG_FORMAT"] == "json"


# --- logs ----------------------------------------------------------------------------------------


def test_every_log_group_is_made_by_the_template_encrypted_with_the_files_retention(
    shipped: Templates, tuned: Templates, installation: Installation
) -> None:
    retention = {f"pipectl-{p.name}-{p.env}-": p.spec.monitoring.log_retention_days for p in installation.pipelines}
    retention["pipectl-console"] = installation.console.log_retention_days
    retention["pipectl-tuned-prod-"] = 90
    for name, template in {**shipped, **tuned}.items():
        (days,) = {d for prefix, d in retention.items() if name.startswith(prefix)}
        for logical, props in _resources(template, "AWS::Logs::LogGroup").items():
            assert props["KmsKeyId"], f"{name} {logical}"
            assert props["RetentionInDays"] == days, f"{name} {logical}"


def test_functions_log_json_and_state_machines_log_executions(shipped: Templates, tuned: Templates) -> None:
    for name, template in {**shipped, **tuned}.items():
        groups = _resources(template, "AWS::Logs::LogGroup")
        for props in _resources(template, "AWS::Lambda::Function").values():
            assert props["LoggingConfig"]["LogFormat"] == "JSON"
            assert props["LoggingConfig"]["LogGroup"]["Ref"] in groups
        for props in _resources(template, "AWS::StepFunctions::StateMachine").values():
            logging = props["LoggingConfiguration"]
            expected = ("ERROR", True) if "tuned" in name else ("ALL", False)  # the default: no event data
            assert (logging["Level"], logging["IncludeExecutionData"]) == expected
            (destination,) = logging["Destinations"]
            assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0] in groups


def test_api_load_balancer_and_containers_log(shipped: Templates) -> None:
    (api,) = _resources(shipped["pipectl-console"], "AWS::AppSync::GraphQLApi").values()
    assert api["LogConfig"]["FieldLogLevel"] in ("ERROR", "ALL")
    for template in _of_kind(shipped, "-ingestion").values():
        (balancer,) = _resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
        attributes = {a["Key"]: a["Value"] for a in balancer["LoadBalancerAttributes"]}
        assert attributes["access_logs.s3.enabled"] == "true"
        assert attributes["access_logs.s3.bucket"] == {
            "Fn::ImportValue": attributes["access_logs.s3.bucket"]["Fn::ImportValue"]
        }
        assert attributes["access_logs.s3.bucket"]["Fn::ImportValue"].endswith("-storage:LogsBucketName")
        (definition,) = _resources(template, "AWS::ECS::TaskDefinition").values()
        for container in definition["ContainerDefinitions"]:
            logging = container["LogConfiguration"]
            assert logging["LogDriver"] == "awslogs"
            assert logging["Options"]["awslogs-group"]["Ref"] in _resources(template, "AWS::Logs::LogGroup")


# --- alarms --------------------------------------------------------------------------------------


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _resources(template, "AWS::CloudWatch::Alarm")


@pytest.mark.parametrize("pipeline", ["backoffice", "mobile", "shop"])
def test_alarms_page_the_topic_the_owner_is_subscribed_to(
    shipped: Templates, installation: Installation, pipeline: str
) -> None:
    for spec in (p for p in installation.pipelines if p.name == pipeline):
        template = shipped[f"pipectl-{spec.name}-{spec.env}-monitoring"]
        subscriptions = _resources(template, "AWS::SNS::Subscription").values()
        emails = {s["Endpoint"] for s in subscriptions if s["Protocol"] == "email"}
        assert emails == {spec.spec.owner, spec.spec.alarm_email}
        assert all(s["TopicArn"] == {"Ref": "AlarmTopic"} for s in subscriptions)
        for logical, alarm in _alarms(template).items():
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical
            description = alarm["AlarmDescription"]
            # Who, what happened, what it means, where to look: a sentence or more, and the dashboard.
            assert description.startswith(f"[{spec.name}/{spec.env}] ") and description.count(". ") >= 2
            assert description.endswith(f"Dashboard: pipectl-{spec.name}-{spec.env} in CloudWatch.")


def test_every_failure_the_issue_names_has_an_alarm(shipped: Templates) -> None:
    for name, template in _of_kind(shipped, "-monitoring").items():
        watched = set()
        for alarm in _alarms(template).values():
            rows = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q]
            for metric in rows or [alarm]:
                watched.add(f"{metric['Namespace']}/{metric['MetricName']}")
        assert {
            "AWS/ApplicationELB/HTTPCode_ELB_5XX_Count",
            "AWS/ApplicationELB/HTTPCode_Target_5XX_Count",
            "ECS/ContainerInsights/RunningTaskCount",
            "AWS/Lambda/Errors",
            "AWS/States/ExecutionsFailed",
        } <= watched, name
        kinesis = "pipectl-shop-" in name or "pipectl-backoffice-" in name
        no_events = "AWS/Kinesis/IncomingRecords" if kinesis else "AWS/ApplicationELB/RequestCount"
        assert no_events in watched, name
        assert ("AWS/Lambda/IteratorAge" in watched) == kinesis, name


def test_thresholds_have_defaults_and_follow_the_file(shipped: Templates, tuned: Templates) -> None:
    def thresholds(template: dict[str, Any]) -> dict[str, Any]:
        alarms = _alarms(template)
        return {
            "error_rate": alarms["CollectorErrorRateAlarm"]["Threshold"],
            "no_events_s": alarms["NoEventsAlarm"]["Period"],
            "iterator_age_ms": alarms["SinkIteratorAgeAlarm"]["Threshold"],
            "missing_min": alarms["CollectorsBelowDesiredAlarm"]["EvaluationPeriods"],
            "function_errors": (alarms["SinkErrorsAlarm"]["Threshold"], alarms["EnrichErrorsAlarm"]["Threshold"]),
        }

    assert thresholds(shipped["pipectl-backoffice-prod-monitoring"]) == {
        "error_rate": 1.0,
        "no_events_s": 15 * 60,
        "iterator_age_ms": 600_000,
        "missing_min": 10,
        "function_errors": (0, 0),
    }
    assert thresholds(tuned["pipectl-tuned-prod-monitoring"]) == {
        "error_rate": 5.0,
        "no_events_s": 45 * 60,
        "iterator_age_ms": 300_000,
        "missing_min": 3,
        "function_errors": (4, 4),
    }
    tuned_alarms = _alarms(tuned["pipectl-tuned-prod-monitoring"])
    assert "more than 4 times in 5 minutes" in tuned_alarms["EnrichErrorsAlarm"]["AlarmDescription"]
    assert "for 3 minutes in a row" in tuned_alarms["CollectorsBelowDesiredAlarm"]["AlarmDescription"]
