"""cfn-lint, in-process: rules loaded once per worker, templates linted in parallel, results cached.

The cache key is the template's bytes, its region, the cfn-lint version and the project rules'
source, so a finding can never be served for a template or a rule set that changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

CACHE_DIR = ".lint-cache"
PROJECT_RULES = Path(__file__).resolve().parent / "rules"


@dataclass(frozen=True, order=True)
class LintFinding:
    """One cfn-lint match, located in the synthesized template."""

    template: str
    line: int
    col: int
    rule: str
    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}:{self.col}: {self.rule} ({self.level}): {self.message}"


@dataclass(frozen=True)
class LintJob:
    template: str  # path relative to the build directory, as shown in findings
    region: str


@cache
def _fingerprint() -> str:
    import cfnlint.version

    digest = hashlib.sha256(cfnlint.version.__version__.encode())
    if PROJECT_RULES.is_dir():
        for path in sorted(PROJECT_RULES.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _append_rules() -> list[str]:
    return [str(PROJECT_RULES)] if PROJECT_RULES.is_dir() and any(PROJECT_RULES.glob("*.py")) else []


_RULES: Any = None


def _load_rules() -> Any:
    """Load cfn-lint's rules (and the project's) once for this process."""
    global _RULES
    if _RULES is None:
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner import Runner

        _RULES = Runner(ConfigMixIn(cli_args=[], append_rules=_append_rules())).rules
    return _RULES


def _lint_one(text: str, region: str, shown_as: str) -> list[LintFinding]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode import decode_str
    from cfnlint.runner import run_template_by_data

    template, errors = decode_str(text)
    matches = list(errors or [])
    if template is not None and not errors:
        config = ConfigMixIn(cli_args=[], regions=[region], include_checks=["I"], append_rules=_append_rules())
        matches = list(run_template_by_data(template, config, _load_rules()))
    findings = {
        LintFinding(
            template=shown_as,
            line=int(m.linenumber),
            col=int(m.columnnumber),
            rule=m.rule.id,
            level=m.rule.severity,
            message=m.message,
        )
        for m in matches
    }
    return sorted(findings)


def _worker(args: tuple[str, str, str]) -> list[LintFinding]:
    path, region, shown_as = args
    return _lint_one(Path(path).read_text(), region, shown_as)


def lint_templates(build_dir: Path, jobs: Sequence[LintJob], workers: int | None = None) -> list[LintFinding]:
    """Lint every template; cached results are reused, the rest run in a process pool."""
    cache_dir = build_dir / CACHE_DIR
    cache_dir.mkdir(parents=True, exist_ok=True)
    results: list[LintFinding] = []
    misses: list[tuple[LintJob, Path]] = []
    for job in jobs:
        data = (build_dir / job.template).read_bytes()
        key = hashlib.sha256(data + job.region.encode() + _fingerprint().encode()).hexdigest()
        entry = cache_dir / f"{key}.json"
        if entry.exists():
            results.extend(LintFinding(**{**item, "template": job.template}) for item in json.loads(entry.read_text()))
        else:
            misses.append((job, entry))
    if misses:
        work = [(str(build_dir / job.template), job.region, job.template) for job, _ in misses]
        count = min(len(work), workers or os.cpu_count() or 1)
        if count <= 1:
            outcomes = [_worker(item) for item in work]
        else:
            with ProcessPoolExecutor(max_workers=count, initializer=_load_rules) as pool:
                outcomes = list(pool.map(_worker, work))
        for (_job, entry), found in zip(misses, outcomes, strict=True):
            entry.write_text(json.dumps([asdict(f) for f in found]))
            results.extend(found)
    return sorted(results)
