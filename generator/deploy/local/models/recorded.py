"""Resources moto has no API for, recorded by pipectl so the local target still knows they exist.

They appear in `describe_stack_resources` with their real-shaped physical ids, and in-process in
`recorded_resources()`; references to them resolve, and a dangling reference fails the stack.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

_RECORDS: defaultdict[tuple[str, str, str], dict[str, dict[str, Any]]] = defaultdict(dict)


def record(account_id: str, region_name: str, resource_type: str, physical_id: str, properties: dict[str, Any]) -> None:
    _RECORDS[(account_id, region_name, resource_type)][physical_id] = properties


def forget(account_id: str, region_name: str, resource_type: str, physical_id: str) -> None:
    _RECORDS[(account_id, region_name, resource_type)].pop(physical_id, None)


def recorded_resources(account_id: str, region_name: str, resource_type: str) -> dict[str, dict[str, Any]]:
    """Physical id -> properties of each live recorded resource of one type."""
    return dict(_RECORDS[(account_id, region_name, resource_type)])
