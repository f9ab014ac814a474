"""AppSync GraphQL APIs and schemas in moto's backend; data sources and resolvers, which moto lacks, recorded."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import CloudFormationModel, backend, get_partition
from generator.deploy.local.models._base import PipectlModel, camel, props
from generator.deploy.local.models.recorded import forget, record, recorded_resources

DATA_SOURCE = "AWS::AppSync::DataSource"
RESOLVER = "AWS::AppSync::Resolver"


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


class PipectlGraphQLApi(PipectlModel, CloudFormationModel):
    """Ref is the API ARN; URLs have the AWS shape (the local target serves no GraphQL)."""

    ATTRIBUTES = (
        "ApiId", "Arn", "GraphQLDns", "GraphQLEndpointArn", "GraphQLUrl", "RealtimeDns", "RealtimeUrl",
    )  # fmt: skip
    NAME_PROPERTY = "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::AppSync::GraphQLApi"

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
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlGraphQLApi:
        p = props(cloudformation_json)
        tags = {t["Key"]: t["Value"] for t in p.get("Tags", [])}
        api = _backend(account_id, region_name).create_graphql_api(
            name=resource_name, tags=tags, visibility=p.get("Visibility", "GLOBAL"), **_api_settings(p)
        )
        return cls(api.api_id, api.arn, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlGraphQLApi,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlGraphQLApi:
        """In place, as on AWS: the API id (and so its URL) survives a change of settings."""
        _backend(account_id, region_name).update_graphql_api(
            api_id=original_resource.api_id,
            name=new_resource_name,
            **_api_settings(props(cloudformation_json)),
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_graphql_api(self.api_id)


class PipectlGraphQLSchema(PipectlModel, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::AppSync::GraphQLSchema"

    def __init__(self, api_id: str) -> None:
        self.physical_resource_id = f"{api_id}GraphQLSchema"
        self.api_id = api_id
        self.attributes = {}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlGraphQLSchema:
        p = props(cloudformation_json)
        if "Definition" not in p:
            raise ValueError("the local target supports GraphQLSchema.Definition only, not an S3 location")
        definition = str(p["Definition"]).encode()  # moto decodes the API's bytes itself
        _backend(account_id, region_name).start_schema_creation(p["ApiId"], definition)
        return cls(p["ApiId"])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PipectlGraphQLSchema,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PipectlGraphQLSchema:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        api = _backend(account_id, region_name).graphql_apis.get(self.api_id)
        if api is not None:
            api.graphql_schema = None


class PipectlDataSource(PipectlModel, CloudFormationModel):
    """Recorded (moto has no data-source API); Ref is the data source ARN."""

    ATTRIBUTES = ("DataSourceArn", "Name")

    @staticmethod
    def cloudformation_type() -> str:
        return DATA_SOURCE

    def __init__(self, arn: str, name: str) -> None:
        self.physical_resource_id = arn
        self.attributes = {"DataSourceArn": arn, "Name": name}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlDataSource:
        p = props(cloudformation_json)
        _require_api(account_id, region_name, p["ApiId"])
        arn = f"{_api_arn(account_id, region_name, p['ApiId'])}/datasources/{p['Name']}"
        record(account_id, region_name, DATA_SOURCE, arn, p)
        return cls(arn, p["Name"])

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, region_name, DATA_SOURCE, self.physical_resource_id)


class PipectlResolver(PipectlModel, CloudFormationModel):
    """Recorded (moto has no resolver API); its data source must exist, as on AWS."""

    ATTRIBUTES = ("FieldName", "ResolverArn", "TypeName")

    @staticmethod
    def cloudformation_type() -> str:
        return RESOLVER

    def __init__(self, arn: str, type_name: str, field_name: str) -> None:
        self.physical_resource_id = arn
        self.attributes = {"FieldName": field_name, "ResolverArn": arn, "TypeName": type_name}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PipectlResolver:
        p = props(cloudformation_json)
        api_arn = _api_arn(account_id, region_name, p["ApiId"])
        _require_api(account_id, region_name, p["ApiId"])
        if "DataSourceName" in p:
            source = f"{api_arn}/datasources/{p['DataSourceName']}"
            if source not in recorded_resources(account_id, region_name, DATA_SOURCE):
                raise ValueError(f"resolver {p['TypeName']}.{p['FieldName']}: no data source {source}")
        arn = f"{api_arn}/types/{p['TypeName']}/resolvers/{p['FieldName']}"
        record(account_id, region_name, RESOLVER, arn, p)
        return cls(arn, p["TypeName"], p["FieldName"])

    def delete(self, account_id: str, region_name: str) -> None:
        forget(account_id, region_name, RESOLVER, self.physical_resource_id)
