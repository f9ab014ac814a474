"""The recorder Lambda against moto's DynamoDB: the items it writes follow the console table layout.

The tests run the code as deployed: the module from the console's asset zip, with the values it imports
from `generator.contract` rendered in, loaded without pipectl's package on its import path.
"""

from __future__ import annotations

import builtins
import io
import zipfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from generator import contract
from generator.deploy.local.console import Identity, answer
from generator.spec.loader import ENV_NAME, PIPELINE_NAME
from generator.stacks import common
from generator.stacks.assets import function_asset
from generator.stacks.console import TABLE_NAME
from generator.stacks.functions import recorder as recorder_source


def deployed_source() -> str:
    with zipfile.ZipFile(io.BytesIO(function_asset("recorder").data)) as archive:
        assert archive.namelist() == ["index.py"]
        return archive.read("index.py").decode()


def load_deployed() -> ModuleType:
    """The zipped index.py as a module, refusing any import of pipectl's package while it loads."""
    module = ModuleType("index")
    module.__file__ = "index.py"
    real_import = builtins.__import__

    def guarded(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "generator":
            raise ImportError(f"the deployed recorder imports {name}")
        return real_import(name, *args, **kwargs)

    builtins.__import__ = guarded
    try:
        exec(compile(deployed_source(), "index.py", "exec"), module.__dict__)
    finally:
        builtins.__import__ = real_import
    return module


recorder: Any = load_deployed()

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def stack_event(name: str, status: str, time: str, reason: str = "") -> dict[str, Any]:
    stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c3d-1111-2222-3333-444455556666"
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [stack_id],
        "detail": {
            "stack-id": stack_id,
            "status-details": {"status": status, "status-reason": reason},
        },
    }


def execution_event(execution_id: str, state: str, time: str, pipeline: str = "pipectl") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "01234567-0123-0123-0123-012345678901",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "source": "aws.codepipeline",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{pipeline}"],
        "detail": {
            "pipeline": pipeline,
            "execution-id": execution_id,
            "execution-trigger": {"trigger-type": "StartPipelineExecution", "trigger-detail": "nightly"},
            "state": state,
            "version": 3,
            "pipeline-execution-attempt": 1,
        },
    }


def action_event(state: str, time: str, category: str = "Approval", provider: str = "Manual") -> dict[str, Any]:
    """CodePipeline's action event, as EventBridge delivers it for the Approve stage's manual approval."""
    return {
        "version": "0",
        "id": "11234567-0123-0123-0123-012345678901",
        "detail-type": "CodePipeline Action Execution State Change",
        "source": "aws.codepipeline",
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:pipectl"],
        "detail": {
            "pipeline": "pipectl",
            "execution-id": "e-42",
            "stage": "Approve",
            "action": "ReviewPlan",
            "state": state,
            "region": REGION,
            "type": {"owner": "AWS", "provider": provider, "category": category, "version": "1"},
            "version": 3,
        },
    }


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A state table in moto with the console stack's keys; the recorder reads its name from TABLE_NAME."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    with mock_aws():
        recorder.table.cache_clear()
        state = boto3.resource("dynamodb", region_name=REGION).create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield state
    recorder.table.cache_clear()


def all_items(table: Any) -> list[dict[str, Any]]:
    return sorted(table.scan()["Items"], key=lambda item: (item["pk"], item["sk"]))


def test_a_pipeline_stack_status_becomes_a_stack_item(table: Any) -> None:
    key = recorder.handler(
        stack_event("pipectl-shop-prod-storage", "UPDATE_FAILED", "2024-05-01T10:00:00Z", "Bucket exists")
    )

    assert key == {"pk": "PIPELINE#shop", "sk": "STACK#prod#pipectl-shop-prod-storage"}
    [item] = all_items(table)
    assert item["stack"] == "pipectl-shop-prod-storage"
    assert item["kind"] == "storage"
    assert item["env"] == "prod"
    assert item["status"] == "UPDATE_FAILED"
    assert item["reason"] == "Bucket exists"
    assert item["updated_at"] == "2024-05-01T10:00:00Z"
    assert item["stack_id"].endswith(":stack/pipectl-shop-prod-storage/0a1b2c3d-1111-2222-3333-444455556666")


def test_hyphenated_pipeline_names_are_split_at_the_environment(table: Any) -> None:
    recorder.handler(stack_event("pipectl-web-shop-eu-test-monitoring", "CREATE_COMPLETE", "2024-05-01T10:00:00Z"))

    [item] = all_items(table)
    assert (item["pk"], item["sk"]) == ("PIPELINE#web-shop-eu", "STACK#test#pipectl-web-shop-eu-test-monitoring")
    assert (item["env"], item["kind"]) == ("test", "monitoring")


