"""Synth and validate benchmark on 100 varied pipeline files; every figure is measured in this one run.

1. Cold synth (empty build/: load, validate, build in worker processes, serialize, write, cache) against
   only serializing and writing the same JSON, medians of COLD_RUNS fresh processes each; target ratio
   <= 2. Peak memory; target < 150 MB.
2. Synth with nothing changed (every unit from the cache), and the cost of the generator fingerprint.
3. `pipectl validate` after a one-line edit to one file (its description, which every one of its
   templates carries), with the lint cache of the other 99 pipelines warm, against cfn-lint on that
   pipeline's templates alone: in-process with rules loaded once (one process; and lint_templates'
   pool, as validate lints), and as the cfn-lint CLI; target ratio <= 1.2. Peak memory of the largest
   process so far (the first validate's lint workers, which lint every template, are the largest); target
   < 150 MB; and that of each validate alone.
4. Start time of `pipectl --help` and `pipectl schema` (repeated runs; target < 150 ms) and the
   largest imports of `--help` from `python -X importtime`.

Every process is timed from the outside (wall clock, interpreter start included) unless the line says
"in-process". The machine's load average is printed: on a busy machine the parallel figures suffer.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/{:08x}-1234-4234-8234-123456789012"
EDITED = 42
REPEAT = 20
COLD_RUNS = 5
"""Cold synths (and serialize+writes) measured; the medians are compared, one busy moment cannot decide."""


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
    auth = (
        "{type: none}"
        if index % 4
        else "{type: jwt, issuer: https://id.example.com, jwks_endpoint: https://id.example.com/jwks}"
    )
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
        f"environments: {{test: {{ingestion: {{domain: {{name: c{index}.test.example.com}}}}}}}}\n"
    )


def peak_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest finished child (a synth or lint worker), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User+system CPU of this process and its finished children (synth's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def child_synth(pipelines: Path, out: Path) -> None:
    started = time.perf_counter()
    from generator.spec.loader import load_directory
    from generator.stacks import sources
    from generator.stacks.cache import CacheReport
    from generator.stacks.synth import import_builders, synthesize

    import_builders()  # the stack builders' modules (troposphere's resource modules): imports, as above
    from generator.stacks import console, parallel  # noqa: F401

    imported, cpu_started = time.perf_counter(), cpu_seconds()
    report = CacheReport()
    builds = synthesize(load_directory(pipelines, "pipelines.d"), out, report=report)
    done, cpu_done = time.perf_counter(), cpu_seconds()
    fingerprint_started = time.perf_counter()
    sources.fingerprint()
    fingerprint_s = time.perf_counter() - fingerprint_started
    own, workers = peak_mb()
    print(
        json.dumps(
            {
                "seconds": done - imported,
                "cpu_seconds": cpu_done - cpu_started,
                "import_seconds": imported - started,
                "stacks": len(builds),
                "reused": len(report.reused),
                "rebuilt": len(report.rebuilt),
                "peak_mb": own,
                "worker_peak_mb": workers,
                "fingerprint_s": fingerprint_s,
                "fingerprint_files": len(sources.source_files()),
            }
        )
    )


def child_baseline(build: Path, out: Path) -> None:
    from generator.stacks.synth import serialize

    bodies = {
        path.relative_to(build): json.loads(path.read_text())
        for path in build.rglob("*.json")
        if not any(part.startswith(".") for part in path.relative_to(build).parts)
    }
    started, cpu_started = time.perf_counter(), cpu_seconds()
    for rel, body in bodies.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(serialize(body))
    done, cpu_done = time.perf_counter(), cpu_seconds()
    print(json.dumps({"seconds": done - started, "cpu_seconds": cpu_done - cpu_started, "files": len(bodies)}))


def child_lint(folder: Path, mode: str) -> None:
    """cfn-lint in-process, rules loaded once, on every template in `folder`; nothing cached."""
    from generator.policy.lint import LintJob, lint_templates

    jobs = [LintJob(p.name, "eu-west-1") for p in sorted(folder.glob("*.json"))]
    findings = lint_templates(folder, jobs, workers=1 if mode == "serial" else None, use_cache=False)
    print(json.dumps({"templates": len(jobs), "findings": len(findings)}))


def timed(argv: list[str], cwd: Path = REPO) -> tuple[float, subprocess.CompletedProcess[str], float, float, float]:
    """Wall seconds of one process, its result, its CPU seconds (user+sys, with its workers), the peak RSS in
    MB of the largest process run so far, and that of the largest process of this run (it or a worker)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        result = subprocess.CompletedProcess(argv, code, out.read(), err.read())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, result, usage.ru_utime + usage.ru_stime, peak, usage.ru_maxrss / 1024


