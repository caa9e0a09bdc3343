"""Which properties of each resource type the emulator carries to its service, so none is dropped unseen.

A property outside this table fails the create, naming the resource and
the property: moto would otherwise accept it and drop it, and a test could
never see the difference. Each entry is proven by
``tests/integration/test_emulator_properties.py``, which reads every
property of every resource of both environments back through the
service's API. To let a template use a new property, carry it in the
resource's model (``cfn/types/``, ``cfn/fixes/``, ``model_fixes.py``), add it here, and
add its reader to ``tests/integration/property_readers.py``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CARRIED", "UnmodelledPropertyError", "check"]


class UnmodelledPropertyError(Exception):
    """A template sets a property the emulator would drop."""


CARRIED: dict[str, set[str]] = {
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "MaxCapacity",
        "MinCapacity",
        "ResourceId",
        "ScalableDimension",
        "ServiceNamespace",
    },
    "AWS::ApplicationAutoScaling::ScalingPolicy": {
        "PolicyName",
        "PolicyType",
        "ScalingTargetId",
        "TargetTrackingScalingPolicyConfiguration",
    },
    "AWS::CertificateManager::Certificate": {"DomainName", "DomainValidationOptions", "ValidationMethod"},
    "AWS::CloudWatch::Alarm": {
        "AlarmActions",
        "AlarmDescription",
        "AlarmName",
        "ComparisonOperator",
        "Dimensions",
        "EvaluationPeriods",
        "MetricName",
        "Namespace",
        "OKActions",
        "Period",
        "Statistic",
        "Threshold",
        "TreatMissingData",
    },
    "AWS::EC2::EIP": {"Domain", "Tags"},
    "AWS::ElastiCache::ReplicationGroup": {
        "AtRestEncryptionEnabled",
        "AuthToken",
        "AutoMinorVersionUpgrade",
        "AutomaticFailoverEnabled",
        "CacheNodeType",
        "CacheSubnetGroupName",
        "Engine",
        "EngineVersion",
        "KmsKeyId",
        "MultiAZEnabled",
        "NumCacheClusters",
        "Port",
        "PreferredMaintenanceWindow",
        "ReplicationGroupDescription",
        "ReplicationGroupId",
        "SecurityGroupIds",
        "SnapshotRetentionLimit",
        "TransitEncryptionEnabled",
    },
    "AWS::ElastiCache::SubnetGroup": {"CacheSubnetGroupName", "Description", "SubnetIds"},
    "AWS::EC2::FlowLog": {
        "DeliverLogsPermissionArn",
        "LogDestinationType",
        "LogGroupName",
        "ResourceId",
        "ResourceType",
        "TrafficType",
    },
    "AWS::EC2::InternetGateway": {"Tags"},
    "AWS::EC2::NatGateway": {"AllocationId", "SubnetId", "Tags"},
    "AWS::EC2::Route": {"DestinationCidrBlock", "GatewayId", "NatGatewayId", "RouteTableId"},
    "AWS::EC2::RouteTable": {"Tags", "VpcId"},
    "AWS::EC2::SecurityGroup": {"GroupDescription", "SecurityGroupEgress", "SecurityGroupIngress", "Tags", "VpcId"},
    "AWS::EC2::SecurityGroupEgress": {
        "Description",
        "DestinationSecurityGroupId",
        "FromPort",
        "GroupId",
        "IpProtocol",
        "ToPort",
    },
    "AWS::EC2::SecurityGroupIngress": {
        "Description",
        "FromPort",
        "GroupId",
        "IpProtocol",
        "SourceSecurityGroupId",
        "ToPort",
    },
    "AWS::EC2::Subnet": {"AvailabilityZone", "CidrBlock", "MapPublicIpOnLaunch", "Tags", "VpcId"},
    "AWS::EC2::SubnetRouteTableAssociation": {"RouteTableId", "SubnetId"},
    "AWS::EC2::VPC": {"CidrBlock", "EnableDnsHostnames", "EnableDnsSupport", "Tags"},
    "AWS::EC2::VPCEndpoint": {
        "PolicyDocument",
        "PrivateDnsEnabled",
        "RouteTableIds",
        "SecurityGroupIds",
        "ServiceName",
        "SubnetIds",
        "VpcEndpointType",
        "VpcId",
    },
    "AWS::EC2::VPCGatewayAttachment": {"InternetGatewayId", "VpcId"},
    "AWS::ECR::Repository": {
        "EmptyOnDelete",
        "EncryptionConfiguration",
        "ImageScanningConfiguration",
        "ImageTagMutability",
        "LifecyclePolicy",
        "RepositoryName",
    },
    "AWS::ECS::Cluster": {"CapacityProviders", "ClusterName", "ClusterSettings", "DefaultCapacityProviderStrategy"},
    "AWS::ECS::Service": {
        "CapacityProviderStrategy",
        "Cluster",
        "DeploymentConfiguration",
        "DesiredCount",
        "EnableECSManagedTags",
        "HealthCheckGracePeriodSeconds",
        "LoadBalancers",
        "NetworkConfiguration",
        "PlatformVersion",
        "PropagateTags",
        "ServiceName",
        "TaskDefinition",
    },
    "AWS::ECS::TaskDefinition": {
        "ContainerDefinitions",
        "Cpu",
        "ExecutionRoleArn",
        "Family",
        "Memory",
        "NetworkMode",
        "RequiresCompatibilities",
        "RuntimePlatform",
        "TaskRoleArn",
    },
    "AWS::ElasticLoadBalancingV2::Listener": {
        "Certificates",
        "DefaultActions",
        "ListenerAttributes",
        "LoadBalancerArn",
        "Port",
        "Protocol",
        "SslPolicy",
    },
    "AWS::ElasticLoadBalancingV2::ListenerRule": {"Actions", "Conditions", "ListenerArn", "Priority"},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {
        "IpAddressType",
        "LoadBalancerAttributes",
        "Name",
        "Scheme",
        "SecurityGroups",
        "Subnets",
        "Type",
    },
    "AWS::ElasticLoadBalancingV2::TargetGroup": {
        "HealthCheckEnabled",
        "HealthCheckIntervalSeconds",
        "HealthCheckPath",
        "HealthCheckProtocol",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "Matcher",
        "Name",
        "Port",
        "Protocol",
        "TargetGroupAttributes",
        "TargetType",
        "UnhealthyThresholdCount",
        "VpcId",
    },
    "AWS::IAM::Role": {"AssumeRolePolicyDocument", "Description", "Path", "Policies"},
    "AWS::KMS::Alias": {"AliasName", "TargetKeyId"},
    "AWS::KMS::Key": {"Description", "EnableKeyRotation", "KeyPolicy", "PendingWindowInDays"},
    "AWS::Lambda::Function": {
        "Architectures",
        "Code",
        "Description",
        "Environment",
        "FunctionName",
        "Handler",
        "KmsKeyArn",
        "LoggingConfig",
        "MemorySize",
        "ReservedConcurrentExecutions",
        "Role",
        "Runtime",
        "Timeout",
        "VpcConfig",
    },
    "AWS::Lambda::Permission": {"Action", "FunctionName", "Principal", "SourceAccount", "SourceArn"},
    "AWS::Logs::LogGroup": {"KmsKeyId", "LogGroupName", "RetentionInDays"},
    "AWS::RDS::DBInstance": {
        "AllocatedStorage",
        "AutoMinorVersionUpgrade",
        "BackupRetentionPeriod",
        "CACertificateIdentifier",
        "CopyTagsToSnapshot",
        "DBInstanceClass",
        "DBInstanceIdentifier",
        "DBName",
        "DBParameterGroupName",
        "DBSubnetGroupName",
        "DeletionProtection",
        "EnableCloudwatchLogsExports",
        "EnablePerformanceInsights",
        "Engine",
        "EngineVersion",
        "KmsKeyId",
        "ManageMasterUserPassword",
        "MasterUserSecret",
        "MasterUserPassword",
        "MasterUsername",
        "MaxAllocatedStorage",
        "MultiAZ",
        "PerformanceInsightsKMSKeyId",
        "PerformanceInsightsRetentionPeriod",
        "Port",
        "PreferredBackupWindow",
        "PreferredMaintenanceWindow",
        "PubliclyAccessible",
        "StorageEncrypted",
        "StorageType",
        "VPCSecurityGroups",
    },
    "AWS::RDS::DBParameterGroup": {"Description", "Family", "Parameters"},
    "AWS::RDS::DBSubnetGroup": {"DBSubnetGroupDescription", "SubnetIds"},
    "AWS::Route53::RecordSet": {"AliasTarget", "HostedZoneId", "Name", "Type"},
    "AWS::Route53Resolver::FirewallDomainList": {"Domains", "Name"},
    "AWS::Route53Resolver::FirewallRuleGroup": {"FirewallRules", "Name"},
    "AWS::Route53Resolver::FirewallRuleGroupAssociation": {"FirewallRuleGroupId", "Name", "Priority", "VpcId"},
    "AWS::Route53Resolver::ResolverQueryLoggingConfig": {"DestinationArn", "Name"},
    "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation": {"ResolverQueryLogConfigId", "ResourceId"},
    "AWS::S3::Bucket": {
        "BucketEncryption",
        "LifecycleConfiguration",
        "OwnershipControls",
        "PublicAccessBlockConfiguration",
        "VersioningConfiguration",
    },
    "AWS::S3::BucketPolicy": {"Bucket", "PolicyDocument"},
    "AWS::SNS::Topic": {"DisplayName", "KmsMasterKeyId", "TopicName"},
    "AWS::SecretsManager::RotationSchedule": {
        "RotateImmediatelyOnUpdate",
        "RotationLambdaARN",
        "RotationRules",
        "SecretId",
    },
    "AWS::SecretsManager::Secret": {"Description", "GenerateSecretString", "KmsKeyId", "Name", "SecretString"},
    "AWS::SecretsManager::SecretTargetAttachment": {"SecretId", "TargetId", "TargetType"},
    "AWS::SecretsManager::ResourcePolicy": {"BlockPublicPolicy", "ResourcePolicy", "SecretId"},
    "AWS::WAFv2::IPSet": {"Addresses", "Description", "IPAddressVersion", "Name", "Scope"},
    "AWS::WAFv2::LoggingConfiguration": {"LogDestinationConfigs", "LoggingFilter", "RedactedFields", "ResourceArn"},
    "AWS::WAFv2::WebACL": {"DefaultAction", "Name", "Rules", "Scope", "VisibilityConfig"},
    "AWS::WAFv2::WebACLAssociation": {"ResourceArn", "WebACLArn"},
    "AWS::SNS::Subscription": {"Endpoint", "Protocol", "TopicArn"},
    "AWS::SNS::TopicPolicy": {"PolicyDocument", "Topics"},
    # A schedule is stored, not run: nothing here fires on time (README), so tests invoke the target.
    "AWS::Events::Rule": {"Description", "EventPattern", "Name", "ScheduleExpression", "State", "Targets"},
    # taskcat's entrypoint nests the stacks.
    "AWS::CloudFormation::Stack": {"Parameters", "TemplateURL", "TimeoutInMinutes"},
}


def check(logical_id: str, resource_json: dict[str, Any]) -> None:
    """Raise if the resource sets a property the emulator does not carry to its service."""
    resource_type = resource_json.get("Type", "")
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return  # every property goes to the function, as ResourceProperties (cfn_custom_resources)
    carried = CARRIED.get(resource_type)
    if carried is None:
        raise UnmodelledPropertyError(
            f"{resource_type} has no property table in the local emulator (llmgw_emulator/property_support.py)"
        )
    unknown = sorted(set(resource_json.get("Properties") or {}) - carried)
    if unknown:
        raise UnmodelledPropertyError(
            f"{resource_type} property {', '.join(unknown)} is not modelled by the local emulator, which would "
            "drop it; see llmgw_emulator/property_support.py"
        )
