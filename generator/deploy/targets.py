"""Opening a target: real AWS, or the embedded local AWS (a background server, or one for this command).

On the local target a manifest is first checked for resource types the embedded AWS cannot create
(refused before anything is deployed), and a VPC that a pipeline names as existing is stood in by
one pipectl creates there: the ids in the file belong to a real account, not to the embedded one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from generator.deploy.aws import Aws, Target
from generator.deploy.errors import DeployError
from generator.deploy.manifest import Manifest, StackSpec

STAND_IN_TAG = "pipectl:stands-in-for"


class UnsupportedLocally(DeployError):
    """A template holds resource types the local target cannot materialise."""


@contextmanager
def open_target(
    kind: str,
    region: str,
    profile: str | None = None,
    workdir: Path | None = None,
    keep_running: bool = False,
) -> Iterator[Aws]:
    """An `Aws` for the target; a local server started for this command is stopped on exit.

    `keep_running` starts the background server when none runs (what `pipectl up` wants, so that a
    second run finds what the first deployed).
    """
    if kind != "local":
        yield Aws(Target.aws(region, profile))
        return
    from generator.deploy.local import background_status, resolve_endpoint, start_background

    folder = workdir or Path.cwd()
    if keep_running:
        running = background_status(folder)
        endpoint = running["endpoint"] if running else start_background(folder)
        yield Aws(Target.local(endpoint, region))
        return
    endpoint, embedded = resolve_endpoint(folder)
    try:
        yield Aws(Target.local(endpoint, region))
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


def stand_in_networks(aws: Aws, manifest: Manifest) -> tuple[Manifest, list[str]]:
    """Replace parameters naming an existing VPC and subnets with ones created in the embedded AWS.

    Returns the manifest to deploy and one note per stand-in. Hashes and tags are unchanged, so a
    later plan still compares what synth produced.
    """
    notes: list[str] = []
    stacks: list[StackSpec] = []
    for stack in manifest.stacks:
        template = json.loads(manifest.template_body(stack))
        types = {name: p.get("Type", "") for name, p in (template.get("Parameters") or {}).items()}
        params = dict(stack.parameters)
        vpc_params = [n for n, t in types.items() if t == "AWS::EC2::VPC::Id" and n in params]
        if not vpc_params:
            stacks.append(stack)
            continue
        ec2 = aws.client("ec2", stack.region)
        vpc_real = params[vpc_params[0]]
        vpc_local = _stand_in_vpc(ec2, vpc_real)
        params[vpc_params[0]] = vpc_local
        for name, kind in types.items():
            if name in params and kind in ("List<AWS::EC2::Subnet::Id>", "AWS::EC2::Subnet::Id"):
                real = [s.strip() for s in params[name].split(",") if s.strip()]
                params[name] = ",".join(_stand_in_subnet(ec2, vpc_local, subnet, i) for i, subnet in enumerate(real))
        notes.append(f"{stack.name}: existing network {vpc_real} is stood in by {vpc_local} on the local target")
        stacks.append(replace(stack, parameters=params))
    return Manifest(manifest.root, tuple(stacks)), notes


def _tagged(ec2: Any, kind: str, real_id: str) -> str | None:
    found = ec2.describe_tags(
        Filters=[
            {"Name": "key", "Values": [STAND_IN_TAG]},
            {"Name": "value", "Values": [real_id]},
            {"Name": "resource-type", "Values": [kind]},
        ]
    )["Tags"]
    return str(found[0]["ResourceId"]) if found else None


def _stand_in_vpc(ec2: Any, real_id: str) -> str:
    existing = _tagged(ec2, "vpc", real_id)
    if existing:
        return existing
    vpc_id = str(ec2.create_vpc(CidrBlock="10.255.0.0/16")["Vpc"]["VpcId"])
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": STAND_IN_TAG, "Value": real_id}])
    return vpc_id


def _stand_in_subnet(ec2: Any, vpc_id: str, real_id: str, index: int) -> str:
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
