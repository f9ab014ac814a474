"""KMS aliases in moto's KMS backend, with the rules KMS applies to their names.

moto's own CloudFormation model creates an alias without the checks its API makes: a second stack
declaring an alias another key already holds would succeed locally and fail on AWS. Here, as in KMS's
CreateAlias, a name must start with `alias/`, may not be in the reserved `alias/aws/` space, may hold
only letters, digits, `/`, `_` and `-`, and must be free in the account and region; the target key
must exist. A new target key is an update in place (UpdateAlias); a new name replaces the alias.
"""

from __future__ import annotations

import re
from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel

NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")
RESERVED = "alias/aws/"


class PipectlKmsAlias(PipectlModel):
    """Ref is the alias name; an alias has no GetAtt attributes."""

    TYPE = "AWS::KMS::Alias"
    NAME_PROPERTY = "AliasName"

    def __init__(self, name: str, target: str) -> None:
        self.physical_resource_id = name
        self.target = target
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlKmsAlias:
        name = str(properties.get("AliasName", ""))
        if not NAME.match(name):
            raise ValueError(f"AliasName: expected alias/ followed by letters, digits, / _ or -, found {name!r}")
        if name.startswith(RESERVED):
            raise ValueError(f"AliasName: {name} is in the reserved alias/aws/ space (NotAuthorizedException)")
        kms = backend("kms", account_id, region_name)
        target = _key_id(kms, str(properties.get("TargetKeyId", "")))
        if kms.get_key_id_from_alias(name) is not None:
            arn = f"arn:aws:kms:{region_name}:{account_id}:{name}"
            raise ValueError(f"An alias with the name {arn} already exists (AlreadyExistsException)")
        kms.create_alias(target, name)
        return cls(name, target)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlKmsAlias | None:
        kms = backend("kms", account_id, region_name)
        target = _key_id(kms, str(properties.get("TargetKeyId", "")))
        if target != self.target:
            kms.update_alias(target, name)
            self.target = target
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        backend("kms", account_id, region_name).delete_alias(self.physical_resource_id)


def _key_id(kms: Any, target: str) -> str:
    """The id of the key `target` names (an id or an ARN), which must exist, as KMS requires."""
    key_id = kms.get_key_id(target)
    if key_id not in kms.keys:
        raise ValueError(f"TargetKeyId: expected an existing KMS key, found {target!r} (NotFoundException)")
    return str(key_id)
