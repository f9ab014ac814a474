"""E9009: no plain-text secret in parameters, environment variables or container definitions.

Why: template bodies, parameter values and environment variables are readable by anyone who can
describe the stack, function or task definition, and end up in build artifacts and plan files.

Detection: a parameter, variable or container environment entry whose name looks like a secret
(secret, password, passwd, token, api key, private key, credential) is a finding when its value can
be read in clear: a literal string, or a `Ref` to a parameter without `NoEcho`. A Secrets Manager or
SSM dynamic reference (`{{resolve:...}}`), a `NoEcho` parameter, or a reference to another resource
(its ARN or name, such as `SECRET_ARN`) is fine. A `NoEcho` parameter with a `Default` is a finding:
the default is in the template in clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.policy.rules._template import as_list, is_dynamic_reference, of_type, properties

SECRET_NAME = re.compile(r"secret|passw(or)?d|token|api[_-]?key|private[_-]?key|credential", re.IGNORECASE)
# Names that say the value points at a secret rather than holding one.
POINTER_SUFFIX = re.compile(r"(_|-)?(arn|name|id|path|parameter|secret_id)$", re.IGNORECASE)
PLAINTEXT_TYPES = ("PLAINTEXT", None)


def looks_secret(name: Any) -> bool:
    return isinstance(name, str) and bool(SECRET_NAME.search(name)) and not POINTER_SUFFIX.search(name)


def _readable(value: Any, parameters: dict[str, Any]) -> bool:
    """The value can be read in clear by whoever can read the resource."""
    if isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return bool(value) and not is_dynamic_reference(value)
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in parameters:
        parameter = parameters[value["Ref"]]
        return not (isinstance(parameter, dict) and str(parameter.get("NoEcho")).lower() == "true")
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return "${" not in value["Fn::Sub"] and not is_dynamic_reference(value["Fn::Sub"])
    return False


def _variables(template: dict[str, Any]) -> Iterator[tuple[list[str | int], Any, Any]]:
    """(path, name, value) of every environment variable the template sets."""
    for logical_id, body in of_type(template, "AWS::Lambda::Function"):
        env = properties(body).get("Environment")
        variables = env.get("Variables") if isinstance(env, dict) else None
        for name, value in (variables or {}).items():
            yield ["Resources", logical_id, "Properties", "Environment", "Variables", name], name, value
    for logical_id, body in of_type(template, "AWS::ECS::TaskDefinition"):
        for c, container in enumerate(as_list(properties(body).get("ContainerDefinitions"))):
            for e, entry in enumerate(as_list(container.get("Environment") if isinstance(container, dict) else [])):
                if isinstance(entry, dict):
                    path: list[str | int] = ["Resources", logical_id, "Properties", "ContainerDefinitions", c]
                    yield [*path, "Environment", e], entry.get("Name"), entry.get("Value")
    for logical_id, body in of_type(template, "AWS::CodeBuild::Project"):
        env = properties(body).get("Environment")
        for e, entry in enumerate(as_list(env.get("EnvironmentVariables") if isinstance(env, dict) else [])):
            if isinstance(entry, dict) and entry.get("Type") in PLAINTEXT_TYPES:
                path = ["Resources", logical_id, "Properties", "Environment", "EnvironmentVariables", e]
                yield path, entry.get("Name"), entry.get("Value")


class PlaintextSecrets(CloudFormationLintRule):  # type: ignore[misc]
    """Secrets come from NoEcho parameters or Secrets Manager / SSM dynamic references only."""

    id = "E9009"
    shortdesc = "No plain-text secrets"
    description = "Secret-looking parameters are NoEcho without Default; secret-looking variables are not readable"
    tags: ClassVar[list[str]] = ["pipectl", "secrets"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        parameters = cfn.template.get("Parameters") or {}
        matches: list[RuleMatch] = []
        for name, parameter in parameters.items():
            if not looks_secret(name) or not isinstance(parameter, dict):
                continue
            if str(parameter.get("NoEcho")).lower() != "true":
                matches.append(
                    RuleMatch(["Parameters", name], f"parameter {name} looks like a secret but is not NoEcho")
                )
            elif "Default" in parameter and not is_dynamic_reference(parameter["Default"]):
                matches.append(
                    RuleMatch(["Parameters", name, "Default"], f"NoEcho parameter {name} has a Default in clear")
                )
        for path, name, value in _variables(cfn.template):
            if looks_secret(name) and _readable(value, parameters):
                matches.append(
                    RuleMatch(path, f"variable {name} holds a secret in clear: use Secrets or a dynamic reference")
                )
        return matches
