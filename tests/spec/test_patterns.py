"""Pattern errors in words: an e-mail or a schedule error says what is expected, not a regular expression."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.spec.loader import load_directory
from generator.spec.patterns import WORDS
from generator.spec.schema import pipeline_schema

REPO = Path(__file__).resolve().parents[2]


def patterns(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return found.union(*(patterns(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(patterns(v) for v in node))
    return set()


def test_every_pattern_of_the_models_has_words() -> None:
    missing = patterns(json.loads(json.dumps(pipeline_schema()))) - set(WORDS)
    assert not missing, f"write what these patterns mean in generator/spec/patterns.py: {missing}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("owner: analytics@example.com", "owner: analytics", "owner: expected an e-mail address like"),
        (
            "schedule: rate(1 hour)",
            "schedule: every hour",
            "processing.schedule: expected a schedule like rate(1 hour)",
        ),
    ],
)
def test_errors_say_what_is_expected_in_words(tmp_path: Path, old: str, new: str, expected: str) -> None:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    (folder / "_defaults.yaml").write_text((REPO / "pipelines.d" / "_defaults.yaml").read_text())
    (folder / "shop.yaml").write_text((REPO / "pipelines.d" / "shop.yaml").read_text().replace(old, new))
    with pytest.raises(Exception) as raised:
        load_directory(folder, "pipelines.d")
    text = str(raised.value)
    assert expected in text and "^" not in text, text
