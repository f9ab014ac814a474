"""Only the command being run is configured and imported; its options are the same either way."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import COMMANDS, build_parser, chosen_command, main

REPO = Path(__file__).resolve().parents[2]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_command_configured_alone_has_the_options_of_the_full_parser(name: str) -> None:
    alone = subparsers(build_parser(only=name))[name].format_help()
    assert alone == subparsers(build_parser())[name].format_help()
    assert "--output" in alone


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["plan", "--output", "json"], "plan"),
        (["--output", "json", "status", "shop"], "status"),
        (["-o", "json", "local", "start"], "local"),
        (["--output=json", "-h"], None),
        (["-ojson", "drift"], "drift"),
        (["--help"], None),
        (["unknown", "plan"], None),
        ([], None),
    ],
)
def test_the_command_is_the_first_word_that_is_not_an_option(argv: list[str], command: str | None) -> None:
    assert chosen_command(argv) == command


def test_global_output_before_the_command_still_applies(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--output", "json", "local", "status"]) == 1  # nothing runs: exit 1, still a JSON document
    assert json.loads(capsys.readouterr().out)["running"] is False


def cli_modules_after(argv: list[str]) -> list[str]:
    code = (
        "import contextlib, io, json, sys\nfrom generator.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main({argv!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('generator.'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_help_imports_no_command_module_and_schema_only_its_own() -> None:
    assert cli_modules_after(["--help"]) == ["generator.cli", "generator.cli.errors", "generator.cli.output"]
    assert cli_modules_after(["schema"]) == [
        "generator.cli",
        "generator.cli.errors",
        "generator.cli.output",
        "generator.cli.schema",
    ]
