"""Where pipectl speaks: text through rich on a terminal, plain lines elsewhere, or JSON for scripts.

Commands hand typed results (dataclasses) to `Output.result`; their JSON is the declared fields, walked
by `to_json`, so a result's shape is what its class says, never whatever attributes an object holds.
rich is imported on first use: `pipectl --help` and `pipectl schema` never load it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from functools import cached_property
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

Format = Literal["text", "json"]
FORMATS: tuple[Format, ...] = ("text", "json")
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
R = TypeVar("R")
TEXT_ONLY = {"json": False}
FLATTEN = {"flatten": True}


class Output:
    """Colour only on a terminal without NO_COLOR or CI; plain lines elsewhere; only JSON with --output json."""

    def __init__(self, fmt: Format = "text") -> None:
        self.format: Format = fmt
        self.interactive = sys.stdout.isatty() and "NO_COLOR" not in os.environ and not os.environ.get("CI")
        # Set by a command with a live display: it is ended (drawn complete, cursor on a fresh line)
        # before anything else is printed, so the two never share the screen.
        self.pause: Callable[[], object] | None = None

    @property
    def is_json(self) -> bool:
        return self.format == "json"

    @cached_property
    def out(self) -> Console:
        from rich.console import Console

        interactive = self.interactive
        return Console(highlight=False, no_color=not interactive, force_terminal=interactive or None, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, no_color=not self.interactive, soft_wrap=True)

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of the text output; with --output json standard output carries the JSON document alone."""
        if self.is_json:
            return
        if self.pause is not None:
            self.pause()
        self.out.print(text, style=style, markup=False)

    def error(self, text: str) -> None:
        if self.pause is not None:
            self.pause()
        self.err.print(text, style="red", markup=False)

    def note(self, text: str) -> None:
        """Something worth knowing that is not the result: standard error, in either format."""
        self.error(f"pipectl: note: {text}")

    def json(self, data: JsonValue) -> None:
        import json

        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")

    def result(self, result: R, text: Callable[[R, Output], None]) -> None:
        """The command's result: as JSON, or through its text renderer."""
        if self.is_json:
            self.json(to_json(result))
        else:
            text(result, self)


def to_json(value: object) -> JsonValue:
    """A typed result as JSON: dataclasses by their declared fields, enums by value, paths as text.

    A field marked `metadata=TEXT_ONLY` serves the text rendering alone; one marked `FLATTEN` (a result
    that wraps another, like plan's) has its keys merged into the enclosing object.
    """
    import dataclasses  # here, not at the top: `pipectl --help` loads this module, and needs no dataclass

    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, JsonValue] = {}
        for f in dataclasses.fields(value):
            if not f.metadata.get("json", True):
                continue
            shown = to_json(getattr(value, f.name))
            if f.metadata.get("flatten") and isinstance(shown, dict):
                data.update(shown)
            else:
                data[f.name] = shown
        return data
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    raise TypeError(f"no JSON form for {type(value).__name__}: give the result a typed field instead")


def short(text: str, limit: int = 400) -> str:
    """AWS error messages can list every availability zone; keep the part a person reads."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
