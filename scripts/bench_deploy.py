"""Controller benchmark on the local target: a no-op plan's CloudFormation reads, and DAG concurrency.

With N pipelines (default 50, one environment each) synthesized from varied files:
1. apply from scratch with concurrency 1, then (on a reset embedded AWS) with concurrency 8, each
   resource taking a simulated provisioning delay, as on AWS where a stack spends its time waiting;
2. a no-op plan over everything deployed: CloudFormation read calls per 10 stacks (target <= 1),
   change sets created (target 0) and objects uploaded to the template bucket (target 0).
CloudFormation deploys through the execution role (its derived managed policies, made in the embedded
IAM), so every resource operation is checked against it; the time those checks take per resource
operation is printed too.
Prints the call counts, both times and their ratio (target <= 0.40), measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from bench_synth import pipeline_file  # noqa: E402

from generator.deploy.apply import ApplyOptions, apply_now  # noqa: E402
from generator.deploy.aws import Aws, Target  # noqa: E402
from generator.deploy.bootstrap import ensure_bootstrap  # noqa: E402
from generator.deploy.local import execution_role as role_checks  # noqa: E402
from generator.deploy.local import start_embedded  # noqa: E402
from generator.deploy.manifest import load_manifest  # noqa: E402
from generator.deploy.plan import make_plan  # noqa: E402
from generator.deploy.targets import stand_in_networks  # noqa: E402
from generator.policy.execution import resolved_documents  # noqa: E402
from generator.spec.loader import load_directory  # noqa: E402
from generator.stacks.synth import synthesize  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # the embedded AWS's account


def execution_role(aws: Aws) -> Aws:
    """The delivery stack's execution role and its managed policies, made in the embedded IAM."""
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="pipectl-delivery-ExecutionRole", AssumeRolePolicyDocument=json.dumps(trust))
    for index, document in enumerate(resolved_documents(ACCOUNT), start=1):
        arn = iam.create_policy(PolicyName=f"ExecutionPolicy{index}", PolicyDocument=json.dumps(document))
        iam.attach_role_policy(RoleName="pipectl-delivery-ExecutionRole", PolicyArn=arn["Policy"]["Arn"])
    return Aws(replace(aws.target, cloudformation_role_arn=role["Role"]["Arn"]))


def deploy(endpoint: str, build: Path, concurrency: int) -> tuple[float, int]:
    requests.post(f"{endpoint}/moto-api/reset", timeout=30)
    aws = execution_role(Aws(Target.local(endpoint, REGION)))
    manifest, _ = stand_in_networks(aws, load_manifest(build))
    ensure_bootstrap(aws, manifest, "bench", only_absent=True)  # the template bucket, as `pipectl up` does
    role_checks.STATS.seconds, role_checks.STATS.operations = 0.0, 0
    started = time.perf_counter()
    _, result = apply_now(aws, manifest, "bench", options=ApplyOptions(concurrency=concurrency))
    elapsed = time.perf_counter() - started
    if not result.ok:
        failed = [f"{r.name}: {r.detail}" for r in result.stacks.values() if not r.ok]
        raise SystemExit("apply failed:\n" + "\n".join(failed[:5]))
    return elapsed, len(result.stacks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipelines", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.05, help="simulated seconds per resource (default 0.05)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipectl-bench-deploy-"))
    try:
        folder = work / "pipelines.d"
        folder.mkdir()
        shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
        for index in range(args.pipelines):
            (folder / f"bench-{index:03d}.yaml").write_text(pipeline_file(index) + "environments: {prod: {}}\n")
        build = work / "build"
        synthesize(load_directory(folder, "pipelines.d"), build)
        with start_embedded(resource_delay_s=args.delay) as local:
            serial, stacks = deploy(local.endpoint, build, 1)
            parallel, _ = deploy(local.endpoint, build, 8)
            checked, operations = role_checks.STATS.seconds, role_checks.STATS.operations
            aws = Aws(Target.local(local.endpoint, REGION))
            manifest, _ = stand_in_networks(aws, load_manifest(build))
            aws = Aws(Target.local(local.endpoint, REGION))  # fresh counters: the plan's calls only
            plan = make_plan(aws, manifest, "bench-noop")
        reads = aws.counter.total("cloudformation", reads_only=True)
        change_sets = aws.counter.calls.get("cloudformation:CreateChangeSet", 0)
        uploads = aws.counter.calls.get("s3:PutObject", 0)
        per_ten = reads / stacks * 10
        ratio = parallel / serial
        print(f"pipelines:               {args.pipelines} ({stacks} stacks), {args.delay * 1000:.0f} ms per resource")
        print(f"apply, concurrency 1:    {serial:.1f} s")
        print(f"apply, concurrency 8:    {parallel:.1f} s")
        print(f"ratio:                   {ratio:.2f} (target <= 0.40)")
        per_op = checked / operations * 1000 if operations else 0.0
        print(
            f"IAM checks (conc. 8):    {operations} resource operations, {checked:.2f} s in all, "
            f"{per_op:.2f} ms per resource ({checked / parallel:.1%} of the apply)"
        )
        print(f"no-op plan:              {plan.summary()}")
        print(f"  CloudFormation reads:  {reads} ({per_ten:.2f} per 10 stacks, target <= 1)")
        print(f"  change sets created:   {change_sets} (target 0)")
        print(f"  objects uploaded:      {uploads} (target 0)")
        print(f"  all calls:             {dict(sorted(aws.counter.calls.items()))}")
        ok = ratio <= 0.40 and per_ten <= 1 and change_sets == 0 and uploads == 0 and not plan.has_changes
        print("result:                  " + ("within targets" if ok else "OUTSIDE TARGETS"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
