"""The CloudFormation execution role's permissions, derived from the execution permissions table.

Every action a handler of an emitted resource type calls is granted. An action that acts on IAM resource
types is granted on those types' ARNs, with the name part `pipectl-*` where CloudFormation names the
resource after its stack (or pipectl names it so), and any id in this account where the name is an id
AWS assigns (key ids, VPC and subnet ids). `Resource: "*"` is used only for actions the Service
Authorization Reference lists with no resource type: IAM matches those only with `*`. Role, pass-role,
key-administration and client-secret actions are granted apart, under the conditions and next to the
explicit denies of `guardrails.py` (the permissions boundary, pipectl's tags, the control plane). The grants are
split, deterministically, into managed policies within IAM's quotas.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from awacs.aws import Action, Allow, Condition, PolicyDocument, Statement, StringEquals
from troposphere import Sub, encode_to_dict

from generator.contract import STACK_PREFIX as STACK_PREFIX
from generator.policy.guardrails import CONDITIONED_ACTIONS, conditioned_grants, denials
from generator.policy.permissions import PermissionsTable, load_table

VERSION = "2012-10-17"

MANAGED_POLICY_MAX_CHARS = 6144
"""IAM's quota for one managed policy, counted without whitespace."""
MANAGED_POLICIES_PER_ROLE = 10
ANY_RESOURCE_REASON = "the Service Authorization Reference lists no resource type for these actions"

# ARN variables that hold a name pipectl's stacks choose: CloudFormation's generated names start with
# the stack name (`pipectl-…`), and pipectl names its resources so too. Every other variable is an id
# AWS assigns (or a resource pipectl does not name) and matches any value in this account.
NAMED: dict[str, tuple[str, ...]] = {
    "BucketName": (f"{STACK_PREFIX}*",),
    # Roles pipectl's stacks create, and the service-linked roles resources name (a scalable target's RoleARN).
    "RoleNameWithPath": (f"{STACK_PREFIX}*", "aws-service-role/*"),
    "InstanceProfileNameWithPath": (f"{STACK_PREFIX}*",),
    "FunctionName": (f"{STACK_PREFIX}*",),
    "StreamName": (f"{STACK_PREFIX}*",),
    "DeliveryStreamName": (f"{STACK_PREFIX}*",),
    "QueueName": (f"{STACK_PREFIX}*",),
    "TopicName": (f"{STACK_PREFIX}*",),
    "TableName": (f"{STACK_PREFIX}*",),
    "ClusterName": (f"{STACK_PREFIX}*",),
    "StateMachineName": (f"{STACK_PREFIX}*",),
    "DashboardName": (f"{STACK_PREFIX}*",),
    "AlarmName": (f"{STACK_PREFIX}*",),
    "RuleName": (f"{STACK_PREFIX}*",),
    "ScheduleName": (f"{STACK_PREFIX}*",),
    "PipelineName": (f"{STACK_PREFIX}*",),
    "Alias": ("pipectl/*",),
    # Log groups: pipectl's own (`/pipectl/…`), those AWS services name after a pipectl resource
    # (`/aws/lambda/pipectl-…`, `/aws/ecs/containerinsights/pipectl-…`, `/aws/vendedlogs/states/pipectl/…`,
    # `/aws/codebuild/pipectl-…`), the AppSync API's (named by its id) and CloudFormation's generated names.
    "LogGroupName": (f"{STACK_PREFIX}*", "/pipectl/*", "/aws/*pipectl*", "/aws/appsync/apis/*"),
}
# IAM accepts an `iam` resource only with its type (`role/…`, `policy/…`), never `arn:…:iam::ACCOUNT:*`.
UNCOLLAPSED_SERVICES = frozenset({"iam"})
# Resources AWS owns that pipectl's templates read: the public SSM parameters (the ECS-optimized AMI id),
# whose ARNs carry no account.
AWS_OWNED: dict[str, tuple[str, ...]] = {"ssm:parameter": ("arn:${AWS::Partition}:ssm:*::parameter/aws/service/*",)}
FIXED = {"Partition": "${AWS::Partition}", "Region": "*", "Account": "${AWS::AccountId}"}
_VARIABLE = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class Grant:
    """Actions granted on the same resources, with the reason when those are `*`."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str = ""


def resource_patterns(arn_format: str, collapse: bool = True) -> tuple[str, ...]:
    """The `Fn::Sub` patterns of pipectl's resources of one IAM resource type (an id part matches any)."""
    patterns = [""]
    last = 0
    for match in _VARIABLE.finditer(arn_format):
        literal = arn_format[last : match.start()]
        name = match.group(1)
        choices = (_TOKENS[name],) if name in _TOKENS else NAMED.get(name, ("*",))
        patterns = [p + literal + c for p in patterns for c in choices]
        last = match.end()
    patterns = [p + arn_format[last:] for p in patterns]
    patterns = [_collapse(p) if collapse else p for p in patterns]
    return tuple(
        dict.fromkeys(
            p.replace(_TOKENS["Partition"], FIXED["Partition"]).replace(_TOKENS["Account"], FIXED["Account"])
            for p in patterns
        )
    )


