"""The supervisor of the local target's detached processes, with real processes: started detached into a
log, waited for, told apart from a process that was given the same pid, stopped with a grace period, and
their stale records removed, by the supervisor and by each of the three modules that use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.local import background_status, start_background, stop_background
from generator.deploy.local.collectors import collector_status, stop_collectors
from generator.deploy.local.console.process import console_status, stop_console
from generator.deploy.local.supervisor import (
    NotReady,
    Supervised,
    answers,
    launch,
    process_start,
    read_record,
    recorded,
    write_record,
)

PYTHON = sys.executable


def python(code: str) -> list[str]:
    return [PYTHON, "-c", code]


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process pipectl did not start, standing in for one the system gave a recorded pid to."""
    process = subprocess.Popen(python("import time; time.sleep(120)"))
    yield process
    process.kill()
    process.wait()


def pid_written(path: Path) -> Callable[[], bool]:
    return lambda: path.exists() and path.read_text().strip().isdigit()


def test_a_launched_process_runs_detached_logs_to_its_file_and_stops(tmp_path: Path) -> None:
    log = tmp_path / ".pipectl" / "worker.log"
    code = "import os, time; print('started', os.getsid(0) == os.getpid(), flush=True); time.sleep(120)"
    worker = launch("the worker", python(code), log, lambda: log.exists() and "started" in log.read_text(), 10)
    assert worker.running() and worker.start == process_start(worker.pid) and worker.start is not None
    assert log.read_text() == "started True\n"  # its own session: a Ctrl-C of the command does not reach it
    assert worker.fields() == {"pid": worker.pid, "pid_start": worker.start}
    assert worker.stop(grace_s=10) is True
    assert not worker.running()


def test_a_process_that_exits_before_it_is_ready_names_its_code_and_log(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    code = "import sys; print('port 8080 is in use'); sys.exit(3)"
    with pytest.raises(NotReady, match=rf"^the worker exited with code 3; see {log}$"):
        launch("the worker", python(code), log, lambda: False, 10)
    assert "port 8080 is in use" in log.read_text()


def test_a_process_never_ready_in_time_is_stopped_and_named_with_its_log(tmp_path: Path) -> None:
    log, pid_file = tmp_path / "worker.log", tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    started = time.monotonic()
    with pytest.raises(NotReady, match=rf"^the worker did not answer within 3s; see {log}$"):
        launch("the worker", python(code), log, lambda: False, 3.0)  # long enough to write its pid
    assert time.monotonic() - started < 15
    assert pid_written(pid_file)()
    left = Supervised("the worker", int(pid_file.read_text()), log, None)
    assert wait_for(lambda: not left.running()), "a process that never got ready was left running"


def test_a_stale_record_is_removed_and_reports_nothing(tmp_path: Path) -> None:
    ended = subprocess.Popen(python("pass"))
    ended.wait()
    state = tmp_path / "worker.json"
    write_record(state, {"pid": ended.pid, "pid_start": "1", "url": "http://127.0.0.1:1/"})
    assert read_record(state, "the worker", tmp_path / "worker.log") is None
    assert not state.exists()


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"url": "http://127.0.0.1:1/"}', '{"pid": "x"}'])
def test_an_unreadable_record_is_removed(tmp_path: Path, body: str) -> None:
    state = tmp_path / "worker.json"
    state.write_text(body)
    assert read_record(state, "the worker", tmp_path / "worker.log") is None
    assert not state.exists()