def child(*argv: str) -> dict[str, float]:
    _, result, _, _, _ = timed([sys.executable, __file__, *argv])
    if result.returncode:
        raise SystemExit(f"benchmark step {argv} failed:\n{result.stderr}")
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def cold_runs(folder: Path, build: Path, work: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Median figures of COLD_RUNS cold synths (each into an empty build/) and of as many serialize+writes;
    the last synth's build/ stays for the steps after. Peak memory is the largest of the runs."""
    synths, baselines = [], []
    for _ in range(COLD_RUNS):
        shutil.rmtree(build, ignore_errors=True)
        synths.append(child("--child", "synth", str(folder), str(build)))
        shutil.rmtree(work / "baseline", ignore_errors=True)
        baselines.append(child("--child", "baseline", str(build), str(work / "baseline")))
    synth = {key: statistics.median(run[key] for run in synths) for key in synths[0]}
    synth["peak_mb"] = max(run["peak_mb"] for run in synths)
    synth["worker_peak_mb"] = max(run["worker_peak_mb"] for run in synths)
    baseline = {key: statistics.median(run[key] for run in baselines) for key in baselines[0]}
    return synth, baseline


def pipectl() -> list[str]:
    script = Path(sys.executable).parent / "pipectl"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "generator.cli"]


def repeated(argv: list[str], runs: int = REPEAT) -> dict[str, float]:
    """Wall and CPU (user+sys) milliseconds over `runs` runs after one warm-up, as hyperfine reports them.

    CPU time is printed beside wall time because it does not grow when other processes share the cores.
    """
    subprocess.run(argv, cwd=REPO, capture_output=True, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"mean": statistics.mean(walls), "min": min(walls), "max": max(walls), "cpu": statistics.mean(cpus)}


def largest_imports(argv: list[str], top: int = 4) -> list[tuple[str, int]]:
    code = "import sys; from generator.cli import main; sys.argv = ['pipectl', *sys.argv[1:]]; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv], cwd=REPO, capture_output=True, text=True
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[1].isdigit():
            rows.append((parts[2], int(parts[1])))
    top_level = [(name, us) for name, us in rows if not name.startswith(" ")]
    return sorted(top_level, key=lambda row: -row[1])[:top]


