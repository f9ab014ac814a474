"""What every sink's settings share: the `type` tag that selects it, and checks across its own fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from generator.spec.base import Strict
from generator.spec.errors import Path

Finding = tuple[Path, str]
"""A key path below `ingestion.sink` and what was expected there."""


class SinkSettings(Strict):
    """One sink type's keys under `ingestion.sink`; subclasses narrow `type` to a one-value Literal."""

    type: str

    def findings(self, raw: dict[str, Any]) -> Iterator[Finding]:
        """Rules that span several of this sink's keys; `raw` is the sink's mapping as written."""
        return iter(())


def tag_of(model: type[SinkSettings]) -> str:
    """The value of `type` that selects `model`: the one value of its Literal annotation."""
    values = get_args(model.model_fields["type"].annotation)
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{model.__name__}.type must be a Literal of one string, found {values!r}")
    return values[0]
