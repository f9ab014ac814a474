"""The data plane end to end on the local target, as a user drives it: `pipectl up` deploys the example
pipelines' test environments and runs their collectors; events posted to a collector land in the data
bucket; `pipectl run` carries out the enrich state machine and the local Step Functions records it;
`pipectl smoke` finds every posted event, enriched; `pipectl status` shows the collectors' URLs."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from generator.cli import main
from generator.deploy.local.executions import OUTCOME_PATH

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


class Deployed:
    """The folder `up` ran in, its local endpoint and the collectors it started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.endpoint = json.loads((folder / ".pipectl" / "local.json").read_text())["endpoint"]
        records = json.loads((folder / ".pipectl" / "collectors.json").read_text())
        self.collectors = {r["pipeline"]: r for r in records}

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def output(self, stack: str, key: str) -> str:
        described = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        return str(next(o["OutputValue"] for o in described["Outputs"] if o["OutputKey"] == key))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    folder = tmp_path_factory.mktemp("run")
    (folder / "pipelines.d").mkdir()
    for name in ("_defaults.yaml", "shop.yaml", "mobile.yaml"):
        shutil.copy(REPO / "pipelines.d" / name, folder / "pipelines.d" / name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        try:
            assert main(["up", "--env", "test", "--revision", "r1"]) == 0
            yield Deployed(folder)
        finally:
            main(["local", "stop"])


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["run", *args, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def objects(deployed: Deployed, bucket: str, prefix: str) -> list[dict[str, Any]]:
    s3 = deployed.client("s3")
    events = []
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        events += [json.loads(line) for line in gzip.decompress(body).splitlines() if line.strip()]
    return events


def test_run_enriches_what_the_collector_landed_and_the_execution_is_recorded(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = deployed.output("pipectl-shop-test-storage", "DataBucketName")
    events = [{"event_id": f"run-{i}", "event": "page_view"} for i in range(4)]
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile Safari"
    answer = requests.post(
        deployed.collectors["shop"]["url"],
        json={"app_id": "shop_web", "events": events},
        headers={"User-Agent": iphone, "X-Forwarded-For": "198.51.100.7"},
        timeout=10,
    )
    assert answer.status_code == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(objects(deployed, bucket, "raw/")) < len(events):
        time.sleep(0.3)

    code, result = run_json(capsys, "shop", "--env", "test")
    assert code == 0, result
    assert result["status"] == "SUCCEEDED" and result["console_url"] is None
    assert result["output"]["enrich"]["result"]["events"] >= len(events)
    enriched = {e["event_id"]: e for e in objects(deployed, bucket, "enriched/")}
    for event in events:
        row = enriched[event["event_id"]]
        assert row["ua"] == {"browser": "Safari", "os": "iOS", "device": "Mobile"}
        assert row["ip"] == "198.51.100.0"  # ip-geo keeps the /24

    sfn = deployed.client("stepfunctions")
    described = sfn.describe_execution(executionArn=result["execution_arn"])
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == result["output"]
    listed = sfn.list_executions(stateMachineArn=result["state_machine_arn"])["executions"]
    assert {e["name"]: e["status"] for e in listed}[result["name"]] == "SUCCEEDED"
    assert Path(result["log"]).is_file()


def test_without_env_the_only_deployed_environment_runs(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = run_json(capsys, "mobile")
    assert (code, result["env"], result["status"]) == (0, "test", "SUCCEEDED")


def test_a_failing_enrich_reports_to_the_dead_letter_queue_and_the_execution_fails(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    lam = deployed.client("lambda")
    name = "pipectl-shop-test-enrich"
    variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**variables, "BUCKET": "no-such-bucket-anywhere"}}
    )
    try:
        code, result = run_json(capsys, "shop", "--env", "test")
    finally:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    assert code == 1
    assert (result["status"], result["error"]) == ("FAILED", "EnrichFailed")
    described = deployed.client("stepfunctions").describe_execution(executionArn=result["execution_arn"])
    assert described["status"] == "FAILED" and described["error"] == "EnrichFailed"
    sqs = deployed.client("sqs")
    queue = sqs.get_queue_url(QueueName=deployed.output("pipectl-shop-test-processing", "DeadLetterQueueName"))
    messages = sqs.receive_message(QueueUrl=queue["QueueUrl"], MaxNumberOfMessages=10)["Messages"]
    reported = [json.loads(m["Body"]) for m in messages]
    (mine,) = [r for r in reported if r["execution"] == result["execution_arn"]]
    assert mine["error"]["Error"] == "NoSuchBucket" and mine["source"] == "pipectl-shop-test-processing"


def test_an_execution_that_ended_cannot_end_again(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    _, result = run_json(capsys, "mobile", "--env", "test")
    again = {"executionArn": result["execution_arn"], "status": "FAILED", "error": "x", "cause": "y"}
    answer = requests.post(deployed.endpoint + OUTCOME_PATH, json=again, timeout=10)
    assert answer.status_code == 400 and "already ended SUCCEEDED" in answer.json()["message"]
    unknown = {**again, "executionArn": result["execution_arn"] + "-nope"}
    answer = requests.post(deployed.endpoint + OUTCOME_PATH, json=unknown, timeout=10)
    assert answer.status_code == 400 and "no execution" in answer.json()["message"]


def test_smoke_finds_every_posted_event_enriched(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["smoke", "--env", "test", "--collect-timeout", "30", "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    checks = {(c["pipeline"], c["name"]): c for c in report["checks"]}
    assert {c["result"] for c in report["checks"]} == {"ok"}, report
    for pipeline in ("shop", "mobile"):  # a Kinesis sink (driven locally) and an S3 sink
        assert "all found in s3://" in checks[pipeline, "collector"]["detail"]
        assert "trace_id" in checks[pipeline, "collector"]["detail"]
        assert "succeeded (enriched" in checks[pipeline, "processing"]["detail"]


def test_status_shows_each_local_collector(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["status", "--output", "json"]) == 0
    rows = {r["stack"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["pipectl-shop-test-ingestion"]["local_collector"] == deployed.collectors["shop"]["url"]
    assert rows["pipectl-mobile-test-ingestion"]["local_collector"] == deployed.collectors["mobile"]["url"]
    assert rows["pipectl-shop-prod-ingestion"]["local_collector"] is None
    assert main(["status", "shop"]) == 0
    assert f"local collector: {deployed.collectors['shop']['url']}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "run: no pipeline named 'nosuch'; expected one of: mobile, shop"),
        (["shop", "--env", "staging"], "--env: no environment named 'staging'"),
        (["shop", "--env", "prod"], "pipectl-shop-prod-processing is not deployed on the local target"),
        (["shop", "--window-end", "yesterday"], "expected an ISO 8601 time"),
    ],
)
def test_what_cannot_run_is_a_clean_error(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    try:
        code = main(["run", *args])
    except SystemExit as exited:  # argparse's own refusal of a bad value
        code = int(str(exited.code))
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_zz_a_missing_state_machine_is_a_clean_error(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    """Last in the module: the state machine is deleted behind CloudFormation's back."""
    arn = deployed.output("pipectl-mobile-test-processing", "StateMachineArn")
    deployed.client("stepfunctions").delete_state_machine(stateMachineArn=arn)
    capsys.readouterr()
    assert main(["run", "mobile", "--env", "test"]) == 2
    err = capsys.readouterr().err
    assert f"the state machine {arn} of pipectl-mobile-test-processing is missing" in err
