"""The processing stack: functions, roles, state machine, schedule, exports; cfn-lint clean for every variation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from generator.spec.loader import Pipeline, load_directory
from generator.stacks import assets, processing
from generator.stacks.processing import build_processing

EXAMPLES = Path(__file__).resolve().parents[2] / "pipelines.d"
SHIPPED = [(name, env) for name in ("backoffice", "mobile", "shop") for env in ("prod", "test")]
LONG_NAME = "a-very-long-pipeline-name-to-test-limits"  # 40 characters, the maximum
# Options the examples do not use: no enrichment, a 15-minute cron, big concurrency, deletion, a
# name so long that the function names would pass Lambda's 64 characters.
VARIATION = """\
owner: team@example.com
region: eu-west-1
apps: [{id: web, platform: web}]
ingestion:
  image: public.ecr.aws/pipectl/collector:1.4.2
  domain:
    name: collect.example.com
    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-4908-8706-050403020100
  sink: {type: kinesis}
processing: {schedule: "cron(0/15 * * * ? *)", enrich: [], concurrency: 50, memory_mb: 256, timeout_s: 60}
monitoring: {log_retention_days: 7}
deletion: delete
environments: {production: {}}
"""
VARIATION_KEY = (LONG_NAME, "production")
XRAY_WRITE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
XRAY_SAMPLING = {"xray:GetSamplingRules", "xray:GetSamplingTargets"}
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}
# Actions AWS offers no resource-level permission for: the only ones allowed on Resource "*".
WILDCARD_RESOURCE_OK = XRAY_WRITE | XRAY_SAMPLING | LOG_DELIVERY


def _pipelines(directory: Path) -> dict[tuple[str, str], Pipeline]:
    return {(p.name, p.env): p for p in load_directory(directory).pipelines}


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Pipeline]:
    directory = tmp_path_factory.mktemp("variation")
    (directory / f"{LONG_NAME}.yaml").write_text(VARIATION)
    return _pipelines(EXAMPLES) | _pipelines(directory)


@pytest.fixture(scope="module")
def texts(pipelines: dict[tuple[str, str], Pipeline]) -> dict[tuple[str, str], str]:
    return {key: build_processing(p).to_json() for key, p in pipelines.items()}


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


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = _props(template, role)["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def _granted(template: dict[str, Any], role: str, action: str) -> list[Any]:
    """Resources a role may use `action` on."""
    return [r for s in _statements(template, role) if action in s["Action"] for r in s["Resource"]]


def _substituted(definition: dict[str, Any]) -> dict[str, Any]:
    """Resolve the Fn::Sub of a state machine definition with stand-in values, then parse it."""
    text, names = definition["Fn::Sub"]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in names or name.startswith("AWS::"), f"unresolved ${{{name}}} in the definition"
        return f"stand-in-{name}"

    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", value, text))
    return parsed


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY], ids=lambda k: "-".join(k) if isinstance(k, tuple) else k)
def test_cfn_lint_finds_nothing(lint_findings: dict[tuple[str, str], list[str]], key: tuple[str, str]) -> None:
    assert lint_findings[key] == []


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY])
def test_sink_only_for_kinesis_and_outputs_follow_the_contract(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    template = _template(texts, key)
    pipeline = pipelines[key]
    kinesis = pipeline.spec.ingestion.sink.type == "kinesis"
    resources = template["Resources"]
    assert ("SinkFunction" in resources) == ("SinkEventSource" in resources) == kinesis
    expected = {"StateMachineArn", "StateMachineName", "EnrichFunctionName", "DeadLetterQueueName"}
    if kinesis:
        expected.add("SinkFunctionName")
    assert set(template["Outputs"]) == expected
    stack = f"pipectl-{pipeline.name}-{pipeline.env}-processing"
    for name, output in template["Outputs"].items():
        assert output["Export"]["Name"] == f"{stack}:{name}"
        assert output["Description"]


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY])
def test_functions_follow_the_spec(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    template = _template(texts, key)
    pipeline = pipelines[key]
    spec = pipeline.spec.processing
    names = ["Sink", "Enrich"] if pipeline.spec.ingestion.sink.type == "kinesis" else ["Enrich"]
    for prefix in names:
        props = _props(template, f"{prefix}Function")
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "index.handler"
        assert props["Code"] == {
            "S3Bucket": {"Ref": "AssetBucket"},
            "S3Key": assets.function_asset(prefix.lower()).key,
        }
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_s
        # A reservation only where the file asks, never for the sink of an on-demand stream (these fixtures).
        assert props.get("ReservedConcurrentExecutions") == (spec.concurrency if prefix == "Enrich" else None)
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": f"{prefix}LogGroup"}}
        assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
        assert props["KmsKeyArn"] == _imported(pipeline, "storage", "KeyArn")
        variables = props["Environment"]["Variables"]
        assert variables["BUCKET"] == _imported(pipeline, "storage", "DataBucketName")
        assert variables["RAW_PREFIX"] == "raw/"
    enrich_vars = _props(template, "EnrichFunction")["Environment"]["Variables"]
    assert enrich_vars["ENRICHED_PREFIX"] == "enriched/"
    assert enrich_vars["ENRICHMENTS"] == ",".join(spec.enrich)


def test_function_names_are_readable_or_left_to_cloudformation(texts: dict[tuple[str, str], str]) -> None:
    assert _props(_template(texts, ("shop", "prod")), "EnrichFunction")["FunctionName"] == "pipectl-shop-prod-enrich"
    assert _props(_template(texts, ("shop", "test")), "SinkFunction")["FunctionName"] == "pipectl-shop-test-sink"
    long = _template(texts, VARIATION_KEY)
    assert "FunctionName" not in _props(long, "EnrichFunction")  # 66 characters would not fit in 64
    assert _props(long, "SinkFunction")["FunctionName"] == f"pipectl-{LONG_NAME}-production-sink"  # exactly 64


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY])
def test_log_groups_are_encrypted_named_retained(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    template = _template(texts, key)
    pipeline = pipelines[key]
    policy = "Retain" if pipeline.spec.deletion == "retain" else "Delete"
    groups = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"}
    expected = {"EnrichLogGroup", "StateMachineLogGroup"}
    if pipeline.spec.ingestion.sink.type == "kinesis":
        expected.add("SinkLogGroup")
    assert set(groups) == expected
    for logical_id, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == _imported(pipeline, "storage", "KeyArn")
        assert group["Properties"]["RetentionInDays"] == pipeline.spec.monitoring.log_retention_days
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == policy, logical_id
    name = groups["EnrichLogGroup"]["Properties"]["LogGroupName"]
    # per stack creation, so a retained group never blocks re-creating the pipeline
    assert name["Fn::Join"][1][:2] == [f"/pipectl/{pipeline.name}/{pipeline.env}/enrich", "/"]
    assert name["Fn::Join"][1][2] == {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    assert "QueueName" not in template["Resources"]["DeadLetterQueue"]["Properties"]
    queue = template["Resources"]["DeadLetterQueue"]
    assert queue["Properties"]["KmsMasterKeyId"] == _imported(pipeline, "storage", "KeyArn")
    assert queue["DeletionPolicy"] == policy


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY])
def test_roles_are_least_privilege(texts: dict[tuple[str, str], str], key: tuple[str, str]) -> None:
    template = _template(texts, key)
    roles = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        for statement in _statements(template, role):
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                assert "*" not in action, (role, action)
            if "*" in statement["Resource"]:
                assert statement["Resource"] == ["*"]
                assert set(statement["Action"]) <= WILDCARD_RESOURCE_OK, (role, statement["Action"])


def test_function_roles_reach_only_their_prefixes_and_queue(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline]
) -> None:
    template = _template(texts, ("shop", "prod"))
    pipeline = pipelines[("shop", "prod")]
    bucket = _imported(pipeline, "storage", "DataBucketArn")
    raw = {"Fn::Sub": ["${Bucket}/raw/*", {"Bucket": bucket}]}
    enriched = {"Fn::Sub": ["${Bucket}/enriched/*", {"Bucket": bucket}]}
    queue = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}

    assert _granted(template, "SinkRole", "s3:PutObject") == [raw]
    assert _granted(template, "SinkRole", "s3:GetObject") == []
    assert _granted(template, "SinkRole", "kinesis:GetRecords") == [_imported(pipeline, "storage", "StreamArn")]
    assert _granted(template, "SinkRole", "logs:PutLogEvents") == [{"Fn::GetAtt": ["SinkLogGroup", "Arn"]}]

    assert _granted(template, "EnrichRole", "s3:GetObject") == [raw]
    assert _granted(template, "EnrichRole", "s3:PutObject") == [enriched]
    listing = [s for s in _statements(template, "EnrichRole") if "s3:ListBucket" in s["Action"]]
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": ["raw/*"]}}
    assert _granted(template, "EnrichRole", "logs:PutLogEvents") == [{"Fn::GetAtt": ["EnrichLogGroup", "Arn"]}]
    assert _granted(template, "EnrichRole", "kinesis:GetRecords") == []

    for role in ("SinkRole", "EnrichRole", "StateMachineRole", "ScheduleRole"):
        assert _granted(template, role, "sqs:SendMessage") == [queue]
        assert _granted(template, role, "kms:Encrypt") == []
    assert _granted(template, "StateMachineRole", "lambda:InvokeFunction") == [
        {"Fn::GetAtt": ["EnrichFunction", "Arn"]}
    ]
    assert _granted(template, "ScheduleRole", "states:StartExecution") == [{"Ref": "StateMachine"}]
    trust = _props(template, "ScheduleRole")["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]


def test_sink_reads_the_stream_in_batches_and_dead_letters_failures(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline]
) -> None:
    pipeline = pipelines[("backoffice", "prod")]
    mapping = _props(_template(texts, ("backoffice", "prod")), "SinkEventSource")
    assert mapping["EventSourceArn"] == _imported(pipeline, "storage", "StreamArn")
    assert mapping["FunctionName"] == {"Ref": "SinkFunction"}
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumBatchingWindowInSeconds"] > 0
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY])
def test_state_machine_retries_then_reports_failures(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    props = _props(_template(texts, key), "StateMachine")
    spec = pipelines[key].spec.processing
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == pipelines[key].spec.monitoring.execution_log_level == "ALL"
    assert logging["IncludeExecutionData"] is False
    assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["StateMachineLogGroup", "Arn"]
    }
    names = props["DefinitionString"]["Fn::Sub"][1]
    assert names == {
        "EnrichFunctionArn": {"Fn::GetAtt": ["EnrichFunction", "Arn"]},
        "DeadLetterQueueUrl": {"Ref": "DeadLetterQueue"},
    }
    asl = _substituted(props["DefinitionString"])
    states = asl["States"]
    task = states["Enrich"]
    assert task["Resource"] == "arn:stand-in-AWS::Partition:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == "stand-in-EnrichFunctionArn"
    assert task["Parameters"]["Payload"]["window_minutes"] == processing.window_minutes(spec.schedule)
    assert task["TimeoutSeconds"] > spec.timeout_s
    [retry] = task["Retry"]
    assert "Lambda.ServiceException" in retry["ErrorEquals"]
    assert "States.ALL" not in retry["ErrorEquals"]  # the function's own errors are not retried blindly
    assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] > 1
    assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    report = states[task["Catch"][0]["Next"]]
    assert report["Resource"].endswith(":states:::sqs:sendMessage")
    assert report["Parameters"]["QueueUrl"] == "stand-in-DeadLetterQueueUrl"
    assert states[report["Next"]]["Type"] == "Fail"
    assert {s["Type"] for s in states.values()} <= {"Choice", "Pass", "Task", "Fail"}
    for state in states.values():  # every transition lands on a state that exists
        for target in [state.get("Next"), state.get("Default"), *[c["Next"] for c in state.get("Catch", [])]]:
            assert target is None or target in states


@pytest.mark.parametrize("key", [*SHIPPED, VARIATION_KEY])
def test_schedule_starts_the_state_machine(
    texts: dict[tuple[str, str], str], pipelines: dict[tuple[str, str], Pipeline], key: tuple[str, str]
) -> None:
    props = _props(_template(texts, key), "Schedule")
    pipeline = pipelines[key]
    assert props["ScheduleExpression"] == pipeline.spec.processing.schedule
    assert props["State"] == "ENABLED"
    assert props["KmsKeyArn"] == _imported(pipeline, "storage", "KeyArn")
    target = props["Target"]
    assert target["Arn"] == {"Ref": "StateMachine"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["ScheduleRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert json.loads(target["Input"]) == {"window_end": "<aws.scheduler.scheduled-time>"}


@pytest.mark.parametrize(
    ("schedule", "minutes"),
    [
        ("rate(1 hour)", 60),
        ("rate(6 hours)", 360),
        ("rate(15 minutes)", 15),
        ("rate(1 day)", 1440),
        ("cron(0/15 * * * ? *)", 60),
        ("cron(0 3 * * ? *)", 1440),
        ("cron(0 3 ? * MON *)", 7 * 1440),
        ("cron(0 3 1 * ? *)", 31 * 1440),
    ],
)
def test_the_window_covers_the_time_between_runs(schedule: str, minutes: int) -> None:
    assert processing.window_minutes(schedule) == minutes


def test_output_is_deterministic(pipelines: dict[tuple[str, str], Pipeline], texts: dict[tuple[str, str], str]) -> None:
    for key in (("shop", "prod"), ("mobile", "test")):
        assert build_processing(pipelines[key]).to_json() == texts[key]


@pytest.mark.parametrize(
    ("sink", "concurrency", "expected"),
    [
        ("{type: kinesis, mode: provisioned, shards: 3}", 5, {"Sink": 3, "Enrich": 5}),
        ("{type: kinesis, mode: provisioned, shards: 3}", None, {"Sink": None, "Enrich": None}),
        ("{type: kinesis, mode: on-demand}", 5, {"Sink": None, "Enrich": 5}),
        ("{type: s3, buffer_mb: 8, interval_s: 60}", 7, {"Enrich": 7}),
    ],
)
def test_reserved_concurrency_is_optional_and_sized_from_shards(
    tmp_path: Path, sink: str, concurrency: int | None, expected: dict[str, int | None]
) -> None:
    """Unset, no function reserves any of the account's concurrency; set, a Kinesis sink function reserves
    one per shard of a provisioned stream (what Lambda runs at once) and none for an on-demand stream."""
    reserved = "" if concurrency is None else f"processing: {{concurrency: {concurrency}}}\n"
    text = VARIATION.replace("  sink: {type: kinesis}\n", f"  sink: {sink}\n").replace(
        'processing: {schedule: "cron(0/15 * * * ? *)", enrich: [], concurrency: 50, memory_mb: 256, timeout_s: 60}\n',
        reserved,
    )
    (tmp_path / "p.yaml").write_text(text)
    (pipeline,) = load_directory(tmp_path).pipelines
    template = json.loads(build_processing(pipeline).to_json())
    found = {prefix: _props(template, f"{prefix}Function").get("ReservedConcurrentExecutions") for prefix in expected}
    assert found == expected
