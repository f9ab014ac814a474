"""Lambda code assets: deterministic content-addressed zips, referenced by key, listed in the manifest,
cleaned up when unused; a source that cannot be packaged is a located error with nothing written."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.contract import ASSET_BUCKET_PARAMETER
from generator.spec.loader import load_directory
from generator.stacks import assets
from generator.stacks.assets import AssetError, deterministic_zip, function_asset, lambda_asset, site_asset
from generator.stacks.synth import build_all, synthesize

REPO = Path(__file__).resolve().parents[2]
HANDLER = "def handler(event, context):\n    return event\n"


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the shipped pipeline files."""
    shutil.copytree(REPO / "pipelines.d", tmp_path / "pipelines.d")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the package's function sources that synth packages instead: the seam for bad sources."""
    folder = tmp_path / "functions"
    shutil.copytree(assets.FUNCTIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(assets, "FUNCTIONS_DIR", folder)
    return folder


def entries(data: bytes) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.infolist()


# --- the zip ----------------------------------------------------------------------------------------


def test_a_zip_depends_only_on_names_and_contents() -> None:
    one = deterministic_zip({"b.py": b"b = 2\n", "a.py": b"a = 1\n"})
    two = deterministic_zip({"a.py": b"a = 1\n", "b.py": b"b = 2\n"})
    assert one == two
    infos = entries(one)
    assert [i.filename for i in infos] == ["a.py", "b.py"]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.create_system == 3
    assert deterministic_zip({"a.py": b"a = 2\n", "b.py": b"b = 2\n"}) != one


def test_an_asset_is_named_by_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    source = tmp_path / "fn.py"
    source.write_text(HANDLER)
    asset = lambda_asset(source)
    assert asset.path == f"assets/{asset.sha256}.zip" == asset.key
    with zipfile.ZipFile(io.BytesIO(asset.data)) as archive:
        assert archive.namelist() == ["index.py"]
        assert archive.read("index.py").decode() == HANDLER
    source.write_text(HANDLER + "# changed\n")
    assert lambda_asset(source).sha256 != asset.sha256


# --- sources that cannot be packaged --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "where", "found"),
    [
        ("def handler(event, context):\n    return [event\n", ":2:12:", "'[' was never closed"),
        ("x = 1\nreturn x\ndef handler(event, context):\n    pass\n", ":2:1:", "'return' outside function"),
        ("def handle(event, context):\n    return event\n", ":1:1:", "def handler(event, context)"),
        (b"x = 1\ny = '\xff'\ndef handler(event, context):\n    pass\n", ":2:6:", "found byte 0xff"),
        ("x = 1\0\n", ":", "expected valid Python"),
    ],
    ids=["syntax", "compile", "no-handler", "not-utf8", "nul-byte"],
)
def test_a_source_that_cannot_work_is_a_located_error(
    tmp_path: Path, content: str | bytes, where: str, found: str
) -> None:
    source = tmp_path / "fn.py"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(AssetError) as raised:
        lambda_asset(source)
    message = str(raised.value)
    assert message.startswith(f"{source}{where}"), message
    assert found in message


@pytest.mark.parametrize(("make", "found"), [(lambda p: None, "found none"), (Path.mkdir, "Is a directory")])
def test_a_missing_or_unreadable_source_names_the_file(tmp_path: Path, make: Any, found: str) -> None:
    source = tmp_path / "fn.py"
    make(source)
    with pytest.raises(AssetError, match=found) as raised:
        lambda_asset(source)
    assert str(raised.value).startswith(f"{source}: function source: expected")


