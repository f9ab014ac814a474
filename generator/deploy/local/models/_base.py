"""What every pipectl CloudFormation model for moto shares.

moto finds models through `CloudFormationModel.__subclasses__()`, which lists direct subclasses only,
so each model names `CloudFormationModel` itself as a base and takes the shared behaviour from this
plain mixin placed before it.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from generator.deploy.local.compat import UnformattedGetAttTemplateException


class PipectlModel:
    """Ref gives `physical_resource_id`; GetAtt reads `attributes`; updates replace unless overridden."""

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()
    NAME_PROPERTY: ClassVar[str] = ""

    physical_resource_id: str
    attributes: dict[str, Any]

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the backend resource; moto's engine calls this on stack deletion and removal."""

    @classmethod
    def stable_name(cls, original_name: str, new_resource_name: str, cloudformation_json: dict[str, Any]) -> str:
        """moto generates a fresh name on every update; AWS keeps the old one unless the template names it."""
        if cls.NAME_PROPERTY and cls.NAME_PROPERTY in props(cloudformation_json):
            return new_resource_name
        return original_name

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """Replacement: delete the old resource, create the new one (what AWS does for most changes)."""
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Unused: moto deletes through the instance's `delete`, which every model implements."""


def props(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = cloudformation_json.get("Properties") or {}
    return properties


def as_json_text(document: Any) -> str:
    """Policy documents arrive as objects from templates and as strings from some users."""
    return document if isinstance(document, str) else json.dumps(document)


def tag_list(tags: Any, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """CloudFormation tags as a list of {Key, Value}, whether given as a list or a map."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{key: str(k), value: str(v)} for k, v in tags.items()]
    return [{key: str(t["Key"]), value: str(t["Value"])} for t in tags]


def camel(value: Any, keep_values_of: frozenset[str] = frozenset()) -> Any:
    """CloudFormation's PascalCase keys to the API's camelCase, leaving free-form maps untouched."""
    if isinstance(value, list):
        return [camel(item, keep_values_of) for item in value]
    if not isinstance(value, dict):
        return value
    converted: dict[str, Any] = {}
    for key, item in value.items():
        new_key = key[:1].lower() + key[1:]
        converted[new_key] = item if key in keep_values_of else camel(item, keep_values_of)
    return converted
