"""The embedded local AWS (pipectl's moto server) over HTTP for the controller tests, and small builds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from generator.contract import StackKind
from generator.dependencies import template_exports, template_imports
from generator.deploy.aws import Aws, RetryPolicy, Target
from generator.deploy.local import start_embedded
from generator.deploy.manifest import Manifest, load_manifest
from generator.manifest_model import ManifestFile, StackEntry, manifest_json

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with start_embedded() as local:
        yield local.endpoint


@pytest.fixture
def aws(moto_url: str) -> Aws:
    """A fresh AWS account (moto reset) and a controller session on it, without backoff sleeps."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    return Aws(Target.local(moto_url, REGION), policy=RetryPolicy(sleep=lambda _: None))


@pytest.fixture
def aws_target(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The embedded AWS reached as a real account is (`--target aws` through AWS_ENDPOINT_URL, no profile,
    no template bucket of the caller's), from tmp_path, where `build` writes: the options to pass."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "PIPECTL_TEMPLATE_BUCKET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return ["--target", "aws", "--region", REGION, "--build-dir", "build"]


def new_aws(url: str) -> Aws:
    """Another session on the same account: fresh call counters."""
    return Aws(Target.local(url, REGION), policy=RetryPolicy(sleep=lambda _: None))


def imported_names(node: Any) -> set[str]:
    """Every literal `Fn::ImportValue` name in a template."""
    if isinstance(node, dict):
        found = {v for k, v in node.items() if k == "Fn::ImportValue" and isinstance(v, str)}
        return found.union(*(imported_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(imported_names(v) for v in node))
    return set()


class ImportRule:
    """CloudFormation's rule that a change set importing a missing export fails ("No export named X found.").

    moto resolves imports only when a change set is executed, so this models the rule with a botocore
    event hook (before-parameter-build on CreateChangeSet) installed on the controller's clients: it
    reads the exports with a client of its own and raises CloudFormation's ValidationError.
    """

    EVENT = "before-parameter-build.cloudformation.CreateChangeSet"

    def __init__(self, endpoint: str) -> None:
        common = {
            "region_name": REGION,
            "endpoint_url": endpoint,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self._cfn = boto3.client("cloudformation", **common)
        self._s3 = boto3.client("s3", **common)
        self.checked: list[str] = []  # stacks whose change set imported something, in order
        self.refused: list[str] = []
        self.seen: dict[tuple[str, str], str] = {}  # (stack, export) -> the value when its change set was made

    def install(self, events: Any) -> None:
        events.register(self.EVENT, self)

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        names = imported_names(json.loads(self._template(params)))
        if not names:
            return
        pages = self._cfn.get_paginator("list_exports").paginate()
        exports = {e["Name"]: e["Value"] for page in pages for e in page["Exports"]}
        missing = sorted(names - set(exports))
        self.checked.append(str(params["StackName"]))
        self.seen.update({(str(params["StackName"]), n): exports[n] for n in names if n in exports})
        if missing:
            self.refused.append(str(params["StackName"]))
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"No export named {missing[0]} found."}},
                "CreateChangeSet",
            )

    def _template(self, params: dict[str, Any]) -> str:
        if "TemplateBody" in params:
            return str(params["TemplateBody"])
        url = urlparse(str(params["TemplateURL"]))
        if ".s3." in url.netloc:  # virtual-hosted style
            bucket, key = url.netloc.split(".s3.", 1)[0], url.path.lstrip("/")
        else:
            bucket, key = url.path.lstrip("/").split("/", 1)
        return self._s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def queue(name: str | None = None) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", **({"Properties": {"QueueName": name}} if name else {})}


def export(stack: str, output: str, value: Any) -> dict[str, Any]:
    return {output: {"Value": value, "Export": {"Name": f"{stack}:{output}"}}}


def console_template() -> dict[str, Any]:
    table = {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    }
    return {
        "Resources": {"StateTable": table},
        "Outputs": export("pipectl-console", "StateTableName", {"Ref": "StateTable"}),
    }


def pipeline_templates(pipeline: str, env: str = "test", retain: bool = True) -> dict[str, dict[str, Any]]:
    """storage <- processing <- monitoring, and ingestion beside processing: imports along the DAG."""
    prefix = f"pipectl-{pipeline}-{env}"
    policy = "Retain" if retain else "Delete"
    bucket = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": {"BucketName": f"{pipeline}-{env}-data"},
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        },
    }
    imported = {"Fn::ImportValue": f"{prefix}-storage:QueueName"}
    return {
        "storage": {
            "Resources": {"DataBucket": bucket, "Queue": queue(f"{pipeline}-{env}-events")},
            "Outputs": {
                **export(f"{prefix}-storage", "QueueName", {"Fn::GetAtt": ["Queue", "QueueName"]}),
                **export(f"{prefix}-storage", "DataBucketName", {"Ref": "DataBucket"}),
            },
        },
        "ingestion": {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}},
        "processing": {
            "Resources": {
                "DeadLetterQueue": queue({"Fn::Join": ["-", [imported, "dlq"]]}),  # type: ignore[arg-type]
                "EnrichRole": role,
            },
            "Outputs": export(
                f"{prefix}-processing", "DeadLetterQueueName", {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
            ),
        },
        "monitoring": {
            "Resources": {
                "AlarmTopic": {
                    "Type": "AWS::SNS::Topic",
                    "Properties": {
                        "TopicName": {
                            "Fn::Join": [
                                "-",
                                [{"Fn::ImportValue": f"{prefix}-processing:DeadLetterQueueName"}, "alarms"],
                            ]
                        },
                    },
                }
            },
            "Outputs": {"DashboardName": {"Value": f"{pipeline}-{env}"}},
        },
    }


