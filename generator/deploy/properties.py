"""Changed properties of a modified resource, before → after, as a reviewer reads them in plan.md.

Values come from two templates (the deployed one and the new one) or, on AWS, from the change
set's own before/after values (`DescribeChangeSet` with `IncludePropertyValues`). Either way they
pass through `show`: intrinsic functions read as short forms, long values are cut, and secrets or
dynamic references (`{{resolve:...}}`) are never printed, so plan.md can be posted as an artifact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.resource_schemas import UnknownResourceType, create_only_paths

WIDTH = 60
HIDDEN = "(secret, not shown)"
DYNAMIC = "(dynamic reference, not shown)"
ABSENT = "(none)"
# Property names whose values are credentials by their nature, whatever the resource type.
_SECRET_NAME = re.compile(r"password|secret|token|privatekey|apikey|credential", re.IGNORECASE)
# Shown as statement and rule tables, not as raw documents.
ACCESS_PROPERTIES = frozenset(
    {
        "AssumeRolePolicyDocument",
        "Policies",
        "PolicyDocument",
        "KeyPolicy",
        "SecurityGroupIngress",
        "SecurityGroupEgress",
    }
)
MAX_ROWS = 25


@dataclass
class PropertyChange:
    """One changed property: `path` like `ContainerDefinitions[0].Image`; `replaces` for create-only ones."""

    path: str
    before: str
    after: str
    replaces: bool = False


def show(value: Any, path: str = "", secret_refs: frozenset[str] = frozenset(), width: int = WIDTH) -> str:
    """A value as one short line: never a secret, a dynamic reference or a NoEcho parameter's value."""
    if value is _ABSENT:
        return ABSENT
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if _SECRET_NAME.search(leaf):
        return HIDDEN
    text = _render(value, secret_refs)
    if "{{resolve:" in text:
        return DYNAMIC
    return text if len(text) <= width else text[: width - 1] + "…"


def _render(value: Any, secret_refs: frozenset[str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return HIDDEN if arg in secret_refs else f"Ref({arg})"
        if key == "Fn::GetAtt":
            parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return "GetAtt(" + ".".join(str(p) for p in parts) + ")"
        if key == "Fn::Sub":
            # The text itself, its own variables filled in: `${ImportValue(...)}/raw/*` reads as an ARN.
            text = str(arg[0] if isinstance(arg, list) and arg else arg)
            names = arg[1] if isinstance(arg, list) and len(arg) > 1 and isinstance(arg[1], dict) else {}
            for name, bound in names.items():
                text = text.replace("${" + str(name) + "}", "${" + _render(bound, secret_refs) + "}")
            return text
        if key == "Fn::ImportValue":
            return f"ImportValue({_render(arg, secret_refs)})"
        if key.startswith("Fn::"):
            return f"{key[4:]}({_compact(arg)})"
    return _compact(value)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


class _Absent:
    """A property that is not set on one side."""


_ABSENT: Any = _Absent()


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def _walk(path: str, before: Any, after: Any) -> Iterable[tuple[str, Any, Any]]:
    """Leaf differences; objects are opened key by key, lists of equal length item by item."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict) and not (_is_intrinsic(before) or _is_intrinsic(after)):
        for key in sorted({*before, *after}):
            yield from _walk(f"{path}.{key}" if path else key, before.get(key, _ABSENT), after.get(key, _ABSENT))
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _walk(f"{path}[{index}]", old, new)
        return
    yield path, before, after


def diff_properties(
    resource_type: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    secret_refs: frozenset[str] = frozenset(),
) -> list[PropertyChange]:
    """The changed properties of one resource, access documents left to the statement and rule tables."""
    old = {k: v for k, v in (before or {}).items() if k not in ACCESS_PROPERTIES}
    new = {k: v for k, v in (after or {}).items() if k not in ACCESS_PROPERTIES}
    create_only = _create_only_names(resource_type)
    return [
        PropertyChange(
            path,
            show(old_value, path, secret_refs),
            show(new_value, path, secret_refs),
            path.split(".", 1)[0].split("[", 1)[0] in create_only,
        )
        for path, old_value, new_value in _walk("", old, new)
    ]


def _create_only_names(resource_type: str) -> frozenset[str]:
    try:
        return frozenset(p.split("/")[2] for p in create_only_paths(resource_type) if p.count("/") >= 2)
    except UnknownResourceType:
        return frozenset()


def from_details(details: Iterable[Mapping[str, Any]]) -> list[PropertyChange]:
    """Property rows of a change set described with `IncludePropertyValues` (AWS's resolved values).

    Rows without before/after values (a target that does not report them) are skipped: the caller
    falls back to diffing the templates.
    """
    rows: dict[str, PropertyChange] = {}
    for detail in details:
        target = detail.get("Target") or {}
        if target.get("Attribute") != "Properties" or not ("BeforeValue" in target or "AfterValue" in target):
            continue
        path = str(target.get("Path") or target.get("Name") or "").strip("/").removeprefix("Properties/")
        path = path.replace("/", ".")
        if path.split(".", 1)[0] in ACCESS_PROPERTIES:
            continue
        before = _parsed(target.get("BeforeValue", _ABSENT))
        after = _parsed(target.get("AfterValue", _ABSENT))
        rows[path] = PropertyChange(
            path,
            show(before, path),
            show(after, path),
            target.get("RequiresRecreation") in ("Always", "Conditionally"),
        )
    return [rows[p] for p in sorted(rows)]


def _parsed(value: Any) -> Any:
    """AWS gives JSON text for objects and lists, plain text for scalars; NoEcho values come masked as ****."""
    if not isinstance(value, str) or value[:1] not in ("{", "["):
        return HIDDEN if value == "****" else value
    try:
        return json.loads(value)
    except ValueError:
        return value


def secret_parameters(template: Mapping[str, Any]) -> frozenset[str]:
    """Parameters declared NoEcho: a Ref to one is shown as hidden."""
    params = template.get("Parameters") or {}
    return frozenset(
        name for name, p in params.items() if isinstance(p, dict) and str(p.get("NoEcho", "")).lower() == "true"
    )
