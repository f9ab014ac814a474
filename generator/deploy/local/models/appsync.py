"""AppSync GraphQL APIs and schemas in moto's backend; data sources and resolvers, which moto lacks, recorded."""

from __future__ import annotations

import hashlib
from typing import Any

from generator.deploy.local.compat import backend, get_partition
from generator.deploy.local.models._base import PipectlModel, camel
from generator.deploy.local.models.recorded import forget, record, recorded_resources

DATA_SOURCE = "AWS::AppSync::DataSource"
RESOLVER = "AWS::AppSync::Resolver"
FUNCTION = "AWS::AppSync::FunctionConfiguration"


def _backend(account_id: str, region_name: str) -> Any:
    return backend("appsync", account_id, region_name)


def _require_api(account_id: str, region_name: str, api_id: str) -> None:
    if api_id not in _backend(account_id, region_name).graphql_apis:
        raise ValueError(f"no GraphQL API {api_id}")


def _api_arn(account_id: str, region_name: str, api_id: str) -> str:
    return f"arn:{get_partition(region_name)}:appsync:{region_name}:{account_id}:apis/{api_id}"


def _api_settings(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "log_config": camel(p.get("LogConfig")),
        "authentication_type": p["AuthenticationType"],
        "user_pool_config": camel(p.get("UserPoolConfig")),
        "open_id_connect_config": camel(p.get("OpenIDConnectConfig")),
        "additional_authentication_providers": camel(p.get("AdditionalAuthenticationProviders")),
        "xray_enabled": p.get("XrayEnabled", False),
        "lambda_authorizer_config": camel(p.get("LambdaAuthorizerConfig")),
    }


class PipectlGraphQLApi(PipectlModel):
    """Ref is the API ARN; URLs have the AWS shape (the local target serves no GraphQL)."""

    TYPE = "AWS::AppSync::GraphQLApi"

    ATTRIBUTES = (
        "ApiId", "Arn", "GraphQLDns", "GraphQLEndpointArn", "GraphQLUrl", "RealtimeDns", "RealtimeUrl",
    )  # fmt: skip
    NAME_PROPERTY = "Name"

    def __init__(self, api_id: str, arn: str, region_name: str) -> None:
        self.physical_resource_id = arn
        self.api_id = api_id
        host = f"{api_id}.appsync-api.{region_name}.amazonaws.com"
        realtime = f"{api_id}.appsync-realtime-api.{region_name}.amazonaws.com"
        self.attributes = {
            "ApiId": api_id,
            "Arn": arn,
            "GraphQLDns": host,
            "GraphQLEndpointArn": arn,
            "GraphQLUrl": f"https://{host}/graphql",
            "RealtimeDns": realtime,
            "RealtimeUrl": f"wss://{realtime}/graphql",
        }

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlGraphQLApi:
        p = properties
        tags = {t["Key"]: t["Value"] for t in p.get("Tags", [])}
        api = _backend(account_id, region_name).create_graphql_api(
            name=resource_name, tags=tags, visibility=p.get("Visibility", "GLOBAL"), **_api_settings(p)
        )
        return cls(api.api_id, api.arn, region_name)

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlGraphQLApi | None:
        """In place, as on AWS: the API id (and so its URL) survives a change of settings."""
        _backend(account_id, region_name).update_graphql_api(
            api_id=self.api_id,
            name=name,
            **_api_settings(properties),
        )
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_graphql_api(self.api_id)


