"""The base class of every pipectl CloudFormation model for moto: create, update (in place, or by
replacement when the name changes), delete.

A model names its type in `TYPE` and writes `create`, `delete` and, where AWS updates in place,
`update`; moto's entry points (`create_from_cloudformation_json` …) live here once. moto lists only
direct subclasses of CloudFormationModel; `compat.model_list()` looks through this abstract base.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Self

from generator.deploy.local.compat import CloudFormationModel, UnformattedGetAttTemplateException


class PipectlModel(CloudFormationModel):
    """Ref gives `physical_resource_id`; GetAtt reads `attributes`; updates replace unless `update` says otherwise."""

    ABSTRACT_MODEL: ClassVar[bool] = True
    TYPE: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()
    NAME_PROPERTY: ClassVar[str] = ""

    physical_resource_id: str
    attributes: dict[str, Any]

    # --- what each model writes ------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        """Create the backend resource named `name` (CloudFormation's or the template's name)."""
        raise NotImplementedError(cls.TYPE)

    def update(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> Self | None:
        """Apply `properties` in place and return the resource, or None to replace it (the default)."""
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        """Remove the backend resource; moto's engine calls this on stack deletion and removal."""

    def current_name(self) -> str:
        """The name a rename is compared with."""
        return self.physical_resource_id

    # --- moto's entry points ---------------------------------------------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

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

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        return cls.create(resource_name, props(cloudformation_json), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        """In place where the model can and the name stays; otherwise delete the old and create the new.

        moto generates a fresh name on every update; AWS keeps the old one unless the template names it.
        """
        properties = props(cloudformation_json)
        name = new_resource_name if cls.NAME_PROPERTY and cls.NAME_PROPERTY in properties else None
        if name is None or name == original_resource.current_name():
            updated = original_resource.update(original_resource.current_name(), properties, account_id, region_name)
            if updated is not None:
                return updated
        original_resource.delete(account_id, region_name)
        return cls.create(name or new_resource_name, properties, account_id, region_name)

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
