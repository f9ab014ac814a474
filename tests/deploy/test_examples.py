"""The shipped examples, end to end on the local target, driven through the CLI as a user would.

One background embedded AWS (`pipectl local start`) serves the whole module, so state carries over
between commands exactly as it does for a user at a terminal.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from generator.cli import main
from generator.deploy.aws import Aws
from tests.deploy.conftest import ImportRule

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "pipelines.d", folder / "pipelines.d")
    old = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["local", "start"]) == 0
        yield folder
    finally:
        main(["local", "stop"])
        os.chdir(old)


def endpoint(workdir: Path) -> str:
    return json.loads((workdir / ".pipectl" / "local.json").read_text())["endpoint"]


def client(workdir: Path, service: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint(workdir),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def plan_actions(workdir: Path) -> dict[str, str]:
    plan = json.loads((workdir / "plan.json").read_text())
    return {s["name"]: s["action"] for s in plan["stacks"]}


@pytest.fixture
def import_rule(workdir, monkeypatch):
    """CloudFormation's rule that a change set cannot import a missing export, on every session the CLI opens
    (a botocore event hook; see ImportRule)."""
    rule = ImportRule(endpoint(workdir))
    opened = Aws._new_session

    def session(self):
        made = opened(self)
        rule.install(made.events)
        return made

    monkeypatch.setattr(Aws, "_new_session", session)
    return rule


def test_a_first_plan_makes_change_sets_only_where_imports_resolve_and_apply_brings_all_up(
    workdir, import_rule, capsys
):
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    # A fresh machine has no template bucket: the first command creates the bootstrap stack, and says so once.
    assert out.count("local target: created the pipectl-bootstrap stack") == 1
    plan = json.loads((workdir / "plan.json").read_text())
    manifest = {s["name"]: s for s in json.loads((workdir / "build" / "manifest.json").read_text())["stacks"]}
    actions = {s["name"]: s["action"] for s in plan["stacks"]}
    made_now = {name for name, action in actions.items() if action == "create"}
    assert made_now == {"pipectl-console"} | {n for n in manifest if n.endswith("-storage")}
    assert made_now == {n for n, s in manifest.items() if not s["depends_on"]}
    assert {a for n, a in actions.items() if n not in made_now} == {"create-after"}
    for stack in plan["stacks"]:
        spec = manifest[stack["name"]]
        template = (workdir / "build" / spec["template"]).read_bytes()
        assert stack["after"] == spec["depends_on"] and stack["hash"] == spec["hash"]
        assert stack["template_sha256"] == hashlib.sha256(template).hexdigest()
        if stack["action"] == "create-after":
            assert stack["change_set"] is None
            assert len(stack["changes"]) == len(json.loads(template)["Resources"])
            assert {c["action"] for c in stack["changes"]} == {"Add"}
    assert import_rule.checked == []  # no change set importing anything was made by plan
    assert "25 to create (18 after their dependencies), 0 to update, 0 unchanged" in out
    assert "  create  pipectl-shop-prod-ingestion (after pipectl-shop-prod-storage; " in out
    assert "change set created at apply time)" in out
    md = (workdir / "plan.md").read_text()
    assert "## pipectl-shop-prod-ingestion — create after pipectl-shop-prod-storage" in md
    assert (
        "## pipectl-shop-prod-monitoring — create after pipectl-shop-prod-ingestion, pipectl-shop-prod-processing" in md
    )

    assert main(["apply", "--plan", "plan.json", "--output", "json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert {n: (r["action"], r["result"]) for n, r in applied["stacks"].items()} == {
        n: (a, "done") for n, a in actions.items()
    }
    assert all(r["change_set"] for r in applied["stacks"].values())
    assert sorted(import_rule.checked) == sorted(n for n, a in actions.items() if a == "create-after")
    assert import_rule.refused == []


def test_up_brings_every_example_up(workdir, capsys):
    assert main(["up"]) == 0
    out = capsys.readouterr().out
    assert "https://collect.shop.example.com/collect" in out
    assert "appsync-api" in out and "pipectl-shop-prod" in out
    assert out.count("local target: created the pipectl-bootstrap stack") <= 1  # made by the first command
    cfn = client(workdir, "cloudformation")
    stacks = {s["StackName"]: s for s in cfn.describe_stacks()["Stacks"]}
    assert len(stacks) == 26 and "pipectl-bootstrap" in stacks
    assert {s["StackStatus"] for s in stacks.values()} == {"CREATE_COMPLETE"}


def test_up_runs_each_pipelines_collector_and_a_posted_event_lands_in_the_local_s3(workdir, capsys):
    """The README's promise: after `pipectl up`, one POST to a printed collector URL puts the event,
    enriched, into the local S3 (Kinesis → the sink function's local event source → raw/)."""
    import gzip
    import urllib.request

    assert main(["up"]) == 0
    out = capsys.readouterr().out
    records = json.loads((workdir / ".pipectl" / "collectors.json").read_text())
    assert sorted((r["pipeline"], r["env"]) for r in records) == sorted(
        (p, e) for p in ("backoffice", "mobile", "shop") for e in ("prod", "test")
    )
    shop = next(r for r in records if (r["pipeline"], r["env"]) == ("shop", "test"))
    assert f"collector shop/test: POST events to {shop['url']}" in out

    event = {"app_id": "shop_web", "events": [{"event_id": "readme-1", "event": "page_view"}]}
    request = urllib.request.Request(
        shop["url"], json.dumps(event).encode(), {"Content-Type": "application/json", "User-Agent": "readme"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202
    s3, landed = client(workdir, "s3"), []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not landed:
        time.sleep(0.5)
        for item in s3.list_objects_v2(Bucket=shop["bucket"], Prefix="raw/").get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=shop["bucket"], Key=item["Key"])["Body"].read())
            landed += [e for e in map(json.loads, body.splitlines()) if e.get("event_id") == "readme-1"]
    assert len(landed) == 1, "the event did not reach raw/ in the local S3"
    assert landed[0]["user_agent"] == "readme" and landed[0]["ingest_time"] and landed[0]["app_id"] == "shop_web"

    assert main(["smoke", "shop", "--env", "test", "--timeout", "120"]) == 0
    smoked = capsys.readouterr().out
    assert (
        f"ok      shop/test collector: 5 events posted to {shop['url']}; all found in s3://{shop['bucket']}/raw/"
        in (smoked)
    )


def test_every_resource_exists_in_its_service(workdir):
    """Spot checks through each service's own API, not CloudFormation's bookkeeping."""
    cfn = client(workdir, "cloudformation")

    def physical(stack: str, logical: str) -> str:
        return cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical)["StackResourceDetail"][
            "PhysicalResourceId"
        ]

    assert client(workdir, "kinesis").describe_stream_summary(
        StreamName=physical("pipectl-shop-prod-storage", "EventStream")
    )["StreamDescriptionSummary"]
    assert client(workdir, "s3").head_bucket(Bucket=physical("pipectl-shop-prod-storage", "DataBucket"))
    ecs = client(workdir, "ecs")
    services = ecs.list_services(cluster="pipectl-shop-prod")["serviceArns"]
    assert len(services) == 1
    pools = client(workdir, "cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert pools, "the console's and backoffice's user pools exist"
    assert client(workdir, "appsync").list_graphql_apis()["graphqlApis"]
    alarms = client(workdir, "cloudwatch").describe_alarms()["MetricAlarms"]
    assert any("shop" in a["AlarmName"] or "shop" in a.get("AlarmDescription", "") for a in alarms)
    schedules = client(workdir, "scheduler").list_schedules()["Schedules"]
    assert len(schedules) == 6
    targets = client(workdir, "application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")
    assert len(targets["ScalableTargets"]) == 6
    assert client(workdir, "stepfunctions").list_state_machines()["stateMachines"]
    assert (
        client(workdir, "dynamodb").describe_table(TableName=physical("pipectl-console", "StateTable"))["Table"][
            "TableStatus"
        ]
        == "ACTIVE"
    )


def test_storage_is_protected_on_the_local_target_as_on_aws(workdir):
    """Termination protection and the stack policy are enforced by the embedded AWS itself."""
    cfn = client(workdir, "cloudformation")
    stack = cfn.describe_stacks(StackName="pipectl-shop-prod-storage")["Stacks"][0]
    assert stack["EnableTerminationProtection"] is True
    with pytest.raises(cfn.exceptions.ClientError, match="TerminationProtection is enabled"):
        cfn.delete_stack(StackName="pipectl-shop-prod-storage")
    policy = json.loads(cfn.get_stack_policy(StackName="pipectl-shop-prod-storage")["StackPolicyBody"])
    denied = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert "LogicalResourceId/DataBucket" in denied["Resource"]
    template = (
        json.loads(cfn.get_template(StackName="pipectl-shop-prod-storage")["TemplateBody"])
        if isinstance(cfn.get_template(StackName="pipectl-shop-prod-storage")["TemplateBody"], str)
        else cfn.get_template(StackName="pipectl-shop-prod-storage")["TemplateBody"]
    )
    del template["Resources"]["EventStream"]
    template["Outputs"] = {k: v for k, v in template["Outputs"].items() if not k.startswith("Stream")}
    change_set = cfn.create_change_set(
        StackName="pipectl-shop-prod-storage",
        ChangeSetName="out-of-band",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template),
        UsePreviousTemplate=False,
        Parameters=[],
        Capabilities=["CAPABILITY_IAM"],
    )
    with pytest.raises(cfn.exceptions.ClientError, match="stack policy forbids Update:Delete"):
        cfn.execute_change_set(ChangeSetName=change_set["Id"])
    cfn.delete_change_set(ChangeSetName=change_set["Id"])
    assert cfn.describe_stack_resource(StackName="pipectl-shop-prod-storage", LogicalResourceId="EventStream")


