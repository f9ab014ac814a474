"""What a pydantic error means for the person who wrote the file: `expected ..., found ...` in words.

The loader places each error (file, line, column, key path); this module words it, looking up the
model at the error's path so an unknown key can name the keys allowed there, or the one meant.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from generator.spec.errors import shown
from generator.spec.patterns import in_words


def describe(err: ErrorDetails, model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    found = shown(err.get("input"))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "expected a value (required), found nothing"
    if kind == "extra_forbidden":
        owner, siblings = _model_at(model, loc[:-1])
        key = loc[-1]
        allowed = ", ".join(sorted(owner.model_fields)) if owner else "known keys"
        hint = ""
        for other_tag, other in siblings.items():
            if isinstance(key, str) and key in other.model_fields:
                hint = f" (an option of {other_tag})"
                break
        if not hint and isinstance(key, str) and owner:
            close = difflib.get_close_matches(key, list(owner.model_fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"expected one of {allowed}; found unknown key {key!r}{hint}"
    if kind == "union_tag_invalid":
        return f"expected {ctx.get('expected_tags', 'a known type')}, found {shown(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        return f"expected a {ctx.get('discriminator', 'type')} key, found none"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()))
        return f"expected a number {op} {limit}, found {found}"
    if kind == "string_pattern_mismatch":
        return f"expected {in_words(ctx.get('pattern'))}, found {found}"
    if kind in ("too_short", "too_long"):
        word = "at least" if kind == "too_short" else "at most"
        bound = ctx.get("min_length", ctx.get("max_length"))
        return f"expected {word} {bound} item(s), found {ctx.get('actual_length')}"
    if kind in ("string_too_short", "string_too_long"):
        word = "at least" if kind == "string_too_short" else "at most"
        bound = ctx.get("min_length", ctx.get("max_length"))
        return f"expected text of {word} {bound} characters, found {found}"
    msg = err["msg"]
    for lead in ("Input should be ", "Value error, "):
        if msg.startswith(lead):
            msg = msg[len(lead) :]
    return f"expected {msg}, found {found}"


def _model_at(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[type[BaseModel] | None, dict[str, type[BaseModel]]]:
    """The model class a pydantic error location points into, and the other members of its union."""
    current: Any = model
    siblings: dict[str, type[BaseModel]] = {}
    for part in loc:
        members = _members(current)
        if isinstance(part, str) and part in members and len(members) > 1:
            siblings = {tag: m for tag, m in members.items() if tag != part}
            current = members[part]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None, {}
            current = field.annotation
            siblings = {}
            continue
        current = _item_type(current)
    members = _members(current)
    if len(members) == 1:
        return next(iter(members.values())), siblings
    return None, siblings


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _unwrap(arg)]
    return [tp]


def _members(tp: Any) -> dict[str, type[BaseModel]]:
    """Models a type may hold, keyed by the tag pydantic uses for them in error locations."""
    out: dict[str, type[BaseModel]] = {}
    for member in _unwrap(tp):
        if isinstance(member, type) and issubclass(member, BaseModel):
            type_field = member.model_fields.get("type")
            tag = None
            if type_field is not None:
                args = typing.get_args(type_field.annotation)
                tag = str(args[0]) if args else None
            if tag is None:
                tag = (
                    "created"
                    if "create" in member.model_fields
                    else "existing"
                    if "vpc_id" in member.model_fields
                    else member.__name__
                )
            out[tag] = member
    return out


def _item_type(tp: Any) -> Any:
    for member in _unwrap(tp):
        args = typing.get_args(member)
        if typing.get_origin(member) in (list, tuple) and args:
            return args[0]
        if typing.get_origin(member) is dict and len(args) == 2:
            return args[1]
    return None
