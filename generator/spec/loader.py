"""Loading `pipelines.d/`: files -> merged environments -> validated PipelineSpecs, or located errors.

Merge order for environment E of pipeline P, later wins:
`_defaults.yaml`, `P.yaml`, `_defaults.yaml: environments.E`, `P.yaml: environments.E`.
Mappings merge key by key; lists and scalars are replaced.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from generator.spec import rules
from generator.spec.errors import Location, Path, SpecError, SpecErrors, format_path, shown
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
        pipelines.extend(_load_pipeline(name, doc, defaults, errors, owned))
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
    name: str, doc: Document, defaults: Document | None, errors: list[SpecError], owned_zones: tuple[str, ...] = ()
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
            out.append(Pipeline(name=name, env=env, spec=spec, source=doc.file))
    return out


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


def _located(path: Path, message: str, merged: _Merged, file: str, prefer_key: bool) -> SpecError:
    """Place a finding at `path`, or at its nearest written ancestor when the key is missing."""
    table = merged.keys if prefer_key else merged.values
    for cut in range(len(path), -1, -1):
        head = path[:cut]
        found = table.get(head) or merged.keys.get(head) or merged.values.get(head)
        if found:
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
        message = _describe(err, model, tuple(err["loc"]))
        out.append(_located(path, message, merged, file, prefer_key=err["type"] in ("extra_forbidden", "missing")))
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


def _describe(err: ErrorDetails, model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    found = shown(err.get("input"))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "expected a value (required), found nothing"
    if kind == "extra_forbidden":
        owner, siblings = _model_at(model, loc[:-1])
        key = loc[-1]
        allowed = ", ".join(sorted(owner.model_fields)) if owner else "known keys"
        hint = ""
        for other_tag, other in siblings.items():
            if isinstance(key, str) and key in other.model_fields:
                hint = f" (an option of {other_tag})"
                break
        return f"expected one of {allowed}; found unknown key {key!r}{hint}"
    if kind == "union_tag_invalid":
        return f"expected {ctx.get('expected_tags', 'a known type')}, found {shown(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        return f"expected a {ctx.get('discriminator', 'type')} key, found none"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()))
        return f"expected a number {op} {limit}, found {found}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}, found {found}"
    if kind in ("too_short", "too_long"):
        word = "at least" if kind == "too_short" else "at most"
        bound = ctx.get("min_length", ctx.get("max_length"))
        return f"expected {word} {bound} item(s), found {ctx.get('actual_length')}"
    if kind in ("string_too_short", "string_too_long"):
        word = "at least" if kind == "string_too_short" else "at most"
        bound = ctx.get("min_length", ctx.get("max_length"))
        return f"expected text of {word} {bound} characters, found {found}"
    msg = err["msg"]
    for lead in ("Input should be ", "Value error, "):
        if msg.startswith(lead):
            msg = msg[len(lead) :]
    return f"expected {msg}, found {found}"


def _model_at(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[type[BaseModel] | None, dict[str, type[BaseModel]]]:
    """The model class a pydantic error location points into, and the other members of its union."""
    current: Any = model
    siblings: dict[str, type[BaseModel]] = {}
    for part in loc:
        members = _members(current)
        if isinstance(part, str) and part in members and len(members) > 1:
            siblings = {tag: m for tag, m in members.items() if tag != part}
            current = members[part]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None, {}
            current = field.annotation
            siblings = {}
            continue
        current = _item_type(current)
    members = _members(current)
    if len(members) == 1:
        return next(iter(members.values())), siblings
    return None, siblings


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _unwrap(arg)]
    return [tp]


def _members(tp: Any) -> dict[str, type[BaseModel]]:
    """Models a type may hold, keyed by the tag pydantic uses for them in error locations."""
    out: dict[str, type[BaseModel]] = {}
    for member in _unwrap(tp):
        if isinstance(member, type) and issubclass(member, BaseModel):
            type_field = member.model_fields.get("type")
            tag = None
            if type_field is not None:
                args = typing.get_args(type_field.annotation)
                tag = str(args[0]) if args else None
            if tag is None:
                tag = (
                    "created"
                    if "create" in member.model_fields
                    else "existing"
                    if "vpc_id" in member.model_fields
                    else member.__name__
                )
            out[tag] = member
    return out


def _item_type(tp: Any) -> Any:
    for member in _unwrap(tp):
        args = typing.get_args(member)
        if typing.get_origin(member) in (list, tuple) and args:
            return args[0]
        if typing.get_origin(member) is dict and len(args) == 2:
            return args[1]
    return None
