"""A troposphere Template as plain JSON data, in one pass.

troposphere's `Template.to_dict()` re-walks every object's already-encoded output once per level of
nesting; on pipectl's templates that walk was a third of synth's time. This gives the same data (a test
compares both on every stack of many varied pipelines, byte for byte once serialized), validating each
object exactly as `to_dict()` does, in the same order. Classes that override `to_dict` keep their own.

How a value is encoded depends only on its class, so the choice is made once per class and kept in a
table: a template has tens of thousands of values but a few dozen classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from troposphere import AWSHelperFn, BaseAWSObject, Tags, Template

Encoder = Callable[[Any], Any]
_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Exact classes returned as they are; subclasses (such as StrEnum members) take the table like any class."""


def template_data(template: Template) -> dict[str, Any]:
    """What `template.to_dict()` returns."""
    sections = {
        "Description": template.description,
        "Metadata": template.metadata,
        "Conditions": template.conditions,
        "Mappings": template.mappings,
        "Outputs": template.outputs,
        "Parameters": template.parameters,
        "AWSTemplateFormatVersion": template.version,
        "Transform": template.transform,
        "Rules": template.rules,
        "Globals": template.globals,
    }
    body = {key: value for key, value in sections.items() if value}
    body["Resources"] = template.resources
    data: dict[str, Any] = plain(body)
    return data


def plain(obj: Any) -> Any:
    """troposphere's `encode_to_dict`, without encoding a value more than once."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder_for(kind)
    return encoder(obj)


def _dict(obj: Any) -> dict[Any, Any]:
    return {key: value if type(value) in _SCALARS else plain(value) for key, value in obj.items()}


def _list(obj: Any) -> list[Any]:
    return [item if type(item) in _SCALARS else plain(item) for item in obj]


def _aws_object(obj: Any) -> Any:
    """`BaseAWSObject.to_dict()`: validate, then the resource (or its attributes alone when it has no properties)."""
    if obj.do_validation:
        obj._validate_props()
        obj.validate()
    if obj.properties:
        return plain(obj.resource)
    if hasattr(obj, "resource_type"):
        return {key: plain(value) for key, value in obj.resource.items() if key != "Properties"}
    return {}


def _as_is(obj: Any) -> Any:
    return obj


def _encoder_for(kind: type) -> Encoder:
    """The encoding `encode_to_dict` gives instances of `kind`, tried in its order."""
    to_dict = getattr(kind, "to_dict", None)
    if issubclass(kind, str | int | float | bool):
        return _as_is
    if issubclass(kind, BaseAWSObject) and to_dict is BaseAWSObject.to_dict:
        return _aws_object
    if issubclass(kind, AWSHelperFn) and to_dict is AWSHelperFn.to_dict:
        return lambda obj: plain(obj.data)
    if issubclass(kind, Tags) and to_dict is Tags.to_dict:
        return lambda obj: [plain(tag) for tag in obj.tags]
    if to_dict is not None:
        return lambda obj: plain(obj.to_dict())
    if issubclass(kind, list | tuple):
        return _list
    if issubclass(kind, dict):
        return _dict
    if hasattr(kind, "JSONrepr"):
        return lambda obj: plain(obj.JSONrepr())
    return _as_is


_ENCODERS: dict[type, Encoder] = {}
