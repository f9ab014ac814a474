"""Egress rules, ECS capacity and scaling, WAF, and the delivery services: created, then found by boto3."""

from __future__ import annotations

from typing import Any

import pytest

from generator.deploy.local import LocalSession
from generator.deploy.local.models.recorded import recorded_resources
from generator.deploy.local.session import ACCOUNT_ID
from tests.deploy.local.conftest import REGION, create_stack, role, unique

VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "collector"}


def template() -> dict[str, Any]:
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "eu-west-1a"}},
            "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "eu-west-1b"}},
            "CollectorSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "collector", "VpcId": {"Ref": "Vpc"}}},
            "CollectorEgress": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {"GroupId": {"Ref": "CollectorSecurityGroup"}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"},
            },
            "LoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
            "WebAcl": {
                "Type": "AWS::WAFv2::WebACL",
                "Properties": {"Scope": "REGIONAL", "DefaultAction": {"Allow": {}}, "VisibilityConfig": VISIBILITY},
            },
            "WebAclAssociation": {
                "Type": "AWS::WAFv2::WebACLAssociation",
                "Properties": {"ResourceArn": {"Ref": "LoadBalancer"}, "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]}},
            },
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"Family": "collector", "ContainerDefinitions": [{"Name": "collector", "Image": "nginx", "Memory": 512}]},
            },
            "CollectorService": {
                "Type": "AWS::ECS::Service",
                "Properties": {"Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDefinition"}, "DesiredCount": 1},
            },
            "ScalableTarget": {
                "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                "Properties": {
                    "ServiceNamespace": "ecs",
                    "ScalableDimension": "ecs:service:DesiredCount",
                    "ResourceId": {"Fn::Join": ["/", ["service", {"Ref": "Cluster"}, {"Fn::GetAtt": ["CollectorService", "Name"]}]]},
                    "MinCapacity": 1,
                    "MaxCapacity": 4,
                },
            },
            "CpuScaling": {
                "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                "Properties": {
                    "PolicyName": "cpu",
                    "PolicyType": "TargetTrackingScaling",
                    "ScalingTargetId": {"Ref": "ScalableTarget"},
                    "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": 50.0,
                        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                    },
                },
            },
            "CapacityProvider": {
                "Type": "AWS::ECS::CapacityProvider",
                "Properties": {"AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/collector"}},
            },
            "ClusterCapacity": {
                "Type": "AWS::ECS::ClusterCapacityProviderAssociations",
                "Properties": {
                    "Cluster": {"Ref": "Cluster"},
                    "CapacityProviders": [{"Ref": "CapacityProvider"}],
                    "DefaultCapacityProviderStrategy": [{"CapacityProvider": {"Ref": "CapacityProvider"}, "Weight": 1}],
                },
            },
            "Repository": {"Type": "AWS::CodeCommit::Repository", "Properties": {"RepositoryName": "pipelines"}},
            "BuildRole": role("codebuild.amazonaws.com"),
            "ValidateProject": {
                "Type": "AWS::CodeBuild::Project",
                "Properties": {
                    "ServiceRole": {"Fn::GetAtt": ["BuildRole", "Arn"]},
                    "Source": {"Type": "CODEPIPELINE"},
                    "Artifacts": {"Type": "CODEPIPELINE"},
                    "Environment": {"Type": "LINUX_CONTAINER", "Image": "aws/codebuild/standard:7.0", "ComputeType": "BUILD_GENERAL1_SMALL"},
                },
            },
            "PipelineRole": role("codepipeline.amazonaws.com"),
            "ArtifactBucket": {"Type": "AWS::S3::Bucket"},
            "DeliveryPipeline": {
                "Type": "AWS::CodePipeline::Pipeline",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                    "ArtifactStore": {"Type": "S3", "Location": {"Ref": "ArtifactBucket"}},
                    "Stages": [
                        {"Name": "Source", "Actions": [{
                            "Name": "Source", "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "CodeCommit", "Version": "1"},
                            "Configuration": {"RepositoryName": {"Fn::GetAtt": ["Repository", "Name"]}, "BranchName": "main"},
                            "OutputArtifacts": [{"Name": "Source"}]}]},
                        {"Name": "Validate", "Actions": [{
                            "Name": "Validate", "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
                            "Configuration": {"ProjectName": {"Ref": "ValidateProject"}},
                            "InputArtifacts": [{"Name": "Source"}]}]},
                    ],
                },
            },
            "Notifications": {"Type": "AWS::SNS::Topic"},
            "PipelineNotifications": {
                "Type": "AWS::CodeStarNotifications::NotificationRule",
                "Properties": {
                    "Name": "delivery", "DetailType": "BASIC", "EventTypeIds": ["codepipeline-pipeline-pipeline-execution-failed"],
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${DeliveryPipeline}"},
                    "Targets": [{"TargetType": "SNS", "TargetAddress": {"Ref": "Notifications"}}],
                },
            },
        },
        "Outputs": {
            "EgressId": {"Value": {"Fn::GetAtt": ["CollectorEgress", "Id"]}},
            "GroupId": {"Value": {"Ref": "CollectorSecurityGroup"}},
            "LoadBalancerArn": {"Value": {"Ref": "LoadBalancer"}},
            "WebAclArn": {"Value": {"Fn::GetAtt": ["WebAcl", "Arn"]}},
            "ClusterName": {"Value": {"Ref": "Cluster"}},
            "ScalingPolicyArn": {"Value": {"Ref": "CpuScaling"}},
            "ProviderName": {"Value": {"Ref": "CapacityProvider"}},
            "RepositoryArn": {"Value": {"Fn::GetAtt": ["Repository", "Arn"]}},
            "ProjectArn": {"Value": {"Fn::GetAtt": ["ValidateProject", "Arn"]}},
            "PipelineName": {"Value": {"Ref": "DeliveryPipeline"}},
            "NotificationRuleArn": {"Value": {"Ref": "PipelineNotifications"}},
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def out(session: LocalSession) -> dict[str, str]:
    return create_stack(session, template(), unique("network"))


def test_egress_rule_exists(session: LocalSession, out: dict[str, str]) -> None:
    rules = session.client("ec2").describe_security_group_rules(SecurityGroupRuleIds=[out["EgressId"]])
    rule = rules["SecurityGroupRules"][0]
    assert (rule["GroupId"], rule["IsEgress"], rule["FromPort"], rule["CidrIpv4"]) == (
        out["GroupId"],
        True,
        443,
        "10.0.0.0/16",
    )


def test_web_acl_protects_the_load_balancer(session: LocalSession, out: dict[str, str]) -> None:
    acl = session.client("wafv2").get_web_acl_for_resource(ResourceArn=out["LoadBalancerArn"])["WebACL"]
    assert acl["ARN"] == out["WebAclArn"]


def test_service_scaling_and_capacity(session: LocalSession, out: dict[str, str]) -> None:
    scaling = session.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert any(t["ResourceId"].startswith(f"service/{out['ClusterName']}/") and t["MaxCapacity"] == 4 for t in targets)
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert out["ScalingPolicyArn"] in {p["PolicyARN"] for p in policies}
    cluster = session.client("ecs").describe_clusters(clusters=[out["ClusterName"]])["clusters"][0]
    assert cluster["capacityProviders"] == [out["ProviderName"]]


def test_delivery_services_exist(session: LocalSession, out: dict[str, str]) -> None:
    assert (
        session.client("codecommit").get_repository(repositoryName="pipelines")["repositoryMetadata"]["Arn"]
        == out["RepositoryArn"]
    )
    projects = session.client("codebuild").batch_get_projects(names=[out["ProjectArn"].rsplit("/", 1)[-1]])["projects"]
    assert projects[0]["arn"] == out["ProjectArn"]
    pipeline = session.client("codepipeline").get_pipeline(name=out["PipelineName"])["pipeline"]
    assert pipeline["stages"][0]["actions"][0]["configuration"] == {"RepositoryName": "pipelines", "BranchName": "main"}
    assert out["NotificationRuleArn"] in recorded_resources(
        ACCOUNT_ID, REGION, "AWS::CodeStarNotifications::NotificationRule"
    )
