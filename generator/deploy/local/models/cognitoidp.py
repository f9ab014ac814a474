"""Cognito user pools, clients, domains and users (the console's sign-in) in moto's cognito-idp backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel


def _backend(account_id: str, region_name: str) -> Any:
    return backend("cognito-idp", account_id, region_name)


def _pool_exists(account_id: str, region_name: str, pool_id: str) -> bool:
    """moto deletes a stack's resources in any order; what went with its pool is already gone."""
    return pool_id in _backend(account_id, region_name).user_pools


class PipectlUserPool(PipectlModel):
    TYPE = "AWS::Cognito::UserPool"
    ATTRIBUTES = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    NAME_PROPERTY = "UserPoolName"

    def __init__(self, pool_id: str, arn: str, region_name: str) -> None:
        self.physical_resource_id = pool_id
        provider = f"cognito-idp.{region_name}.amazonaws.com/{pool_id}"
        self.attributes = {
            "Arn": arn,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool_id,
        }

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPool:
        config = _pool_config(properties)
        pool = _backend(account_id, region_name).create_user_pool(resource_name, config)
        return cls(pool.id, pool.arn, region_name)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPool | None:
        """In place, as on AWS: a new pool would lose every user."""
        _backend(account_id, region_name).update_user_pool(self.physical_resource_id, _pool_config(properties))
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_user_pool(self.physical_resource_id)


def _pool_config(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if key != "UserPoolName"}


class PipectlUserPoolClient(PipectlModel):
    TYPE = "AWS::Cognito::UserPoolClient"
    ATTRIBUTES = ("ClientId", "ClientSecret", "Name")

    def __init__(self, pool_id: str, client_id: str, name: str, secret: str) -> None:
        self.physical_resource_id = client_id
        self.pool_id = pool_id
        self.attributes = {"ClientId": client_id, "ClientSecret": secret, "Name": name}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolClient:
        pool_id = properties["UserPoolId"]
        config = _client_config(properties, resource_name)
        client = _backend(account_id, region_name).create_user_pool_client(
            pool_id, bool(properties.get("GenerateSecret", False)), config
        )
        secret = client.secret if client.generate_secret else ""
        return cls(pool_id, client.id, config["ClientName"], secret)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolClient | None:
        """In place, unless the pool or the secret setting changes (both replace the client on AWS)."""
        same_pool = properties["UserPoolId"] == self.pool_id
        same_secret = bool(properties.get("GenerateSecret", False)) == bool(self.attributes["ClientSecret"])
        if not (same_pool and same_secret):
            return None
        config = _client_config(properties, name)
        _backend(account_id, region_name).update_user_pool_client(self.pool_id, self.physical_resource_id, config)
        self.attributes["Name"] = config["ClientName"]
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        if _pool_exists(account_id, region_name, self.pool_id):
            _backend(account_id, region_name).delete_user_pool_client(self.pool_id, self.physical_resource_id)


def _client_config(properties: dict[str, Any], default_name: str) -> dict[str, Any]:
    config = {k: v for k, v in properties.items() if k not in ("UserPoolId", "GenerateSecret")}
    config.setdefault("ClientName", default_name)
    return config


class PipectlUserPoolDomain(PipectlModel):
    TYPE = "AWS::Cognito::UserPoolDomain"
    ATTRIBUTES = ("CloudFrontDistribution",)

    def __init__(self, domain: str, distribution: str) -> None:
        self.physical_resource_id = domain
        self.attributes = {"CloudFrontDistribution": distribution}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolDomain:
        domain = _backend(account_id, region_name).create_user_pool_domain(
            properties["UserPoolId"], properties["Domain"], properties.get("CustomDomainConfig")
        )
        return cls(domain.domain, domain._distribution_name())

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if self.physical_resource_id in backend.user_pool_domains:
            backend.delete_user_pool_domain(self.physical_resource_id)


class PipectlUserPoolUser(PipectlModel):
    """An invited user (the console's first administrator); replaced on any change, as on AWS."""

    TYPE = "AWS::Cognito::UserPoolUser"

    def __init__(self, pool_id: str, username: str) -> None:
        self.physical_resource_id = username
        self.pool_id = pool_id
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolUser:
        pool_id = properties["UserPoolId"]
        user = _backend(account_id, region_name).admin_create_user(
            pool_id,
            properties.get("Username", resource_name),
            properties.get("MessageAction", ""),
            "",
            properties.get("UserAttributes", []),
        )
        return cls(pool_id, user.username)

    def delete(self, account_id: str, region_name: str) -> None:
        if _pool_exists(account_id, region_name, self.pool_id):
            _backend(account_id, region_name).admin_delete_user(self.pool_id, self.physical_resource_id)


class PipectlUserPoolGroup(PipectlModel):
    """A group (the console's admins); its name is its Ref. Description and precedence change in place,
    a new name or pool replaces it, as on AWS."""

    TYPE = "AWS::Cognito::UserPoolGroup"

    def __init__(self, pool_id: str, name: str) -> None:
        self.physical_resource_id = name
        self.pool_id = pool_id
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolGroup:
        pool_id = properties["UserPoolId"]
        group = _backend(account_id, region_name).create_group(
            pool_id,
            properties.get("GroupName", resource_name),
            properties.get("Description"),
            properties.get("RoleArn"),
            properties.get("Precedence"),
        )
        return cls(pool_id, group.group_name)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolGroup | None:
        same = properties["UserPoolId"] == self.pool_id and properties.get("GroupName", name) == name
        if not same:
            return None
        _backend(account_id, region_name).update_group(
            self.pool_id, name, properties.get("Description"), properties.get("RoleArn"), properties.get("Precedence")
        )
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        if _pool_exists(account_id, region_name, self.pool_id):
            backend = _backend(account_id, region_name)
            if self.physical_resource_id in backend.user_pools[self.pool_id].groups:
                backend.delete_group(self.pool_id, self.physical_resource_id)


class PipectlUserPoolUserToGroupAttachment(PipectlModel):
    """A user's membership of a group (the first administrator in admins); replaced on any change."""

    TYPE = "AWS::Cognito::UserPoolUserToGroupAttachment"

    def __init__(self, pool_id: str, group: str, username: str) -> None:
        self.physical_resource_id = f"{pool_id}-{group}-{username}"
        self.pool_id = pool_id
        self.group = group
        self.username = username
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlUserPoolUserToGroupAttachment:
        pool_id, group, username = properties["UserPoolId"], properties["GroupName"], properties["Username"]
        _backend(account_id, region_name).admin_add_user_to_group(pool_id, group, username)
        return cls(pool_id, group, username)

    def delete(self, account_id: str, region_name: str) -> None:
        if not _pool_exists(account_id, region_name, self.pool_id):
            return
        group = _backend(account_id, region_name).user_pools[self.pool_id].groups.get(self.group)
        if group is not None:  # the user may be gone already: membership is dropped from the group's side
            for user in [u for u in group.users if self.username in (u.username, _email(u))]:
                group.users.discard(user)
                user.groups.discard(group)


def _email(user: Any) -> str | None:
    return next((a["Value"] for a in user.attributes if a["Name"] == "email"), None)
