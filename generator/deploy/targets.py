"""Opening a target: real AWS, or the embedded local AWS (a background server, or one for this command).

On the local target a manifest is first checked for resource types the embedded AWS cannot create
(refused before anything is deployed), and a VPC that a pipeline names as existing is stood in by
one pipectl creates there: the ids in the file belong to a real account, not to the embedded one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from generator.contract import COLLECTOR_IMAGE_PARAMETER, Tag
from generator.deploy.aws import Aws, Client, Target, error_code
from generator.deploy.collector_image import BUILT_BY, local_collector_image
from generator.deploy.errors import DeployError
from generator.deploy.manifest import Manifest, StackSpec

STAND_IN_TAG = Tag.STANDS_IN_FOR


class UnsupportedLocally(DeployError):
    """A template holds resource types the local target cannot materialise."""


@contextmanager
def open_target(
    kind: str,
    region: str,
    profile: str | None = None,
    workdir: Path | None = None,
    keep_running: bool = False,
    role_arn: str | None = None,
) -> Iterator[Aws]:
    """An `Aws` for the target; a local server started for this command is stopped on exit.

    `keep_running` starts the background server when none runs (what `pipectl up` wants, so that a
    second run finds what the first deployed). `role_arn` is the execution role CloudFormation
    deploys with, on either target: the local target checks every resource operation against it.
    """
    if kind != "local":
        yield Aws(Target.aws(region, profile, role_arn))
        return
    from generator.deploy.local import background_status, resolve_endpoint, start_background

    folder = workdir or Path.cwd()
    if keep_running:
        running = background_status(folder)
        endpoint = running["endpoint"] if running else start_background(folder)
        yield Aws(Target.local(endpoint, region, role_arn))
        return
    endpoint, embedded = resolve_endpoint(folder)
    try:
        yield Aws(Target.local(endpoint, region, role_arn))
    finally:
        if embedded is not None:
            embedded.stop()


def check_materialisable(manifest: Manifest) -> None:
    """Refuse, naming stack and types, any template the local target would silently skip parts of."""
    from generator.deploy.local import unmaterialisable

    problems = []
    for stack in manifest.stacks:
        missing = unmaterialisable(json.loads(manifest.template_body(stack)))
        if missing:
            problems.append(f"{stack.name}: {', '.join(missing)}")
    if problems:
        raise UnsupportedLocally(
            "the local target cannot create these resource types, so nothing was deployed:\n  " + "\n  ".join(problems)
        )


@dataclass(frozen=True)
class StandIn:
    """A parameter value of a real account (or of AWS) replaced by one made in the embedded AWS."""

    stack: str
    parameter: str
    real: str
    local: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.parameter} {self.real} is stood in by {self.local} on the local target"


def stand_in_networks(aws: Aws, manifest: Manifest) -> tuple[Manifest, list[StandIn]]:
    """Replace parameters naming things of a real account with stand-ins made in the embedded AWS.

    An existing VPC and its subnets, an ACM certificate, and a public SSM parameter (the ECS AMI)
    belong to a real account or to AWS; the embedded one has none of them. A collector image the
    delivery pipeline has not built is stood in by one put in the local ECR (`collector_image`). Returns the manifest to
    deploy and each stand-in. Hashes and tags are unchanged, so a later plan still compares
    what synth produced.
    """
    stand_ins: list[StandIn] = []
    stacks: list[StackSpec] = []
    for stack in manifest.stacks:
        template = json.loads(manifest.template_body(stack))
        declared = template.get("Parameters") or {}
        params = {name: str(p["Default"]) for name, p in declared.items() if "Default" in p}
        params.update(stack.parameters)
        if COLLECTOR_IMAGE_PARAMETER in declared and COLLECTOR_IMAGE_PARAMETER not in params:
            params[COLLECTOR_IMAGE_PARAMETER] = BUILT_BY
        changed = dict(params)
        ec2 = aws.client("ec2", stack.region)
        for name, value in params.items():
            kind = declared.get(name, {}).get("Type", "")
            if kind == "AWS::EC2::VPC::Id":
                changed[name] = _stand_in_vpc(ec2, value)
            elif kind.startswith("AWS::SSM::Parameter::Value<"):
                changed[name] = _stand_in_ssm(aws, stack.region, value)
            elif CERTIFICATE.match(value):
                changed[name] = _stand_in_certificate(aws, stack.region, value)
            elif name == COLLECTOR_IMAGE_PARAMETER and value == BUILT_BY:
                changed[name] = local_collector_image(aws, stack.region)
        vpc_local = next((changed[n] for n in params if declared.get(n, {}).get("Type") == "AWS::EC2::VPC::Id"), None)
        for name, value in params.items():
            kind = declared.get(name, {}).get("Type", "")
            if vpc_local and kind in ("List<AWS::EC2::Subnet::Id>", "AWS::EC2::Subnet::Id"):
                real = [s.strip() for s in value.split(",") if s.strip()]
                changed[name] = ",".join(_stand_in_subnet(ec2, vpc_local, subnet, i) for i, subnet in enumerate(real))
        different = {n: v for n, v in changed.items() if v != params[n]}
        if not different:
            stacks.append(stack)
            continue
        for name in sorted(different):
            stand_ins.append(StandIn(stack.name, name, params[name], changed[name]))
        stacks.append(stack.model_copy(update={"parameters": {**stack.parameters, **different}}))
    return manifest.with_stacks(tuple(stacks)), stand_ins


CERTIFICATE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")
LOCAL_AMI_PARAMETER = "/pipectl/local/{name}"


def _stand_in_certificate(aws: Aws, region: str, real_arn: str) -> str:
    acm = aws.client("acm", region)
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        tags = acm.list_tags_for_certificate(CertificateArn=summary["CertificateArn"]).get("Tags", [])
        if {"Key": STAND_IN_TAG, "Value": real_arn} in tags:
            return str(summary["CertificateArn"])
    created = acm.request_certificate(
        DomainName="stand-in.pipectl.local", Tags=[{"Key": STAND_IN_TAG, "Value": real_arn}]
    )
    return str(created["CertificateArn"])


def _stand_in_ssm(aws: Aws, region: str, name: str) -> str:
    """A public parameter of AWS (e.g. the ECS AMI) copied under /pipectl/local/, pointing at a local image."""
    ssm = aws.client("ssm", region)
    local_name = LOCAL_AMI_PARAMETER.format(name=name.strip("/").replace("/", "-"))
    try:
        ssm.get_parameter(Name=local_name)
        return local_name
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
    images = aws.client("ec2", region).describe_images(Owners=["amazon"])["Images"]
    image = sorted(i["ImageId"] for i in images)[0]
    ssm.put_parameter(Name=local_name, Value=image, Type="String", Description=f"stands in for {name}")
    return local_name


def _tagged(ec2: Client, kind: str, real_id: str) -> str | None:
    found = ec2.describe_tags(
        Filters=[
            {"Name": "key", "Values": [STAND_IN_TAG]},
            {"Name": "value", "Values": [real_id]},
            {"Name": "resource-type", "Values": [kind]},
        ]
    )["Tags"]
    return str(found[0]["ResourceId"]) if found else None


def _stand_in_vpc(ec2: Client, real_id: str) -> str:
    existing = _tagged(ec2, "vpc", real_id)
    if existing:
        return existing
    vpc_id = str(ec2.create_vpc(CidrBlock="10.255.0.0/16")["Vpc"]["VpcId"])
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": STAND_IN_TAG, "Value": real_id}])
    return vpc_id


def _stand_in_subnet(ec2: Client, vpc_id: str, real_id: str, index: int) -> str:
    existing = _tagged(ec2, "subnet", real_id)
    if existing:
        return existing
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    taken = {
        int(s["CidrBlock"].split(".")[2])
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    }
    block = min(set(range(256)) - taken)
    subnet = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=f"10.255.{block}.0/24", AvailabilityZone=zones[index % len(zones)]
    )
    subnet_id = str(subnet["Subnet"]["SubnetId"])
    ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": STAND_IN_TAG, "Value": real_id}])
    return subnet_id