_TOKENS = {"Partition": "PARTITION", "Region": "*", "Account": "ACCOUNT"}


def _collapse(pattern: str) -> str:
    """`arn:P:ec2:*:ACCOUNT:vpc/*` and its siblings become one `arn:P:ec2:*:ACCOUNT:*`.

    Only patterns whose resource part holds no name restriction collapse, so nothing named pipectl-*
    is widened; a pattern without an account (public AMIs, buckets) keeps its own shape.
    """
    parts = pattern.split(":", 5)
    if len(parts) < 6 or parts[4] != _TOKENS["Account"] or parts[2] in UNCOLLAPSED_SERVICES:
        return pattern
    if _is_named(parts[5]):
        return pattern
    return ":".join([*parts[:5], "*"])


def _without_regional_s3(patterns: set[str]) -> set[str]:
    """S3 grants on buckets and objects only: the regional S3 types (access points, access grants, Storage
    Lens groups) are nothing pipectl creates, and the local IAM refuses a region in an S3 ARN.
    """
    kept = {p for p in patterns if ":s3:*:" not in p}
    return kept or patterns


def _is_named(pattern: str) -> bool:
    return "pipectl" in pattern


def _subsumed(resources: set[str]) -> tuple[str, ...]:
    """Drop patterns that a service-wide `…:${AWS::AccountId}:*` pattern of the same grant covers."""
    wide = [r[:-1] for r in resources if r.endswith(f":{FIXED['Account']}:*")]
    return tuple(sorted(r for r in resources if not any(r != w + "*" and r.startswith(w) for w in wide)))


