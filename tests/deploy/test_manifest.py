"""build/manifest.json as the controller reads it: the typed model synth wrote, or a clear refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.contract import CONSOLE_STACK, CONTROL_ENV, CONTROL_PIPELINE, StackKind
from generator.deploy.aws import Aws
from generator.deploy.errors import ManifestError
from generator.deploy.manifest import load_manifest
from generator.deploy.state import RunRecord, StateStore, StateTable
from generator.manifest_model import MANIFEST_VERSION, StackEntry
from generator.spec.loader import load_directory
from generator.stacks.synth import synthesize
from tests.deploy.conftest import REGION

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    out = tmp_path_factory.mktemp("build")
    return out, synthesize(load_directory(REPO / "pipelines.d", "pipelines.d"), out)


@pytest.fixture
def build(synthesized: tuple[Path, list[Any]], tmp_path: Path) -> Path:
    """A copy of a real synth's output, free to damage."""
    out = tmp_path / "build"
    for path in synthesized[0].rglob("*"):
        if path.is_file() and ".synth-cache" not in path.parts:
            (out / path.relative_to(synthesized[0])).parent.mkdir(parents=True, exist_ok=True)
            (out / path.relative_to(synthesized[0])).write_bytes(path.read_bytes())
    return out


def edit(build: Path, change: Any) -> None:
    path = build / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_the_controller_reads_exactly_the_entries_synth_wrote(synthesized: tuple[Path, list[Any]]) -> None:
    out, builds = synthesized
    manifest = load_manifest(out)
    assert manifest.stacks == tuple(b.entry for b in builds)
    assert all(s.account is None and s.region for s in manifest.stacks)  # explicit, never left out
    assert '"account": null' in (out / "manifest.json").read_text()
    assert manifest.bootstrap is not None and manifest.bootstrap.regions == ("eu-west-1",)


@pytest.mark.parametrize(
    ("version", "found"), [(1, "found version 1"), (99, "found version 99"), (None, "found no version")]
)
def test_a_manifest_of_another_version_is_refused_with_exit_2(
    build: Path, version: Any, found: str, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(build, lambda data: data.update(version=version) if version is not None else data.pop("version"))
    assert main(["status", "--build-dir", str(build)]) == 2
    err = capsys.readouterr().err
    assert f"version: expected manifest version {MANIFEST_VERSION}, {found}" in err
    assert "run `pipectl synth` again" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["stacks"][1].update(colour="blue"), "stacks.1.colour: unknown key"),
        (lambda d: d["stacks"][1].pop("account"), "stacks.1: missing key 'account'"),
        (
            lambda d: d["stacks"][1].update(account="12"),
            r"stacks\.1\.account: expected a string matching \^\[0-9\]\{12\}\$, found \"12\"",
        ),
        (lambda d: d["stacks"][1].update(kind="frontend"), "stacks.1.kind: expected one of 'storage', 'ingestion'"),
        (lambda d: d["stacks"][1].update(depends_on="x"), 'stacks.1.depends_on: expected a list, found "x"'),
        (lambda d: d["bootstrap"].update(regions=[]), "bootstrap.regions: expected a non-empty list, found \\[\\]"),
    ],
)
def test_a_damaged_manifest_names_the_key(build: Path, change: Any, message: str) -> None:
    edit(build, change)
    with pytest.raises(ManifestError, match=message):
        load_manifest(build)


def test_a_stack_that_imports_from_a_stack_it_does_not_depend_on_is_refused(build: Path) -> None:
    def drop_storage(data: dict[str, Any]) -> None:
        monitoring = next(s for s in data["stacks"] if s["name"] == "pipectl-shop-prod-monitoring")
        monitoring["depends_on"] = [d for d in monitoring["depends_on"] if not d.endswith("-storage")]

    edit(build, drop_storage)
    with pytest.raises(
        ManifestError, match=r"stacks\.pipectl-shop-prod-monitoring\.depends_on: expected pipectl-shop-prod-storage"
    ):
        load_manifest(build)


def test_the_controller_files_the_control_plane_where_the_recorder_does(aws: Aws) -> None:
    """Drift fixed: the controller wrote the console's items under `_console`/`_`, the recorder `_control`."""
    aws.client("dynamodb", REGION).create_table(
        TableName="state",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    store = StateStore(aws, StateTable("state", REGION))
    console = StackEntry(
        name=CONSOLE_STACK,
        kind=StackKind.CONSOLE,
        pipeline=None,
        env=None,
        account=None,
        region=REGION,
        template="console.json",
        hash="h",
        retain=True,
    )
    store.record_stack(console, "UPDATE_COMPLETE", "", "abc1234")
    item = store.get(f"PIPELINE#{CONTROL_PIPELINE}", f"STACK#{CONTROL_ENV}#{CONSOLE_STACK}")
    assert item is not None and (item["env"], item["kind"]) == ("_control", "console")
    run = RunRecord(
        "run-1", "apply", "abc1234", "someone", "2026-01-01T00:00:00Z", pipelines={CONSOLE_STACK: console.owner}
    )
    run.stacks = {CONSOLE_STACK: "done"}
    store.record_run(run)
    assert store.get("PIPELINE#_control", "RUN#2026-01-01T00:00:00Z#run-1") is not None
