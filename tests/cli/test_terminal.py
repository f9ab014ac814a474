"""The live display on a real pseudo-terminal: no markup leaks, no stale or dropped rows, output after
it on a line of its own, and Ctrl-C answered at once with what is still in flight."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.examples import example_only_test

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
STACKS = [
    "pipectl-shop-test-storage",
    "pipectl-shop-test-ingestion",
    "pipectl-shop-test-processing",
    "pipectl-shop-test-monitoring",
]


class Terminal:
    """A command on a pseudo-terminal, everything it writes (stdout and stderr) read back as one screen log."""

    def __init__(self, argv: list[str], cwd: Path, lines: int = 60, columns: int = 200) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
        env.update(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(lines))
        self.process = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.master = master
        self.raw = b""

    def read_until(self, pattern: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text):
                return True
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:
                    return bool(re.search(pattern, self.text))
        return bool(re.search(pattern, self.text))

    def drain(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read_until(r"(?!x)x", 0.2)
        while True:  # what is left in the buffer after the exit
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.raw += chunk
        return self.process.wait(timeout=5)

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode(errors="replace"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "pipelines.d"
    folder.mkdir()
    shutil.copy(REPO / "pipelines.d" / "_defaults.yaml", folder / "_defaults.yaml")
    (folder / "shop.yaml").write_text(example_only_test("shop"))
    return tmp_path


def pipectl(*args: str) -> list[str]:
    return [sys.executable, "-m", "generator.cli", *args]


def test_the_live_table_under_a_pseudo_terminal(project: Path) -> None:
    screen = Terminal(pipectl("up", "--revision", "r1"), project)
    try:
        code = screen.drain(600)
    finally:
        subprocess.run(pipectl("local", "stop"), cwd=project, capture_output=True, check=False)
    text = screen.text
    assert code == 0, text[-3000:]
    assert "[green]" not in text and "[/]" not in text and "[cyan]" not in text
    live = text[: text.index("apply: ")]  # the status table follows: its rows are not the live table's
    for stack in STACKS:  # the last row drawn for each stack is its end state: nothing stale, nothing dropped
        rows = [line for line in live.splitlines() if line.strip().startswith(stack)]
        assert rows and rows[-1].split()[1] == "done", (stack, rows[-3:])
    assert re.search(r"\napply: \d+ done", text), "the summary after the table starts on a line of its own"
    assert text.count("apply: ") == 1, "the apply summary once"
    plan_line, table = text.index("plan: "), text.index("pipectl-shop-test-storage  ")
    assert plan_line < table, "the plan is shown before the apply starts"


# Twenty stacks started one by one, then (after a marker written straight to the terminal) finished.
TALL_RUN = """
import os, sys, time
from generator.deploy.progress import RichProgress, make_progress
progress = make_progress(sys.stderr)
if not isinstance(progress, RichProgress):
    sys.exit("not a live table: " + type(progress).__name__)
stacks = [f"pipectl-p{n:02d}-test-storage" for n in range(20)]
for stack in stacks:
    progress.start(stack, "create")
    time.sleep(0.02)
time.sleep(0.3)
os.write(2, b"\\n<<ALL STARTED>>\\n")
for stack in stacks:
    progress.finish(stack, "done", "CREATE_COMPLETE")
    time.sleep(0.02)
progress.close()
print("after the table")
"""


def test_a_table_taller_than_the_terminal_loses_no_rows(tmp_path: Path) -> None:
    """On an 8-line terminal the 21-line table scrolls past the screen while the run goes on: every stack's
    row is still drawn as it changes (not cut off behind an ellipsis), and the last table is complete."""
    screen = Terminal([sys.executable, "-c", TALL_RUN], REPO, lines=8, columns=100)
    code = screen.drain(60)
    text = screen.text
    assert code == 0, text[-2000:]
    running, _, ended = text.partition("<<ALL STARTED>>")
    assert ended, text[-2000:]
    stacks = [f"pipectl-p{n:02d}-test-storage" for n in range(20)]
    never_shown = [s for s in stacks if not re.search(rf"{s}\s+create", running)]
    assert never_shown == [], f"rows dropped from the live table while running: {never_shown}"
    assert "..." not in running, "the table was cut to the screen's height"
    last = ended[ended.rindex("stack ") :]  # the final table, drawn complete when the run ends
    assert [s for s in stacks if not re.search(rf"{s}\s+done\s+CREATE_COMPLETE", last)] == []
    assert re.search(r"CREATE_COMPLETE\s*\nafter the table", last), "output after the table on a line of its own"


def test_ctrl_c_answers_at_once_and_the_next_run_resumes(project: Path) -> None:
    subprocess.run(pipectl("local", "start", "--resource-delay", "0.2"), cwd=project, check=True, capture_output=True)
    try:
        screen = Terminal(pipectl("apply", "--auto-approve", "--revision", "r1", "--concurrency", "2"), project)
        assert screen.read_until(r"pipectl-shop-test-storage\s+create", 300), screen.text[-2000:]
        time.sleep(1.0)
        sent = time.monotonic()
        screen.process.send_signal(signal.SIGINT)
        code = screen.drain(30)
        answered = time.monotonic() - sent
        print(f"Ctrl-C answered in {answered:.2f} s")
        text = screen.text
        assert code == 130, text[-2000:]
        assert answered < 1.5, f"took {answered:.2f} s to answer Ctrl-C"
        assert "pipectl: interrupted" in text
        assert "still in flight, and CloudFormation carries on with them: pipectl-shop-test-storage" in text
        rerun = subprocess.run(
            pipectl("apply", "--auto-approve", "--revision", "r1", "--lock-timeout", "60"),
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "CI": "1"},
        )
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    finally:
        subprocess.run(pipectl("local", "stop"), cwd=project, capture_output=True, check=False)
