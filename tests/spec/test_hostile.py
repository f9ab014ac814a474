"""Hostile pipeline files: every one ends in a located error with exit code 2, fast, and nothing is written or deployed.

The hand-written corpus lives in `hostile/`; cases too large to keep (deep nesting, multi-megabyte files)
are generated here, and hypothesis adds random bytes and mutations of the shipped examples.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import main
from generator.spec.errors import SpecErrors
from generator.spec.loader import load_directory

CORPUS = Path(__file__).parent / "hostile"
EXAMPLES = Path(__file__).resolve().parents[2] / "pipelines.d"
SHOWN = "pipelines.d"
TIME_LIMIT_S = 2.0
LOCATED = re.compile(r"^(?P<file>[^\n:]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<path>.+?): (?P<message>expected .+)$")

Record = Callable[[str, object], None]


def _deep_flow(depth: int) -> bytes:
    return b"owner: " + b"[" * depth + b"]" * depth + b"\n"


def _deep_block(depth: int) -> bytes:
    return b"".join(b"  " * level + f"k{level}:\n".encode() for level in range(depth)) + b"  " * depth + b"x: 1\n"


def _deep_mapping_flow(depth: int) -> bytes:
    return b"owner: " + b"{a: " * depth + b"1" + b"}" * depth + b"\n"


GENERATED: dict[str, Callable[[], bytes]] = {
    "deep nesting (flow lists, 5000 levels)": lambda: _deep_flow(5_000),
    "deep nesting (flow mappings, 5000 levels)": lambda: _deep_mapping_flow(5_000),
    "deep nesting (block mappings, 200 levels)": lambda: _deep_block(200),
    "very large file (5 MB of keys)": lambda: b"".join(f"key{i}: value{i}\n".encode() for i in range(300_000)),
    "very large file (one 20 MB line)": lambda: b"owner: " + b"a" * 20_000_000 + b"\n",
    "large string just under the limit": lambda: b"owner: analytics@example.com\ndescription: " + b"x" * 990_000,
    "many anchors": lambda: b"\n".join(f"k{i}: &a{i} v".encode() for i in range(20_000)),
}


GENERATED_CASES = [*sorted(GENERATED), "large file just under the limit (unknown keys)"]
GENERATED["large file just under the limit (unknown keys)"] = lambda: b"".join(
    f"k{i:06d}: v\n".encode() for i in range(90_000)
)


# The input class of each hand-written case, by the start of its file name.
CORPUS_CLASSES = [
    ("truncated", "truncated valid files"),
    ("alias", "YAML alias bombs and anchors"),
    ("merge", "YAML alias bombs and anchors"),
    ("duplicate", "duplicate keys"),
    ("python", "YAML tags building Python objects"),
    ("custom_tag", "YAML tags building Python objects"),
    ("binary_tag", "YAML tags building Python objects"),
    ("set_tag", "YAML tags building Python objects"),
    ("latin1", "non-UTF-8 text"),
    ("utf16", "non-UTF-8 text"),
    ("invalid_utf8", "non-UTF-8 text"),
    ("surrogate", "non-UTF-8 text"),
    ("nul_byte", "non-UTF-8 text"),
]


def corpus_class(name: str) -> str:
    return next((label for prefix, label in CORPUS_CLASSES if name.startswith(prefix)), "malformed structure and types")


def corpus_cases() -> list[str]:
    return sorted(path.name for path in CORPUS.glob("*.yaml"))


def write_case(folder: Path, name: str, content: bytes, with_examples_defaults: bool = False) -> Path:
    pipelines = folder / SHOWN
    pipelines.mkdir(parents=True, exist_ok=True)
    if with_examples_defaults:
        shutil.copy(EXAMPLES / "_defaults.yaml", pipelines / "_defaults.yaml")
    (pipelines / name).write_bytes(content)
    return pipelines


def assert_located(lines: list[str], folder: Path) -> None:
    """Every error names a file of the folder, a line and column inside it, a key path and what was expected."""
    assert lines, "an error was reported"
    line_counts: dict[str, int] = {}
    for line in lines:
        match = LOCATED.match(line)
        assert match, f"not a located error: {line[:300]!r}"
        if match["file"] not in line_counts:
            file = folder.parent / match["file"]
            assert file.is_file(), line[:300]
            line_counts[match["file"]] = file.read_bytes().count(b"\n") + 2
        assert 1 <= int(match["line"]) <= line_counts[match["file"]], line[:300]
        assert int(match["col"]) >= 1, line[:300]


def synth_refuses(folder: Path, capsys: pytest.CaptureFixture[str]) -> float:
    """`pipectl synth` on the folder: exit code 2, located errors only, build/ never created."""
    build = folder.parent / "build"
    started = time.perf_counter()
    code = main(["synth", "--pipelines", SHOWN, "--build-dir", str(build)])
    elapsed = time.perf_counter() - started
    captured = capsys.readouterr()
    assert code == 2, captured.out + captured.err[:2000]
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if not line.endswith("nothing was written or deployed")]
    assert_located(errors, folder)
    assert not build.exists(), "nothing is written to build/"
    return elapsed


def loader_refuses(folder: Path) -> float:
    started = time.perf_counter()
    with pytest.raises(SpecErrors) as caught:
        load_directory(folder, SHOWN)
    elapsed = time.perf_counter() - started
    assert_located([str(e) for e in caught.value.errors], folder)
    return elapsed


def run_case(
    name: str, content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = write_case(tmp_path, name, content, with_examples_defaults=True)
    assert loader_refuses(folder) < TIME_LIMIT_S
    assert synth_refuses(folder, capsys) < TIME_LIMIT_S


@pytest.mark.parametrize("name", corpus_cases())
def test_hand_written_hostile_file_ends_in_a_located_error(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    record_property: Record,
) -> None:
    record_property("fault_class", "hostile file: " + corpus_class(name))
    run_case(name.replace("_", "-"), (CORPUS / name).read_bytes(), tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("case", GENERATED_CASES)
def test_generated_hostile_file_ends_in_a_located_error(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    record_property: Record,
) -> None:
    record_property(
        "fault_class",
        "hostile file: "
        + (
            "deep nesting"
            if case.startswith("deep")
            else "YAML alias bombs and anchors"
            if "anchors" in case
            else "very large files"
        ),
    )
    run_case("generated.yaml", GENERATED[case](), tmp_path, monkeypatch, capsys)


def test_very_deep_nesting_ends_in_a_located_error_not_a_crash(tmp_path: Path, record_property: Record) -> None:
    """Run in a child process: the failure mode is a crash of the interpreter, which no in-process test survives."""
    record_property("fault_class", "hostile file: deep nesting")
    write_case(tmp_path, "deep.yaml", _deep_flow(50_000), with_examples_defaults=True)
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-m", "generator.cli", "synth", "--pipelines", SHOWN, "--build-dir", "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert child.returncode == 2, f"exit code {child.returncode}: {child.stderr[-500:]}"
    errors = [line for line in child.stderr.splitlines() if not line.endswith("nothing was written or deployed")]
    assert_located(errors, tmp_path / SHOWN)
    assert not (tmp_path / "build").exists()
    assert elapsed < TIME_LIMIT_S + 3, "child start-up included"


@pytest.mark.parametrize("name", ["alias_bomb.yaml", "python_object_apply.yaml", "duplicate_key.yaml"])
def test_up_deploys_nothing_from_a_hostile_file(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    record_property: Record,
) -> None:
    """`pipectl up` against an endpoint where nothing listens: any AWS call would end in exit code 3, not 2."""
    record_property("fault_class", "hostile file: nothing deployed by up")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    write_case(tmp_path, name.replace("_", "-"), (CORPUS / name).read_bytes(), with_examples_defaults=True)
    code = main(["up", "--target", "aws", "--region", "eu-west-1", "--pipelines", SHOWN, "--build-dir", "build"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "nothing was written or deployed" in captured.err
    assert not (tmp_path / "build").exists() and not (tmp_path / "plan.json").exists()


# hypothesis: the loader either accepts a file or refuses it with located errors; never a traceback, never slow.

EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("[a-z]*.yaml"))
FUZZ = settings(
    max_examples=60,
    deadline=TIME_LIMIT_S * 1000,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class Examples:
    """Counts hypothesis examples so the fault report can show how many cases a property tried."""

    def __init__(self, record: Record, label: str) -> None:
        self.record, self.count = record, 0
        record("fault_class", label)

    def tried(self) -> None:
        self.count += 1
        self.record("cases", self.count)


def loads_or_refuses_located(folder: Path) -> None:
    started = time.perf_counter()
    try:
        load_directory(folder, SHOWN)
    except SpecErrors as exc:
        assert_located([str(e) for e in exc.errors], folder)
    assert time.perf_counter() - started < TIME_LIMIT_S


@st.composite
def mutated_example(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(EXAMPLE_FILES))
    data = bytearray((EXAMPLES / name).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        piece = draw(
            st.binary(min_size=1, max_size=4)
            | st.sampled_from([b":", b"[", b"{", b"&a", b"*a", b"!!", b"\t", b"- ", b"\n  "])
        )
        if kind == "replace":
            data[where : where + len(piece)] = piece
        elif kind == "insert":
            data[where:where] = piece
        elif kind == "delete":
            del data[where : where + len(piece)]
        else:
            del data[where:]
    return name, bytes(data)


@pytest.fixture
def examples(request: pytest.FixtureRequest, record_property: Record) -> Examples:
    labels = {"random": "random bytes", "mutated": "mutated valid files", "truncated": "truncated valid files"}
    word = request.node.name.split("_")[1]
    return Examples(record_property, "hostile file: " + labels[word])


@FUZZ
@given(content=st.binary(max_size=4000))
def test_random_bytes_never_crash_the_loader(
    content: bytes, tmp_path_factory: pytest.TempPathFactory, examples: Examples
) -> None:
    examples.tried()
    folder = write_case(tmp_path_factory.mktemp("fuzz"), "random.yaml", content, with_examples_defaults=True)
    loads_or_refuses_located(folder)


@FUZZ
@given(case=mutated_example())
def test_mutated_examples_load_or_end_in_a_located_error(
    case: tuple[str, bytes], tmp_path_factory: pytest.TempPathFactory, examples: Examples
) -> None:
    examples.tried()
    name, content = case
    folder = write_case(tmp_path_factory.mktemp("mutation"), name, content, with_examples_defaults=True)
    loads_or_refuses_located(folder)


@FUZZ
@given(cut=st.integers(1, 4000), name=st.sampled_from(EXAMPLE_FILES))
def test_truncated_examples_load_or_end_in_a_located_error(
    cut: int, name: str, tmp_path_factory: pytest.TempPathFactory, examples: Examples
) -> None:
    examples.tried()
    content = (EXAMPLES / name).read_bytes()
    folder = write_case(tmp_path_factory.mktemp("truncated"), name, content[: cut % len(content)], True)
    loads_or_refuses_located(folder)