def test_status_changes_update_one_item_and_keep_what_the_controller_wrote(table: Any) -> None:
    table.put_item(
        Item={
            "pk": "PIPELINE#shop",
            "sk": "STACK#prod#pipectl-shop-prod-ingestion",
            "revision": "abc1234",
            "status": "UPDATE_IN_PROGRESS",
            "updated_at": "2024-05-01T09:59:00Z",
        }
    )

    recorder.handler(stack_event("pipectl-shop-prod-ingestion", "UPDATE_IN_PROGRESS", "2024-05-01T10:00:00Z"))
    recorder.handler(stack_event("pipectl-shop-prod-ingestion", "UPDATE_COMPLETE", "2024-05-01T10:04:00Z"))

    [item] = all_items(table)
    assert item["status"] == "UPDATE_COMPLETE"
    assert item["updated_at"] == "2024-05-01T10:04:00Z"
    assert item["revision"] == "abc1234"


def test_a_late_older_event_does_not_overwrite_a_newer_status(table: Any) -> None:
    recorder.handler(stack_event("pipectl-shop-test-processing", "CREATE_COMPLETE", "2024-05-01T10:05:00Z"))
    skipped = recorder.handler(
        stack_event("pipectl-shop-test-processing", "CREATE_IN_PROGRESS", "2024-05-01T10:01:00Z")
    )

    assert skipped is None
    [item] = all_items(table)
    assert item["status"] == "CREATE_COMPLETE"
    assert item["updated_at"] == "2024-05-01T10:05:00Z"


@pytest.mark.parametrize(("stack", "kind"), [("pipectl-console", "console"), ("pipectl-delivery", "delivery")])
def test_control_plane_stacks_are_recorded_under_control(table: Any, stack: str, kind: str) -> None:
    recorder.handler(stack_event(stack, "UPDATE_COMPLETE", "2024-05-01T10:00:00Z"))

    [item] = all_items(table)
    assert item["pk"] == "PIPELINE#_control"
    assert item["sk"] == f"STACK#_control#{stack}"
    assert (item["kind"], item["env"]) == (kind, "_control")


@pytest.mark.parametrize(
    "stack",
    ["other-app", "pipectl-shop-prod-frontend", "pipectl-Shop-prod-storage", "pipectl-shop-storage", "pipectl"],
)
def test_stacks_that_are_not_ours_are_ignored(table: Any, stack: str) -> None:
    assert recorder.handler(stack_event(stack, "CREATE_COMPLETE", "2024-05-01T10:00:00Z")) is None
    assert all_items(table) == []


def test_a_delivery_execution_is_one_item_keyed_by_its_start(table: Any) -> None:
    run = "5d1e7d8e-0000-4a4a-9b9b-0123456789ab"
    recorder.handler(execution_event(run, "STARTED", "2024-05-01T02:00:00Z"))
    recorder.handler(execution_event(run, "SUCCEEDED", "2024-05-01T02:17:00Z"))

    items = all_items(table)
    executions = [item for item in items if item["sk"].startswith("EXEC#")]
    assert len(executions) == 1
    [execution] = executions
    assert execution["pk"] == "DELIVERY"
    assert execution["sk"] == f"EXEC#2024-05-01T02:00:00Z#{run}"
    assert execution["state"] == "SUCCEEDED"
    assert execution["pipeline"] == "pipectl"
    assert execution["started_at"] == "2024-05-01T02:00:00Z"
    assert execution["updated_at"] == "2024-05-01T02:17:00Z"
    assert execution["trigger"] == "StartPipelineExecution"
    [start] = [item for item in items if item["sk"] == f"EXECID#{run}"]
    assert start["started_at"] == "2024-05-01T02:00:00Z"
    assert int(start["expires_at"]) > 1_700_000_000


def test_two_executions_are_two_items_newest_last_in_key_order(table: Any) -> None:
    recorder.handler(execution_event("run-b", "STARTED", "2024-05-02T02:00:00Z"))
    recorder.handler(execution_event("run-a", "FAILED", "2024-05-01T02:00:00Z"))

    keys = [item["sk"] for item in all_items(table) if item["sk"].startswith("EXEC#")]
    assert keys == ["EXEC#2024-05-01T02:00:00Z#run-a", "EXEC#2024-05-02T02:00:00Z#run-b"]


def test_other_events_write_nothing(table: Any) -> None:
    assert recorder.handler({"detail-type": "Scheduled Event", "detail": {}}) is None
    assert all_items(table) == []


@given(
    name=st.from_regex(PIPELINE_NAME, fullmatch=True).filter(lambda n: len(n) <= 40),
    env=st.from_regex(ENV_NAME, fullmatch=True),
    kind=st.sampled_from(common.KINDS),
)
def test_every_pipeline_stack_name_parses_back(name: str, env: str, kind: str) -> None:
    assert recorder.parse_stack(f"pipectl-{name}-{env}-{kind}") == (name, env, kind)