def test_second_plan_is_all_none(workdir, capsys):
    assert main(["plan"]) == 0
    assert set(plan_actions(workdir).values()) == {"none"}
    assert "0 to create, 0 to update, 25 unchanged" in capsys.readouterr().out


def test_plan_and_status_speak_json_for_scripts(workdir, capsys):
    capsys.readouterr()
    assert main(["plan", "--output", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {s["action"] for s in plan["stacks"]} == {"none"}
    assert any("VpcId vpc-0a1b2c3d4e5f60718 is stood in" in note for note in plan["local_stand_ins"])
    assert main(["--output", "json", "status", "shop"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["stack"] for r in rows} == {
        f"pipectl-shop-{e}-{k}" for e in ("prod", "test") for k in ("storage", "ingestion", "processing", "monitoring")
    }
    assert all(r["in_sync"] for r in rows)


def test_the_nightly_plan_covers_the_test_environment_and_the_console_only(workdir):
    assert main(["plan", "--env", "test"]) == 0
    names = set(plan_actions(workdir))
    assert "pipectl-console" in names and "pipectl-shop-test-ingestion" in names
    assert not any("-prod-" in name for name in names)


def test_log_format_json_writes_one_object_per_stack_operation(workdir, capsys):
    shop = workdir / "pipelines.d" / "shop.yaml"
    original = shop.read_text()
    shop.write_text(original.replace("alarm_email: oncall@example.com", "alarm_email: night@example.com"))
    try:
        capsys.readouterr()
        assert main(["up", "--log-format", "json"]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        finished = {(o["stack"], o["result"]) for o in lines if o.get("event") != "note"}
        assert ("pipectl-shop-prod-monitoring", "done") in finished
        assert all({"time", "stack", "pipeline", "env"} <= set(o) for o in lines)
    finally:
        shop.write_text(original)
        assert main(["up"]) == 0


def test_editing_one_file_replans_only_the_stacks_it_touches(workdir):
    shop = workdir / "pipelines.d" / "shop.yaml"
    original = shop.read_text()
    shop.write_text(original.replace("alarm_email: oncall@example.com", "alarm_email: pager@example.com"))
    try:
        assert main(["plan"]) == 0
        changed = {name for name, action in plan_actions(workdir).items() if action != "none"}
        assert changed == {"pipectl-shop-prod-monitoring", "pipectl-shop-test-monitoring"}
        assert main(["apply", "--plan", "plan.json"]) == 0
        assert main(["plan"]) == 0
        assert set(plan_actions(workdir).values()) == {"none"}
    finally:
        shop.write_text(original)


def test_apply_refuses_a_stale_plan(workdir, capsys):
    shop = workdir / "pipelines.d" / "shop.yaml"
    original = shop.read_text()
    shop.write_text(original.replace("retention_days: 365", "retention_days: 400"))
    try:
        assert main(["plan"]) == 0
        shutil.copy(workdir / "plan.json", workdir / "first-plan.json")
        assert main(["apply", "--plan", "plan.json"]) == 0
        capsys.readouterr()
        code = main(["apply", "--plan", "first-plan.json"])
        assert code == 2
        assert "moved on since the plan; nothing was applied" in capsys.readouterr().err
    finally:
        shop.write_text(original)
        assert main(["up"]) == 0


def test_removed_file_is_listed_by_prune_and_nothing_is_deleted_without_yes(workdir, capsys):
    s3 = client(workdir, "s3")
    cfn = client(workdir, "cloudformation")
    bucket = cfn.describe_stack_resource(StackName="pipectl-mobile-prod-storage", LogicalResourceId="DataBucket")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    s3.put_object(Bucket=bucket, Key="raw/2026/11/26/00/event.json", Body=b'{"e": 1}')
    mobile = workdir / "pipelines.d" / "mobile.yaml"
    kept = mobile.read_text()
    mobile.unlink()
    mobile_stacks = {
        f"pipectl-mobile-{env}-{kind}"
        for env in ("test", "prod")
        for kind in ("storage", "ingestion", "processing", "monitoring")
    }
    try:
        capsys.readouterr()
        # No synth first: prune reads pipelines.d itself, not the build/ of an earlier run.
        assert main(["prune"]) == 0
        out = capsys.readouterr().out
        assert "pipectl-mobile-prod-storage" in out and "nothing was deleted" in out
        names = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
        assert "pipectl-mobile-prod-storage" in names
        # storage stacks carry termination protection: --yes alone deletes none of the pipeline's stacks
        assert main(["prune", "--yes"]) == 1
        out = capsys.readouterr().out
        assert "termination protection is on" in out and "all of them go or none do" in out
        assert out.count("--disable-protection") == 1 and "--delete-data" not in out
        names = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
        assert mobile_stacks <= names
        assert main(["prune", "--yes", "--disable-protection"]) == 0
        names = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
        assert not any(n.startswith("pipectl-mobile-") for n in names)
        assert s3.get_object(Bucket=bucket, Key="raw/2026/11/26/00/event.json")["Body"].read() == b'{"e": 1}'
    finally:
        mobile.write_text(kept)
    assert main(["up"]) == 0


def test_a_run_killed_mid_apply_is_finished_by_the_next_run(workdir, tmp_path):
    """SIGKILL in the middle of an apply (a slowed-down embedded AWS), then a rerun converges."""
    project = tmp_path / "killed"
    shutil.copytree(REPO / "pipelines.d", project / "pipelines.d")
    env = {**os.environ, "CI": "1"}
    run = [sys.executable, "-m", "generator.cli"]
    subprocess.run([*run, "local", "start", "--resource-delay", "0.05"], cwd=project, env=env, check=True)
    try:
        subprocess.run([*run, "synth"], cwd=project, env=env, check=True, capture_output=True)
        victim = subprocess.Popen(
            [*run, "apply", "--auto-approve", "--concurrency", "2"],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(6)
        assert victim.poll() is None, "the apply finished before it could be killed: slow the local AWS further"
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        rerun = subprocess.run(
            [*run, "apply", "--auto-approve", "--lock-timeout", "30"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        again = subprocess.run([*run, "plan"], cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert "25 unchanged" in again.stdout, again.stdout + again.stderr
    finally:
        subprocess.run([*run, "local", "stop"], cwd=project, env=env, check=False)
