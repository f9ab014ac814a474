"""The pipectl-delivery stack: lint-clean for both sources, and the pipeline the issue describes -
stages, trigger, schedule, approval, notifications and who may do what."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto.events.models import EventPattern

from generator.policy.lint import LintJob, lint_templates
from generator.stacks.console import recorded_events
from generator.stacks.delivery import (
    BUILD_STAGES,
    DEFAULT_SCHEDULE,
    PIPELINE_NAME,
    TRIGGER_PATHS,
    CodeCommitSource,
    ConnectionSource,
    DeliverySpec,
    build_delivery,
)

REPO = Path(__file__).resolve().parents[2]
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f0e0d0c-0b0a-4908-8706-050403020100"
SPECS = {
    "codecommit": DeliverySpec(CodeCommitSource("pipectl-config"), approvers=("a@example.com", "b@example.com")),
    "connection": DeliverySpec(
        ConnectionSource(CONNECTION, "acme/pipelines"), branch="release", schedule="rate(1 day)"
    ),
    "legacy-connection": DeliverySpec(
        ConnectionSource(CONNECTION.replace("codeconnections", "codestar-connections"), "acme/pipelines")
    ),
}


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    return {name: build_delivery(spec).to_dict() for name, spec in SPECS.items()}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _pipeline(template: dict[str, Any]) -> dict[str, Any]:
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
    return dict(pipeline["Properties"])


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_every_variant_is_lint_clean_with_the_project_rules(
    templates: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    jobs = []
    for name, template in templates.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(template, indent=2))
        jobs.append(LintJob(f"{name}.json", "eu-west-1"))
    assert lint_templates(tmp_path, jobs, workers=1) == []


def test_the_stages_run_in_the_delivery_order(templates: dict[str, dict[str, Any]]) -> None:
    for template in templates.values():
        pipeline = _pipeline(template)
        assert pipeline["PipelineType"] == "V2"
        assert [s["Name"] for s in pipeline["Stages"]] == [
            "Source",
            "Validate",
            "Plan",
            "Approve",
            "Apply",
            "SmokeTest",
        ]
        builds = {s["Name"]: s["Actions"][0] for s in pipeline["Stages"] if s["Name"] in BUILD_STAGES}
        assert {a["ActionTypeId"]["Provider"] for a in builds.values()} == {"CodeBuild"}
        # Apply and SmokeTest work on exactly what Plan planned.
        assert builds["Plan"]["OutputArtifacts"] == [{"Name": "Planned"}]
        assert builds["Apply"]["InputArtifacts"] == builds["SmokeTest"]["InputArtifacts"] == [{"Name": "Planned"}]


def test_each_stage_has_its_project_selecting_the_buildspec_stage(templates: dict[str, dict[str, Any]]) -> None:
    projects = _resources(templates["codecommit"], "AWS::CodeBuild::Project")
    stages = {}
    for project in projects.values():
        props = project["Properties"]
        assert props["Source"]["Type"] == "CODEPIPELINE"
        assert "EncryptionKey" in props and props["Cache"]["Type"] == "S3"
        variables = {v["Name"]: v["Value"] for v in props["Environment"]["EnvironmentVariables"]}
        assert variables["PIPECTL_TARGET"] == "aws"
        stages[variables["PIPECTL_STAGE"]] = variables
    assert set(stages) == set(BUILD_STAGES)
    execution_arn = {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    assert (
        stages["Plan"]["PIPECTL_CLOUDFORMATION_ROLE_ARN"]
        == stages["Apply"]["PIPECTL_CLOUDFORMATION_ROLE_ARN"]
        == execution_arn
    )
    assert "PIPECTL_CLOUDFORMATION_ROLE_ARN" not in stages["Validate"]


def test_a_push_to_the_branch_touching_the_files_that_matter_starts_a_run(templates: dict[str, dict[str, Any]]) -> None:
    (trigger,) = _pipeline(templates["connection"])["Triggers"]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    (push,) = trigger["GitConfiguration"]["Push"]
    assert push["Branches"]["Includes"] == ["release"]
    assert "pipelines.d/**" in push["FilePaths"]["Includes"]
    assert push["FilePaths"]["Includes"] == list(TRIGGER_PATHS)
    source = _pipeline(templates["connection"])["Stages"][0]["Actions"][0]
    assert source["Configuration"]["FullRepositoryId"] == "acme/pipelines"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION


def test_codecommit_is_created_retained_and_pushes_start_the_pipeline_by_rule(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["codecommit"]
    (repository,) = _resources(template, "AWS::CodeCommit::Repository").values()
    assert repository["DeletionPolicy"] == "Retain"
    assert repository["Properties"]["RepositoryName"] == "pipectl-config"
    assert "Triggers" not in _pipeline(template)  # V2 trigger filters exist for connections only
    (rule,) = _resources(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"]["referenceName"] == ["main"]
    assert _pipeline(template)["Stages"][0]["Actions"][0]["Configuration"]["PollForSourceChanges"] == "false"


def test_the_daily_schedule_starts_the_pipeline_as_a_nightly_run(templates: dict[str, dict[str, Any]]) -> None:
    for name, expression in (("codecommit", DEFAULT_SCHEDULE), ("connection", "rate(1 day)")):
        (schedule,) = _resources(templates[name], "AWS::Scheduler::Schedule").values()
        props = schedule["Properties"]
        assert props["ScheduleExpression"] == expression
        assert props["Target"]["Arn"] == {
            "Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:codepipeline:startPipelineExecution"
        }
        start = json.loads(props["Target"]["Input"]["Fn::Sub"])
        assert start == {"name": "${Pipeline}", "variables": [{"name": "RUN", "value": "nightly"}]}
        role = templates[name]["Resources"][props["Target"]["RoleArn"]["Fn::GetAtt"][0]]
        actions = {a for s in _statements(role) for a in _actions(s)}
        assert actions == {
            "codepipeline:StartPipelineExecution",
            "sqs:SendMessage",
            "kms:GenerateDataKey",
            "kms:Decrypt",
        }
    variables = _pipeline(templates["codecommit"])["Variables"]
    assert variables[0]["Name"] == "RUN" and variables[0]["DefaultValue"] == "push"


def test_the_schedule_input_is_a_valid_start_pipeline_execution_request(templates: dict[str, dict[str, Any]]) -> None:
    """Scheduler hands Input to CodePipeline as the request itself: it must validate against the API's model
    (the earlier PascalCase keys did not, and the run would have started without RUN=nightly)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("codepipeline")
    shape = model.operation_model("StartPipelineExecution").input_shape
    (schedule,) = _resources(templates["codecommit"], "AWS::Scheduler::Schedule").values()
    start = json.loads(schedule["Properties"]["Target"]["Input"]["Fn::Sub"].replace("${Pipeline}", "pipectl-delivery"))
    report = ParamValidator().validate(start, shape)
    assert not report.has_errors(), report.generate_report()
    wrong = {"Name": "pipectl-delivery", "Variables": [{"Name": "RUN", "Value": "nightly"}]}
    assert ParamValidator().validate(wrong, shape).has_errors()