def test_the_recorder_knows_the_stack_kinds_of_the_generator() -> None:
    assert tuple(str(kind) for kind in common.KINDS) == recorder.PIPELINE_KINDS


def test_the_deployed_recorder_has_the_contract_rendered_in() -> None:
    """The drift this pins: the recorder filed the control plane under its own copy of the state keys."""
    source = deployed_source()
    assert "generator" not in "".join(line for line in source.splitlines() if line.startswith(("import", "from")))
    assert recorder.CONTROL_PIPELINE == recorder.CONTROL_ENV == contract.CONTROL_PIPELINE == contract.CONTROL_ENV
    assert recorder.CONTROL_STACKS == {contract.CONSOLE_STACK: "console", contract.DELIVERY_STACK: "delivery"}
    assert recorder.PIPELINE_PK_PREFIX == contract.PIPELINE_PK_PREFIX
    assert recorder.STACK_SK_PREFIX == contract.STACK_SK_PREFIX
    assert recorder.STACK_PREFIX == contract.STACK_PREFIX
    for name in ("CONTROL_PIPELINE", "PIPELINE_KINDS", "CONTROL_STACKS"):
        assert f"{name} = " in source  # a literal in the zip, not an import


def test_the_recorder_files_the_console_where_the_controller_does(table: Any) -> None:
    from generator.manifest_model import StackEntry

    console = StackEntry(
        name=contract.CONSOLE_STACK,
        kind=contract.StackKind.CONSOLE,
        pipeline=None,
        env=None,
        account=None,
        region=REGION,
        template="console.json",
        hash="h",
        retain=True,
    )
    key = recorder.handler(stack_event(contract.CONSOLE_STACK, "UPDATE_COMPLETE", "2024-05-01T10:00:00Z"))
    assert key == {"pk": f"PIPELINE#{console.owner}", "sk": f"STACK#{console.state_env}#{contract.CONSOLE_STACK}"}


def test_the_source_file_runs_in_tests_as_the_deployed_module_does() -> None:
    assert recorder_source.parse_stack("pipectl-shop-prod-storage") == recorder.parse_stack("pipectl-shop-prod-storage")
    assert recorder_source.parse_stack(contract.DELIVERY_STACK) == recorder.parse_stack(contract.DELIVERY_STACK)


def test_a_manual_approval_is_recorded_with_its_link_until_decided(table: Any) -> None:
    recorder.handler(action_event("STARTED", "2024-05-01T02:10:00Z"))
    [waiting] = all_items(table)
    assert (waiting["pk"], waiting["sk"]) == ("DELIVERY", "APPROVAL#e-42#Approve#ReviewPlan")
    assert (waiting["state"], waiting["started_at"], waiting["delivery_pipeline"]) == (
        "STARTED",
        "2024-05-01T02:10:00Z",
        "pipectl",
    )
    assert waiting["url"] == (
        f"https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/pipectl"
        f"/executions/e-42/timeline?region={REGION}"
    )
    assert int(waiting["expires_at"]) > 1_700_000_000
    asked = answer(
        "{ approvals { executionId action url } }",
        None,
        Identity("ops", ()),
        boto3.client("dynamodb", region_name=REGION),
        TABLE_NAME,
    )
    assert asked == {"data": {"approvals": [{"executionId": "e-42", "action": "ReviewPlan", "url": waiting["url"]}]}}

    recorder.handler(action_event("SUCCEEDED", "2024-05-01T03:00:00Z"))
    [decided] = all_items(table)
    assert (decided["state"], decided["started_at"]) == ("SUCCEEDED", "2024-05-01T02:10:00Z")
    asked = answer(
        "{ approvals { executionId } }",
        None,
        Identity("ops", ()),
        boto3.client("dynamodb", region_name=REGION),
        TABLE_NAME,
    )
    assert asked == {"data": {"approvals": []}}


def test_a_late_approval_start_does_not_reopen_a_decided_approval(table: Any) -> None:
    recorder.handler(action_event("SUCCEEDED", "2024-05-01T03:00:00Z"))
    recorder.handler(action_event("STARTED", "2024-05-01T02:10:00Z"))
    [item] = all_items(table)
    assert item["state"] == "SUCCEEDED"


@pytest.mark.parametrize(("category", "provider"), [("Build", "CodeBuild"), ("Approval", "Custom")])
def test_other_actions_write_nothing(table: Any, category: str, provider: str) -> None:
    assert recorder.handler(action_event("STARTED", "2024-05-01T02:10:00Z", category, provider)) is None
    assert all_items(table) == []