def _camel(service: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", service) if part)


def grants(table: PermissionsTable | None = None) -> list[Grant]:
    """Every table action, grouped per service by the resources it is granted on; sorted, stable Sids."""
    table = table or load_table()
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for action in table.all_actions():
        if action in CONDITIONED_ACTIONS:
            continue  # granted by guardrails.conditioned_grants(), each under its condition
        service = action.split(":")[0]
        types = table.resource_types(action)
        patterns = {p for rt in types for p in resource_patterns(rt.arn)}
        if any(_is_named(p) for p in patterns):
            # The action reaches a resource pipectl names: keep every type's own pattern, widen none.
            patterns = {p for rt in types for p in resource_patterns(rt.arn, collapse=False)}
        patterns |= {p for rt in types for p in AWS_OWNED.get(f"{service}:{rt.name}", ())}
        resources = _subsumed(_without_regional_s3(patterns))
        groups[(service, resources or ("*",))].append(action)
    out: list[Grant] = []
    counters: dict[str, int] = defaultdict(int)
    for (service, resources), actions in sorted(groups.items()):
        if resources == ("*",):
            out.append(Grant(f"{_camel(service)}NoResourceType", tuple(actions), resources, ANY_RESOURCE_REASON))
            continue
        counters[service] += 1
        out.append(Grant(f"{_camel(service)}OnPipectlResources{counters[service]}", tuple(actions), resources))
    return out


def _statement(grant: Grant) -> Statement:
    service_actions = [Action(*a.split(":", 1)) for a in grant.actions]
    resources: list[Any] = [r if "${" not in r else Sub(r) for r in grant.resources]
    return Statement(Sid=grant.sid, Effect=Allow, Action=service_actions, Resource=resources)


def _service_linked_roles() -> Statement:
    """Services create their service-linked role the first time an account uses them."""
    return Statement(
        Sid="CreateServiceLinkedRolesOnFirstUse",
        Effect=Allow,
        Action=[Action("iam", "CreateServiceLinkedRole")],
        Resource=[Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*")],
        Condition=Condition(StringEquals({"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)})),
    )


SERVICE_LINKED_ROLES = (
    "autoscaling.amazonaws.com",
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
)


def resolved_documents(
    account_id: str, partition: str = "aws", hosted_zones: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The execution policies as IAM stores them once CloudFormation resolved `Fn::Sub` in an account."""
    values = {"${AWS::Partition}": partition, "${AWS::AccountId}": account_id}
    documents = execution_policy_documents(hosted_zones=hosted_zones)
    return [_substituted(encode_to_dict(document), values) for document in documents]


def _substituted(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for placeholder, replacement in values.items():
                text = text.replace(placeholder, replacement)
            return text
        return {k: _substituted(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, values) for v in value]
    return value


def policy_chars(document: PolicyDocument) -> int:
    """Characters IAM counts for a managed policy: the resolved JSON without whitespace.

    `${AWS::Partition}` and `${AWS::AccountId}` are counted at their longest resolved length
    (`aws-us-gov`, 12 digits), so the estimate never falls short.
    """
    longest = {"${AWS::Partition}": "aws-us-gov", "${AWS::AccountId}": "0" * 12}
    text = json.dumps(_substituted(encode_to_dict(document), longest), separators=(",", ":"))
    return len(re.sub(r"\s", "", text))


class PolicyTooLarge(ValueError):
    """The execution role's grants do not fit in IAM's managed-policy quotas."""


def _chunks(grant: Grant, budget: int) -> list[Statement]:
    """One statement, or the grant split by actions into statements that each fit an empty policy."""
    whole = _statement(grant)
    if policy_chars(PolicyDocument(Version=VERSION, Statement=[whole])) <= budget:
        return [whole]
    pieces: list[Statement] = []
    current: list[str] = []
    for action in grant.actions:
        trial = Grant(f"{grant.sid}Part{len(pieces) + 1}", (*current, action), grant.resources, grant.reason)
        if current and policy_chars(PolicyDocument(Version=VERSION, Statement=[_statement(trial)])) > budget:
            done = Grant(f"{grant.sid}Part{len(pieces) + 1}", tuple(current), grant.resources, grant.reason)
            pieces.append(_statement(done))
            current = [action]
        else:
            current.append(action)
    pieces.append(_statement(Grant(f"{grant.sid}Part{len(pieces) + 1}", tuple(current), grant.resources)))
    return pieces


def execution_policy_documents(
    table: PermissionsTable | None = None, hosted_zones: tuple[str, ...] = ()
) -> list[PolicyDocument]:
    """The execution role's managed policies: each within 6,144 characters, at most ten, in a stable order.

    Statements are placed first-fit in Sid order, so the same table always gives the same documents.
    """
    statements = [_service_linked_roles(), *conditioned_grants(hosted_zones), *denials()]
    for grant in grants(table):
        statements.extend(_chunks(grant, MANAGED_POLICY_MAX_CHARS))
    documents: list[list[Statement]] = []
    for statement in statements:
        for placed in documents:
            trial = PolicyDocument(Version=VERSION, Statement=[*placed, statement])
            if policy_chars(trial) <= MANAGED_POLICY_MAX_CHARS:
                placed.append(statement)
                break
        else:
            documents.append([statement])
    if len(documents) > MANAGED_POLICIES_PER_ROLE:
        raise PolicyTooLarge(
            f"the execution role needs {len(documents)} managed policies, IAM attaches at most "
            f"{MANAGED_POLICIES_PER_ROLE} to a role"
        )
    return [PolicyDocument(Version=VERSION, Statement=placed) for placed in documents]