def test_a_pid_given_to_another_process_is_neither_ours_nor_signalled(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    assert process_start(bystander.pid) is not None
    state = tmp_path / "worker.json"
    record = {"pid": bystander.pid, "pid_start": "started-before-a-reboot"}
    write_record(state, record)
    impostor = recorded("the worker", record, tmp_path / "worker.log")
    assert not impostor.running()
    assert impostor.stop(grace_s=1) is False
    assert read_record(state, "the worker", tmp_path / "worker.log") is None and not state.exists()
    time.sleep(0.2)
    assert bystander.poll() is None, "a process pipectl did not start was signalled"


def test_a_record_written_before_start_times_were_kept_is_judged_by_its_pid(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    state = tmp_path / "worker.json"
    write_record(state, {"pid": bystander.pid})
    assert read_record(state, "the worker", tmp_path / "worker.log") == {"pid": bystander.pid}


def test_stopping_a_process_that_already_ended_is_a_no_op(tmp_path: Path) -> None:
    worker = launch("the worker", python("import time; time.sleep(120)"), tmp_path / "worker.log", lambda: True, 10)
    os.kill(worker.pid, signal.SIGKILL)
    assert wait_for(lambda: not worker.running())
    assert worker.stop(grace_s=1) is False


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring', flush=True);"
        " time.sleep(120)"
    )
    worker = launch("the worker", python(code), log, lambda: "ignoring" in log.read_text(), 10)
    started = time.monotonic()
    assert worker.stop(grace_s=0.5) is True
    elapsed = time.monotonic() - started
    assert not worker.running()
    assert 0.5 <= elapsed < 5, elapsed


class Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(Answer.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/health"
    httpd.shutdown()
    httpd.server_close()


def test_readiness_over_http_with_any_status_or_only_success(server: str) -> None:
    Answer.status = 503
    assert answers(server)() is True  # the local AWS and collectors: any answer means listening
    assert answers(server, any_status=False)() is False  # the console: /health must succeed
    Answer.status = 200
    assert answers(server, any_status=False)() is True
    assert answers("http://127.0.0.1:9/health")() is False  # nothing listens there


# --- each module's records, through its own functions --------------------------------------------------


def dead_pid() -> int:
    ended = subprocess.Popen(python("pass"))
    ended.wait()
    return ended.pid


def test_each_modules_stale_record_is_cleaned_up(tmp_path: Path) -> None:
    """After a crash or a reboot: what `pipectl up`, `console` and `local stop` find first."""
    folder = tmp_path / ".pipectl"
    folder.mkdir()
    (folder / "local.json").write_text(
        json.dumps({"endpoint": "http://127.0.0.1:1", "pid": dead_pid(), "started_at": "x"})
    )
    (folder / "console.json").write_text(
        json.dumps({"url": "http://127.0.0.1:1/", "port": 1, "pid": dead_pid(), "endpoint": "x", "region": "x"})
    )
    (folder / "collectors.json").write_text(
        json.dumps([{"pipeline": "shop", "env": "test", "pid": dead_pid(), "driver_pid": None, "log": "x.log"}])
    )
    assert background_status(tmp_path) is None and not (folder / "local.json").exists()
    assert console_status(tmp_path) is None and not (folder / "console.json").exists()
    assert collector_status(tmp_path) == [] and json.loads((folder / "collectors.json").read_text()) == []
    assert stop_background(tmp_path) is False


def test_stop_leaves_alone_processes_that_took_the_recorded_pids(
    tmp_path: Path, bystander: subprocess.Popen[bytes]
) -> None:
    """`pipectl local stop` after a reboot: every record names a pid the system has given to another process."""
    folder = tmp_path / ".pipectl"
    folder.mkdir()
    taken = {"pid": bystander.pid, "pid_start": "before-the-reboot"}
    (folder / "local.json").write_text(json.dumps({"endpoint": "http://127.0.0.1:1", **taken}))
    (folder / "console.json").write_text(json.dumps({"url": "u", "port": 1, "endpoint": "e", **taken}))
    collector = {"pipeline": "shop", "env": "test", "log": "x.log", "driver_pid": bystander.pid, **taken}
    (folder / "collectors.json").write_text(json.dumps([{**collector, "driver_pid_start": "before-the-reboot"}]))
    assert stop_console(tmp_path) is False
    assert stop_collectors(tmp_path) == 0
    assert stop_background(tmp_path) is False
    assert sorted(folder.glob("*.json")) == []
    time.sleep(0.2)
    assert bystander.poll() is None, "local stop signalled a process it did not start"


def test_a_killed_local_aws_is_found_stale_and_the_next_start_replaces_it(tmp_path: Path) -> None:
    """What the next `pipectl up` does after the server was killed: a new one, on a new record."""
    first = start_background(tmp_path)
    try:
        record = background_status(tmp_path)
        assert record is not None and record["pid_start"] == process_start(int(record["pid"]))
        os.kill(int(record["pid"]), signal.SIGKILL)
        assert wait_for(lambda: background_status(tmp_path) is None)
        assert not (tmp_path / ".pipectl" / "local.json").exists()
        second = start_background(tmp_path)
        replaced = background_status(tmp_path)
        assert replaced is not None and replaced["endpoint"] == second and replaced["pid"] != record["pid"]
        assert second != first or replaced["pid_start"] != record["pid_start"]
    finally:
        stop_background(tmp_path)
    assert background_status(tmp_path) is None
