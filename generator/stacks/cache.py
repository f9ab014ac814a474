"""Synth cache: one entry per unit (the console, or one pipeline in one environment) under
`build/.synth-cache/`, so an unchanged pipeline costs a hash check instead of a rebuild.

An entry holds the unit's key and its StackBuilds: every field but the template text as JSON (bytes
as base64, so extra outputs such as asset files are cached with no change here), and for the text its
sha256, checked against the template written under `build/`. The entry's first line carries the
sha256 of the rest: a damaged or truncated entry, or a template edited after synth, is discarded
with a one-line note and the unit rebuilt. Nothing read from the cache is used unverified.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR = ".synth-cache"
FORMAT = "pipectl-synth-cache/1"
SUFFIX = ".entry"  # not .json: build/ holds only templates and the manifest as JSON


@dataclass
class CacheReport:
    """What one synth did with the cache: unit ids reused and rebuilt, and notes for the user."""

    reused: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"], validate=True)
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def entry_path(build_dir: Path, unit: str) -> Path:
    return build_dir / CACHE_DIR / f"{unit}{SUFFIX}"


def entry_text(unit: str, key: str, records: list[dict[str, Any]]) -> str:
    """The entry recording a freshly built unit; each record is a StackBuild's fields, `entry` and `text` among them."""
    builds = []
    for record in records:
        fields = {name: _encode(value) for name, value in record.items() if name != "text"}
        builds.append({"fields": fields, "text_sha256": hashlib.sha256(record["text"].encode()).hexdigest()})
    body = json.dumps({"unit": unit, "key": key, "builds": builds}, sort_keys=True, separators=(",", ":"))
    return f"{FORMAT} {hashlib.sha256(body.encode()).hexdigest()}\n{body}"


def store(build_dir: Path, unit: str, key: str, records: list[dict[str, Any]]) -> None:
    """Record a freshly built unit (see `entry_text`)."""
    path = entry_path(build_dir, unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(entry_text(unit, key, records))


def load(build_dir: Path, unit: str, key: str, report: CacheReport) -> list[dict[str, Any]] | None:
    """The unit's StackBuild fields if its entry is intact, current and its templates untouched."""
    path = entry_path(build_dir, unit)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    header, _, body = raw.partition(b"\n")
    parts = header.decode("ascii", "replace").split(" ")
    if len(parts) != 2 or parts[0] != FORMAT or hashlib.sha256(body).hexdigest() != parts[1]:
        _discard(path, f"{path}: damaged cache entry (hash mismatch); discarded, {unit} rebuilt", report)
        return None
    try:
        data = json.loads(body)
        if data["unit"] != unit or data["key"] != key:
            return None
        records = []
        for build in data["builds"]:
            fields = {name: _decode(value) for name, value in build["fields"].items()}
            template = build_dir / fields["entry"]["template"]
            text = template.read_bytes() if template.is_file() else None
            if text is None:
                return None
            if hashlib.sha256(text).hexdigest() != build["text_sha256"]:
                note = f"{template}: changed since synth wrote it (hash mismatch); {unit} rebuilt"
                _discard(path, note, report)
                return None
            records.append({**fields, "text": text.decode()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        _discard(path, f"{path}: unreadable cache entry; discarded, {unit} rebuilt", report)
        return None
    return records


def _discard(path: Path, note: str, report: CacheReport) -> None:
    report.notes.append(note)
    path.unlink(missing_ok=True)


def prune(build_dir: Path, units: set[str]) -> None:
    """Drop entries of units that no longer exist (a removed pipeline file or environment), and entries
    a killed run wrote but never renamed into place."""
    root = build_dir / CACHE_DIR
    if not root.is_dir():
        return
    for path in root.rglob(f"*{SUFFIX}"):
        if path.relative_to(root).as_posix().removesuffix(SUFFIX) not in units:
            path.unlink()
    for path in root.rglob(".*.partial"):  # staged by a run killed before it renamed them into place
        path.unlink()
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
