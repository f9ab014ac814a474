"""The ingestion stack: network, collectors, load balancer, sign-in, scaling; cfn-lint clean everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from generator.spec.loader import Pipeline, load_directory
from generator.stacks.ingestion import build_ingestion

EXAMPLES = Path(__file__).resolve().parents[2] / "pipelines.d"
SHIPPED = [(name, env) for name in ("backoffice", "mobile", "shop") for env in ("prod", "test")]
Templates = dict[tuple[str, str], str]

# Options the examples leave out: three AZs with a NAT gateway each, x86 EC2 instances, a private ECR
# image, a hosted zone, no sign-in.
EDGE = """\
owner: team@example.com
region: eu-west-1
apps: [{id: web, platform: web}]
network: {create: true, cidr: 10.30.0.0/16, az_count: 3, nat_gateways: 3}
ingestion:
  launch_type: ec2
  instance_type: m7i-flex.large
  image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/collector:2.0.0
  container_port: 9000
  domain:
    name: collect.example.com
    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-4908-8706-050403020100
    hosted_zone_id: Z0123456789ABCDEFGHIJ
  endpoint_path: /v1/events
  sink: {type: kinesis}
environments: {prod: {}}
"""


def _pipelines(directory: Path) -> dict[tuple[str, str], Pipeline]:
    return {(p.name, p.env): p for p in load_directory(directory).pipelines}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    built = {key: build_ingestion(p).to_json() for key, p in _pipelines(EXAMPLES).items()}
    directory = tmp_path_factory.mktemp("edge")
    (directory / "edge.yaml").write_text(EDGE)
    (directory / "_console.yaml").write_text(
        "hosted_zones: [Z0123456789ABCDEFGHIJ]\n"
    )  # the zone is the installation's
    built |= {key: build_ingestion(p).to_json() for key, p in _pipelines(directory).items()}
    return built


@pytest.fixture(scope="module")
def lint_findings(templates: Templates) -> dict[tuple[str, str], list[str]]:
    config = ManualArgs(regions=["eu-west-1"], include_checks=["I"])
    return {key: [str(m) for m in lint(text, config=config)] for key, text in templates.items()}


def _template(templates: Templates, name: str, env: str = "prod") -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(templates[(name, env)])
    return parsed


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _container(template: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = _props(template, "CollectorTaskDefinition")["ContainerDefinitions"][0]
    return container


def _environment(template: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in _container(template)["Environment"]}


def _role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for p in _props(template, role)["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _imported(name: str, env: str, output: str) -> dict[str, str]:
    return {"Fn::ImportValue": f"pipectl-{name}-{env}-storage:{output}"}


@pytest.mark.parametrize("key", [*SHIPPED, ("edge", "prod")], ids=lambda k: "-".join(k))
def test_cfn_lint_finds_nothing(lint_findings: dict[tuple[str, str], list[str]], key: tuple[str, str]) -> None:
    assert lint_findings[key] == []


def test_same_input_gives_the_same_template() -> None:
    pipeline = _pipelines(EXAMPLES)[("backoffice", "prod")]
    assert build_ingestion(pipeline).to_json() == build_ingestion(pipeline).to_json()


# --- network ---------------------------------------------------------------------------------------------


def test_existing_network_ids_are_typed_parameters_defaulting_to_the_files_ids(templates: Templates) -> None:
    template = _template(templates, "shop")
    assert not _of_type(template, "AWS::EC2::VPC")
    params = template["Parameters"]
    assert params["VpcId"] == {**params["VpcId"], "Type": "AWS::EC2::VPC::Id", "Default": "vpc-0a1b2c3d4e5f60718"}
    assert params["PublicSubnetIds"]["Type"] == params["PrivateSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert params["PublicSubnetIds"]["Default"] == "subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002"
    assert params["PrivateSubnetIds"]["Default"] == "subnet-0a1b2c3d4e5f60101,subnet-0a1b2c3d4e5f60102"
    assert _props(template, "LoadBalancer")["Subnets"] == {"Ref": "PublicSubnetIds"}
    vpc_config = _props(template, "CollectorService")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc_config["Subnets"] == {"Ref": "PrivateSubnetIds"}
    assert _props(template, "CollectorTargetGroup")["VpcId"] == {"Ref": "VpcId"}


def test_created_network_spreads_subnets_over_the_regions_azs(templates: Templates) -> None:
    template = _template(templates, "mobile")
    assert _props(template, "Vpc")["CidrBlock"] == "10.20.0.0/16"
    assert _props(template, "Vpc")["EnableDnsSupport"] is True
    subnets = _of_type(template, "AWS::EC2::Subnet")
    assert set(subnets) == {"PublicSubnet1", "PublicSubnet2", "PrivateSubnet1", "PrivateSubnet2"}
    cidrs = [s["Properties"]["CidrBlock"] for s in subnets.values()]
    assert len(set(cidrs)) == 4 and all(c.startswith("10.20.") for c in cidrs)
    for index in (0, 1):
        zone = _props(template, f"PrivateSubnet{index + 1}")["AvailabilityZone"]
        assert zone == {"Fn::Select": [index, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}
    assert _props(template, "LoadBalancer")["Subnets"] == [{"Ref": "PublicSubnet1"}, {"Ref": "PublicSubnet2"}]


def test_one_nat_gateway_serves_every_private_subnet(templates: Templates) -> None:
    template = _template(templates, "backoffice")
    assert set(_of_type(template, "AWS::EC2::NatGateway")) == {"NatGateway1"}
    for number in (1, 2):
        route = _props(template, f"PrivateDefaultRoute{number}")
        assert route["NatGatewayId"] == {"Ref": "NatGateway1"}
    assert _props(template, "PublicDefaultRoute")["GatewayId"] == {"Ref": "InternetGateway"}


def test_a_nat_gateway_per_az_routes_each_private_subnet_to_its_own(templates: Templates) -> None:
    template = _template(templates, "edge")
    assert len(_of_type(template, "AWS::EC2::Subnet")) == 6
    assert len(_of_type(template, "AWS::EC2::EIP")) == 3
    for number in (1, 2, 3):
        assert _props(template, f"PrivateDefaultRoute{number}")["NatGatewayId"] == {"Ref": f"NatGateway{number}"}
        assert _props(template, f"NatGateway{number}")["SubnetId"] == {"Ref": f"PublicSubnet{number}"}


def test_flow_logs_go_to_an_encrypted_log_group_through_a_scoped_role(templates: Templates) -> None:
    template = _template(templates, "backoffice")
    flow_log = _props(template, "VpcFlowLog")
    assert flow_log["ResourceId"] == {"Ref": "Vpc"}
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogGroupName"] == {"Ref": "FlowLogGroup"}
    group = _props(template, "FlowLogGroup")
    assert group["KmsKeyId"] == _imported("backoffice", "prod", "KeyArn")
    assert group["RetentionInDays"] == 90
    trust = _props(template, "FlowLogRole")["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    (statement,) = _role_statements(template, "FlowLogRole")
    assert statement["Resource"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]


# --- IAM -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [*SHIPPED, ("edge", "prod")], ids=lambda k: "-".join(k))
def test_iam_names_actions_and_uses_resource_star_only_where_aws_requires_it(
    templates: Templates, key: tuple[str, str]
) -> None:
    template = _template(templates, *key)
    roles = _of_type(template, "AWS::IAM::Role")
    assert roles
    no_resource_level = {"ecr:GetAuthorizationToken", "ecs:DiscoverPollEndpoint"}
    for logical_id, role in roles.items():
        assert "ManagedPolicyArns" not in role["Properties"], logical_id
        for statement in _role_statements(template, logical_id):
            assert all(not a.endswith("*") for a in statement["Action"]), statement
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= no_resource_level, statement


def test_kinesis_collectors_may_only_put_records_to_the_stream(templates: Templates) -> None:
    template = _template(templates, "shop")
    put, key = _role_statements(template, "CollectorTaskRole")
    assert set(put["Action"]) == {"kinesis:PutRecord", "kinesis:PutRecords"}
    assert put["Resource"] == [_imported("shop", "prod", "StreamArn")]
    assert key["Action"] == ["kms:GenerateDataKey"]
    assert key["Resource"] == [_imported("shop", "prod", "KeyArn")]
    assert key["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "kinesis.${AWS::Region}.amazonaws.com"}


def test_s3_collectors_may_only_put_objects_under_raw(templates: Templates) -> None:
    template = _template(templates, "mobile", "test")
    put, key = _role_statements(template, "CollectorTaskRole")
    assert put["Action"] == ["s3:PutObject"]
    assert put["Resource"] == [{"Fn::Sub": ["${Arn}/raw/*", {"Arn": _imported("mobile", "test", "DataBucketArn")}]}]
    assert key["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}


def test_task_role_trusts_only_ecs_tasks_of_this_account(templates: Templates) -> None:
    trust = _props(_template(templates, "shop"), "CollectorTaskRole")["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_execution_role_pulls_a_private_ecr_image_from_its_repository_only(templates: Templates) -> None:
    # No image in the file and none given: the image the delivery pipeline builds, in the collector's repository.
    built = {s["Sid"]: s for s in _role_statements(_template(templates, "shop"), "CollectorExecutionRole")}
    assert built["PullCollectorImage"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/pipectl/collector"}
    ]
    private = {s["Sid"]: s for s in _role_statements(_template(templates, "edge"), "CollectorExecutionRole")}
    assert private["PullCollectorImage"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecr:eu-west-1:210987654321:repository/team/collector"}
    ]
    assert private["WriteCollectorLogs"]["Resource"] == [{"Fn::GetAtt": ["CollectorLogGroup", "Arn"]}]


# --- collectors ------------------------------------------------------------------------------------------


def test_cluster_has_container_insights_and_an_encrypted_log_group_for_it(templates: Templates) -> None:
    template = _template(templates, "shop", "test")
    cluster = _props(template, "CollectorCluster")
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    group = _props(template, "ContainerInsightsLogGroup")
    assert group["LogGroupName"] == f"/aws/ecs/containerinsights/{cluster['ClusterName']}/performance"
    assert group["KmsKeyId"] == _imported("shop", "test", "KeyArn")


@pytest.mark.parametrize(("env", "days"), [("prod", 90), ("test", 14)])
def test_collector_logs_are_encrypted_and_kept_as_configured(templates: Templates, env: str, days: int) -> None:
    template = _template(templates, "shop", env)
    group = _props(template, "CollectorLogGroup")
    assert group["RetentionInDays"] == days
    assert group["KmsKeyId"] == _imported("shop", env, "KeyArn")
    options = _container(template)["LogConfiguration"]
    assert options["LogDriver"] == "awslogs"
    assert options["Options"]["awslogs-group"] == {"Ref": "CollectorLogGroup"}


def test_collector_container_is_read_only_and_health_checked(templates: Templates) -> None:
    template = _template(templates, "edge")
    container = _container(template)
    assert container["Image"] == {"Ref": "CollectorImage"}
    assert template["Parameters"]["CollectorImage"]["Default"] == (
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/collector:2.0.0"
    )
    assert container["ReadonlyRootFilesystem"] is True
    assert container["PortMappings"] == [{"ContainerPort": 9000, "Protocol": "tcp"}]
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "-m", "collector.healthcheck"]
    assert {"Name": "PORT", "Value": "9000"} in container["Environment"]  # what the health check asks
    definition = _props(template, "CollectorTaskDefinition")
    assert definition["NetworkMode"] == "awsvpc"
    assert definition["RuntimePlatform"]["CpuArchitecture"] == "X86_64"


def test_kinesis_collectors_are_told_the_stream(templates: Templates) -> None:
    env = _environment(_template(templates, "shop"))
    assert env["SINK_TYPE"] == "kinesis"
    assert env["STREAM_NAME"] == _imported("shop", "prod", "StreamName")
    assert env["ENDPOINT_PATH"] == "/collect"
    assert env["APP_IDS"] == "shop_web,shop_ios"
    assert env["CORS_ORIGINS"] == "https://shop.example.com"
    assert "BUCKET_NAME" not in env and "BUFFER_MB" not in env


def test_s3_collectors_are_told_the_bucket_and_buffering(templates: Templates) -> None:
    env = _environment(_template(templates, "mobile"))
    assert env["SINK_TYPE"] == "s3"
    assert env["BUCKET_NAME"] == _imported("mobile", "prod", "DataBucketName")
    assert (env["BUFFER_MB"], env["INTERVAL_S"]) == ("16", "120")
    assert "STREAM_NAME" not in env


def test_fargate_collectors(templates: Templates) -> None:
    template = _template(templates, "shop")
    assert _props(template, "CollectorTaskDefinition")["RequiresCompatibilities"] == ["FARGATE"]
    assert _props(template, "CollectorService")["LaunchType"] == "FARGATE"
    assert not _of_type(template, "AWS::AutoScaling::AutoScalingGroup")
    assert "EcsAmiId" not in template["Parameters"]


def test_ec2_collectors_run_on_hardened_instances_from_the_ecs_ami(templates: Templates) -> None:
    template = _template(templates, "mobile")
    parameter = template["Parameters"]["EcsAmiId"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    # c6g is Graviton: the arm64 AMI and arm64 tasks.
    assert parameter["Default"] == "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
    assert _props(template, "CollectorTaskDefinition")["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    data = _props(template, "CollectorLaunchTemplate")["LaunchTemplateData"]
    assert data["ImageId"] == {"Ref": "EcsAmiId"}
    assert data["InstanceType"] == "c6g.large"
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert all(m["Ebs"]["Encrypted"] is True for m in data["BlockDeviceMappings"])
    edge = _template(templates, "edge")["Parameters"]["EcsAmiId"]["Default"]
    assert edge == "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


def test_ec2_capacity_is_scaled_by_ecs_in_the_private_subnets(templates: Templates) -> None:
    template = _template(templates, "mobile", "test")
    group = _props(template, "CollectorAutoScalingGroup")
    assert group["VPCZoneIdentifier"] == [{"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}]
    assert group["MaxSize"] == "2"
    provider = _props(template, "CollectorCapacityProvider")["AutoScalingGroupProvider"]
    assert provider["AutoScalingGroupArn"] == {"Ref": "CollectorAutoScalingGroup"}
    assert provider["ManagedScaling"]["Status"] == "ENABLED"
    association = _props(template, "CollectorClusterCapacityProviders")
    assert association["CapacityProviders"] == [{"Ref": "CollectorCapacityProvider"}]
    service = _props(template, "CollectorService")
    assert service["CapacityProviderStrategy"][0]["CapacityProvider"] == {"Ref": "CollectorCapacityProvider"}
    assert "LaunchType" not in service
    actions = {a for s in _role_statements(template, "CollectorInstanceRole") for a in s["Action"]}
    assert {"ecs:RegisterContainerInstance", "ecs:Poll", "ecs:DiscoverPollEndpoint"} <= actions
    assert all(a.startswith("ecs:") for a in actions)


# --- security groups and load balancer -------------------------------------------------------------------


def test_load_balancer_accepts_https_from_anywhere_and_nothing_else(templates: Templates) -> None:
    group = _props(_template(templates, "shop"), "LoadBalancerSecurityGroup")
    ingress = group["SecurityGroupIngress"]
    assert {(r["FromPort"], r["ToPort"], r.get("CidrIp"), r.get("CidrIpv6")) for r in ingress} == {
        (443, 443, "0.0.0.0/0", None),
        (443, 443, None, "::/0"),
    }
    # Without sign-in, the load balancer only ever talks to the collectors.
    assert [r["FromPort"] for r in group["SecurityGroupEgress"]] == [8080]


def test_collectors_accept_only_the_container_port_from_the_load_balancer(templates: Templates) -> None:
    template = _template(templates, "edge")
    assert "SecurityGroupIngress" not in _props(template, "CollectorSecurityGroup")
    (rule,) = _of_type(template, "AWS::EC2::SecurityGroupIngress").values()
    props = rule["Properties"]
    assert props["GroupId"] == {"Fn::GetAtt": ["CollectorSecurityGroup", "GroupId"]}
    assert props["SourceSecurityGroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert (props["FromPort"], props["ToPort"]) == (9000, 9000)


def test_load_balancer_is_public_logged_and_drops_invalid_headers(templates: Templates) -> None:
    props = _props(_template(templates, "backoffice", "test"), "LoadBalancer")
    assert props["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == _imported("backoffice", "test", "LogsBucketName")
    assert attributes["access_logs.s3.prefix"] == "alb/backoffice/test"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_listener_is_https_with_tls_1_2_or_newer_and_answers_404_by_default(templates: Templates) -> None:
    listener = _props(_template(templates, "shop"), "HttpsListener")
    assert (listener["Port"], listener["Protocol"]) == (443, "HTTPS")
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listener["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    certificate = _template(templates, "shop")["Parameters"]["CertificateArn"]
    assert (
        certificate["Default"] == "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-4908-8706-050403020100"
    )
    (action,) = listener["DefaultActions"]
    assert action["FixedResponseConfig"]["StatusCode"] == "404"
    assert not [
        r
        for r in _template(templates, "shop")["Resources"].values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener" and r["Properties"]["Port"] != 443
    ]


def test_target_group_registers_tasks_by_ip_and_checks_health(templates: Templates) -> None:
    props = _props(_template(templates, "edge"), "CollectorTargetGroup")
    assert (props["TargetType"], props["Port"], props["HealthCheckPath"]) == ("ip", 9000, "/health")


def test_without_sign_in_the_rule_forwards_the_endpoint_and_health(templates: Templates) -> None:
    rule = _props(_template(templates, "edge"), "CollectorListenerRule")
    assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == ["/health", "/v1/events"]
    assert [a["Type"] for a in rule["Actions"]] == ["forward"]
    assert rule["Actions"][0]["TargetGroupArn"] == {"Ref": "CollectorTargetGroup"}


def test_jwt_is_verified_by_the_load_balancer_before_forwarding(templates: Templates) -> None:
    """Apps and servers cannot follow a sign-in redirect: the collection path verifies a bearer token."""
    template = _template(templates, "mobile")
    rule = _props(template, "CollectorListenerRule")
    assert [a["Type"] for a in rule["Actions"]] == ["jwt-validation", "forward"]
    assert rule["Actions"][0]["JwtValidationConfig"] == {
        "Issuer": "https://login.example.com",
        "JwksEndpoint": "https://login.example.com/.well-known/jwks.json",
        "AdditionalClaims": [{"Name": "aud", "Format": "single-string", "Values": ["pipectl-mobile-collector"]}],
    }
    egress = _props(template, "LoadBalancerSecurityGroup")["SecurityGroupEgress"]
    assert any(r["FromPort"] == 443 and r.get("CidrIp") == "0.0.0.0/0" for r in egress)


@pytest.mark.parametrize("key", [*SHIPPED, ("edge", "prod")], ids=lambda k: "-".join(k))
def test_no_browser_sign_in_or_user_pool_on_the_collection_path(templates: Templates, key: tuple[str, str]) -> None:
    template = _template(templates, *key)
    types = {r["Type"] for r in template["Resources"].values()}
    assert not types & {"AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolDomain"}
    actions = [a["Type"] for a in _props(template, "CollectorListenerRule")["Actions"]]
    assert not {"authenticate-cognito", "authenticate-oidc"} & set(actions)


@pytest.mark.parametrize("key", [*SHIPPED, ("edge", "prod")], ids=lambda k: "-".join(k))
def test_a_firewall_checks_rate_and_requests_at_the_load_balancer(templates: Templates, key: tuple[str, str]) -> None:
    template = _template(templates, *key)
    acl = _props(template, "CollectorFirewall")
    rules = {r["Name"]: r for r in acl["Rules"]}
    assert rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    size = rules["QueryStringSizeLimit"]["Statement"]["SizeConstraintStatement"]
    assert (size["FieldToMatch"], size["ComparisonOperator"], size["Size"]) == ({"QueryString": {}}, "GT", 4096)
    bad = rules["AWSManagedRulesKnownBadInputsRuleSet"]
    assert bad["Statement"]["ManagedRuleGroupStatement"]["Name"] == "AWSManagedRulesKnownBadInputsRuleSet"
    assert bad["OverrideAction"] == {"None": {}}  # the group blocks; nothing counts only
    assert "Body" not in json.dumps(acl)  # a load balancer's WAF sees 8 KB of a body; the collector limits size
    assert all("Block" in r["Action"] for r in rules.values() if "Action" in r)
    association = _props(template, "CollectorFirewallAssociation")
    assert association == {
        "ResourceArn": {"Ref": "LoadBalancer"},
        "WebACLArn": {"Fn::GetAtt": ["CollectorFirewall", "Arn"]},
    }


# --- service, scaling, DNS, outputs ----------------------------------------------------------------------


@pytest.mark.parametrize(("env", "count"), [("prod", 2), ("test", 1)])
def test_service_runs_capacity_min_privately_with_rollback(templates: Templates, env: str, count: int) -> None:
    service = _props(_template(templates, "shop", env), "CollectorService")
    assert service["DesiredCount"] == count
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert service["LoadBalancers"][0]["TargetGroupArn"] == {"Ref": "CollectorTargetGroup"}


def test_service_waits_for_the_listener_rule_and_the_routes(templates: Templates) -> None:
    depends_on = _template(templates, "backoffice")["Resources"]["CollectorService"]["DependsOn"]
    assert {"CollectorListenerRule", "PrivateDefaultRoute1", "PrivateDefaultRoute2"} <= set(depends_on)


def test_service_scales_on_average_cpu_between_min_and_max(templates: Templates) -> None:
    template = _template(templates, "mobile")
    target = _props(template, "CollectorScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert target["ResourceId"] == {"Fn::Sub": "service/${CollectorCluster}/${CollectorService.Name}"}
    assert target["RoleARN"]["Fn::Sub"].endswith("/AWSServiceRoleForApplicationAutoScaling_ECSService")
    tracking = _props(template, "CollectorCpuScalingPolicy")["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert tracking["TargetValue"] == 60.0


def test_alias_record_only_with_a_hosted_zone(templates: Templates) -> None:
    record = _props(_template(templates, "edge"), "CollectorDnsRecord")
    assert (record["HostedZoneId"], record["Name"], record["Type"]) == (
        "Z0123456789ABCDEFGHIJ",
        "collect.example.com",
        "A",
    )
    assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert not _of_type(_template(templates, "shop"), "AWS::Route53::RecordSet")


def test_outputs_are_exported_under_the_stack_name(templates: Templates) -> None:
    outputs = _template(templates, "edge")["Outputs"]
    assert set(outputs) == {
        "CollectorEndpoint",
        "LoadBalancerDnsName",
        "LoadBalancerFullName",
        "TargetGroupFullName",
        "ClusterName",
        "ServiceName",
    }
    for name, body in outputs.items():
        assert body["Export"] == {"Name": f"pipectl-edge-prod-ingestion:{name}"}
    assert outputs["CollectorEndpoint"]["Value"] == "https://collect.example.com/v1/events"


@pytest.mark.parametrize(("name", "policy"), [("shop", "Retain"), ("backoffice", "Delete")])
def test_log_groups_and_user_pools_follow_the_deletion_setting(templates: Templates, name: str, policy: str) -> None:
    template = _template(templates, name)
    kept = {**_of_type(template, "AWS::Logs::LogGroup"), **_of_type(template, "AWS::Cognito::UserPool")}
    insights = kept.pop("ContainerInsightsLogGroup")  # telemetry under a name AWS fixes: goes with the stack
    assert (insights["DeletionPolicy"], insights["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert kept
    for resource in kept.values():
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (policy, policy)


def test_the_collector_container_is_health_checked_and_stopped_the_way_its_image_allows(templates: Templates) -> None:
    """The image is slim (no curl): the health check runs the collector's own module, and ECS waits longer
    before SIGKILL than the collector takes to drain what it acknowledged."""
    import importlib.util

    from collector.config import load_settings

    for key, text in templates.items():
        definition = json.loads(text)["Resources"]["CollectorTaskDefinition"]["Properties"]
        (container,) = definition["ContainerDefinitions"]
        command = container["HealthCheck"]["Command"]
        assert command[0] == "CMD" and "curl" not in " ".join(command), key
        assert command[1:3] == ["python", "-m"] and importlib.util.find_spec(command[3]) is not None, key
        variables = {item["Name"]: item["Value"] for item in container["Environment"]}
        assert (variables["PIPELINE"], variables["ENVIRONMENT"]) == key, key
        drain = load_settings({**variables, "STREAM_NAME": "s", "BUCKET_NAME": "b", "DELIVERY_STREAM_NAME": "d"})
        assert drain.drain_timeout_s < container["StopTimeout"] <= 120, key
