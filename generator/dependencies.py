"""Stack dependencies, derived from the templates: a stack depends on the stacks whose exports it imports.

Nobody declares `depends_on`: synth reads every `Fn::ImportValue` a template uses, resolves its name
(a string, or an `Fn::Sub`/`Fn::Join`/`Ref` synth can evaluate from the stack's name and parameter
defaults), and attributes it to the stack that exports it (`<stack>:<output>`). An import synth cannot
resolve or attribute, or one no stack of the installation exports, fails synth: a wrong order would
otherwise surface only as a failed change set in the middle of a deploy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from generator.contract import exporting_stack

_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


class DependencyError(ValueError):
    """A template imports a value synth cannot attribute to a stack of the installation (a generator bug)."""


class _Unresolved(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _resolve(node: Any, names: Mapping[str, str]) -> str:
    """The string `node` evaluates to, from `names` (the stack's name and its parameters' defaults)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        [(function, argument)] = node.items()
        if function == "Ref" and isinstance(argument, str):
            if argument not in names:
                raise _Unresolved(f"Ref {argument}")
            return names[argument]
        if function == "Fn::Sub":
            text, local = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            values = {**names, **{key: _resolve(value, names) for key, value in local.items()}}

            def substitute(match: re.Match[str]) -> str:
                if match[1] not in values:
                    raise _Unresolved(f"${{{match[1]}}}")
                return values[match[1]]

            return _PLACEHOLDER.sub(substitute, str(text)).replace("${!", "${")
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return str(argument[0]).join(_resolve(part, names) for part in argument[1])
    raise _Unresolved(repr(node)[:120])


def _names(stack: str, body: Mapping[str, Any]) -> dict[str, str]:
    names = {"AWS::StackName": stack}
    for key, parameter in (body.get("Parameters") or {}).items():
        if isinstance(parameter, dict) and "Default" in parameter:
            names[key] = str(parameter["Default"])
    return names


def _calls(node: Any, function: str, path: str) -> Iterable[tuple[str, Any]]:
    """Each call of `function` under `node`, with its path. Only containers are descended into (a template
    is mostly strings), and a path is spelled only for them."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == function:
                yield path, value
            elif isinstance(value, dict | list):
                yield from _calls(value, function, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict | list):
                yield from _calls(value, function, f"{path}[{index}]")


def template_imports(stack: str, body: Mapping[str, Any]) -> dict[str, str]:
    """Each export name the template imports -> the stack that exports it, in name order."""
    names = _names(stack, body)
    found: dict[str, str] = {}
    for section in ("Resources", "Outputs", "Conditions"):
        for path, argument in _calls(body.get(section) or {}, "Fn::ImportValue", section):
            try:
                name = _resolve(argument, names)
            except _Unresolved as exc:
                raise DependencyError(
                    f"{stack}: {path}: Fn::ImportValue: expected a name synth can resolve, found {exc.what}"
                ) from None
            owner = exporting_stack(name)
            if owner is None:
                raise DependencyError(
                    f"{stack}: {path}: Fn::ImportValue: expected an export name `<stack>:<output>` "
                    f"of a pipectl stack, found {name!r}"
                )
            if owner == stack:
                raise DependencyError(f"{stack}: {path}: Fn::ImportValue: a stack cannot import its own export {name}")
            found[name] = owner
    return dict(sorted(found.items()))


def template_exports(stack: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    """The export names the template declares, sorted."""
    names = _names(stack, body)
    out = []
    for key, output in (body.get("Outputs") or {}).items():
        export = output.get("Export") if isinstance(output, dict) else None
        if isinstance(export, dict) and "Name" in export:
            try:
                out.append(_resolve(export["Name"], names))
            except _Unresolved as exc:
                raise DependencyError(
                    f"{stack}: Outputs.{key}.Export.Name: expected a name synth can resolve, found {exc.what}"
                ) from None
    return tuple(sorted(out))


def check_imports(stacks: Iterable[tuple[str, Mapping[str, str], Iterable[str]]]) -> None:
    """Every import names a stack of the same synth that declares that export; raise on the first that does not.

    `stacks` holds (name, imports, exports) of each stack.
    """
    listed = list(stacks)
    exports = {name: set(declared) for name, _, declared in listed}
    for name, imports, _ in listed:
        for export, owner in imports.items():
            if owner not in exports:
                raise DependencyError(f"{name}: imports {export}, but stack {owner} is not synthesized with it")
            if export not in exports[owner]:
                raise DependencyError(f"{name}: imports {export}, which stack {owner} does not export")
