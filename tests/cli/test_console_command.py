"""`pipectl console`'s mistakes: a bad port is invalid input (exit 2), no local AWS running or a port in
use is an unusable environment (exit 3); none leaves a console recorded as running."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parents[2]


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


def test_a_port_in_use_is_an_unusable_environment_naming_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console process cannot listen and exits: exit 3, its log named, nothing recorded as running."""
    from generator.deploy.local import start_background, stop_background

    monkeypatch.chdir(tmp_path)
    start_background(tmp_path)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            assert main(["console", "--port", str(port), "--region", "eu-west-1"]) == 3
    finally:
        stop_background(tmp_path)
    err = capsys.readouterr().err
    assert "pipectl: the console did not start: the console exited with code 1; see " in err, err
    assert err.rstrip().endswith(str(Path(".pipectl") / "console.log")) and "Traceback" not in err
    assert "Address already in use" in (tmp_path / ".pipectl" / "console.log").read_text()
    assert not (tmp_path / ".pipectl" / "console.json").exists()


def test_with_oidc_sign_in_the_console_names_the_issuer_and_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A console stack signing in with OIDC has no user pool: the local console user's password is useless."""
    from generator.cli.console import ConsoleResult, console_issuer, render
    from generator.cli.output import Output

    assert console_issuer(tmp_path / "build") is None  # nothing synthesized yet
    shutil.copytree(REPO / "pipelines.d", tmp_path / "pipelines.d")
    monkeypatch.chdir(tmp_path)
    assert main(["synth"]) == 0
    assert console_issuer(tmp_path / "build") is None  # the shipped console signs in with Cognito
    issuer = "https://login.example.com/tenant"
    (tmp_path / "pipelines.d" / "_console.yaml").write_text(
        f"auth: {{type: oidc, issuer: '{issuer}', client_id: c1}}\n"
    )
    assert main(["synth"]) == 0
    assert console_issuer(tmp_path / "build") == issuer
    capsys.readouterr()
    url = "http://127.0.0.1:9/"
    render(ConsoleResult(url, "console@pipectl.local", None, False, "console.log", issuer), Output())
    out = capsys.readouterr().out
    assert f"sign in at {issuer} (OpenID Connect; the provider must accept {url} as redirect URI)" in out
    assert "password" not in out
