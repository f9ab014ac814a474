"""cfn-lint, in-process: rules loaded once per worker, templates linted in parallel, results cached.

The cache key is the template's bytes, its region, the cfn-lint version and the project rules'
source, so a finding can never be served for a template or a rule set that changed. Each entry's
first line carries the sha256 of its findings: a damaged entry is discarded, noted and linted again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

CACHE_DIR = ".lint-cache"
ENTRY_FORMAT = "pipectl-lint-cache/1"
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


def _fingerprint() -> str:
    """cfn-lint's version and the project rules' source: read on every call (a few small files), so a
    rule edited while a process runs is never answered from the old rules or the old cache entries.

    The version comes from the installed distribution's metadata: importing `cfnlint.version` would
    import all of cfn-lint (its package imports its rules), half a second that validate's parent, whose
    lint service already loads cfn-lint in another process, need not spend.
    """
    digest = hashlib.sha256(metadata.version("cfn-lint").encode())
    if PROJECT_RULES.is_dir():
        for path in sorted(PROJECT_RULES.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _append_rules() -> list[str]:
    return [str(PROJECT_RULES)] if PROJECT_RULES.is_dir() and any(PROJECT_RULES.glob("*.py")) else []


_RULES: tuple[str, Any] | None = None
SHARED_FILES = frozenset({("cfnlint.data.AdditionalSpecs", "Policies.json")})
"""Data files that several cfn-lint rules load, each its own copy, while the rules load: IAM's Policies.json
(~10 MB decoded) is loaded by two rules, which only read it. cfn-lint is pinned."""
SHARED_DATA_HOLDERS = (("W3037", "_service_map"), ("I3510", "service_map"))
"""Where those two rules keep it (tests check they hold one copy)."""


@contextlib.contextmanager
def _one_copy_of_shared_files() -> Iterator[None]:
    """While the rules load, each of SHARED_FILES is decoded once and the same data given to every rule that
    asks: a copy less in the lint service and in every worker forked from it. Other files, and every load after
    the rules are built, go to cfn-lint's own loader unchanged."""
    from cfnlint import helpers

    original = helpers.load_resource
    loaded: dict[tuple[str, str], Any] = {}
    loading = True

    def load_resource(package: Any, filename: str = "us-east-1.json") -> Any:
        key = (str(getattr(package, "__name__", package)), filename)
        if not loading or key not in SHARED_FILES:
            return original(package, filename)
        if key not in loaded:
            loaded[key] = original(package, filename)
        return loaded[key]

    helpers.load_resource = load_resource
    try:
        yield
    finally:
        loading = False
        loaded.clear()
        helpers.load_resource = original


def _load_rules(fingerprint: str | None = None) -> Any:
    """Load cfn-lint's rules (and the project's) once for this process, again if the project rules changed."""
    global _RULES
    fingerprint = fingerprint or _fingerprint()
    if _RULES is None or _RULES[0] != fingerprint:
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner import Runner

        with _one_copy_of_shared_files():
            rules = Runner(ConfigMixIn(cli_args=[], append_rules=_append_rules())).rules
        _RULES = (fingerprint, rules)
    return _RULES[1]


def _lint_one(text: str, region: str, shown_as: str, fingerprint: str | None = None) -> list[LintFinding]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode import decode_str
    from cfnlint.runner import run_template_by_data

    template, errors = decode_str(text)
    matches = list(errors or [])
    if template is not None and not errors:
        config = ConfigMixIn(cli_args=[], regions=[region], include_checks=["I"], append_rules=_append_rules())
        matches = list(run_template_by_data(template, config, _load_rules(fingerprint)))
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


def _worker(args: tuple[str, str, str, str]) -> list[LintFinding]:
    path, region, shown_as, fingerprint = args
    return _lint_one(Path(path).read_text(), region, shown_as, fingerprint)


