"""EC2 capacity for the collectors: hardened instances from the ECS-optimized AMI in the private subnets,
scaled by ECS through a capacity provider. Fargate pipelines need none of this.
"""

from __future__ import annotations

import re

from troposphere import (
    Base64,
    GetAtt,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)
from troposphere.autoscaling import AutoScalingGroup, LaunchTemplateSpecification
from troposphere.autoscaling import Tags as AsgTags
from troposphere.ec2 import (
    EBSBlockDevice,
    IamInstanceProfile,
    LaunchTemplate,
    LaunchTemplateBlockDeviceMapping,
    LaunchTemplateData,
    MetadataOptions,
    SecurityGroup,
    SecurityGroupRule,
    TagSpecifications,
)
from troposphere.ecs import (
    AutoScalingGroupProvider,
    CapacityProvider,
    CapacityProviderStrategy,
    Cluster,
    ClusterCapacityProviderAssociations,
    ManagedScaling,
)
from troposphere.iam import InstanceProfile, Role
from troposphere.iam import Policy as RolePolicy

from generator.policy import ingestion as policy
from generator.spec.loader import Pipeline
from generator.stacks.ingestion.network import Network

GRAVITON = re.compile(r"^(a1|[a-z]+\d+g[a-z0-9]*)\.")  # Graviton families: arm64 images
ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/{arch}recommended/image_id"
ANYWHERE_V4 = "0.0.0.0/0"


def arm64(pipeline: Pipeline) -> bool:
    """Graviton instance types (c6g, m7g, t4g, ...) need the arm64 AMI and arm64 tasks."""
    ingestion = pipeline.spec.ingestion
    return ingestion.launch_type == "ec2" and GRAVITON.match(ingestion.instance_type) is not None


def ec2_capacity(template: Template, pipeline: Pipeline, cluster: Cluster, net: Network) -> CapacityProvider:
    """EC2 container instances in the private subnets, scaled by ECS through a capacity provider."""
    ingestion = pipeline.spec.ingestion
    label = f"pipectl-{pipeline.name}-{pipeline.env}-collector"
    ami = template.add_parameter(
        Parameter(
            "EcsAmiId",
            Type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            Default=ECS_AMI_PARAMETER.format(arch="arm64/" if arm64(pipeline) else ""),
            Description="ECS-optimized Amazon Linux 2023 AMI, resolved from AWS's public SSM parameter",
        )
    )
    role = template.add_resource(
        Role(
            "CollectorInstanceRole",
            Description=f"pipectl {pipeline.name}/{pipeline.env}: ECS agent on collector instances",
            AssumeRolePolicyDocument=policy.instance_trust(),
            Policies=[
                RolePolicy(
                    PolicyName="EcsAgent",
                    PolicyDocument=policy.instance_policy(
                        GetAtt(cluster, "Arn"),
                        Sub(
                            "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
                            ":container-instance/${CollectorCluster}/*"
                        ),
                    ),
                )
            ],
        )
    )
    profile = template.add_resource(InstanceProfile("CollectorInstanceProfile", Roles=[Ref(role)]))
    group = template.add_resource(
        SecurityGroup(
            "CollectorInstanceSecurityGroup",
            GroupDescription=f"pipectl {pipeline.name}/{pipeline.env} collector instances: no inbound traffic",
            VpcId=net.vpc_id,
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=ANYWHERE_V4,
                    Description="HTTPS to ECS, logs and the image registry",
                )
            ],
        )
    )
    launch_template = template.add_resource(
        LaunchTemplate(
            "CollectorLaunchTemplate",
            LaunchTemplateData=LaunchTemplateData(
                ImageId=Ref(ami),
                InstanceType=ingestion.instance_type,
                IamInstanceProfile=IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                SecurityGroupIds=[GetAtt(group, "GroupId")],
                MetadataOptions=MetadataOptions(
                    HttpTokens="required", HttpEndpoint="enabled", HttpPutResponseHopLimit=1
                ),
                BlockDeviceMappings=[
                    LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",
                        # The account's default EBS key: the Auto Scaling service-linked role can use it
                        # without a grant on the pipeline key.
                        Ebs=EBSBlockDevice(Encrypted=True, VolumeType="gp3", VolumeSize=30, DeleteOnTermination=True),
                    )
                ],
                UserData=Base64(
                    Sub(
                        "#!/bin/bash\n"
                        "cat >> /etc/ecs/ecs.config <<EOF\n"
                        "ECS_CLUSTER=${CollectorCluster}\n"
                        "ECS_AWSVPC_BLOCK_IMDS=true\n"
                        "EOF\n"
                    )
                ),
                TagSpecifications=[TagSpecifications(ResourceType="instance", Tags=Tags(Name=label))],
            ),
        )
    )
    auto_scaling_group = template.add_resource(
        AutoScalingGroup(
            "CollectorAutoScalingGroup",
            MinSize="0",
            MaxSize=str(ingestion.capacity.max),
            VPCZoneIdentifier=net.private_subnets,
            LaunchTemplate=LaunchTemplateSpecification(
                LaunchTemplateId=Ref(launch_template),
                Version=GetAtt(launch_template, "LatestVersionNumber"),
            ),
            HealthCheckType="EC2",
            Tags=AsgTags(Name=label),
        )
    )
    capacity_provider = template.add_resource(
        CapacityProvider(
            "CollectorCapacityProvider",
            AutoScalingGroupProvider=AutoScalingGroupProvider(
                AutoScalingGroupArn=Ref(auto_scaling_group),
                ManagedScaling=ManagedScaling(Status="ENABLED", TargetCapacity=100),
                # Draining moves tasks away before scale-in; termination protection would block stack deletion.
                ManagedDraining="ENABLED",
                ManagedTerminationProtection="DISABLED",
            ),
        )
    )
    template.add_resource(
        ClusterCapacityProviderAssociations(
            "CollectorClusterCapacityProviders",
            Cluster=Ref(cluster),
            CapacityProviders=[Ref(capacity_provider)],
            DefaultCapacityProviderStrategy=[
                CapacityProviderStrategy(CapacityProvider=Ref(capacity_provider), Weight=1)
            ],
        )
    )
    return capacity_provider