def test_synth_with_a_broken_source_exits_2_and_writes_nothing(
    checkout: Path, functions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (functions / "enrich.py").write_text("def handler(event, context):\n    return {event\n")
    build = checkout / "build"
    build.mkdir()
    (build / "manifest.json").write_text("{}")  # an earlier synth's output stays as it was
    assert main(["synth", "--build-dir", str(build)]) == 2
    captured = capsys.readouterr()
    assert f"{functions / 'enrich.py'}:2:12: function source: expected valid Python" in captured.err
    assert "nothing was written" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert sorted(p.name for p in build.iterdir()) == ["manifest.json"]
    assert (build / "manifest.json").read_text() == "{}"


def test_bootstrap_with_a_broken_recorder_exits_2_and_writes_nothing(
    checkout: Path, functions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (functions / "recorder.py").unlink()
    assert main(["bootstrap", "--dry-run", "--codecommit", "cfg", "--no-approvers"]) == 2
    assert (
        f"{functions / 'recorder.py'}: function source: expected a Python file, found none" in capsys.readouterr().err
    )
    assert not (checkout / "build").exists()


# --- templates and manifest ----------------------------------------------------------------------------


def test_every_function_takes_its_code_from_an_asset_the_manifest_lists(checkout: Path) -> None:
    build = checkout / "build"
    builds = synthesize(load_directory(Path("pipelines.d")), build)
    manifest = json.loads((build / "manifest.json").read_text())
    functions = 0
    for entry in manifest["stacks"]:
        template = json.loads((build / entry["template"]).read_text())
        keys = sorted(
            resource["Properties"]["Code"]["S3Key"]
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Function"
        )
        functions += len(keys)
        assert "ZipFile" not in json.dumps(template)
        app = [site_asset().path] if entry["kind"] == "console" else []  # the console app, published beside
        assert entry["assets"] == sorted({*keys, *app}), entry["name"]
        for path in entry["assets"]:
            assert (build / path).is_file()
        parameter = (template.get("Parameters") or {}).get(ASSET_BUCKET_PARAMETER)
        if keys:
            assert parameter is not None and parameter["Type"] == "String" and "Default" not in parameter
            assert "account and region" in parameter["Description"]
            codes = [
                r["Properties"]["Code"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
            ]
            assert all(code["S3Bucket"] == {"Ref": ASSET_BUCKET_PARAMETER} for code in codes)
        else:
            assert entry["assets"] == [] and parameter is None
        assert ASSET_BUCKET_PARAMETER not in entry["parameters"]  # filled by the controller, never hashed
    assert functions == 1 + 2 * 3 + 2 * 2  # the recorder; enrich everywhere; sink on the Kinesis pipelines
    written = {f"assets/{p.name}" for p in (build / "assets").iterdir()}
    assert written == {a.path for b in builds for a in b.assets}
    assert written == {*(function_asset(name).path for name in ("recorder", "sink", "enrich")), site_asset().path}


def test_the_spec_hash_follows_the_code_and_only_where_it_is_used(checkout: Path, functions: Path) -> None:
    builds = build_all(load_directory(Path("pipelines.d")))
    before = {b.entry.name: b.entry.hash for b in builds}
    using_sink = sorted(b.entry.name for b in builds if function_asset("sink").path in b.entry.assets)
    (functions / "sink.py").write_text((functions / "sink.py").read_text() + "\n# a change of code\n")
    after = {b.entry.name: b.entry.hash for b in build_all(load_directory(Path("pipelines.d")))}
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == using_sink and len(changed) == 4, changed
    assert all(name.endswith("-processing") for name in changed)


def test_resynth_drops_zips_no_stack_references(checkout: Path, functions: Path) -> None:
    build = checkout / "build"
    synthesize(load_directory(Path("pipelines.d")), build)
    old = function_asset("enrich").path
    (functions / "enrich.py").write_text((functions / "enrich.py").read_text() + "\n# newer\n")
    new = function_asset("enrich").path
    synthesize(load_directory(Path("pipelines.d")), build)
    assert not (build / old).exists()
    assert (build / new).read_bytes() == function_asset("enrich").data
    assert (build / function_asset("sink").path).is_file()


def test_a_damaged_zip_is_rewritten(checkout: Path) -> None:
    build = checkout / "build"
    synthesize(load_directory(Path("pipelines.d")), build)
    path = build / function_asset("sink").path
    path.write_bytes(b"truncated")
    (path.parent / f".{path.name}.partial").write_bytes(b"interrupted")
    synthesize(load_directory(Path("pipelines.d")), build)
    assert path.read_bytes() == function_asset("sink").data
    assert not list((build / "assets").glob(".*"))  # no partial file left behind, old or new


def test_bootstrap_writes_the_console_asset_beside_its_manifest(checkout: Path) -> None:
    assert main(["bootstrap", "--dry-run", "--codecommit", "cfg", "--no-approvers"]) == 0
    folder = checkout / "build" / "bootstrap"
    manifest = json.loads((folder / "manifest.json").read_text())
    console, delivery = manifest["stacks"]
    assert console["assets"] == sorted([function_asset("recorder").path, site_asset().path])
    for asset in (function_asset("recorder"), site_asset()):
        assert (folder / asset.path).read_bytes() == asset.data
    assert delivery["assets"] == []


def test_the_console_app_is_one_deterministic_asset_of_its_files(tmp_path: Path) -> None:
    app = tmp_path / "console"
    (app / "js").mkdir(parents=True)
    (app / "index.html").write_text("<!doctype html><title>x</title>")
    (app / "js" / "app.js").write_text("console.log(1);")
    asset = site_asset(app)
    assert asset == site_asset(app) and asset.key == f"assets/{asset.sha256}.zip"
    with zipfile.ZipFile(io.BytesIO(asset.data)) as archive:
        assert archive.namelist() == ["index.html", "js/app.js"]
    (app / "js" / "app.js").write_text("console.log(2);")
    assert site_asset(app).sha256 != asset.sha256


def test_a_console_app_without_index_html_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("1")
    with pytest.raises(AssetError, match=r"console app: expected an index.html, found none"):
        site_asset(tmp_path)