class PipectlGraphQLSchema(PipectlModel):
    TYPE = "AWS::AppSync::GraphQLSchema"

    def __init__(self, api_id: str) -> None:
        self.physical_resource_id = f"{api_id}GraphQLSchema"
        self.api_id = api_id
        self.attributes = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlGraphQLSchema:
        p = properties
        if "Definition" not in p:
            raise ValueError("the local target supports GraphQLSchema.Definition only, not an S3 location")
        definition = str(p["Definition"]).encode()  # moto decodes the API's bytes itself
        _backend(account_id, region_name).start_schema_creation(p["ApiId"], definition)
        return cls(p["ApiId"])

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlGraphQLSchema | None:
        """A new definition replaces the API's schema in place."""
        return self.create(name, properties, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _backend(account_id, region_name).graphql_apis.get(self.api_id)
        if api is not None:
            api.graphql_schema = None


class PipectlDataSource(PipectlModel):
    """Recorded (moto has no data-source API); Ref is the data source ARN."""

    ATTRIBUTES = ("DataSourceArn", "Name")

    @staticmethod
    def cloudformation_type() -> str:
        return DATA_SOURCE

    def __init__(self, arn: str, name: str) -> None:
        self.physical_resource_id = arn
        self.attributes = {"DataSourceArn": arn, "Name": name}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlDataSource:
        p = properties
        _require_api(account_id, region_name, p["ApiId"])
        arn = f"{_api_arn(account_id, region_name, p['ApiId'])}/datasources/{p['Name']}"
        record(account_id, region_name, DATA_SOURCE, arn, p)
        return cls(arn, p["Name"])

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, region_name, DATA_SOURCE, self.physical_resource_id)


class PipectlFunctionConfiguration(PipectlModel):
    """Recorded (moto has no function API); its data source must exist, as on AWS. Ref is the function ARN."""

    ATTRIBUTES = ("DataSourceName", "FunctionArn", "FunctionId", "Name")

    @staticmethod
    def cloudformation_type() -> str:
        return FUNCTION

    def __init__(self, arn: str, function_id: str, properties: dict[str, Any]) -> None:
        self.physical_resource_id = arn
        self.attributes = {
            "DataSourceName": properties["DataSourceName"],
            "FunctionArn": arn,
            "FunctionId": function_id,
            "Name": properties["Name"],
        }

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlFunctionConfiguration:
        p = properties
        _require_api(account_id, region_name, p["ApiId"])
        api_arn = _api_arn(account_id, region_name, p["ApiId"])
        if f"{api_arn}/datasources/{p['DataSourceName']}" not in recorded_resources(
            account_id, region_name, DATA_SOURCE
        ):
            raise ValueError(f"function {p['Name']}: no data source {p['DataSourceName']}")
        function_id = hashlib.sha256(f"{api_arn}/{p['Name']}".encode()).hexdigest()[:26]
        arn = f"{api_arn}/functions/{function_id}"
        record(account_id, region_name, FUNCTION, arn, p)
        return cls(arn, function_id, p)

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, region_name, FUNCTION, self.physical_resource_id)


class PipectlResolver(PipectlModel):
    """Recorded (moto has no resolver API); its data source must exist, as on AWS."""

    ATTRIBUTES = ("FieldName", "ResolverArn", "TypeName")

    @staticmethod
    def cloudformation_type() -> str:
        return RESOLVER

    def __init__(self, arn: str, type_name: str, field_name: str) -> None:
        self.physical_resource_id = arn
        self.attributes = {"FieldName": field_name, "ResolverArn": arn, "TypeName": type_name}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlResolver:
        p = properties
        api_arn = _api_arn(account_id, region_name, p["ApiId"])
        _require_api(account_id, region_name, p["ApiId"])
        if "DataSourceName" in p:
            source = f"{api_arn}/datasources/{p['DataSourceName']}"
            if source not in recorded_resources(account_id, region_name, DATA_SOURCE):
                raise ValueError(f"resolver {p['TypeName']}.{p['FieldName']}: no data source {source}")
        functions = recorded_resources(account_id, region_name, FUNCTION)
        for function_id in (p.get("PipelineConfig") or {}).get("Functions", []):
            if f"{api_arn}/functions/{function_id}" not in functions:
                raise ValueError(f"resolver {p['TypeName']}.{p['FieldName']}: no function {function_id}")
        arn = f"{api_arn}/types/{p['TypeName']}/resolvers/{p['FieldName']}"
        record(account_id, region_name, RESOLVER, arn, p)
        return cls(arn, p["TypeName"], p["FieldName"])

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, region_name, RESOLVER, self.physical_resource_id)
