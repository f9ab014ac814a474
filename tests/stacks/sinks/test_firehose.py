"""The Firehose sink: what each stack of a Firehose pipeline holds, and that it validates with no findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.spec.loader import Pipeline, load_directory
from generator.spec.sinks import FirehoseSink
from generator.stacks.ingestion import build_ingestion
from generator.stacks.monitoring import build_monitoring
from generator.stacks.processing import build_processing
from generator.stacks.storage import build_storage

PIPELINES = Path(__file__).resolve().parent / "pipelines.d"
STORAGE_IMPORT = "pipectl-clicks-test-storage:{}"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    (found,) = load_directory(PIPELINES, "pipelines.d").pipelines
    return found


def data(template: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(template.to_json())
    return parsed


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_the_file_s_settings_and_firehose_s_defaults() -> None:
    assert FirehoseSink(type="firehose") == FirehoseSink(type="firehose", buffer_mb=64, interval_s=300)


def test_storage_holds_an_encrypted_delivery_stream_writing_gzip_to_raw(pipeline: Pipeline) -> None:
    template = data(build_storage(pipeline))
    (delivery,) = of_type(template, "AWS::KinesisFirehose::DeliveryStream").values()
    p = delivery["Properties"]
    assert p["DeliveryStreamType"] == "DirectPut"
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert p["DeliveryStreamEncryptionConfigurationInput"] == {"KeyARN": key, "KeyType": "CUSTOMER_MANAGED_CMK"}
    s3 = p["ExtendedS3DestinationConfiguration"]
    assert s3["BucketARN"] == {"Fn::GetAtt": ["DataBucket", "Arn"]}
    assert s3["RoleARN"] == {"Fn::GetAtt": ["DeliveryRole", "Arn"]}
    assert s3["Prefix"] == "raw/!{timestamp:yyyy/MM/dd/HH}/"
    assert s3["ErrorOutputPrefix"].startswith("delivery-errors/!{firehose:error-output-type}/")
    assert s3["CompressionFormat"] == "GZIP"
    assert s3["BufferingHints"] == {"IntervalInSeconds": 120, "SizeInMBs": 32}
    assert s3["EncryptionConfiguration"] == {"KMSEncryptionConfig": {"AWSKMSKeyARN": key}}
    assert s3["CloudWatchLoggingOptions"] == {
        "Enabled": True,
        "LogGroupName": {"Ref": "DeliveryLogGroup"},
        "LogStreamName": {"Ref": "DeliveryLogStream"},
    }
    assert template["Resources"]["DeliveryLogGroup"]["Properties"]["KmsKeyId"] == key
    assert set(template["Outputs"]) >= {"DeliveryStreamName", "DeliveryStreamArn"}
    assert not of_type(template, "AWS::Kinesis::Stream")


def test_the_delivery_role_is_firehose_s_for_this_account_and_scoped_to_raw_and_errors(pipeline: Pipeline) -> None:
    role = data(build_storage(pipeline))["Resources"]["DeliveryRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    objects = [r["Fn::Sub"][0] for r in statements["WriteRawObjects"]["Resource"]]
    assert objects == ["${Bucket}/raw/*", "${Bucket}/delivery-errors/*"]
    assert statements["EncryptObjectsThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert statements["LogDeliveryErrors"]["Resource"] == [{"Fn::GetAtt": ["DeliveryLogGroup", "Arn"]}]
    actions = [a for s in statements.values() for a in s["Action"]]
    assert all(not a.endswith("*") for a in actions)


def test_collectors_put_records_to_the_delivery_stream_only(pipeline: Pipeline) -> None:
    template = data(build_ingestion(pipeline))
    (container,) = template["Resources"]["CollectorTaskDefinition"]["Properties"]["ContainerDefinitions"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["SINK_TYPE"] == "firehose"
    assert environment["DELIVERY_STREAM_NAME"] == {"Fn::ImportValue": STORAGE_IMPORT.format("DeliveryStreamName")}
    assert not {"STREAM_NAME", "BUCKET_NAME", "BUFFER_MB"} & set(environment)
    task_role = template["Resources"]["CollectorTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    (statement,) = task_role["Statement"]
    assert statement["Action"] == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert statement["Resource"] == [{"Fn::ImportValue": STORAGE_IMPORT.format("DeliveryStreamArn")}]


def test_processing_has_no_sink_function_firehose_writes_raw_itself(pipeline: Pipeline) -> None:
    template = data(build_processing(pipeline))
    assert "SinkFunction" not in template["Resources"]
    assert not of_type(template, "AWS::Lambda::EventSourceMapping")
    assert set(of_type(template, "AWS::Lambda::Function")) == {"EnrichFunction"}


def test_monitoring_alarms_on_throttling_and_late_delivery_and_shows_the_delivery_stream(pipeline: Pipeline) -> None:
    template = data(build_monitoring(pipeline))
    resources = template["Resources"]
    stream = {"Fn::ImportValue": STORAGE_IMPORT.format("DeliveryStreamName")}
    throttled = resources["DeliveryThrottledAlarm"]["Properties"]
    assert (throttled["Namespace"], throttled["MetricName"]) == ("AWS/Firehose", "ThrottledRecords")
    assert throttled["Dimensions"] == [{"Name": "DeliveryStreamName", "Value": stream}]
    late = resources["DeliveryFreshnessAlarm"]["Properties"]
    assert late["MetricName"] == "DeliveryToS3.DataFreshness"
    assert late["Threshold"] == 2 * 120 + 300
    no_events = resources["NoEventsAlarm"]["Properties"]
    assert (no_events["Namespace"], no_events["MetricName"]) == ("AWS/Firehose", "IncomingRecords")
    assert "the Firehose delivery stream" in no_events["AlarmDescription"]
    assert not {"SinkErrorsAlarm", "SinkIteratorAgeAlarm"} & set(resources)
    body, names = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert names["DeliveryStream"] == stream
    assert not {"Stream", "SinkFunction", "Bucket"} & set(names)
    widgets = json.loads(body)["widgets"]
    titles = [w["properties"].get("title") for w in widgets]
    assert "Events into the delivery stream" in titles
    assert "Oldest record not yet delivered to S3 (seconds)" in titles
    assert "Sink function errors" not in titles
    alarms = next(w for w in widgets if w["type"] == "alarm")["properties"]["alarms"]
    assert "${DeliveryFreshnessAlarm.Arn}" in alarms and "${DeliveryThrottledAlarm.Arn}" in alarms


def test_a_firehose_pipeline_validates_with_no_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cfn-lint and the project rules (E9xxx, the execution role's coverage among them) on every stack."""
    code = main(["validate", "--pipelines", str(PIPELINES), "--build-dir", str(tmp_path), "--jobs", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.rstrip().endswith(": no findings"), out
