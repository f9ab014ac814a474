"""CloudFront in moto's global backend: the console's distribution and its origin access control; cache
and response headers policies, which moto lacks, recorded (a distribution naming one that does not
exist fails, as on AWS)."""

from __future__ import annotations

import hashlib
from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel
from generator.deploy.local.models.recorded import forget, record, recorded_resources

CACHE_POLICY = "AWS::CloudFront::CachePolicy"
HEADERS_POLICY = "AWS::CloudFront::ResponseHeadersPolicy"
GLOBAL = "global"  # moto keeps CloudFront, a global service, under this region


def _backend(account_id: str) -> Any:
    return backend("cloudfront", account_id, GLOBAL)


def _policy_id(account_id: str, kind: str, name: str) -> str:
    return hashlib.sha256(f"{account_id}/{kind}/{name}".encode()).hexdigest()[:8] + "-pipectl-local"


class PipectlOriginAccessControl(PipectlModel):
    TYPE = "AWS::CloudFront::OriginAccessControl"
    ATTRIBUTES = ("Id",)

    def __init__(self, control_id: str) -> None:
        self.physical_resource_id = control_id
        self.attributes = {"Id": control_id}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlOriginAccessControl:
        control = _backend(account_id).create_origin_access_control(dict(properties["OriginAccessControlConfig"]))
        return cls(control.id)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlOriginAccessControl | None:
        _backend(account_id).update_origin_access_control(
            self.physical_resource_id, dict(properties["OriginAccessControlConfig"])
        )
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        if self.physical_resource_id in _backend(account_id).origin_access_controls:
            _backend(account_id).delete_origin_access_control(self.physical_resource_id)


class _RecordedPolicy(PipectlModel):
    """Recorded (moto has no API for it); Ref and Id are its id."""

    ABSTRACT_MODEL = True
    CONFIG = ""
    ATTRIBUTES = ("Id", "LastModifiedTime")

    def __init__(self, policy_id: str) -> None:
        self.physical_resource_id = policy_id
        self.attributes = {"Id": policy_id, "LastModifiedTime": "2026-01-01T00:00:00Z"}

    @classmethod
    def create(cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        name = properties[cls.CONFIG]["Name"]
        policy_id = _policy_id(account_id, cls.TYPE, name)
        if policy_id in recorded_resources(account_id, GLOBAL, cls.TYPE):
            raise ValueError(f"{cls.TYPE}: a policy named {name} already exists")
        record(account_id, GLOBAL, cls.TYPE, policy_id, properties)
        return cls(policy_id)

    def update(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        record(account_id, GLOBAL, self.TYPE, self.physical_resource_id, properties)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, GLOBAL, self.TYPE, self.physical_resource_id)


class PipectlCachePolicy(_RecordedPolicy):
    ABSTRACT_MODEL = False
    TYPE = CACHE_POLICY
    CONFIG = "CachePolicyConfig"


class PipectlResponseHeadersPolicy(_RecordedPolicy):
    ABSTRACT_MODEL = False
    TYPE = HEADERS_POLICY
    CONFIG = "ResponseHeadersPolicyConfig"


def _items(values: list[Any] | None, convert: Any = lambda v: v) -> dict[str, Any]:
    found = [convert(v) for v in values or []]
    return {"Quantity": len(found), "Items": found} if found else {"Quantity": 0}


def _config(name: str, p: dict[str, Any], account_id: str) -> dict[str, Any]:
    """CloudFormation's DistributionConfig in the shape of CloudFront's API, as moto's backend takes it,
    after checking that what it names (policies, origin access controls) exists."""
    behavior = dict(p["DefaultCacheBehavior"])
    for key, kind in (("CachePolicyId", CACHE_POLICY), ("ResponseHeadersPolicyId", HEADERS_POLICY)):
        if key in behavior and behavior[key] not in recorded_resources(account_id, GLOBAL, kind):
            raise ValueError(f"distribution {name}: no {kind} {behavior[key]}")
    controls = _backend(account_id).origin_access_controls
    for origin in p["Origins"]:
        control = origin.get("OriginAccessControlId")
        if control and control not in controls:
            raise ValueError(f"distribution {name}: no origin access control {control}")
    behavior["AllowedMethods"] = _items(behavior.get("AllowedMethods"))
    config: dict[str, Any] = {
        "CallerReference": name,
        "Comment": p.get("Comment", ""),
        "Enabled": p["Enabled"],
        "DefaultRootObject": p.get("DefaultRootObject", ""),
        "Origins": {"Quantity": len(p["Origins"]), "Items": [dict(o) for o in p["Origins"]]},
        "DefaultCacheBehavior": behavior,
        "CustomErrorResponses": _items(p.get("CustomErrorResponses")),
        "PriceClass": p.get("PriceClass", "PriceClass_All"),
        "HttpVersion": p.get("HttpVersion", "http2"),
        "IsIPV6Enabled": p.get("IPV6Enabled", True),
        "ViewerCertificate": dict(p.get("ViewerCertificate") or {}),
    }
    if p.get("Aliases"):
        config["Aliases"] = {"Items": list(p["Aliases"])}
    return config


class PipectlDistribution(PipectlModel):
    TYPE = "AWS::CloudFront::Distribution"
    ATTRIBUTES = ("DomainName", "Id")

    def __init__(self, distribution_id: str, domain_name: str) -> None:
        self.physical_resource_id = distribution_id
        self.attributes = {"DomainName": domain_name, "Id": distribution_id}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlDistribution:
        config = _config(resource_name, properties["DistributionConfig"], account_id)
        distribution, _, _ = _backend(account_id).create_distribution(config, properties.get("Tags") or [])
        return cls(distribution.distribution_id, distribution.domain_name)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlDistribution | None:
        """In place, as on AWS: the id and domain name survive a new origin path or policy."""
        config = _config(name, properties["DistributionConfig"], account_id)
        _backend(account_id).update_distribution(config, self.physical_resource_id, True)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        distributions = _backend(account_id).distributions
        if self.physical_resource_id in distributions:
            distributions.pop(self.physical_resource_id)  # AWS first disables it; the local target drops it