KIND_NAMES = {str(kind) for kind in StackKind}
DEPENDS = {
    "storage": (),
    "ingestion": ("storage",),
    "processing": ("storage",),
    "monitoring": ("ingestion", "processing"),
}


@dataclass
class Build:
    """A build/ directory written the way synth writes it: templates plus manifest.json."""

    root: Path
    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(
        self,
        name: str,
        kind: str,
        template: dict[str, Any],
        pipeline: str | None = None,
        env: str | None = None,
        depends_on: tuple[str, ...] = (),
        retain: bool = True,
        stateful: tuple[str, ...] = (),
        assets: dict[str, bytes] | None = None,
    ) -> None:
        """`assets`: files the template references (`assets/<sha256>.zip` -> bytes), written beside it."""
        self.stacks[name] = {
            "name": name,
            "kind": kind,
            "pipeline": pipeline,
            "env": env,
            "template": template,
            "depends_on": list(depends_on),
            "retain": retain,
            "stateful": list(stateful),
            "assets": dict(assets or {}),
        }

    def console(self) -> None:
        self.add("pipectl-console", "console", console_template(), stateful=("StateTable",))

    def pipeline(
        self, name: str, env: str = "test", retain: bool = True, kinds: tuple[str, ...] = tuple(DEPENDS)
    ) -> None:
        for kind, template in pipeline_templates(name, env, retain).items():
            if kind in kinds:
                deps = tuple(f"pipectl-{name}-{env}-{d}" for d in DEPENDS[kind] if d in kinds)
                self.add(
                    f"pipectl-{name}-{env}-{kind}",
                    kind,
                    template,
                    name,
                    env,
                    deps,
                    retain,
                    ("DataBucket",) if kind == "storage" else (),
                )

    def remove_pipeline(self, name: str) -> None:
        self.stacks = {k: v for k, v in self.stacks.items() if v["pipeline"] != name}

    def write(self) -> Manifest:
        entries = []
        for stack in self.stacks.values():
            rel = f"{stack['pipeline'] or 'console'}/{stack['env'] or 'all'}/{stack['kind']}.json"
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            body = json.dumps(stack["template"], indent=2, sort_keys=True)
            path.write_text(body)
            tags = {"pipectl:kind": stack["kind"], "pipectl:owner": "data@example.com"}
            if stack["pipeline"]:
                tags |= {"pipectl:pipeline": stack["pipeline"], "pipectl:env": stack["env"]}
            digest = hashlib.sha256((body + json.dumps(tags, sort_keys=True)).encode()).hexdigest()
            tags["pipectl:spec-hash"] = digest
            for asset, data in stack["assets"].items():
                (self.root / asset).parent.mkdir(parents=True, exist_ok=True)
                (self.root / asset).write_bytes(data)
            imports = template_imports(stack["name"], stack["template"])
            entries.append(
                StackEntry(
                    **{k: v for k, v in stack.items() if k not in ("template", "assets", "depends_on", "kind")},
                    # ad-hoc stacks of these tests carry free labels; a manifest knows only pipectl's kinds
                    kind=stack["kind"] if stack["kind"] in KIND_NAMES else StackKind.STORAGE,
                    account=None,
                    region=REGION,
                    template=rel,
                    tags=tags,
                    hash=digest,
                    assets=tuple(sorted(stack["assets"])),
                    imports=imports,
                    exports=template_exports(stack["name"], stack["template"]),
                    depends_on=tuple(sorted({*stack["depends_on"], *imports.values()})),
                )
            )
        (self.root / "manifest.json").write_text(manifest_json(ManifestFile(stacks=tuple(entries))))
        return load_manifest(self.root)


@pytest.fixture
def build(tmp_path: Path) -> Build:
    return Build(tmp_path / "build")
