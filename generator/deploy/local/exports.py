"""Cross-stack exports as CloudFormation guards them: what a template imports, who imports an export.

moto resolves `Fn::ImportValue` only when it creates the importing resource, so a change set
importing a missing export succeeds, and an imported export can be removed, changed or deleted
with its stack. These functions read the names statically (literal, `Fn::Sub`, `Fn::Join`, `Ref`
to a parameter or pseudo parameter), as CloudFormation does before it touches a resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PSEUDO = ("AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix", "AWS::StackId")
LIVE_STATUSES_EXCLUDED = frozenset({"DELETE_COMPLETE", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"})


def context(template: Mapping[str, Any], parameters: Mapping[str, Any], stack: Any) -> dict[str, str]:
    """Names a template's strings may refer to: parameters (given or default) and pseudo parameters."""
    values = {str(k): str(v.get("Default")) for k, v in (template.get("Parameters") or {}).items()
              if isinstance(v, dict) and "Default" in v}  # fmt: skip
    values |= {str(k): str(v) for k, v in parameters.items()}
    values |= {
        "AWS::StackName": str(stack.name),
        "AWS::StackId": str(stack.stack_id),
        "AWS::Region": str(stack.region_name),
        "AWS::AccountId": str(stack.account_id),
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    return values


def resolve(value: Any, names: Mapping[str, str]) -> str | None:
    """A string built only from literals, parameters and pseudo parameters; None when it needs a resource."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (function, argument), = value.items()  # fmt: skip
    if function == "Ref":
        return names.get(str(argument))
    if function == "Fn::Sub":
        text, extra = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
        local = dict(names)
        for key, item in (extra or {}).items():
            resolved = resolve(item, names)
            if resolved is None:
                return None
            local[str(key)] = resolved
        missing = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name not in local:
                missing = True
                return ""
            return local[name]

        out = re.sub(r"\$\{([^}]+)\}", substitute, str(text))
        return None if missing else out
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        parts = [resolve(item, names) for item in (argument[1] or [])]
        return None if any(p is None for p in parts) else str(argument[0]).join(p or "" for p in parts)
    return None


def imports(template: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """Export names the template imports (resources and outputs), in order of appearance."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, item in node.items():
                if key == "Fn::ImportValue":
                    name = resolve(item, names)
                    if name is not None and name not in found:
                        found.append(name)
                else:
                    walk(item)

    walk(template.get("Resources") or {})
    walk(template.get("Outputs") or {})
    return found


def export_names(template: Mapping[str, Any], names: Mapping[str, str]) -> set[str]:
    """Export names a template declares (names never depend on resources)."""
    out: set[str] = set()
    for output in (template.get("Outputs") or {}).values():
        export = output.get("Export") if isinstance(output, dict) else None
        if isinstance(export, dict):
            name = resolve(export.get("Name"), names)
            if name is not None:
                out.add(name)
    return out


def missing_import(template: Mapping[str, Any], names: Mapping[str, str], exports: Mapping[str, Any]) -> str | None:
    """The first import with no export of that name in the region, if any."""
    return next((name for name in imports(template, names) if name not in exports), None)


def importers(backend: Any, export_name: str, exporting_stack_id: str) -> list[str]:
    """Names of the live stacks, other than the exporting one, whose template imports `export_name`."""
    out = []
    for stack in list(backend.stacks.values()):
        if stack.stack_id == exporting_stack_id or stack.status in LIVE_STATUSES_EXCLUDED:
            continue
        template = getattr(stack, "template_dict", None) or {}
        if export_name in imports(template, context(template, stack.parameters or {}, stack)):
            out.append(str(stack.name))
    return sorted(out)


def in_use(backend: Any, stack: Any) -> list[tuple[str, str]]:
    """(export, importing stack) for each export of `stack` that another stack imports."""
    return [
        (name, importer)
        for name, export in sorted(backend.exports.items())
        if export.exporting_stack_id == stack.stack_id
        for importer in importers(backend, name, stack.stack_id)
    ]
