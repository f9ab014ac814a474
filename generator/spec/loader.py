"""Loading `pipelines.d/`: files -> merged environments -> validated PipelineSpecs, or located errors.

Merge order for environment E of pipeline P, later wins:
`_defaults.yaml`, `P.yaml`, `_defaults.yaml: environments.E`, `P.yaml: environments.E`.
Mappings merge key by key; lists and scalars are replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.spec import rules
from generator.spec.errors import Location, Path, SpecError, SpecErrors, format_path, shown
from generator.spec.messages import describe
from generator.spec.models import ConsoleSpec, PipelineSpec
from generator.spec.ownership import zone_findings
from generator.spec.sinks import TAGS as SINK_TAGS
from generator.spec.yamlfile import Document, load_document

PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_NAME = 40
ENV_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
DEFAULT_ENVIRONMENTS = ("test", "prod")
DEFAULTS_FILE = "_defaults.yaml"
MAX_ERRORS_PER_FILE = 100
CONSOLE_FILE = "_console.yaml"


@dataclass(frozen=True)
class Pipeline:
    """One pipeline in one environment: the unit every stack builder works on."""

    name: str
    env: str
    spec: PipelineSpec
    source: str


@dataclass(frozen=True)
class Installation:
    """Everything `pipelines.d/` declares, validated."""

    pipelines: tuple[Pipeline, ...]
    console: ConsoleSpec
    sources: tuple[str, ...]


@dataclass(frozen=True)
class _Layer:
    doc: Document
    root: Path


@dataclass
class _Merged:
    data: dict[str, Any]
    keys: dict[Path, tuple[Location, Path]]
    values: dict[Path, tuple[Location, Path]]


def pipeline_files(directory: FsPath) -> list[FsPath]:
    """Pipeline files in name order; files starting with `_` hold shared settings."""
    files = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(f for f in files if not f.name.startswith((".", "_")))


def load_directory(directory: FsPath, shown_as: str | None = None) -> Installation:
    """Read and validate every file; raise SpecErrors with all findings of all files."""
    prefix = shown_as if shown_as is not None else str(directory)
    errors: list[SpecError] = []
    if not directory.is_dir():
        raise SpecErrors(
            [SpecError(Location(prefix, 1, 1), "(directory)", "expected a directory of pipeline files, found none")]
        )

    def read(path: FsPath) -> Document | None:
        doc, error = load_document(path, f"{prefix}/{path.name}")
        if error is not None:
            errors.append(error)
            return None
        if doc is None:
            raise RuntimeError(f"{path}: read as neither a document nor an error")
        if not isinstance(doc.data, dict):
            errors.append(
                SpecError(
                    Location(doc.file, 1, 1), "(file)", f"expected a mapping of settings, found {shown(doc.data)}"
                )
            )
            return None
        return doc

    defaults = read(directory / DEFAULTS_FILE) if (directory / DEFAULTS_FILE).exists() else None
    console = _load_console(directory / CONSOLE_FILE, f"{prefix}/{CONSOLE_FILE}", errors, read)
    pipelines: list[Pipeline] = []
    sources: list[str] = []
    claimed: dict[str, tuple[str, str, Location]] = {}  # collector domain -> the pipeline and env using it, and where
    files = pipeline_files(directory)
    for path in files:
        shown_file = f"{prefix}/{path.name}"
        sources.append(shown_file)
        name = path.stem
        if not PIPELINE_NAME.match(name) or len(name) > MAX_NAME:
            errors.append(
                SpecError(
                    Location(shown_file, 1, 1),
                    "(file name)",
                    f"expected a pipeline name of at most {MAX_NAME} lowercase letters, digits and single hyphens, "
                    f"starting with a letter (it names the stacks pipectl-<name>-<env>-<kind>), found {name!r}",
                )
            )
            continue
        doc = read(path)
        if doc is None:
            continue
        owned = tuple((console or ConsoleSpec()).hosted_zones)
        pipelines.extend(_load_pipeline(name, doc, defaults, errors, claimed, owned))
    if not files and not errors:
        errors.append(
            SpecError(Location(prefix, 1, 1), "(directory)", "expected at least one pipeline file (*.yaml), found none")
        )
    if errors:
        raise SpecErrors(errors)
    return Installation(tuple(pipelines), console or ConsoleSpec(), tuple(sources))


def _load_console(path: FsPath, shown_file: str, errors: list[SpecError], read: Any) -> ConsoleSpec | None:
    if not path.exists():
        return ConsoleSpec()
    doc = read(path)
    if doc is None:
        return None
    merged = _merge([_Layer(doc, ())])
    try:
        return ConsoleSpec.model_validate(merged.data)
    except ValidationError as exc:
        errors.extend(_from_pydantic(exc, merged, shown_file, ConsoleSpec))
        return None


def _environment_names(name: str, doc: Document, defaults: Document | None, errors: list[SpecError]) -> list[str]:
    declared: dict[str, Any] | None = None
    for source in (defaults, doc):
        if source is None or "environments" not in source.data:
            continue
        envs = source.data["environments"]
        where = source.values[("environments",)]
        if not isinstance(envs, dict) or not envs:
            errors.append(
                SpecError(
                    where, "environments", f"expected a mapping of environment names to overrides, found {shown(envs)}"
                )
            )
            return []
        for env, override in envs.items():
            loc = source.keys[("environments", env)]
            if not ENV_NAME.match(env):
                errors.append(
                    SpecError(
                        loc,
                        f"environments.{env}",
                        f"expected an environment name of at most 10 lowercase letters and digits, found {env!r}",
                    )
                )
            elif override is not None and not isinstance(override, dict):
                errors.append(
                    SpecError(
                        source.values[("environments", env)],
                        f"environments.{env}",
                        f"expected a mapping of overrides, found {shown(override)}",
                    )
                )
            elif isinstance(override, dict) and "environments" in override:
                errors.append(
                    SpecError(
                        source.keys[("environments", env, "environments")],
                        f"environments.{env}.environments",
                        "expected settings, found environments nested in an environment",
                    )
                )
        if source is doc or declared is None:
            declared = envs
    return sorted(declared) if declared is not None else list(DEFAULT_ENVIRONMENTS)


def _load_pipeline(
    name: str,
    doc: Document,
    defaults: Document | None,
    errors: list[SpecError],
    claimed: dict[str, tuple[str, str, Location]],
    owned_zones: tuple[str, ...] = (),
) -> list[Pipeline]:
    before = len(errors)
    envs = _environment_names(name, doc, defaults, errors)
    if len(errors) > before:
        return []
    out: list[Pipeline] = []
    for env in envs:
        layers = [
            _Layer(d, root)
            for d, root in (
                (defaults, ()),
                (doc, ()),
                (defaults, ("environments", env)),
                (doc, ("environments", env)),
            )
            if d is not None
        ]
        merged = _merge(layers)
        merged.data.pop("environments", None)
        try:
            spec = PipelineSpec.model_validate(merged.data)
        except ValidationError as exc:
            errors.extend(_from_pydantic(exc, merged, doc.file, PipelineSpec))
            continue
        findings = [*rules.check(spec, merged.data), *zone_findings(spec, owned_zones, CONSOLE_FILE)]
        for path, message in findings:
            errors.append(_located(path, message, merged, doc.file, prefer_key=False))
        if not findings:
            _claim_domain(name, env, spec, merged, doc.file, claimed, errors)
            out.append(Pipeline(name=name, env=env, spec=spec, source=doc.file))
    return out


def _claim_domain(
    name: str,
    env: str,
    spec: PipelineSpec,
    merged: _Merged,
    file: str,
    claimed: dict[str, tuple[str, str, Location]],
    errors: list[SpecError],
) -> None:
    """One DNS name points at one load balancer: a second pipeline, or a second environment of the same
    one (each has its own load balancer), claiming it is an error where it is written."""
    domain = spec.ingestion.domain.name.lower()
    where = _located(("ingestion", "domain", "name"), "", merged, file, prefer_key=False)
    first = claimed.get(domain)
    if first is None:
        claimed[domain] = (name, env, where.location)
        return
    owner, owner_env, loc = first
    if owner != name:
        message = (
            f"expected a collector domain no other pipeline uses, found {domain!r}, which pipeline "
            f"{owner} uses ({loc.file}:{loc.line}:{loc.col})"
        )
    else:
        message = (
            f"expected a collector domain for environment {env} that no other environment uses "
            f"(environments.{env}.ingestion.domain.name), found {domain!r}, which environment {owner_env} "
            f"uses too ({loc.file}:{loc.line}:{loc.col})"
        )
    errors.append(SpecError(where.location, where.path, message))


def _subtree(data: Any, root: Path) -> Any:
    for part in root:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _merge(layers: list[_Layer]) -> _Merged:
    merged = _Merged({}, {}, {})
    for layer in layers:
        data = _subtree(layer.doc.data, layer.root)
        if not isinstance(data, dict):
            continue
        merged.data = _deep_merge(merged.data, data)
        n = len(layer.root)
        for source, target in ((layer.doc.keys, merged.keys), (layer.doc.values, merged.values)):
            for path, loc in source.items():
                if path[:n] == layer.root and len(path) > n:
                    target[path[n:]] = (loc, path)
    return merged


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if key == "environments":
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _located(
    path: Path, message: str, merged: _Merged, file: str, prefer_key: bool, missing: bool = False
) -> SpecError:
    """Place a finding at `path`, or at its nearest written ancestor when the key is missing.

    A missing key is the pipeline file's to add, never _defaults.yaml's (which need not be complete):
    it is placed in the pipeline file, at the nearest ancestor written there, else at its top.
    """
    table = merged.keys if prefer_key else merged.values
    for cut in range(len(path), -1, -1):
        head = path[:cut]
        found = table.get(head) or merged.keys.get(head) or merged.values.get(head)
        if found and not (missing and found[0].file != file):
            loc, written = found
            return SpecError(loc, format_path(written + path[cut:]), message)
    return SpecError(Location(file, 1, 1), format_path(path), message)


def _strip_tags(loc: tuple[int | str, ...], data: Any) -> Path:
    """Drop the union-member tags pydantic puts into error locations ('sink', 'kinesis', ...)."""
    out: list[str | int] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(data, dict) and isinstance(part, str) and part not in data and not last and part in _TAGS:
            continue
        out.append(part)
        data = (
            data.get(part)
            if isinstance(data, dict)
            else (data[part] if isinstance(data, list) and isinstance(part, int) and part < len(data) else None)
        )
    return tuple(out)


_TAGS = {*SINK_TAGS, "none", "jwt", "browser", "cognito", "oidc", "existing", "created"}
"""Union tags pydantic puts in error locations; the sink types' come from their one list."""


def _from_pydantic(exc: ValidationError, merged: _Merged, file: str, model: type[BaseModel]) -> list[SpecError]:
    """Located errors, at most MAX_ERRORS_PER_FILE of them: a generated or damaged file may hold thousands."""
    out = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_ERRORS_PER_FILE]:
        path = _strip_tags(tuple(err["loc"]), merged.data)
        message = describe(err, model, tuple(err["loc"]))
        kind = err["type"]
        out.append(_located(path, message, merged, file, kind in ("extra_forbidden", "missing"), kind == "missing"))
    if len(errors) > MAX_ERRORS_PER_FILE:
        hidden = len(errors) - MAX_ERRORS_PER_FILE
        out.append(
            SpecError(
                Location(file, 1, 1),
                "(file)",
                f"expected fewer mistakes, found {hidden} more not shown; fix these first",
            )
        )
    return out
