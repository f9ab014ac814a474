"""plan.md benchmark on the local target: rendering the review must cost little next to the plan itself.

N pipelines (default 50, one environment each, varied as in bench_synth) are deployed, then every
file is edited so that every stack changes (storage lifecycle, ingestion capacity, processing
schedule, monitoring alarm address), synthesized again and planned. Prints the plan's wall time, the
time to render plan.md from it (tables, summary, graph) and their ratio (target <= 0.10). The diffs
behind the tables (properties, statements, rules) are computed by plan itself and counted in its time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from bench_synth import pipeline_file  # noqa: E402

from generator.deploy.apply import ApplyOptions, apply_now  # noqa: E402
from generator.deploy.aws import Aws, Target  # noqa: E402
from generator.deploy.bootstrap import ensure_bootstrap  # noqa: E402
from generator.deploy.local import start_embedded  # noqa: E402
from generator.deploy.manifest import Manifest, load_manifest  # noqa: E402
from generator.deploy.plan import make_plan  # noqa: E402
from generator.deploy.report import render_plan  # noqa: E402
from generator.deploy.targets import stand_in_networks  # noqa: E402
from generator.spec.loader import load_directory  # noqa: E402
from generator.stacks.synth import synthesize  # noqa: E402

REGION = "eu-west-1"


def pipeline(index: int, edited: bool) -> str:
    """The benchmark file with settings that reach every stack; `edited` changes each of them."""
    text = pipeline_file(index)
    days, cap, mail = (400, 9, "ops") if edited else (365, 8, "oncall")
    hours = index % 12 + 1
    text = text.replace(
        f"processing: {{schedule: rate({hours} hours)}}",
        f"processing: {{schedule: rate({hours + (1 if edited else 0)} hours), retention_days: {days}}}\n"
        f"monitoring: {{alarm_email: {mail}{index}@example.com}}",
    )
    text = text.replace("ingestion:\n", f"ingestion:\n  capacity: {{min: 1, max: {cap}}}\n", 1)
    return text + "environments: {prod: {}}\n"


def synth(work: Path, count: int, edited: bool) -> Path:
    folder = work / ("edited" if edited else "first") / "pipelines.d"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
    for index in range(count):
        (folder / f"bench-{index:03d}.yaml").write_text(pipeline(index, edited))
    build = folder.parent / "build"
    synthesize(load_directory(folder, "pipelines.d"), build)
    return build


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipelines", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipectl-bench-plan-"))
    try:
        first, edited = synth(work, args.pipelines, False), synth(work, args.pipelines, True)
        with start_embedded() as local:
            aws = Aws(Target.local(local.endpoint, REGION))
            manifest, _ = stand_in_networks(aws, load_manifest(first))
            ensure_bootstrap(aws, manifest, "bench", only_absent=True)
            _, result = apply_now(aws, manifest, "bench", options=ApplyOptions(concurrency=8))
            if not result.ok:
                failed = [f"{r.name}: {r.detail}" for r in result.stacks.values() if not r.ok]
                raise SystemExit("the first apply failed:\n" + "\n".join(failed[:5]))
            changed: Manifest
            changed, _ = stand_in_networks(aws, load_manifest(edited))
            started = time.perf_counter()
            plan = make_plan(aws, changed, "bench-edit")
            planned = time.perf_counter() - started
        started = time.perf_counter()
        text = render_plan(plan, changed)
        rendered = time.perf_counter() - started
        modified = sum(1 for s in plan.stacks if s.action.changes_stack)
        rows = sum(len(c.properties) + len(c.statements) + len(c.rules) for s in plan.stacks for c in s.changes)
        ratio = rendered / planned
        print(f"pipelines:     {args.pipelines} ({len(plan.stacks)} stacks, {modified} changed: {plan.summary()})")
        print(f"plan:          {planned:.2f} s wall")
        lines = len(text.splitlines())
        print(f"plan.md:       {rendered * 1000:.1f} ms ({lines} lines, {rows} property/statement/rule rows)")
        print(f"ratio:         {ratio:.3f} (target <= 0.10)")
        ok = ratio <= 0.10 and modified == len([s for s in changed.stacks if s.pipeline])
        print("result:        " + ("within target" if ok else "OUTSIDE TARGET"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