def _read_entry(entry: Path, template: str, notes: list[str]) -> list[LintFinding] | None:
    """Findings from a cache entry, or None (and a note when the entry was damaged) to lint again."""
    try:
        raw = entry.read_bytes()
    except OSError:
        return None
    header, _, body = raw.partition(b"\n")
    parts = header.decode("ascii", "replace").split(" ")
    if len(parts) != 2 or parts[0] != ENTRY_FORMAT or hashlib.sha256(body).hexdigest() != parts[1]:
        if not raw.startswith(b"["):  # entries of earlier releases were a bare list: stale, not damaged
            notes.append(f"{entry}: damaged lint cache entry (hash mismatch); discarded, {template} linted again")
        entry.unlink(missing_ok=True)
        return None
    try:
        return [LintFinding(**{**item, "template": template}) for item in json.loads(body)]
    except (ValueError, TypeError):
        notes.append(f"{entry}: unreadable lint cache entry; discarded, {template} linted again")
        entry.unlink(missing_ok=True)
        return None


def _write_entry(entry: Path, found: list[LintFinding]) -> None:
    body = json.dumps([asdict(f) for f in found]).encode()
    entry.write_bytes(f"{ENTRY_FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode() + body)


def lint_templates(
    build_dir: Path,
    jobs: Sequence[LintJob],
    workers: int | None = None,
    use_cache: bool = True,
    notes: list[str] | None = None,
    service: LintService | None = None,
) -> list[LintFinding]:
    """Lint every template; cached results are reused, the rest run in a process pool.

    `use_cache=False` lints everything and refreshes the entries; `notes` collects one line per
    damaged entry that was discarded; `service`, started earlier, has the rules loaded already.
    """
    notes = notes if notes is not None else []
    cache_dir = build_dir / CACHE_DIR
    cache_dir.mkdir(parents=True, exist_ok=True)
    results: list[LintFinding] = []
    misses: list[tuple[LintJob, Path]] = []
    fingerprint = _fingerprint()
    for job in jobs:
        data = (build_dir / job.template).read_bytes()
        key = hashlib.sha256(data + job.region.encode() + fingerprint.encode()).hexdigest()
        entry = cache_dir / f"{key}.json"
        cached = _read_entry(entry, job.template, notes) if use_cache else None
        if cached is not None:
            results.extend(cached)
        else:
            misses.append((job, entry))
    if misses:
        work = [(str(build_dir / job.template), job.region, job.template, fingerprint) for job, _ in misses]
        outcomes = service.run(work, workers) if service is not None else _lint_work(work, workers)
        for (_job, entry), found in zip(misses, outcomes, strict=True):
            _write_entry(entry, found)
            results.extend(found)
    return sorted(results)


Work = list[tuple[str, str, str, str]]


def _lint_work(work: Work, workers: int | None) -> list[list[LintFinding]]:
    count = min(len(work), workers or os.cpu_count() or 1)
    if count <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_worker(item) for item in work]
    # Rules are loaded once, here, and the forked workers share them.
    _load_rules(work[0][3])
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_worker, work))


def _serve(conn: Connection) -> None:
    """The service process: load the rules now, lint what the caller sends once, exit."""
    with contextlib.suppress(Exception):  # a failure to load shows again, with its cause, when linting
        _load_rules()
    try:
        work, workers = conn.recv()
    except EOFError:
        return
    try:
        conn.send((True, _lint_work(work, workers)))
    except Exception as exc:
        conn.send((False, exc))


class LintService:
    """cfn-lint's rules (seconds to load) loaded in another process while the caller synthesizes.

    Validate starts one before synth; the templates that miss the cache are then linted by it, in
    workers forked from it that share its rules. Without fork, or if it dies, linting happens here.
    """

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._conn, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child,), name="pipectl-lint")
            self._process.start()
            child.close()

    def run(self, work: Work, workers: int | None) -> list[list[LintFinding]]:
        if self._process is None:
            return _lint_work(work, workers)
        try:
            self._conn.send((work, workers))
            ok, payload = self._conn.recv()
        except (EOFError, OSError):
            self.close()
            return _lint_work(work, workers)
        if not ok:
            raise payload
        outcomes: list[list[LintFinding]] = payload
        return outcomes

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._conn.close()
            self._process = None

    def __enter__(self) -> LintService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
