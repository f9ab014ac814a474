"""WAFv2 web ACLs and their association with the collector's load balancer, in moto's WAFv2 backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel, tag_list


def _backend(account_id: str, region_name: str, scope: str = "REGIONAL") -> Any:
    """CLOUDFRONT-scoped ACLs live in us-east-1, as on AWS."""
    return backend("wafv2", account_id, "us-east-1" if scope == "CLOUDFRONT" else region_name)


def _settings(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "default_action": p["DefaultAction"],
        "rules": p.get("Rules", []),
        "description": p.get("Description", ""),
        "visibility_config": p["VisibilityConfig"],
        "custom_response_bodies": p.get("CustomResponseBodies"),
        "captcha_config": p.get("CaptchaConfig"),
        "challenge_config": p.get("ChallengeConfig"),
        "token_domains": p.get("TokenDomains"),
        "association_config": p.get("AssociationConfig"),
    }


class PipectlWebACL(PipectlModel):
    """Ref is `name|id|scope` as on AWS; rule and action changes are applied in place."""

    TYPE = "AWS::WAFv2::WebACL"

    ATTRIBUTES = ("Arn", "Capacity", "Id", "LabelNamespace")
    NAME_PROPERTY = "Name"

    def __init__(self, name: str, acl_id: str, scope: str, arn: str, account_id: str) -> None:
        self.name = name
        self.acl_id = acl_id
        self.scope = scope
        self.arn = arn
        self.physical_resource_id = f"{name}|{acl_id}|{scope}"
        self.attributes = {
            "Arn": arn,
            "Capacity": 0,
            "Id": acl_id,
            "LabelNamespace": f"awswaf:{account_id}:webacl:{name}:",
        }

    @classmethod
    def create(cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str) -> PipectlWebACL:
        p = properties
        scope = p["Scope"]
        acl = _backend(account_id, region_name, scope).create_web_acl(
            name=resource_name, scope=scope, tags=tag_list(p.get("Tags")), **_settings(p)
        )
        return cls(acl.name, acl.id, scope, acl.arn, account_id)

    def update(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> PipectlWebACL | None:
        """Rules and actions in place; a new name or scope replaces the ACL."""
        if (name, properties["Scope"]) != (self.name, self.scope):
            return None
        backend = _backend(account_id, region_name, self.scope)
        acl = backend.get_web_acl(self.arn, None, None)
        backend.update_web_acl(name=acl.name, _id=acl.id, lock_token=acl.lock_token, **_settings(properties))
        return self

    def current_name(self) -> str:
        return self.name

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name, self.scope)
        acl = backend.get_web_acl(self.arn, None, None)
        backend.delete_web_acl(acl.name, self.scope, acl.id, acl.lock_token)


class PipectlWebACLAssociation(PipectlModel):
    """Ref is `<resource arn>|<web acl arn>`; deleting disassociates the resource."""

    TYPE = "AWS::WAFv2::WebACLAssociation"

    def __init__(self, resource_arn: str, web_acl_arn: str) -> None:
        self.resource_arn = resource_arn
        self.physical_resource_id = f"{resource_arn}|{web_acl_arn}"
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlWebACLAssociation:
        p = properties
        _backend(account_id, region_name).associate_web_acl(p["WebACLArn"], p["ResourceArn"])
        return cls(p["ResourceArn"], p["WebACLArn"])

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).disassociate_web_acl(self.resource_arn)
