"""Every moto internal pipectl relies on, one test each: a moto upgrade shows exactly which one moved."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from generator.deploy.local import compat

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def parameters(function: Any) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]


def in_order(expected: tuple[str, ...], actual: list[str]) -> bool:
    remaining = iter(actual)
    return all(name in remaining for name in expected)


@pytest.mark.parametrize(("service", "method", "expected"), compat.BACKEND_METHODS,
                         ids=[f"{s}.{m}" for s, m, _ in compat.BACKEND_METHODS])  # fmt: skip
def test_backend_method_takes_the_parameters_pipectl_passes(
    service: str, method: str, expected: tuple[str, ...]
) -> None:
    function = getattr(compat.backend_class(service), method)
    assert in_order(expected, parameters(function)), parameters(function)


@pytest.mark.parametrize("service", sorted({s for s, _, _ in compat.BACKEND_METHODS} | {"cloudformation"}))
def test_backend_lookup_gives_the_services_backend(service: str) -> None:
    assert isinstance(compat.backend(service, ACCOUNT, REGION), compat.backend_class(service))


def test_iam_and_s3_backends_are_keyed_by_partition() -> None:
    assert compat.backend("s3", ACCOUNT, REGION) is compat.backend("s3", ACCOUNT, "us-east-1")
    assert compat.get_partition("cn-north-1") == "aws-cn"


@pytest.mark.parametrize(("service", "name"), sorted(compat.MOTO_CLASSES))
def test_moto_class_is_where_pipectl_looks(service: str, name: str) -> None:
    assert inspect.isclass(compat.moto_class(service, name))


def test_appsync_start_schema_creation_takes_bytes() -> None:
    appsync = compat.backend("appsync", ACCOUNT, REGION)
    api = appsync.create_graphql_api(name="compat", log_config=None, xray_enabled=False, tags={},
                                     authentication_type="API_KEY", additional_authentication_providers=None,
                                     user_pool_config=None, open_id_connect_config=None,
                                     lambda_authorizer_config=None, visibility="GLOBAL")  # fmt: skip
    try:
        appsync.start_schema_creation(api.api_id, b"type Query { hello: String }")
        assert "hello" in appsync.graphql_apis[api.api_id].graphql_schema.definition
        with pytest.raises(AttributeError):  # a str, as pipectl passed before moto 5.2.5, is refused
            appsync.start_schema_creation(api.api_id, "type Query { hello: String }")
    finally:
        appsync.delete_graphql_api(api.api_id)


def test_model_registry_is_cached_and_clearable() -> None:
    for cached in (compat.parsing.get_model_list, compat.parsing.get_model_map, compat.parsing.get_name_type_map):
        assert callable(cached.cache_clear)
    compat.refresh_model_registry()
    assert "AWS::SQS::Queue" in compat.model_map()
    assert "AWS::CloudFormation::WaitConditionHandle" in compat.null_models()


def test_engine_patch_points_have_the_signatures_pipectl_wraps() -> None:
    resource = ["logical_id", "resource_json", "resources_map", "account_id", "region_name"]
    assert parameters(compat.unpatched(compat.parsing, "parse_and_create_resource")) == resource
    assert parameters(compat.unpatched(compat.parsing, "parse_and_update_resource")) == resource
    assert parameters(compat.unpatched(compat.parsing, "clean_json")) == ["resource_json", "resources_map"]
    assert parameters(compat.unpatched(compat.ResourceMap, "_delete_resource")) == ["parsed_resource", "resource_json"]
    for method in ("create", "update", "delete", "build_change_set_actions"):
        assert callable(getattr(compat.ResourceMap, method))


def test_cloudformation_backend_methods_pipectl_replaces_or_wraps() -> None:
    backend = compat.CloudFormationBackend

    def own(name: str) -> list[str]:
        return parameters(compat.unpatched(backend, name))

    assert own("execute_change_set") == ["change_set_name", "stack_name"]
    assert own("delete_stack") == ["name_or_stack_id"]
    assert own("update_stack") == ["name", "template", "role_arn", "parameters", "tags"]
    assert own("create_stack")[:3] == ["name", "template", "parameters"]
    assert in_order(("stack_name", "change_set_name", "template", "parameters"), own("create_change_set"))
    assert parameters(backend._resolve_update_parameters) == ["instance", "incoming_params"]
    state = compat.cfn_backend(ACCOUNT, REGION)
    for attribute in ("stacks", "deleted_stacks", "exports", "change_sets", "region_name", "account_id"):
        assert hasattr(state, attribute), attribute


def test_stack_and_change_set_internals_pipectl_reads() -> None:
    template = {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"N": {"Value": "x", "Export": {"Name": "n"}}},
    }
    stack_class: Any = compat.Stack
    stack = stack_class(stack_id="id", name="compat", template=json.dumps(template), parameters={}, account_id=ACCOUNT,
                        region_name=REGION)  # fmt: skip
    assert stack.template_dict == template and stack.status == "CREATE_PENDING"
    assert [e.name for e in stack.exports] == ["n"] and stack.exports[0].exporting_stack_id == "id"
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    assert stack.events[-1].resource_status_reason == "User Initiated"
    assert (
        stack.resource_map._resource_json_map == template["Resources"]
        and "AWS::Region" in stack.resource_map._parsed_resources
    )
    assert callable(stack._create_output_map) and callable(stack._parse_template)
    assert compat.Stack.parse_template(json.dumps(template)) == template
    assert parameters(compat.unpatched(compat.ChangeSet, "diff")) == [] and callable(compat.ChangeSet.apply)
    event = compat.Event(stack_id="id", stack_name="compat", logical_resource_id="Q", physical_resource_id="",
                         resource_type="AWS::SQS::Queue", resource_status="CREATE_FAILED",
                         resource_status_reason="why", resource_properties=None)  # fmt: skip
    assert event.resource_status == "CREATE_FAILED"
    assert compat.generate_stack_id("compat", REGION, ACCOUNT).startswith(
        f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/compat/"
    )


def test_cloudformation_responses_pipectl_wraps_or_adds() -> None:
    response = compat.CloudFormationResponse
    for action in ("create_stack", "update_stack", "create_change_set", "validate_template", "describe_change_set"):
        assert callable(getattr(response, action)), action
    assert parameters(compat.unpatched(response, "_get_stack_from_s3_url")) == ["template_url"]
    assert callable(response._get_param)


def test_exceptions_and_results_pipectl_raises_and_returns() -> None:
    error = compat.ValidationError(message="refused")
    assert error.code == "ValidationError" and error.message == "refused"
    assert compat.ExportNotFound("shop:Bucket").message == "No export named shop:Bucket found."
    assert issubclass(compat.UnformattedGetAttTemplateException, Exception)
    assert compat.ActionResult({"StackId": "x"}) is not None and compat.EmptyResult() is not None
    for method in ("create_from_cloudformation_json", "update_from_cloudformation_json", "cloudformation_type"):
        assert hasattr(compat.CloudFormationModel, method)
    assert compat.CloudFormationModel.__subclasses__()  # moto finds models as direct subclasses


def test_model_list_looks_through_abstract_bases_and_keeps_motos_own() -> None:
    class AbstractBase(compat.CloudFormationModel):
        ABSTRACT_MODEL = True

    class Concrete(AbstractBase):
        @staticmethod
        def cloudformation_type() -> str:
            return "Pipectl::Test::Concrete"

    found = compat.model_list()
    assert Concrete in found and AbstractBase not in found
    concrete = {m for m in compat.CloudFormationModel.__subclasses__() if not m.__dict__.get("ABSTRACT_MODEL")}
    assert concrete <= set(found)  # moto's own models; abstract bases (pipectl's) are looked through
    compat.refresh_model_registry()
    assert compat.model_map()["Pipectl::Test::Concrete"] is Concrete  # the engine sees it too
    assert "AWS::SQS::Queue" in compat.model_map()


def test_pipectl_models_are_found_through_their_base_class() -> None:
    from generator.deploy.local.models import register_models
    from generator.deploy.local.models._base import PipectlModel

    types = register_models()
    assert PipectlModel not in compat.CloudFormationModel.__subclasses__() or PipectlModel.ABSTRACT_MODEL
    assert {"AWS::CodePipeline::Pipeline", "AWS::SNS::TopicPolicy", "AWS::WAFv2::WebACL"} <= types
    assert compat.model_map()["AWS::SNS::TopicPolicy"].__module__ == "generator.deploy.local.models.sns"


def test_s3_objects_and_bucket_contents_as_pipectl_reads_them() -> None:
    s3 = compat.backend("s3", ACCOUNT, REGION)
    s3.create_bucket("pipectl-compat-bucket", REGION)
    try:
        bucket = s3.buckets["pipectl-compat-bucket"]
        assert not bucket.keys
        s3.put_object("pipectl-compat-bucket", "a/key", b"body")
        assert bucket.keys and s3.get_object("pipectl-compat-bucket", "a/key").value == b"body"
        assert callable(bucket.get_permission)
    finally:
        s3.delete_object("pipectl-compat-bucket", "a/key")
        s3.delete_bucket("pipectl-compat-bucket")


def test_wsgi_app_lets_pipectl_see_each_service_app() -> None:
    seen: list[Any] = []
    app = compat.wsgi_app(lambda service_app: seen.append(service_app) or service_app)
    assert callable(app)
    app.get_application({"HTTP_HOST": "localhost", "PATH_INFO": "/", "HTTP_AUTHORIZATION":
                         "AWS4-HMAC-SHA256 Credential=x/20240101/eu-west-1/cloudformation/aws4_request"})  # fmt: skip
    assert seen and callable(seen[0].register_error_handler)


def test_patch_once_patches_once() -> None:
    class Owner:
        @staticmethod
        def call() -> int:
            return 1

    compat.patch_once(Owner, "call", lambda original: lambda: original() + 1, key="test-compat-owner")
    compat.patch_once(Owner, "call", lambda original: lambda: original() + 1, key="test-compat-owner")
    assert Owner.call() == 2


def test_the_stack_registry_can_grow_while_a_request_walks_it() -> None:
    """Concurrent stack operations: one walks the exports (Fn::ImportValue) while another adds one. On
    moto's plain dict that raised "OrderedDict mutated during iteration" and failed a resource."""
    compat.make_stack_registry_safe()  # as the server's make_app does
    backend = compat.CloudFormationBackend("eu-west-1", "123456789012")
    for registry in (backend.exports, backend.stacks):
        registry["first"] = 1
        for value in registry.values():  # another request adds meanwhile: the walk is of a snapshot
            registry[f"added-{value}"] = value
        assert sorted(registry) == ["added-1", "first"]


def test_every_concrete_local_model_writes_its_own_create() -> None:
    """`PipectlModel.create` only names the hook: a registered model that left it out would fail at deploy
    time with NotImplementedError, so each concrete model must define it."""
    from generator.deploy.local.models import _base, register_models

    register_models()
    concrete = [
        m
        for m in compat.model_list()
        if issubclass(m, _base.PipectlModel) and m.TYPE and not m.__dict__.get("ABSTRACT_MODEL")
    ]
    assert concrete, "no pipectl model registered"
    missing = [m.TYPE for m in concrete if m.create.__func__ is _base.PipectlModel.create.__func__]
    assert missing == []
