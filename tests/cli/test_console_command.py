"""`pipectl console`'s mistakes: a bad port is invalid input (exit 2), no local AWS running is an
unusable environment (exit 3); neither starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main


def test_a_port_outside_the_unprivileged_range_is_invalid_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["console", "--port", "80"]) == 2
    assert "--port: expected a port from 1024 to 65535, found 80" in capsys.readouterr().err
    assert not (tmp_path / ".pipectl").exists()


def test_without_a_running_local_aws_it_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["console"]) == 3
    err = capsys.readouterr().err
    assert "the local AWS is not running here" in err and "pipectl up" in err
    assert not (tmp_path / ".pipectl" / "console.json").exists()


def test_help_names_the_port_and_the_password_reset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["console", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "--port" in text and "--new-password" in text
