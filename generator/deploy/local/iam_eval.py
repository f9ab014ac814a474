"""IAM's identity-policy evaluation, as far as it can be known offline: one request against policy documents.

An explicit Deny wins, then an Allow, else the request is implicitly denied. Actions match
case-insensitively with `*` and `?`; resources match case-sensitively with the same wildcards.
Action/NotAction and Resource/NotResource are honoured. Conditions are evaluated for the keys the
caller can supply (`iam:PassedToService`, `aws:RequestTag/…`); a condition on any other key cannot be
known offline, so its statement is treated as applying (an Allow allows, a Deny denies).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

ANY_RESOURCE = "*"


class Decision(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Patterns:
    """Values to match: literals in a set, wildcards in one compiled alternation."""

    literals: frozenset[str]
    wildcards: re.Pattern[str] | None
    ignore_case: bool

    @classmethod
    def of(cls, values: list[Any], ignore_case: bool) -> Patterns:
        texts = [str(v).lower() if ignore_case else str(v) for v in values]
        wild = [t for t in texts if "*" in t or "?" in t]
        regex = "|".join(f"(?:{fnmatch.translate(t)})" for t in wild)
        return cls(frozenset(t for t in texts if t not in wild), re.compile(regex) if wild else None, ignore_case)

    def match(self, value: str) -> bool:
        value = value.lower() if self.ignore_case else value
        return value in self.literals or (self.wildcards is not None and self.wildcards.match(value) is not None)


@dataclass(frozen=True)
class Rule:
    """One statement, decoded: patterns are compiled once per policy document."""

    allow: bool
    actions: Patterns
    not_action: bool
    resources: Patterns
    not_resource: bool
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@lru_cache(maxsize=512)
def rules(document: str) -> tuple[Rule, ...]:
    """The statements of one policy document (JSON text, as IAM stores it)."""
    body = json.loads(document)
    out = []
    for statement in _as_list(body.get("Statement")):
        if not isinstance(statement, dict):
            continue
        not_action = "NotAction" in statement
        not_resource = "NotResource" in statement
        actions = _as_list(statement.get("NotAction" if not_action else "Action"))
        resources = _as_list(statement.get("NotResource" if not_resource else "Resource"))
        conditions = []
        for operator, block in (statement.get("Condition") or {}).items():
            for key, values in (block or {}).items():
                conditions.append((str(operator), str(key).lower(), tuple(str(v) for v in _as_list(values))))
        out.append(
            Rule(
                allow=statement.get("Effect") == "Allow",
                actions=Patterns.of(actions, ignore_case=True),
                not_action=not_action,
                resources=Patterns.of(resources, ignore_case=False),
                not_resource=not_resource,
                conditions=tuple(conditions),
            )
        )
    return tuple(out)


def _condition_holds(operator: str, key: str, values: tuple[str, ...], context: Mapping[str, str]) -> bool:
    """True when the condition holds, or cannot be known offline (the key is not in the context)."""
    if key not in context:
        return True
    found = context[key]
    base = operator.split(":")[-1].removesuffix("IfExists")
    if base == "StringEquals":
        return found in values
    if base == "StringEqualsIgnoreCase":
        return found.lower() in {v.lower() for v in values}
    if base == "StringNotEquals":
        return found not in values
    if base == "StringLike":
        return any(fnmatch.fnmatchcase(found, v) for v in values)
    if base == "StringNotLike":
        return not any(fnmatch.fnmatchcase(found, v) for v in values)
    return True  # other operators on a known key: not modelled, so treated as applying


@lru_cache(maxsize=512)
def _index(document: str) -> tuple[dict[str, tuple[Rule, ...]], tuple[Rule, ...]]:
    """The document's rules by lower-cased literal action, and those any action may match (wildcards, NotAction)."""
    by_action: dict[str, list[Rule]] = {}
    general: list[Rule] = []
    for rule in rules(document):
        if rule.not_action or rule.actions.wildcards is not None:
            general.append(rule)
        for action in rule.actions.literals if not rule.not_action else ():
            by_action.setdefault(action, []).append(rule)
    return {k: tuple(v) for k, v in by_action.items()}, tuple(general)


def applies(rule: Rule, action: str, resource: str | None, context: Mapping[str, str]) -> bool:
    """Does the statement cover this request? `resource=None` means "some resource" (unknown offline)."""
    if rule.actions.match(action) == rule.not_action:
        return False
    if resource is not None and rule.resources.match(resource) == rule.not_resource:
        return False
    return all(_condition_holds(op, key, values, context) for op, key, values in rule.conditions)


def decide(
    documents: Iterable[str], action: str, resource: str | None, context: Mapping[str, str] | None = None
) -> Decision:
    """IAM's answer for one action on one resource (None: on some resource the caller cannot name).

    With `resource=None`, an Allow on any resource allows, and only a Deny that reaches every resource
    (`Resource: "*"` or NotResource) denies.
    """
    known = {k.lower(): v for k, v in (context or {}).items()}
    allowed = False
    for document in documents:
        by_action, general = _index(document)
        for rule in (*by_action.get(action.lower(), ()), *general):
            reaches_all = rule.not_resource or rule.resources.match(ANY_RESOURCE)
            if resource is None and not rule.allow and not reaches_all:
                continue
            if not applies(rule, action, resource, known):
                continue
            if not rule.allow:
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY
