"""Cheaper troposphere objects: what `BaseAWSObject.__init__` derives from an object's class, derived once per class.

troposphere's constructor walks every property its class declares (hundreds for some resources) to find
class-level defaults, and sets its own bookkeeping through the validating `__setattr__`; with tens of
thousands of objects per synth that was a fifth of building the templates. `install()` replaces the
constructor with one that does the same steps in the same order, with the per-class facts (property
names, class-level defaults) computed once per class. Only for the troposphere release it was read
against: on any other, troposphere's own constructor stays, so a new release can never change output
silently. `install()` changes the class for the whole process (synth calls it before building); a test
builds resources, properties, declarations and a class with a class-level default both ways and
compares them attribute by attribute.
"""

from __future__ import annotations

from typing import Any

import troposphere
from troposphere import BaseAWSObject

READ_AGAINST = "4.11."
"""The troposphere releases whose `BaseAWSObject.__init__` the replacement below mirrors, line by line."""
ATTRIBUTES = (
    "Condition",
    "CreationPolicy",
    "DeletionPolicy",
    "DependsOn",
    "Metadata",
    "UpdatePolicy",
    "UpdateReplacePolicy",
)

ORIGINAL_INIT = BaseAWSObject.__init__
_CLASS_FACTS: dict[type, tuple[frozenset[str], tuple[tuple[str, Any], ...]]] = {}


def _facts(kind: type[BaseAWSObject]) -> tuple[frozenset[str], tuple[tuple[str, Any], ...]]:
    """The class's property names, and the properties it sets at class level (set on every new object)."""
    facts = _CLASS_FACTS.get(kind)
    if facts is None:
        defaults = tuple((name, getattr(kind, name, None)) for name in kind.props)
        facts = (frozenset(kind.props), tuple((name, value) for name, value in defaults if value is not None))
        _CLASS_FACTS[kind] = facts
    return facts


def _init(
    self: BaseAWSObject,
    title: str | None,
    template: troposphere.Template | None = None,
    validation: bool = True,
    **kwargs: Any,
) -> None:
    kind = type(self)
    if kind.__setattr__ is not BaseAWSObject.__setattr__:  # a class that watches its own attributes
        ORIGINAL_INIT(self, title, template, validation, **kwargs)
        return
    names, defaults = _facts(kind)
    # Before `__initialized` is set, troposphere's __setattr__ stores every attribute as is: so does this.
    state = self.__dict__
    state["title"] = title
    state["template"] = template
    state["do_validation"] = validation
    state["propnames"] = set(names)
    state["attributes"] = list(ATTRIBUTES)
    if self.title:
        self.validate_title()
    properties: dict[str, Any] = {}
    state["properties"] = properties
    dictname = getattr(self, "dictname", None)
    resource = {dictname: properties} if dictname else properties
    state["resource"] = resource
    if hasattr(self, "resource_type") and self.resource_type is not None:
        resource["Type"] = self.resource_type
    state["_BaseAWSObject__initialized"] = True
    for name, value in defaults:
        if name not in kwargs:
            self.__setattr__(name, value)
    for name, value in kwargs.items():
        self.__setattr__(name, value)
    self.add_to_template()


def applies() -> bool:
    """Whether the installed troposphere is the release the replacement mirrors."""
    return str(getattr(troposphere, "__version__", "")).startswith(READ_AGAINST)


def install() -> None:
    """Use the per-class constructor from now on in this process (and in processes forked from it)."""
    if BaseAWSObject.__init__ is not _init and applies():  # setting it again would flush every subclass's caches
        BaseAWSObject.__init__ = _init