def line(label: str, text: str) -> None:
    print(f"{label + ':':<44} {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--child", choices=("synth", "baseline", "lint-serial", "lint-pool"))
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    if args.child == "synth":
        child_synth(Path(args.paths[0]), Path(args.paths[1]))
        return 0
    if args.child == "baseline":
        child_baseline(Path(args.paths[0]), Path(args.paths[1]))
        return 0
    if args.child in ("lint-serial", "lint-pool"):
        child_lint(Path(args.paths[0]), args.child.removeprefix("lint-"))
        return 0

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="pipectl-bench-"))
    try:
        folder = work / "pipelines.d"
        folder.mkdir()
        shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
        for index in range(args.pipelines):
            (folder / f"bench-{index:03d}.yaml").write_text(pipeline_file(index))
        build = work / "build"
        edited = f"bench-{EDITED % args.pipelines:03d}"

        # 1. Cold synth against serialize+write of the same JSON: each the median of COLD_RUNS fresh processes.
        synth, baseline = cold_runs(folder, build, work)
        synth_ratio = synth["seconds"] / baseline["seconds"]
        # 2. Nothing changed: every unit from the cache.
        warm = child("--child", "synth", str(folder), str(build))

        # 3. validate: once to fill the lint cache, then after a one-line edit to one file.
        cli = [*pipectl(), "validate", "-p", str(folder), "--build-dir", str(build)]
        first_s, first, first_cpu, _, first_mb = timed(cli)
        lint_cache = build / ".lint-cache"
        entries_before = set(lint_cache.iterdir())
        path = folder / f"{edited}.yaml"
        path.write_text(path.read_text().replace("description: Benchmark", "description: Edited benchmark", 1))
        validate_s, validated, validate_cpu, validate_mb, edit_mb = timed(cli)
        relinted = len(set(lint_cache.iterdir()) - entries_before)
        alone = work / "alone"
        alone.mkdir()
        for template in sorted((build / edited).rglob("*.json")):
            shutil.copy(template, alone / f"{template.parent.name}-{template.name}")
        serial_s, _, serial_cpu, _, _ = timed([sys.executable, __file__, "--child", "lint-serial", str(alone)])
        pool_s, _, pool_cpu, _, _ = timed([sys.executable, __file__, "--child", "lint-pool", str(alone)])
        rules = REPO / "generator" / "policy" / "rules"
        cfn_lint = Path(sys.executable).parent / "cfn-lint"
        lint_cli = [str(cfn_lint), "--regions", "eu-west-1", "--include-checks", "I", "--append-rules", str(rules)]
        cli_s, _, cli_cpu, _, _ = timed([*lint_cli, "--", *map(str, sorted(alone.glob("*.json")))])
        templates = len(list(alone.glob("*.json")))

        # 4. Start time.
        help_ms = repeated([*pipectl(), "--help"])
        schema_ms = repeated([*pipectl(), "schema"])
        python_ms = repeated([sys.executable, "-c", "pass"])
        imports = largest_imports(["--help"])
        load_after = os.getloadavg()

        print(f"pipelines: {args.pipelines} files, {int(synth['stacks'])} stacks; {os.cpu_count()} CPUs")
        print(f"load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f}")
        print("-- cold synth (in-process, imports not counted)")
        work_done = f"load, validate, build, serialize, write, cache; median of {COLD_RUNS}"
        line("cold synth", f"{synth['seconds']:.2f} s ({work_done})")
        line("serialize+write the same JSON", f"{baseline['seconds']:.2f} s ({int(baseline['files'])} files; median)")
        line("ratio cold synth / serialize+write", f"{synth_ratio:.2f} (target <= 2)")
        line(
            "CPU seconds, synth (all processes) / s+w",
            f"{synth['cpu_seconds']:.2f} / {baseline['cpu_seconds']:.2f} = "
            f"{synth['cpu_seconds'] / baseline['cpu_seconds']:.2f} (the work, whatever the load)",
        )
        line("imports before synth (not counted)", f"{synth['import_seconds']:.2f} s")
        line("synth peak memory, main process", f"{synth['peak_mb']:.0f} MB (target < 150 MB)")
        line("synth peak memory, largest worker", f"{synth['worker_peak_mb']:.0f} MB")
        print("-- incremental synth")
        line("synth, nothing changed (in-process)", f"{warm['seconds']:.2f} s ({int(warm['reused'])} units reused)")
        line(
            "generator fingerprint (once per run)",
            f"{warm['fingerprint_s'] * 1000:.1f} ms over {int(warm['fingerprint_files'])} files",
        )
        print(f"-- validate after a one-line edit to {edited}.yaml ({relinted} templates linted again)")
        first_text = f"{first_s:.2f} s, {first_cpu:.1f} CPU s, exit {first.returncode}"
        line("first validate (fills the lint cache)", first_text)
        edit_text = f"{validate_s:.2f} s, {validate_cpu:.2f} CPU s, exit {validated.returncode}"
        line("pipectl validate after the edit", edit_text)
        line("pipectl validate peak memory", f"{validate_mb:.0f} MB (largest process so far; target < 150 MB)")
        line(
            "  of which: first validate / after the edit",
            f"{first_mb:.0f} MB / {edit_mb:.0f} MB (largest process of each)",
        )
        line(f"cfn-lint in-process, 1 process, {templates} templates", f"{serial_s:.2f} s, {serial_cpu:.2f} CPU s")
        line("cfn-lint in-process, validate's pool", f"{pool_s:.2f} s, {pool_cpu:.2f} CPU s")
        line(f"cfn-lint CLI, {templates} templates", f"{cli_s:.2f} s, {cli_cpu:.2f} CPU s")
        for label, wall, cpu in (
            ("in-process pool", pool_s, pool_cpu),
            ("in-process 1 process", serial_s, serial_cpu),
            ("cfn-lint CLI", cli_s, cli_cpu),
        ):
            target = " (target <= 1.2)" if label.startswith("in-process") else ""
            line(f"ratio validate / {label}", f"{validate_s / wall:.2f} wall, {validate_cpu / cpu:.2f} CPU{target}")
        print(f"-- start time (mean of {REPEAT} runs after a warm-up)")
        for label, ms in (("pipectl --help", help_ms), ("pipectl schema", schema_ms), ("python -c pass", python_ms)):
            target = "; target < 150" if label.startswith("pipectl") else ""
            line(
                label,
                f"{ms['mean']:.0f} ms wall (min {ms['min']:.0f}, max {ms['max']:.0f}), {ms['cpu']:.0f} ms CPU{target}",
            )
        line("largest imports of --help", ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in imports))
        ok = (
            synth_ratio <= 2
            and synth["peak_mb"] < 150
            and validate_mb < 150
            and validate_s / pool_s <= 1.2
            and help_ms["mean"] < 150
            and schema_ms["mean"] < 150
        )
        print("result: " + ("within targets" if ok else "OUTSIDE TARGETS"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
