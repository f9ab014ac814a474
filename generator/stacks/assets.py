"""Lambda code as content-addressed assets: deterministic zips that templates reference by S3 key.

CloudFormation caps inline code (`Code.ZipFile`) at 4,096 bytes, so every function pipectl emits takes
its code from `<asset bucket>/assets/<sha256>.zip`. The zip is built from a real module of this package
(`generator/stacks/functions/<name>.py`, packaged as `index.py`), with fixed timestamps, permissions,
order and no compression, so the same source gives the same bytes, and so the same S3 key, on any
machine and any zlib. The bucket is a template parameter without default: the controller fills it with
the template and asset bucket of the stack's account and region, and the spec hash never depends on it.

A function may import constants from `generator.contract` (Lambda has no pipectl package): each such
import is replaced, in the zipped source, by assignments of the contract's values as Python literals.
"""

from __future__ import annotations

import ast
import io
import zipfile
from collections.abc import Mapping
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from troposphere import Parameter, Ref, Template
from troposphere.awslambda import Code

from generator import contract
from generator.contract import ASSET_BUCKET_PARAMETER
from generator.stacks.asset_data import Asset as Asset
from generator.stacks.sources import TEMPLATES_DIR

FUNCTIONS_DIR = Path(__file__).resolve().parent / "functions"
SITE_DIR = TEMPLATES_DIR / "console"
"""The console's single-page app, shipped as package data: published as one asset, a zip of its files."""
HANDLER_MODULE = "index"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
FILE_MODE = 0o100644  # a regular file, rw-r--r--
UNIX = 3  # "made by" system: permissions are read from external_attr
BUCKET_NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class AssetError(ValueError):
    """A function source that cannot be packaged. The message starts with FILE[:LINE:COL]."""


class AssetCode(Code):  # type: ignore[misc]
    """`Code` pointing at an asset, carrying the asset so synth can write what the template references."""

    def __init__(self, asset: Asset) -> None:
        self.asset = asset  # set before troposphere's own attributes, so it is a plain attribute
        super().__init__(S3Bucket=Ref(ASSET_BUCKET_PARAMETER), S3Key=asset.key)


