"""Typed results become JSON by their declared fields: nothing an object merely carries leaks out."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pytest

from generator.cli.output import FLATTEN, TEXT_ONLY, Output, to_json


class Colour(StrEnum):
    RED = "red"


@dataclass
class Inner:
    name: str
    colour: Colour


@dataclass
class Outer:
    inner: Inner = field(metadata=FLATTEN)
    items: list[Inner] = field(default_factory=list)
    where: Path = Path("build")
    hidden: str = field(default="for the text only", metadata=TEXT_ONLY)
    counts: dict[str, int] = field(default_factory=dict)


def test_declared_fields_enums_paths_flattened_and_text_only() -> None:
    result = Outer(Inner("a", Colour.RED), [Inner("b", Colour.RED)], Path("build/x"), counts={"n": 1})
    result.extra = "set on the instance, never declared"  # type: ignore[attr-defined]
    assert to_json(result) == {
        "name": "a",
        "colour": "red",
        "items": [{"name": "b", "colour": "red"}],
        "where": "build/x",
        "counts": {"n": 1},
    }


def test_an_object_without_a_declared_shape_is_refused() -> None:
    class Loose:
        def __init__(self) -> None:
            self.value = 1

    with pytest.raises(TypeError, match="no JSON form for Loose"):
        to_json([Loose()])


def test_text_output_is_silent_under_json_and_json_is_one_sorted_document() -> None:
    out = Output("json")
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        out.line("a text line")
        out.result(Inner("z", Colour.RED), lambda _, __: pytest.fail("text renderer called under --output json"))
    assert buffer.getvalue() == '{\n  "colour": "red",\n  "name": "z"\n}\n'
