"""Whether a Modify replaces the resource, from the provider schema's create-only properties.

CloudFormation answers True when a create-only property changes, Conditional when such a property
is unchanged as written but depends on a resource that is itself replaced (its value is known only
then), and False otherwise. The local target reports this in its change sets, and `plan` uses it
wherever a target does not report a replacement, so both give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from generator.resource_schemas import UnknownResourceType, create_only_paths

Replacement = Literal["True", "False", "Conditional"]

_MISSING = object()


def replacement(
    resource_type: str,
    old_properties: Mapping[str, Any] | None,
    new_properties: Mapping[str, Any] | None,
    replaced: Iterable[str] = (),
) -> Replacement:
    """True / Conditional / False for one modified resource; `replaced` are logical ids being replaced."""
    try:
        paths = create_only_paths(resource_type)
    except UnknownResourceType:
        return "Conditional"  # no schema: CloudFormation's own answer for what it cannot tell in advance
    old, new = dict(old_properties or {}), dict(new_properties or {})
    conditional = False
    gone = frozenset(replaced)
    for path in paths:
        parts = [p for p in path.split("/") if p][1:]  # "/properties/A/B" -> ["A", "B"]
        before, after = _values(old, parts), _values(new, parts)
        if before != after:
            return "True"
        if gone and any(references(value) & gone for value in after):
            conditional = True
    return "Conditional" if conditional else "False"


def replacements(
    types: Mapping[str, str],
    old: Mapping[str, Mapping[str, Any] | None],
    new: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, Replacement]:
    """Replacement of each modified resource (`types`: logical id -> type), propagated through references.

    A resource counts as replaced for its dependents when its own answer is True or Conditional.
    """
    answers: dict[str, Replacement] = {}
    replaced: set[str] = set()
    changed = True
    while changed:
        changed = False
        for logical_id, resource_type in types.items():
            answer = replacement(resource_type, old.get(logical_id), new.get(logical_id), replaced)
            if answers.get(logical_id) != answer:
                answers[logical_id] = answer
                changed = True
            if answer != "False" and logical_id not in replaced:
                replaced.add(logical_id)
                changed = True
    return answers


def references(value: Any) -> set[str]:
    """Logical ids a value depends on through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) and item else str(item).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) and item else item
                found |= _sub_names(str(text))
                if isinstance(item, list) and len(item) > 1:
                    found |= references(item[1])
            else:
                found |= references(item)
    return found


def _sub_names(text: str) -> set[str]:
    names: set[str] = set()
    start = text.find("${")
    while start != -1:
        end = text.find("}", start)
        if end == -1:
            break
        name = text[start + 2 : end]
        if not name.startswith("!"):
            names.add(name.split(".", 1)[0])
        start = text.find("${", end)
    return names


def _values(properties: Any, parts: list[str]) -> list[Any]:
    """Every value at `parts` (a `*` step walks each list item); missing values count as absent."""
    if not parts:
        return [properties]
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = properties if isinstance(properties, list) else []
        return [value for item in items for value in _values(item, rest)]
    if isinstance(properties, dict):
        child = properties.get(head, _MISSING)
        return [] if child is _MISSING else _values(child, rest)
    return []


def between_templates(
    types: Mapping[str, str], old_template: Mapping[str, Any], new_template: Mapping[str, Any]
) -> dict[str, Replacement]:
    """`replacements` of the modified resources `types`, read from two whole templates."""

    def properties(template: Mapping[str, Any], logical_id: str) -> Mapping[str, Any] | None:
        resource = (template.get("Resources") or {}).get(logical_id)
        found = resource.get("Properties") if isinstance(resource, dict) else None
        return found if isinstance(found, dict) else None

    return replacements(
        types,
        {name: properties(old_template, name) for name in types},
        {name: properties(new_template, name) for name in types},
    )
