"""Synth benchmark: 100 pipeline files -> templates, against only serializing and writing the same JSON.

Prints both times, their ratio (target: at most 5) and synth's peak memory (target: under 150 MB),
all measured in this one run. Synth runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/{:08x}-1234-4234-8234-123456789012"


def pipeline_file(index: int) -> str:
    """Vary every option the generator branches on, so the benchmark is not one template 100 times."""
    launch = "ec2" if index % 2 else "fargate"
    sink = (
        "{type: s3, buffer_mb: 8, interval_s: 60}"
        if index % 3 == 0
        else "{type: kinesis, mode: provisioned, shards: 2}"
        if index % 3 == 1
        else "{type: kinesis}"
    )
    network = (
        "{create: true}"
        if index % 2 == 0
        else "{vpc_id: vpc-0a1b2c3d4e5f60718, public_subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002], "
        "private_subnets: [subnet-0a1b2c3d4e5f60101, subnet-0a1b2c3d4e5f60102]}"
    )
    auth = "{type: none}" if index % 4 else "{type: cognito, callback_urls: [https://c.example.com/oauth2/idpresponse]}"
    extra = "  instance_type: c6g.large\n" if launch == "ec2" else ""
    return (
        f"description: Benchmark pipeline {index}\n"
        f"owner: team{index}@example.com\n"
        f"apps: [{{id: app_{index}, platform: web}}, {{id: app_{index}_ios, platform: ios}}]\n"
        f"network: {network}\n"
        f"ingestion:\n  launch_type: {launch}\n{extra}"
        f"  domain: {{name: c{index}.example.com, certificate_arn: '{CERT.format(index)}'}}\n"
        f"  sink: {sink}\n  auth: {auth}\n"
        f"processing: {{schedule: rate({index % 12 + 1} hours)}}\n"
    )


def child_synth(pipelines: Path, out: Path) -> None:
    started = time.perf_counter()
    from generator.spec.loader import load_directory
    from generator.stacks.synth import synthesize

    imported = time.perf_counter()
    builds = synthesize(load_directory(pipelines, "pipelines.d"), out)
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": done - imported, "import_seconds": imported - started, "stacks": len(builds),
                      "peak_mb": peak_mb}))


def child_baseline(build: Path, out: Path) -> None:
    from generator.stacks.synth import serialize

    bodies = {path.relative_to(build): json.loads(path.read_text()) for path in build.rglob("*.json")}
    started = time.perf_counter()
    for rel, body in bodies.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(serialize(body))
    done = time.perf_counter()
    print(json.dumps({"seconds": done - started, "files": len(bodies)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--child", choices=("synth", "baseline"))
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    if args.child == "synth":
        child_synth(Path(args.paths[0]), Path(args.paths[1]))
        return 0
    if args.child == "baseline":
        child_baseline(Path(args.paths[0]), Path(args.paths[1]))
        return 0

    work = Path(tempfile.mkdtemp(prefix="pipectl-bench-"))
    try:
        folder = work / "pipelines.d"
        folder.mkdir()
        shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
        for index in range(args.pipelines):
            (folder / f"bench-{index:03d}.yaml").write_text(pipeline_file(index))

        def run(*argv: str) -> dict[str, float]:
            cmd = [sys.executable, __file__, *argv]
            result = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
            return json.loads(result.stdout.strip().splitlines()[-1])

        synth = run("--child", "synth", str(folder), str(work / "build"))
        baseline = run("--child", "baseline", str(work / "build"), str(work / "baseline"))
        ratio = synth["seconds"] / baseline["seconds"]
        print(f"pipelines:            {args.pipelines} files, {int(synth['stacks'])} stacks")
        print(f"synth:                {synth['seconds']:.2f} s (load, validate, build, serialize, write)")
        print(f"serialize+write only: {baseline['seconds']:.2f} s ({int(baseline['files'])} files)")
        print(f"ratio:                {ratio:.2f} (target <= 5)")
        print(f"synth peak memory:    {synth['peak_mb']:.0f} MB (target < 150 MB)")
        print(f"(imports, not counted: {synth['import_seconds']:.2f} s)")
        ok = ratio <= 5 and synth["peak_mb"] < 150
        print("result:               " + ("within targets" if ok else "OUTSIDE TARGETS"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
