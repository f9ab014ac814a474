"""Reading one YAML file into plain data plus the location of every key and value.

PyYAML's composer (the C one when available) gives each node its line and column. We build
Python values ourselves from the node tree, which lets us refuse what a pipeline file never
needs and an attacker might use: custom tags, anchors and aliases, duplicate keys, non-string
keys, non-UTF-8 text and very large or deeply nested documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from generator.spec.errors import Location, Path, SpecError, format_path, shown

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_VALUES = 10_000  # a real pipeline file holds a few hundred; beyond this it is generated or damaged
PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


@dataclass
class Document:
    """A parsed file: its data and where each path was written."""

    file: str
    data: Any
    keys: dict[Path, Location] = field(default_factory=dict)
    values: dict[Path, Location] = field(default_factory=dict)


class _Reject(Exception):
    def __init__(self, error: SpecError) -> None:
        self.error = error


def load_document(path: FsPath, shown_as: str) -> tuple[Document | None, SpecError | None]:
    """Parse one file. Returns the document, or the first error that stops parsing."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, SpecError(Location(shown_as, 1, 1), "(file)", f"expected a readable file, found {exc.strerror}")
    return parse_bytes(raw, shown_as)


def parse_bytes(raw: bytes, shown_as: str) -> tuple[Document | None, SpecError | None]:
    """Parse YAML bytes named `shown_as` in messages."""

    def at(line: int, col: int, path: str, message: str) -> tuple[None, SpecError]:
        return None, SpecError(Location(shown_as, line, col), path, message)

    if len(raw) > MAX_BYTES:
        return at(1, 1, "(file)", f"expected a pipeline file under {MAX_BYTES // 1000} kB, found {len(raw)} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        return at(line, col, "(file)", f"expected UTF-8 text, found byte 0x{raw[exc.start]:02x}")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return at(line, 1, "(file)", "expected text, found a NUL character")
    try:
        refusal = _scan_events(text)
        if refusal is not None:
            return at(*refusal)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        return at(line, col, "(file)", f"expected valid YAML, found a syntax error: {problem}")
    except yaml.YAMLError as exc:
        return at(1, 1, "(file)", f"expected valid YAML, found {str(exc).splitlines()[0]}")
    except RecursionError:
        return at(1, 1, "(file)", f"expected at most {MAX_DEPTH} levels of nesting, found more")
    doc = Document(file=shown_as, data={})
    if node is None:
        return doc, None
    try:
        doc.data = _Builder(doc).build(node, (), depth=0)
    except _Reject as rej:
        return None, rej.error
    return doc, None


def _scan_events(text: str) -> tuple[int, int, str, str] | None:
    """Refuse anchors, aliases and deep nesting on the flat event stream, before composing.

    Composing is recursive (in C when libyaml is present): a file nested thirty thousand levels
    deep would crash the process there, so depth is counted here first, iteratively; and the
    number of values is bounded, so a generated file cannot make validation slow.
    """
    depth = 0
    values = 0
    for event in yaml.parse(text, Loader=_Loader):
        mark = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            values += 1
            if values > MAX_VALUES:
                return (
                    mark.line + 1,
                    mark.column + 1,
                    "(file)",
                    (f"expected a pipeline file of at most {MAX_VALUES} keys and values, found more"),
                )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            what = "an alias" if isinstance(event, yaml.AliasEvent) else "an anchor"
            message = f"expected plain YAML, found {what} ({anchor}); repeat the value or use _defaults.yaml"
            return mark.line + 1, mark.column + 1, "(file)", message
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return (
                    mark.line + 1,
                    mark.column + 1,
                    "(file)",
                    (f"expected at most {MAX_DEPTH} levels of nesting, found more"),
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


class _Builder:
    """Turns a composed node tree into plain values, recording locations as it goes."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.seen: set[int] = set()
        self.constructor = SafeConstructor()

    def _fail(self, node: yaml.Node, path: Path, message: str) -> _Reject:
        mark = node.start_mark
        return _Reject(SpecError(Location(self.doc.file, mark.line + 1, mark.column + 1), format_path(path), message))

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._fail(node, path, f"expected at most {MAX_DEPTH} levels of nesting, found more")
        if id(node) in self.seen:
            raise self._fail(
                node, path, "expected plain YAML, found an alias (*name); repeat the value or use _defaults.yaml"
            )
        self.seen.add(id(node))
        if node.tag not in PLAIN_TAGS:
            raise self._fail(node, path, f"expected a plain value, found the YAML tag {node.tag!r}")
        mark = node.start_mark
        self.doc.values[path] = Location(self.doc.file, mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError) as exc:
            raise self._fail(node, path, f"expected a valid scalar, found {exc}") from None

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._fail(key_node, path, "expected plain YAML, found a merge key (<<); use _defaults.yaml")
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise self._fail(key_node, path, f"expected a text key, found {_node_text(key_node)}")
            key = key_node.value
            child = (*path, key)
            if key in out:
                first = self.doc.keys[child]
                raise self._fail(
                    key_node, child, f"expected each key once, found {key!r} again (first at line {first.line})"
                )
            mark = key_node.start_mark
            self.doc.keys[child] = Location(self.doc.file, mark.line + 1, mark.column + 1)
            out[key] = self.build(value_node, child, depth + 1)
        return out


def _node_text(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return shown(node.value) if node.value else "an empty key"
    return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
