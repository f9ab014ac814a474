"""Who may do what, before and after: IAM statements and security-group rules of one resource.

plan.md lists added and removed statements (identity, trust, key, bucket, topic, queue policies and
Lambda permissions) and rules (direction, protocol, ports, peer) like `cdk diff` does, and calls a
change widening only when it grants access that was not there: every allowed (principal, action,
resource) of the new side that no allowed one of the old side covers, with at most the old
conditions. A removed statement, an added Deny or an added condition narrows, and says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any, Literal

from generator.deploy.properties import show

Change = Literal["added", "removed"]


class Access(StrEnum):
    """What a resource change does to access."""

    NONE = ""
    WIDENING = "widening"
    NARROWING = "narrowing"
    BOTH = "widening and narrowing"

    @property
    def widens(self) -> bool:
        return self in (Access.WIDENING, Access.BOTH)

    @property
    def narrows(self) -> bool:
        return self in (Access.NARROWING, Access.BOTH)


@dataclass
class StatementChange:
    change: Change
    policy: str  # "trust policy", "identity policy Enrich", "key policy", ...
    effect: str
    principal: str
    actions: str
    resources: str
    conditions: str


@dataclass
class RuleChange:
    change: Change
    direction: str  # ingress / egress
    protocol: str
    ports: str
    peer: str


@dataclass(frozen=True)
class _Statement:
    policy: str
    effect: str
    principals: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: frozenset[tuple[str, str, str]]

    def row(self, change: Change) -> StatementChange:
        conditions = "; ".join(f"{op} {key} {value}" for op, key, value in sorted(self.conditions))
        return StatementChange(
            change,
            self.policy,
            self.effect,
            ", ".join(self.principals),
            ", ".join(self.actions),
            ", ".join(self.resources),
            conditions,
        )


WIDE = 200  # statements are read whole: a cut condition could hide what it allows


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return tuple(sorted({show(item, width=WIDE) for item in items}))


def _principals(statement: Mapping[str, Any], implied: str) -> tuple[str, ...]:
    principal = statement.get("Principal")
    if principal is None:
        return (implied,)
    if isinstance(principal, str):
        return (principal,)
    if isinstance(principal, dict):
        return tuple(sorted(f"{kind}:{p}" for kind, value in principal.items() for p in _strings(value)))
    return (show(principal),)


def _conditions(statement: Mapping[str, Any]) -> frozenset[tuple[str, str, str]]:
    found = set()
    for operator, tests in (statement.get("Condition") or {}).items():
        for key, value in (tests or {}).items() if isinstance(tests, dict) else []:
            found.add((str(operator), str(key), show(value, width=WIDE)))
    return frozenset(found)


def _statements(document: Any, policy: str, implied: str) -> list[_Statement]:
    if not isinstance(document, dict):
        return []
    raw = document.get("Statement") or []
    out = []
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, dict):
            continue
        actions = _strings(statement.get("Action")) or tuple(f"NOT {a}" for a in _strings(statement.get("NotAction")))
        resources = _strings(statement.get("Resource")) or tuple(
            f"NOT {r}" for r in _strings(statement.get("NotResource"))
        )
        sid = statement.get("Sid")
        out.append(
            _Statement(
                f"{policy} {sid}" if sid else policy,
                str(statement.get("Effect", "Allow")),
                _principals(statement, implied),
                actions,
                resources or ("(this resource)",),
                _conditions(statement),
            )
        )
    return out


def policy_statements(resource_type: str, properties: Mapping[str, Any] | None) -> list[_Statement]:
    """Every statement a resource holds, labelled by the policy it sits in."""
    props = properties or {}
    if resource_type == "AWS::IAM::Role":
        found = _statements(props.get("AssumeRolePolicyDocument"), "trust policy", "(any)")
        for policy in props.get("Policies") or []:
            if isinstance(policy, dict):
                name = show(policy.get("PolicyName", ""))
                found += _statements(policy.get("PolicyDocument"), f"policy {name}", "(this role)")
        return found
    if resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        return _statements(props.get("PolicyDocument"), "identity policy", "(attached identities)")
    labels = {
        "AWS::KMS::Key": ("KeyPolicy", "key policy"),
        "AWS::S3::BucketPolicy": ("PolicyDocument", "bucket policy"),
        "AWS::SNS::TopicPolicy": ("PolicyDocument", "topic policy"),
        "AWS::SQS::QueuePolicy": ("PolicyDocument", "queue policy"),
    }
    if resource_type in labels:
        key, label = labels[resource_type]
        return _statements(props.get(key), label, "(any)")
    if resource_type == "AWS::Lambda::Permission":
        conditions = frozenset(
            ("source", name, show(props[name])) for name in ("SourceArn", "SourceAccount") if name in props
        )
        return [
            _Statement(
                "function permission",
                "Allow",
                (show(props.get("Principal", "")),),
                (show(props.get("Action", "")),),
                (show(props.get("FunctionName", "")),),
                conditions,
            )
        ]
    return []


@dataclass(frozen=True)
class _Rule:
    direction: str
    protocol: str
    ports: str
    peer: str

    def row(self, change: Change) -> RuleChange:
        return RuleChange(change, self.direction, self.protocol, self.ports, self.peer)


_PEERS = (
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "DestinationSecurityGroupId",
    "SourcePrefixListId",
    "DestinationPrefixListId",
)


def _rule(direction: str, raw: Mapping[str, Any]) -> _Rule:
    protocol = show(raw.get("IpProtocol", ""))
    low, high = raw.get("FromPort"), raw.get("ToPort")
    if protocol in ("-1", "all"):
        protocol, ports = "all", "all"
    else:
        ports = "all" if low is None else show(low) if low == high else f"{show(low)}-{show(high)}"
    peer = next((f"{show(raw[k])}" for k in _PEERS if k in raw), "(none)")
    return _Rule(direction, protocol, ports, peer)


def security_rules(resource_type: str, properties: Mapping[str, Any] | None) -> list[_Rule]:
    if properties is None:
        return []
    props = properties
    if resource_type == "AWS::EC2::SecurityGroup":
        return [
            _rule(direction, raw)
            for direction, key in (("ingress", "SecurityGroupIngress"), ("egress", "SecurityGroupEgress"))
            for raw in props.get(key) or []
            if isinstance(raw, dict)
        ]
    if resource_type == "AWS::EC2::SecurityGroupIngress":
        return [_rule("ingress", props)]
    if resource_type == "AWS::EC2::SecurityGroupEgress":
        return [_rule("egress", props)]
    return []


def _atoms(statements: Iterable[_Statement], effect: str) -> set[tuple[str, str, str, frozenset[Any]]]:
    return {
        (p, a, r, s.conditions)
        for s in statements
        if s.effect == effect
        for p in s.principals
        for a in s.actions
        for r in s.resources
    }


def _covered(atom: tuple[str, str, str, frozenset[Any]], by: set[tuple[str, str, str, frozenset[Any]]]) -> bool:
    """Some atom of `by` grants at least as much: same or wildcard principal/action/resource, fewer conditions."""
    principal, action, resource, conditions = atom
    return any(
        (p == principal or p in ("*", "AWS:*"))
        and fnmatchcase(action.lower(), a.lower())
        and fnmatchcase(resource, r)
        and c <= conditions
        for p, a, r, c in by
    )


@dataclass
class AccessDiff:
    """`granted` and `revoked` say it in a line each: `s3:GetObject on ${...}/raw/* to (this role)`."""

    statements: list[StatementChange]
    rules: list[RuleChange]
    access: Access
    granted: list[str]
    revoked: list[str]


def _said(atoms: Iterable[tuple[str, str, str, frozenset[Any]]], deny: bool = False) -> list[str]:
    verb = "deny " if deny else ""
    return sorted({f"{verb}{action} on {resource} to {principal}" for principal, action, resource, _ in atoms})


def diff_access(
    resource_type: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, managed: bool = True
) -> AccessDiff:
    """Added and removed statements and rules of one resource, and whether the change widens or narrows."""
    old, new = policy_statements(resource_type, before), policy_statements(resource_type, after)
    statements = [s.row("removed") for s in old if s not in new] + [s.row("added") for s in new if s not in old]
    old_rules, new_rules = security_rules(resource_type, before), security_rules(resource_type, after)
    rules = [r.row("removed") for r in old_rules if r not in new_rules]
    rules += [r.row("added") for r in new_rules if r not in old_rules]
    new_allow, old_allow = _atoms(new, "Allow"), _atoms(old, "Allow")
    new_deny, old_deny = _atoms(new, "Deny"), _atoms(old, "Deny")
    granted = _said(a for a in new_allow if not _covered(a, old_allow))
    granted += _said((a for a in old_deny if not _covered(a, new_deny)), deny=True)
    revoked = _said(a for a in old_allow if not _covered(a, new_allow))
    revoked += _said((a for a in new_deny if not _covered(a, old_deny)), deny=True)
    granted += [f"{r.direction} {r.protocol} {r.ports} {r.peer}" for r in rules if r.change == "added"]
    revoked += [f"{r.direction} {r.protocol} {r.ports} {r.peer}" for r in rules if r.change == "removed"]
    widens, narrows = bool(granted), bool(revoked)
    if managed and resource_type in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        arns_before = set(_strings((before or {}).get("ManagedPolicyArns")))
        arns_after = set(_strings((after or {}).get("ManagedPolicyArns")))
        granted += [f"managed policy {arn}" for arn in sorted(arns_after - arns_before)]
        revoked += [f"managed policy {arn}" for arn in sorted(arns_before - arns_after)]
        widens, narrows = bool(granted), bool(revoked)
    access = {
        (True, True): Access.BOTH,
        (True, False): Access.WIDENING,
        (False, True): Access.NARROWING,
        (False, False): Access.NONE,
    }[(widens, narrows)]
    return AccessDiff(statements, rules, access, granted, revoked)


def statement_key(row: StatementChange) -> str:
    """A stable sort key, so plan.md lists statements in the same order every time."""
    return json.dumps([row.change, row.policy, row.effect, row.actions, row.resources])
