"""The shipped example pipeline files, cut down the way the suite deploys them."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "pipelines.d"


def only_test(text: str, settings: str = "{}") -> str:
    """A pipeline file with its environments replaced by `test` alone (with `settings`): one copy to deploy."""
    return text.split("\nenvironments:")[0].rstrip("\n") + f"\nenvironments: {{test: {settings}}}\n"


def example_only_test(name: str, settings: str = "{}") -> str:
    return only_test((EXAMPLES / f"{name}.yaml").read_text(), settings)