def deterministic_zip(files: Mapping[str, bytes]) -> bytes:
    """A zip whose bytes depend only on the names and contents given: sorted, dated 1980, 0644, stored."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = UNIX
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _where(source: Path, line: int | None = None, column: int | None = None) -> str:
    return f"{source}:{line}:{column}" if line is not None and column is not None else str(source)


def _read(source: Path) -> bytes:
    try:
        return source.read_bytes()
    except FileNotFoundError:
        raise AssetError(f"{source}: function source: expected a Python file, found none") from None
    except OSError as exc:
        raise AssetError(f"{source}: function source: expected a readable file, found {exc.strerror}") from None


def _decode(source: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise AssetError(
            f"{_where(source, line, column)}: function source: expected UTF-8, found byte 0x{data[exc.start]:02x}"
        ) from None


def _check_handler(source: Path, text: str, handler: str) -> None:
    """The module must compile (as Lambda's import would) and define the handler the function names."""
    try:
        tree = ast.parse(text, filename=str(source))
        compile(tree, str(source), "exec", dont_inherit=True)  # errors past the parser: `return` outside def
    except SyntaxError as exc:
        where = _where(source, exc.lineno or 1, exc.offset or 1)
        raise AssetError(f"{where}: function source: expected valid Python, found {exc.msg}") from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise AssetError(f"{source}: function source: expected valid Python, found {exc}") from None
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if handler not in defined:
        raise AssetError(f"{_where(source, 1, 1)}: function source: expected a top-level def {handler}(event, context)")


def _literal(value: object) -> str | None:
    """Python source for a constant (enum members as their values, sets sorted), None for anything else."""
    if isinstance(value, Enum):
        return repr(value.value)
    if value is None or isinstance(value, str | int | float | bool):
        return repr(value)
    if isinstance(value, Mapping):
        pairs = [(_literal(k), _literal(v)) for k, v in sorted(value.items())]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    if isinstance(value, tuple | frozenset):
        items = [_literal(item) for item in (sorted(value) if isinstance(value, frozenset) else value)]
        if any(item is None for item in items):
            return None
        body = ", ".join(str(item) for item in items)
        if isinstance(value, frozenset):
            return f"frozenset({{{body}}})" if items else "frozenset()"
        return f"({body},)" if len(items) == 1 else f"({body})"
    return None


def render_contract(source: Path, text: str) -> str:
    """The source with each `from generator.contract import ...` replaced by the values it imports.

    Any other import of pipectl's package is refused: Lambda would fail to import it.
    """
    try:
        tree = ast.parse(text, filename=str(source))
    except SyntaxError:
        return text  # reported, with its position, by the handler check
    lines = text.splitlines(keepends=True)
    rendered: set[int] = set()
    for node in reversed(tree.body):
        if isinstance(node, ast.ImportFrom) and node.module == contract.__name__ and node.level == 0:
            assignments = []
            for alias in node.names:
                value = _literal(getattr(contract, alias.name, ...))
                if value is None:
                    where = _where(source, node.lineno, node.col_offset + 1)
                    raise AssetError(
                        f"{where}: function source: expected a constant of {contract.__name__}, found {alias.name}"
                    )
                assignments.append(f"{alias.asname or alias.name} = {value}\n")
            lines[node.lineno - 1 : node.end_lineno] = assignments
            rendered.add(id(node))
    for found in ast.walk(tree):
        names = [found.module or ""] if isinstance(found, ast.ImportFrom) else []
        names += [alias.name for alias in found.names] if isinstance(found, ast.Import) else []
        for name in names:
            if name.split(".")[0] == "generator" and id(found) not in rendered:
                where = _where(source, getattr(found, "lineno", 1), getattr(found, "col_offset", 0) + 1)
                raise AssetError(
                    f"{where}: function source: expected imports of the standard library, boto3 or top-level "
                    f"names of {contract.__name__}, found {name}"
                )
    return "".join(lines)


@cache
def _package(source: Path, data: bytes, handler: str) -> bytes:
    """Checked and zipped once per content: every stack of every pipeline uses the same few modules."""
    text = render_contract(source, _decode(source, data))
    _check_handler(source, text, handler)
    return deterministic_zip({f"{HANDLER_MODULE}.py": text.encode("utf-8")})


def lambda_asset(source: Path, handler: str = "handler") -> Asset:
    """The zip of one handler module, packaged as `index.py`; a source that cannot work is refused here."""
    return Asset(source, _package(source, _read(source), handler))


def function_asset(name: str) -> Asset:
    """The asset of `generator/stacks/functions/<name>.py`."""
    return lambda_asset(FUNCTIONS_DIR / f"{name}.py")


def asset_bucket(template: Template) -> Parameter:
    """The template's AssetBucket parameter, declared once however many functions use it."""
    existing = template.parameters.get(ASSET_BUCKET_PARAMETER)
    if isinstance(existing, Parameter):
        return existing
    parameter: Parameter = template.add_parameter(
        Parameter(
            ASSET_BUCKET_PARAMETER,
            Type="String",
            AllowedPattern=BUCKET_NAME_PATTERN,
            ConstraintDescription="an S3 bucket name",
            Description=(
                "Bucket holding this stack's Lambda code under assets/; pipectl fills it with the template "
                "and asset bucket of the stack's account and region"
            ),
        )
    )
    return parameter


def function_code(template: Template, name: str) -> AssetCode:
    """`Code` for the function module `name`: its asset's key in the bucket the AssetBucket parameter names."""
    asset_bucket(template)
    return AssetCode(function_asset(name))


def site_asset(directory: Path = SITE_DIR) -> Asset:
    """Every file of the console app, zipped deterministically: its digest names the version CloudFront serves."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    if not any(p.name == "index.html" for p in files if p.parent == directory):
        raise AssetError(f"{directory}: console app: expected an index.html, found none")
    return Asset(directory, deterministic_zip({p.relative_to(directory).as_posix(): p.read_bytes() for p in files}))


_ATTACHED = "_pipectl_assets"  # on the Template object itself: a Template's hash follows its content


def attach(template: Template, asset: Asset) -> Asset:
    """An asset the template names outside a Lambda's `Code` (the console app): synth writes it all the same."""
    attached: dict[str, Asset] = getattr(template, _ATTACHED, {})
    attached[asset.key] = asset
    setattr(template, _ATTACHED, attached)
    return asset


def template_assets(template: Template) -> tuple[Asset, ...]:
    """Every asset the template's resources reference (or that was attached to it), once each, in key order."""
    found: dict[str, Asset] = dict(getattr(template, _ATTACHED, {}))
    for resource in template.resources.values():
        properties: dict[str, Any] = getattr(resource, "properties", {})
        for value in properties.values():
            if isinstance(value, AssetCode):
                found[value.asset.key] = value.asset
    return tuple(found[key] for key in sorted(found))
