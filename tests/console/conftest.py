"""One local `pipectl up` for the console's browser tests, with one injected failure, and Debian's
Chromium driven by Playwright (never a downloaded browser).

The failure is one AWS itself produces: a log group named like the one the `checkout` pipeline's test
ingestion stack creates already exists, so that stack fails to create and its dependents are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENS = REPO / "build" / "console-screens"
SHIPPED = ("backoffice", "mobile", "shop")
BROKEN = "checkout"
BROKEN_STACK = f"pipectl-{BROKEN}-test-ingestion"
TEAM, TEAM_PIPELINE = "shop-team", "shop"
TAKEN_LOG_GROUP = f"/aws/ecs/containerinsights/pipectl-{BROKEN}-test/performance"


@dataclass(frozen=True)
class Deployed:
    url: str
    user: str
    password: str
    workdir: Path
    endpoint: str
    up: dict[str, Any]


def _pipectl(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    pipectl = shutil.which("pipectl")
    if pipectl is None:
        raise RuntimeError("pipectl is not installed in this environment")
    return subprocess.run(
        [pipectl, *args], cwd=workdir, check=check, capture_output=True, text=True, timeout=600, env=os.environ.copy()
    )


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    from generator.deploy.local import local_session

    workdir = tmp_path_factory.mktemp("console")
    shutil.copytree(REPO / "pipelines.d", workdir / "pipelines.d")
    shop = (REPO / "pipelines.d" / "shop.yaml").read_text()
    (workdir / "pipelines.d" / f"{BROKEN}.yaml").write_text(
        shop.replace("shop", BROKEN).replace("web shop", "checkout")
    )
    with (workdir / "pipelines.d" / "_console.yaml").open("a") as console_file:  # admins see all, others theirs
        console_file.write(f"access: {{groups: {{{TEAM}: [{TEAM_PIPELINE}]}}}}\n")
    try:
        _pipectl(workdir, "local", "start")
        endpoint = json.loads((workdir / ".pipectl" / "local.json").read_text())["endpoint"]
        local_session(endpoint, "eu-west-1").client("logs").create_log_group(logGroupName=TAKEN_LOG_GROUP)
        up = _pipectl(workdir, "up", "--target", "local", "--no-collectors", "--output", "json", check=False)
        result = json.loads(up.stdout)
        console = result["console"]
        if not console or not console["password"]:
            raise RuntimeError(f"up served no console: {up.stderr[-2000:]}")
        yield Deployed(console["url"], console["user"], console["password"], workdir, endpoint, result)
    finally:
        _pipectl(workdir, "local", "stop", check=False)
    _assert_stopped(workdir)


def _assert_stopped(workdir: Path) -> None:
    """`pipectl local stop` takes the console down with the local AWS."""
    from generator.deploy.local.console.process import console_status, state_file

    if console_status(workdir) is not None or state_file(workdir).exists():
        raise AssertionError("pipectl local stop left the console running")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    if errors:
        raise AssertionError(f"the page raised: {errors}")
