"""Which resource types the local target can really create, so a template is refused before deploying.

`python -m generator.deploy.local.coverage [TEMPLATE.json ...]` prints the table for pipectl's types,
or for the types used by the given templates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from generator.deploy.local import compat
from generator.deploy.local.models import register_models
from generator.policy.permissions import load_table

RECORDED = frozenset(
    {
        "AWS::AppSync::DataSource",
        "AWS::AppSync::FunctionConfiguration",
        "AWS::AppSync::Resolver",
        "AWS::CloudFront::CachePolicy",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::CodeStarNotifications::NotificationRule",
    }
)
"""Types moto has no API for: pipectl records them (stack resources, `recorded_resources`)."""

EMITTED = tuple(sorted(load_table().types))
"""The resource types pipectl's stack builders emit: the execution permissions table's, found by synthesizing."""


def supported_types() -> frozenset[str]:
    """Every type moto's CloudFormation engine can create, with pipectl's models registered."""
    register_models()
    return frozenset(compat.model_map()) | compat.null_models()


def unmaterialisable(template: dict[str, Any]) -> list[str]:
    """Sorted resource types in `template` that the local target cannot create (it would skip them)."""
    supported = supported_types()
    used = {str(r.get("Type", "")) for r in (template.get("Resources") or {}).values()}
    return sorted(t for t in used if t not in supported and not t.startswith("Custom::"))


def coverage(types: list[str] | tuple[str, ...] = EMITTED) -> dict[str, str]:
    """type -> 'moto native', 'pipectl model', 'pipectl record' or 'not materialisable'."""
    ours = register_models()
    model_map = compat.model_map()
    table: dict[str, str] = {}
    for resource_type in types:
        if resource_type in RECORDED:
            table[resource_type] = "pipectl record"
        elif resource_type in ours:
            table[resource_type] = "pipectl model"
        elif resource_type in model_map:
            table[resource_type] = "moto native"
        else:
            table[resource_type] = "not materialisable"
    return table


def main(argv: list[str]) -> int:
    types: list[str] = list(EMITTED)
    if argv:
        used: set[str] = set()
        for path in argv:
            resources = json.loads(Path(path).read_text()).get("Resources") or {}
            used |= {str(r["Type"]) for r in resources.values()}
        types = sorted(used)
    table = coverage(types)
    width = max(len(t) for t in table)
    for resource_type, kind in table.items():
        print(f"{resource_type:<{width}}  {kind}")
    return 1 if "not materialisable" in table.values() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
