"""pipectl smoke: every deployed pipeline environment is checked; on the local target what the embedded
AWS emulates is really called (an execution is started and described, the dashboard is read) and the
rest is named as skipped; the collector check is exercised against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.deploy.aws import Aws
from generator.deploy.smoke import FAILED, OK, SKIPPED, SMOKE_HEADER, SmokeOptions, check_collector, smoke
from tests.deploy.conftest import Build
from tests.deploy.smoke_stacks import deploy


def by_name(checks: list[Any]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_on_the_local_target_the_execution_runs_and_a_missing_collector_fails(
    aws: Aws, build: Build, tmp_path: Path
) -> None:
    """Nothing is skipped on the local target: the state machine is carried out and recorded, and a
    collector that does not run (`pipectl up` starts them) is a failure of the collection path."""
    result = smoke(aws, deploy(aws, build), options=SmokeOptions(workdir=tmp_path))
    checks = by_name(result.checks)
    assert checks["collector"].result == FAILED
    assert "no local collector runs for it" in checks["collector"].detail
    assert checks["processing"].result == OK and "succeeded" in checks["processing"].detail
    assert checks["dashboard"].result == OK and "1 widgets" in checks["dashboard"].detail
    assert not result.ok and result.summary() == "2 ok, 1 failed, 0 skipped"
    machine = aws.client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]
    executions = aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert [(e["name"].startswith("pipectl-smoke-"), e["status"]) for e in executions] == [(True, "SUCCEEDED")]


def test_a_missing_dashboard_fails_the_smoke_test(aws: Aws, build: Build) -> None:
    manifest = deploy(aws, build)
    aws.client("cloudwatch").delete_dashboards(DashboardNames=["pipectl-shop-test"])
    result = smoke(aws, manifest)
    assert by_name(result.checks)["dashboard"].result == FAILED and not result.ok


def test_a_pipeline_environment_not_deployed_is_skipped_and_filters_apply(aws: Aws, build: Build) -> None:
    deploy(aws, build)
    manifest = deploy(aws, build, env="prod", deployed=False)
    result = smoke(aws, manifest)
    prod = [c for c in result.checks if c.env == "prod"]
    assert [(c.name, c.result) for c in prod] == [("deployed", SKIPPED)]
    assert {c.env for c in smoke(aws, manifest, env="test").checks} == {"test"}
    assert smoke(aws, manifest, pipeline="other").checks == []


class Collector(BaseHTTPRequestHandler):
    """Answers with the status the test asks for, and keeps what it received."""

    status = 204
    received: list[dict[str, Any]] = []  # noqa: RUF012 - shared by the handler instances of one server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Collector.received.append({"body": body, "smoke": self.headers.get(SMOKE_HEADER)})
        self.send_response(Collector.status)
        if 300 <= Collector.status < 400:
            self.send_header("Location", f"http://{self.headers['Host']}/oauth2/authorize")
        self.end_headers()
        self.wfile.write(b"no such app" if Collector.status >= 400 else b"")

    def do_GET(self) -> None:
        """The sign-in page a redirect leads to: a 200 that must never count as the collector's answer."""
        Collector.received.append({"login_page": self.path})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>sign in</html>")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def collector() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Collector.status, Collector.received = 204, []
    yield f"http://127.0.0.1:{server.server_address[1]}/collect"
    server.shutdown()


@pytest.mark.parametrize(
    ("status", "result", "detail"),
    [
        (204, OK, "accepted a sample event (HTTP 204)"),
        (401, OK, "requires sign-in (HTTP 401)"),
        (400, FAILED, "answered HTTP 400: no such app"),
        (502, FAILED, "answered HTTP 502"),
        # The load balancer's browser sign-in: the redirect's target would answer 200; it is never followed.
        (302, FAILED, "sign-in required, redirected to http://127.0.0.1"),
    ],
)
def test_the_collector_check_posts_a_sample_event(collector: str, status: int, result: str, detail: str) -> None:
    Collector.status = status
    check = check_collector("shop", "test", collector, "shop_web", SmokeOptions())
    assert (check.result, detail in check.detail) == (result, True)
    (received,) = Collector.received
    assert received["body"]["app_id"] == "shop_web" and received["smoke"] == "1"


def test_a_collector_that_does_not_answer_fails() -> None:
    closed = "http://127.0.0.1:9/collect"  # the discard port: nothing listens there
    check = check_collector("shop", "test", closed, "shop_web", SmokeOptions(http_timeout=2))
    assert check.result == FAILED and "no answer" in check.detail


def test_the_command_exits_non_zero_on_a_failure(
    aws: Aws,
    build: Build,
    collector: str,
    aws_target: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--target aws pointed at moto (AWS_ENDPOINT_URL): the collector answers on loopback, but moto never
    finishes a state machine execution, so the processing check times out - a real failure path."""
    deploy(aws, build, endpoint=collector)
    code = main(["smoke", *aws_target, "--timeout", "0"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "ok      shop/test collector" in out
    assert "failed  shop/test processing: timed out" in out
    assert "smoke: 2 ok, 1 failed, 0 skipped" in out