def test_a_night_without_a_run_pages_the_approvers(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["codecommit"]
    (schedule,) = _resources(template, "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = template["Resources"][queue_id]
    assert queue["Type"] == "AWS::SQS::Queue" and "KmsMasterKeyId" in queue["Properties"]
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    (topic_id,) = _resources(template, "AWS::SNS::Topic")
    parked = alarms["NightlyRunNotStartedAlarm"]["Properties"]
    assert parked["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    lost = alarms["NightlyRunLostAlarm"]["Properties"]
    assert lost["MetricName"] == "InvocationsFailedToBeSentToDeadLetterCount"
    for alarm in (parked, lost):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    key = next(iter(_resources(template, "AWS::KMS::Key").values()))
    principals = [s.get("Principal", {}).get("Service") for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert "cloudwatch.amazonaws.com" in principals  # alarms publish to the encrypted topic


def test_approval_carries_the_plan_and_is_skipped_only_when_the_plan_says_so(
    templates: dict[str, dict[str, Any]],
) -> None:
    approve = next(s for s in _pipeline(templates["codecommit"])["Stages"] if s["Name"] == "Approve")
    (condition,) = approve["BeforeEntry"]["Conditions"]
    assert condition["Result"] == "SKIP"
    (rule,) = condition["Rules"]
    assert rule["RuleTypeId"]["Provider"] == "VariableCheck"
    # Anything but an explicit "not-required" (a typo, an empty value) enters the stage and waits.
    assert rule["Configuration"] == {
        "Variable": "#{PlanVariables.PIPECTL_APPROVAL}",
        "Value": "not-required",
        "Operator": "NE",
    }
    (action,) = approve["Actions"]
    assert action["ActionTypeId"]["Provider"] == "Manual"
    assert action["Configuration"]["NotificationArn"] == {"Ref": "DeliveryTopic"}
    assert action["Configuration"]["CustomData"] == "#{PlanVariables.PIPECTL_PLAN_SUMMARY}"
    assert action["Configuration"]["ExternalEntityLink"] == "#{PlanVariables.PIPECTL_PLAN_LINK}"


def test_the_buildspec_exports_every_variable_the_pipeline_reads(templates: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(_pipeline(templates["codecommit"]))
    read = {part.split("}")[0] for part in text.split("#{PlanVariables.")[1:]}
    buildspec = yaml.safe_load((REPO / "buildspec.yml").read_text())
    assert read == set(buildspec["env"]["exported-variables"])


def test_approvers_are_subscribed_and_failures_notified(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["codecommit"]
    subscriptions = _resources(template, "AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == ["a@example.com", "b@example.com"]
    assert {s["Properties"]["Protocol"] for s in subscriptions} == {"email"}
    (topic,) = _resources(template, "AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["DeliveryKey", "Arn"]}
    (rule,) = _resources(template, "AWS::CodeStarNotifications::NotificationRule").values()
    assert "codepipeline-pipeline-pipeline-execution-failed" in rule["Properties"]["EventTypeIds"]
    assert rule["Properties"]["Targets"] == [{"TargetType": "SNS", "TargetAddress": {"Ref": "DeliveryTopic"}}]


def test_the_artifact_bucket_is_encrypted_private_and_tls_only(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["codecommit"]
    bucket = template["Resources"]["ArtifactBucket"]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["DeliveryKey", "Arn"]}}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (statement,) = template["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    store = _pipeline(template)["ArtifactStore"]
    assert store["EncryptionKey"] == {"Type": "KMS", "Id": {"Fn::GetAtt": ["DeliveryKey", "Arn"]}}


def test_the_plan_and_apply_roles_touch_only_pipectl_stacks_and_pass_only_the_execution_role(
    templates: dict[str, dict[str, Any]],
) -> None:
    resources = templates["codecommit"]["Resources"]
    for stage in ("Plan", "Apply"):
        role_id = resources[f"{stage}Project"]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        statements = _statements(resources[role_id])
        changing = [
            s
            for s in statements
            if any(a.startswith("cloudformation:") and a != "cloudformation:DescribeStacks" for a in _actions(s))
        ]
        assert changing and all(
            s["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/pipectl-*/*"}]
            for s in changing
        )
        passing = [s for s in statements if "iam:PassRole" in _actions(s)]
        assert passing == [
            {
                "Sid": "PassOnlyTheExecutionRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [{"Fn::GetAtt": ["ExecutionRole", "Arn"]}],
                "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            }
        ]
        assert not any(
            a.startswith(("ec2:", "ecs:", "iam:Create", "s3:Create")) for s in statements for a in _actions(s)
        )
        metrics = [s for s in statements if "cloudwatch:PutMetricData" in _actions(s)]
        assert [(m["Resource"], m["Condition"]) for m in metrics] == [
            (["*"], {"StringEquals": {"cloudwatch:namespace": "pipectl"}})
        ]


def test_only_apply_executes_change_sets_or_changes_stacks(templates: dict[str, dict[str, Any]]) -> None:
    """Plan runs a pushed buildspec before the approval: it creates change sets and can do nothing with them."""
    resources = templates["codecommit"]["Resources"]
    granted = {
        stage: {a for s in _statements(resources[f"{stage}BuildRole"]) for a in _actions(s)}
        for stage in ("Plan", "Apply")
    }
    executing = {
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DeleteStack",
        "cloudformation:SetStackPolicy",
        "cloudformation:UpdateTerminationProtection",
        "cloudformation:ContinueUpdateRollback",
    }
    assert not granted["Plan"] & executing
    assert executing <= granted["Apply"]
    assert {"cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet"} <= granted["Plan"]


def test_apply_and_smoke_run_commands_held_in_the_template(templates: dict[str, dict[str, Any]]) -> None:
    resources = templates["codecommit"]["Resources"]
    for stage in ("Validate", "Plan"):
        assert resources[f"{stage}Project"]["Properties"]["Source"]["BuildSpec"] == "buildspec.yml"
    for stage, command in (("Apply", 'pipectl" apply --plan'), ("SmokeTest", 'pipectl" smoke')):
        held = yaml.safe_load(resources[f"{stage}Project"]["Properties"]["Source"]["BuildSpec"])
        commands = [c for phase in held["phases"].values() for c in phase["commands"]]
        assert any(command.replace("\\", "") in c for c in commands), commands
        installs = " ".join(held["phases"]["install"]["commands"])
        assert 'pip install --no-cache-dir "pipectl==' in installs and "-e ." not in installs
        assert not any("buildspec.yml" in c or "pip install -e" in c for c in commands)
    apply = _pipeline(templates["codecommit"])["Stages"][4]["Actions"][0]
    assert "#{PlanVariables.PIPECTL_APPROVAL}" in apply["Configuration"]["EnvironmentVariables"]


def test_validate_and_smoke_touch_no_stack(templates: dict[str, dict[str, Any]]) -> None:
    resources = templates["codecommit"]["Resources"]
    validate = {a for s in _statements(resources["ValidateBuildRole"]) for a in _actions(s)}
    assert not any(a.startswith(("cloudformation:", "iam:")) for a in validate)
    smoke = {a for s in _statements(resources["SmokeTestBuildRole"]) for a in _actions(s)}
    assert {a for a in smoke if a.startswith("cloudformation:")} == {"cloudformation:DescribeStacks"}
    assert "states:StartExecution" in smoke and "cloudwatch:GetDashboard" in smoke


def test_cloudformation_alone_assumes_the_execution_role(templates: dict[str, dict[str, Any]]) -> None:
    role = templates["codecommit"]["Resources"]["ExecutionRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert "Policies" not in role  # its grants are managed policies, derived from the permissions table
    attached = [
        r["Properties"]
        for r in templates["codecommit"]["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and r["Properties"]["Roles"] == [{"Ref": "ExecutionRole"}]
    ]
    assert 1 <= len(attached) <= 10
    granted = {a for p in attached for s in p["PolicyDocument"]["Statement"] for a in _actions(s)}
    # It can create what pipectl's stacks hold, e.g. the ingestion stack's network and cluster.
    assert {"ec2:CreateVpc", "ecs:CreateService", "iam:CreateRole", "states:CreateStateMachine"} <= granted


def test_the_source_connection_action_matches_the_connection_arn(templates: dict[str, dict[str, Any]]) -> None:
    for name, action in (
        ("connection", "codeconnections:UseConnection"),
        ("legacy-connection", "codestar-connections:UseConnection"),
    ):
        statements = _statements(templates[name]["Resources"]["PipelineRole"])
        use = [s for s in statements if s["Sid"] == "UseSourceConnection"]
        assert [_actions(s) for s in use] == [[action]]


def test_no_region_partition_or_account_is_written_into_the_template(templates: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(templates["codecommit"])
    assert "arn:aws:" not in text and "123456789012" not in text and "eu-west-1" not in text


def test_the_console_recorder_hears_the_delivery_pipeline() -> None:
    """The console's EventBridge rule must match this pipeline's executions, or runs go unrecorded."""
    pattern = recorded_events()
    pattern["resources"] = [{"prefix": _resolved(r["prefix"].to_dict())} for r in pattern["resources"]]
    event = {
        "source": "aws.codepipeline",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "resources": [f"arn:aws:codepipeline:eu-west-1:123456789012:{PIPELINE_NAME}"],
        "detail": {"pipeline": PIPELINE_NAME, "execution-id": "e-1", "state": "STARTED"},
    }
    assert EventPattern.load(json.dumps(pattern)).matches_event(event)


def _resolved(value: Any) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else str(value)
    return (
        text.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::AccountId}", "123456789012")
    )


def test_only_apply_publishes_the_console_app(templates: dict[str, dict[str, Any]]) -> None:
    """The served app changes only with an approved apply: Plan, which runs a pushed buildspec, cannot write it."""
    resources = templates["codecommit"]["Resources"]
    site = {"Fn::Sub": "arn:${AWS::Partition}:s3:::pipectl-console-site-${AWS::AccountId}-${AWS::Region}/*"}
    writes = {
        stage: [s for s in _statements(resources[f"{stage}BuildRole"]) if "s3:PutObject" in _actions(s)]
        for stage in ("Plan", "Apply")
    }
    assert not any(site in s["Resource"] for s in writes["Plan"])
    [publish] = [s for s in writes["Apply"] if site in s["Resource"]]
    assert publish["Resource"] == [site] and sorted(_actions(publish)) == ["s3:GetObject", "s3:PutObject"]
    [key] = [s for s in _statements(resources["ApplyBuildRole"]) if s.get("Sid") == "UseTheConsoleKeyThroughS3"]
    assert key["Condition"]["StringEquals"] == {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
