"""The emulator's own CloudFormation additions (emulator/llmgw_emulator), one behaviour per test.

Each test creates a small stack through the CloudFormation API of a running
emulator and reads the result back through the owning service's API.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from llmgw.stacks import outputs_of


def _name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def create(emulator, resources: dict[str, Any], outputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Create a stack; return its description (status, outputs) and its events."""
    cloudformation = emulator.client("cloudformation")
    name = _name()
    template = {"Resources": resources, **({"Outputs": outputs} if outputs else {}), **extra}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    stack = emulator.wait_for_stack(name)
    stack["Events"] = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    stack["Out"] = outputs_of(stack)
    stack["Template"] = template
    return stack


def update(emulator, stack: dict[str, Any], resources: dict[str, Any]) -> None:
    template = {**stack["Template"], "Resources": resources}
    emulator.client("cloudformation").update_stack(StackName=stack["StackName"], TemplateBody=json.dumps(template))
    emulator.wait_for_stack(stack["StackName"])


def delete(emulator, stack: dict[str, Any]) -> str:
    cloudformation = emulator.client("cloudformation")
    cloudformation.delete_stack(StackName=stack["StackName"])
    emulator.wait_for_stack(stack["StackId"])
    remaining = cloudformation.describe_stacks(StackName=stack["StackId"])["Stacks"]
    return remaining[0]["StackStatus"]


def vpc(emulator) -> str:
    return emulator.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]


# ---- engine behaviour ---------------------------------------------------------------


def test_unsupported_type__fails_the_create_naming_the_type_and_rolls_back(emulator):
    stack = create(
        emulator,
        {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Thing": {"Type": "AWS::AppRunner::Service", "Properties": {}},
        },
    )

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in stack["Events"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("AWS::AppRunner::Service is not supported by the local emulator" in r for r in reasons)
    topics = emulator.client("sns").list_topics()["Topics"]
    assert not [t for t in topics if stack["StackName"] in t["TopicArn"]], "rollback leaves nothing behind"


def test_update_without_changes__is_refused_as_cloudformation_does(emulator):
    stack = create(emulator, {"Topic": {"Type": "AWS::SNS::Topic"}})

    with pytest.raises(ClientError, match="No updates are to be performed"):
        update(emulator, stack, stack["Template"]["Resources"])


def test_list_parameter__its_default_is_a_list_as_a_passed_value_is(emulator):
    parameters = {"Hosts": {"Type": "CommaDelimitedList", "Default": "a.example,b.example"}}
    outputs = {"Joined": {"Value": {"Fn::Join": ["|", {"Ref": "Hosts"}]}}}
    resources = {"Topic": {"Type": "AWS::SNS::Topic"}}
    stack = create(emulator, resources, outputs, Parameters=parameters)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack["Events"][0]
    assert stack["Out"]["Joined"] == "a.example|b.example"
    assert stack["Parameters"] == [{"ParameterKey": "Hosts", "ParameterValue": "a.example,b.example"}]


def test_rules__are_applied_before_anything_is_created(emulator):
    cloudformation = emulator.client("cloudformation")
    template = {
        "Parameters": {"Min": {"Type": "Number"}, "Max": {"Type": "Number"}},
        "Rules": {
            "MinBelowMax": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "Min"}, "3"]},
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2"], {"Ref": "Max"}]}]},
                        "AssertDescription": "Max too small",
                    }
                ],
            }
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    name = _name()

    with pytest.raises(ClientError, match="rule MinBelowMax: Max too small"):
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "Min", "ParameterValue": "3"}, {"ParameterKey": "Max", "ParameterValue": "2"}],
        )
    assert name not in {s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]}


def test_getatt_with_a_dotted_attribute__resolves_and_unresolvable_outputs_fail(emulator):
    subnet = emulator.client("ec2").create_subnet(VpcId=vpc(emulator), CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    subnet2 = emulator.client("ec2").create_subnet(VpcId=vpc(emulator), CidrBlock="10.9.2.0/24")["Subnet"]["SubnetId"]
    resources = {
        "Subnets": {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {"DBSubnetGroupDescription": "t", "SubnetIds": [subnet, subnet2]},
        },
        "Db": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "DBInstanceClass": "db.t3.micro",
                "Engine": "postgres",
                "EngineVersion": "15.13",
                "MasterUsername": "u",
                "MasterUserPassword": "password123",
                "AllocatedStorage": "20",
                "DBSubnetGroupName": {"Ref": "Subnets"},
            },
        },
    }

    stack = create(emulator, resources, {"Host": {"Value": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}}})

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # The local PostgreSQL that serves the instance listens on a loopback address of its own.
    assert stack["Out"]["Host"].startswith("127.")


def test_rds_snapshot_policy__leaves_a_final_snapshot_on_delete(emulator):
    resources = {
        "Db": {
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": "Snapshot",
            "Properties": {
                "DBInstanceIdentifier": "snapshotted-db",
                "DBInstanceClass": "db.t3.micro",
                "Engine": "postgres",
                "EngineVersion": "15.13",
                "MasterUsername": "u",
                "MasterUserPassword": "password123",
                "AllocatedStorage": "20",
                "DeletionProtection": "false",
            },
        }
    }
    stack = create(emulator, resources)
    assert stack["StackStatus"] == "CREATE_COMPLETE"

    assert delete(emulator, stack) == "DELETE_COMPLETE"

    rds = emulator.client("rds")
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier="snapshotted-db")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"].startswith("snapshotted-db-final-") for s in snapshots] == [True]
    assert rds.describe_db_instances()["DBInstances"] == [] or all(
        d["DBInstanceIdentifier"] != "snapshotted-db" for d in rds.describe_db_instances()["DBInstances"]
    )


def test_rds_deletion_protection__fails_the_stack_delete_and_keeps_the_stack(emulator):
    resources = {
        "Db": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "DBInstanceIdentifier": "protected-db",
                "DBInstanceClass": "db.t3.micro",
                "Engine": "postgres",
                "EngineVersion": "15.13",
                "MasterUsername": "u",
                "MasterUserPassword": "password123",
                "AllocatedStorage": "20",
                "DeletionProtection": "true",
            },
        }
    }
    stack = create(emulator, resources)

    assert delete(emulator, stack) == "DELETE_FAILED"
    assert emulator.client("rds").describe_db_instances(DBInstanceIdentifier="protected-db")["DBInstances"]


# ---- resource types ------------------------------------------------------------------------


def test_secret__generates_its_value_and_a_template_change_alone_rewrites_it(emulator):
    generate = {"SecretStringTemplate": '{"user": "admin"}', "GenerateStringKey": "password", "PasswordLength": 24}
    resources = {
        "S": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": _name(), "GenerateSecretString": generate}}
    }
    stack = create(emulator, resources, {"Arn": {"Value": {"Ref": "S"}}})
    secrets = emulator.client("secretsmanager")
    arn = stack["Out"]["Arn"]
    value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert value["user"] == "admin" and len(value["password"]) == 24

    secrets.put_secret_value(SecretId=arn, SecretString='{"user": "admin", "password": "set-by-operator"}')
    update(
        emulator, stack, {"S": {**resources["S"], "Properties": {**resources["S"]["Properties"], "Description": "new"}}}
    )
    assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["password"] == "set-by-operator"

    assert delete(emulator, stack) == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="ResourceNotFound"):
        secrets.describe_secret(SecretId=arn)


def test_secret_target_attachment__adds_the_instances_endpoint_and_keeps_the_other_keys(emulator):
    secret = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"SecretString": '{"username": "u", "password": "p"}'},
    }
    db = {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "DBInstanceIdentifier": "attached-db",
            "DBInstanceClass": "db.t3.micro",
            "Engine": "postgres",
            "EngineVersion": "15.13",
            "MasterUsername": "u",
            "MasterUserPassword": "password123",
            "AllocatedStorage": "20",
        },
    }
    resources = {
        "S": secret,
        "Db": db,
        "Attach": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {"SecretId": {"Ref": "S"}, "TargetId": {"Ref": "Db"}, "TargetType": "AWS::RDS::DBInstance"},
        },
    }

    stack = create(
        emulator,
        resources,
        {"Arn": {"Value": {"Ref": "Attach"}}, "Host": {"Value": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}}},
    )

    secrets = emulator.client("secretsmanager")
    value = json.loads(secrets.get_secret_value(SecretId=stack["Out"]["Arn"])["SecretString"])
    assert value["host"] == stack["Out"]["Host"] and value["port"] == 5432 and value["engine"] == "postgres"
    assert value["password"] == "p" and value["dbInstanceIdentifier"] == "attached-db"


def test_rotation_schedule__naming_a_function_that_does_not_exist__fails_the_create(emulator):
    resources = {
        "S": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "{}"}},
        "Rotate": {
            "Type": "AWS::SecretsManager::RotationSchedule",
            "Properties": {
                "SecretId": {"Ref": "S"},
                "RotationLambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:rotate",
                "RotationRules": {"AutomaticallyAfterDays": 30},
            },
        },
    }

    stack = create(emulator, resources)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    (failed,) = [e for e in stack["Events"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Rotate"
    assert (
        "Resource not found for ARN 'arn:aws:lambda:us-east-1:123456789012:function:rotate'"
        in failed["ResourceStatusReason"]
    )


def test_security_group__inline_egress_replaces_the_default_and_standalone_rules_apply(emulator):
    vpc_id = vpc(emulator)
    resources = {
        "A": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "a",
                "VpcId": vpc_id,
                "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "127.0.0.1/32"}],
            },
        },
        "B": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "b", "VpcId": vpc_id}},
        "AToB": {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {
                "GroupId": {"Ref": "A"},
                "IpProtocol": "tcp",
                "FromPort": 4000,
                "ToPort": 4000,
                "DestinationSecurityGroupId": {"Ref": "B"},
            },
        },
    }

    stack = create(emulator, resources, {"A": {"Value": {"Ref": "A"}}, "B": {"Value": {"Ref": "B"}}})

    ec2 = emulator.client("ec2")
    (a,) = ec2.describe_security_groups(GroupIds=[stack["Out"]["A"]])["SecurityGroups"]
    egress = {(r["IpProtocol"], r.get("FromPort")) for r in a["IpPermissionsEgress"]}
    assert egress == {("-1", None), ("tcp", 4000)}
    assert [r["CidrIp"] for r in a["IpPermissionsEgress"] if r["IpProtocol"] == "-1" for r in r["IpRanges"]] == [
        "127.0.0.1/32"
    ]
    (b,) = ec2.describe_security_groups(GroupIds=[stack["Out"]["B"]])["SecurityGroups"]
    assert [r["IpRanges"][0]["CidrIp"] for r in b["IpPermissionsEgress"]] == ["0.0.0.0/0"], (
        "no inline egress keeps the default"
    )


def test_alarm_and_subscription__exist_in_cloudwatch_and_sns(emulator):
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Mail": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "ops@example.test"},
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "t-alarm",
                "Namespace": "AWS/ECS",
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "ClusterName", "Value": "c"}],
                "Statistic": "Average",
                "Period": 300,
                "EvaluationPeriods": 3,
                "Threshold": 85,
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
    }

    stack = create(emulator, resources, {"AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}}})

    (alarm,) = emulator.client("cloudwatch").describe_alarms(AlarmNames=["t-alarm"])["MetricAlarms"]
    assert (
        alarm["Threshold"] == 85 and alarm["EvaluationPeriods"] == 3 and alarm["AlarmArn"] == stack["Out"]["AlarmArn"]
    )
    subscriptions = emulator.client("sns").list_subscriptions_by_topic(TopicArn=alarm["AlarmActions"][0])[
        "Subscriptions"
    ]
    assert [s["Endpoint"] for s in subscriptions] == ["ops@example.test"]
    assert delete(emulator, stack) == "DELETE_COMPLETE"
    assert emulator.client("cloudwatch").describe_alarms(AlarmNames=["t-alarm"])["MetricAlarms"] == []


def test_web_acl_and_certificate__exist_and_a_missing_zone_fails_the_certificate(emulator):
    resources = {
        "Acl": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": "t-acl",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "VisibilityConfig": {
                    "SampledRequestsEnabled": True,
                    "CloudWatchMetricsEnabled": True,
                    "MetricName": "t",
                },
                "Rules": [],
            },
        }
    }
    stack = create(emulator, resources, {"Arn": {"Value": {"Fn::GetAtt": ["Acl", "Arn"]}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    acls = emulator.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
    assert stack["Out"]["Arn"] in {a["ARN"] for a in acls}

    missing_zone = {
        "Cert": {
            "Type": "AWS::CertificateManager::Certificate",
            "Properties": {
                "DomainName": "x.example.test",
                "ValidationMethod": "DNS",
                "DomainValidationOptions": [{"DomainName": "x.example.test", "HostedZoneId": "ZNOSUCHZONE0000"}],
            },
        }
    }
    assert create(emulator, missing_zone)["StackStatus"] == "ROLLBACK_COMPLETE"


def test_condition_on_a_number_parameter__compares_it_as_the_string_cloudformation_makes_of_it(emulator):
    template = {
        "Parameters": {"Count": {"Type": "Number", "Default": 0}},
        "Conditions": {"NoCount": {"Fn::Equals": [{"Ref": "Count"}, "0"]}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Zero": {"Value": {"Fn::If": ["NoCount", "yes", "no"]}}},
    }
    cloudformation = emulator.client("cloudformation")
    name = _name()

    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))

    stack = emulator.wait_for_stack(name)
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"Zero": "yes"}


def test_secret__a_change_to_its_template_value__writes_a_new_value_over_the_stored_one(emulator):
    """What the replacement guard refuses: CloudFormation owns SecretString, so editing it resets the secret."""
    resources = {"S": {"Type": "AWS::SecretsManager::Secret",
                       "Properties": {"Name": _name(), "SecretString": '{"OPENAI_API_KEY": ""}'}}}  # fmt: skip
    stack = create(emulator, resources, {"Arn": {"Value": {"Ref": "S"}}})
    secrets = emulator.client("secretsmanager")
    arn = stack["Out"]["Arn"]
    secrets.put_secret_value(SecretId=arn, SecretString='{"OPENAI_API_KEY": "sk-seeded-by-the-hook"}')

    changed = {"Name": resources["S"]["Properties"]["Name"], "SecretString": '{"OPENAI_API_KEY": "", "NEW": ""}'}
    update(emulator, stack, {"S": {**resources["S"], "Properties": changed}})

    assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"]) == {"OPENAI_API_KEY": "", "NEW": ""}


def test_deletion_policy__retain_outlives_the_rollback_of_the_update_that_made_it_retain_except_on_create_does_not(
    emulator,
):
    kept, dropped = f"/test/{_name()}", f"/test/{_name()}"
    stack = create(emulator, {"Topic": {"Type": "AWS::SNS::Topic"}})
    logs = emulator.client("logs")

    update(emulator, stack, {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Kept": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": kept}},
        "Dropped": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate",
                    "Properties": {"LogGroupName": dropped}},
        "Broken": {"Type": "AWS::AppRunner::Service", "DependsOn": ["Kept", "Dropped"], "Properties": {}},
    })  # fmt: skip

    (described,) = emulator.client("cloudformation").describe_stacks(StackName=stack["StackName"])["Stacks"]
    assert described["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    names = {g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/test/")["logGroups"]}
    assert kept in names, "Retain keeps what a rolled-back update created: a retry then finds it in the way"
    assert dropped not in names, "RetainExceptOnCreate deletes what the rolled-back operation created"


def test_deletion_policy__retain_except_on_create_is_kept_by_a_stack_delete(emulator):
    group = f"/test/{_name()}"
    stack = create(emulator, {
        "Group": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate",
                  "Properties": {"LogGroupName": group}},
    })  # fmt: skip

    assert delete(emulator, stack) == "DELETE_COMPLETE"
    names = {
        g["logGroupName"] for g in emulator.client("logs").describe_log_groups(logGroupNamePrefix="/test/")["logGroups"]
    }
    assert group in names


# ---- Secrets Manager resource policies ------------------------------------------------


def _secret_with_policy(statement: dict[str, Any], block: bool = True) -> dict[str, Any]:
    return {
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "{}"}},
        "Policy": {
            "Type": "AWS::SecretsManager::ResourcePolicy",
            "Properties": {"SecretId": {"Ref": "Secret"}, "BlockPublicPolicy": block,
                           "ResourcePolicy": {"Version": "2012-10-17", "Statement": [statement]}},
        },
    }  # fmt: skip


def test_secret_resource_policy__is_what_get_resource_policy_returns_and_goes_with_its_resource(emulator):
    readers = {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/r"]}}
    deny = {"Sid": "OnlyItsReaders", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
            "Resource": "*", "Condition": readers}  # fmt: skip
    resources = _secret_with_policy(deny)
    stack = create(emulator, resources)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack["Events"][0]
    secrets = emulator.client("secretsmanager")
    (arn,) = [r["PhysicalResourceId"] for r in emulator.client("cloudformation").describe_stack_resources(
        StackName=stack["StackName"])["StackResources"] if r["LogicalResourceId"] == "Secret"]  # fmt: skip
    assert json.loads(secrets.get_resource_policy(SecretId=arn)["ResourcePolicy"])["Statement"] == [deny]
    update(emulator, stack, {"Secret": resources["Secret"]})
    assert "ResourcePolicy" not in secrets.get_resource_policy(SecretId=arn)


def test_secret_resource_policy__block_public_policy_refuses_an_allow_to_everyone(emulator):
    everyone = {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue",
                "Resource": "*"}  # fmt: skip
    refused = create(emulator, _secret_with_policy(everyone))
    reasons = " ".join(e.get("ResourceStatusReason", "") for e in refused["Events"])
    assert refused["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "PutResourcePolicy refused (BlockPublicPolicy): statement 'Open' allows everyone" in reasons
    assert create(emulator, _secret_with_policy(everyone, block=False))["StackStatus"] == "CREATE_COMPLETE"


# ---- EventBridge ------------------------------------------------------------------------


def test_scheduled_rule__is_not_matched_by_events_on_its_bus(emulator):
    """A rule with a ScheduleExpression and no EventPattern only fires on its schedule.

    PutRule: "Rules with EventPatterns are triggered when a matching event is observed. Rules with
    ScheduleExpressions self-trigger based on the given schedule."
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
    """
    events, sns, sqs = emulator.client("events"), emulator.client("sns"), emulator.client("sqs")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    queue = sqs.create_queue(QueueName=_name())["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    scheduled, matching = _name(), _name()
    events.put_rule(Name=scheduled, ScheduleExpression="rate(1 day)")
    function = "arn:aws:lambda:us-east-1:123456789012:function:daily"
    events.put_targets(Rule=scheduled, Targets=[{"Id": "daily", "Arn": function}])
    events.put_rule(Name=matching, EventPattern=json.dumps({"source": ["aws.secretsmanager"]}))
    events.put_targets(Rule=matching, Targets=[{"Id": "topic", "Arn": topic}])
    try:
        sent = events.put_events(Entries=[{"Source": "aws.secretsmanager", "DetailType": "t", "Detail": "{}"}])
        assert sent["FailedEntryCount"] == 0
        delivered = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
        assert json.loads(json.loads(delivered[0]["Body"])["Message"])["source"] == "aws.secretsmanager"
    finally:
        for rule, target in ((scheduled, "daily"), (matching, "topic")):
            events.remove_targets(Rule=rule, Ids=[target])
            events.delete_rule(Name=rule)


# ---- Route 53 Resolver DNS Firewall and query logging ------------------------------------


def _dns_firewall(vpc_id: str, blocked: dict[str, Any]) -> dict[str, Any]:
    group = "/vpc/t-dns-" + uuid.uuid4().hex[:6]
    return {
        "Allowed": {"Type": "AWS::Route53Resolver::FirewallDomainList",
                    "Properties": {"Name": "allowed", "Domains": ["api.openai.com", "*.amazonaws.com"]}},
        "Everything": {"Type": "AWS::Route53Resolver::FirewallDomainList", "Properties": {"Domains": ["*"]}},
        "Rules": {"Type": "AWS::Route53Resolver::FirewallRuleGroup", "Properties": {"Name": "egress", "FirewallRules": [
            {"Priority": 100, "FirewallDomainListId": {"Ref": "Allowed"}, "Action": "ALLOW"},
            {"Priority": 200, "FirewallDomainListId": {"Ref": "Everything"}, **blocked}]}},
        "OnTheVpc": {"Type": "AWS::Route53Resolver::FirewallRuleGroupAssociation", "Properties": {
            "FirewallRuleGroupId": {"Ref": "Rules"}, "VpcId": vpc_id, "Priority": 101}},
        "Queries": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": group, "RetentionInDays": 7}},
        "QueryLog": {"Type": "AWS::Route53Resolver::ResolverQueryLoggingConfig",
                     "Properties": {"DestinationArn": {"Fn::GetAtt": ["Queries", "Arn"]}}},
        "QueryLogOnTheVpc": {"Type": "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation",
                             "Properties": {"ResolverQueryLogConfigId": {"Ref": "QueryLog"}, "ResourceId": vpc_id}},
    }  # fmt: skip


def test_dns_firewall__rules_and_query_log_read_back_on_the_vpc_and_go_with_the_stack(emulator):
    vpc_id = vpc(emulator)
    stack = create(emulator, _dns_firewall(vpc_id, {"Action": "BLOCK", "BlockResponse": "NODATA"}),
                   {"Group": {"Value": {"Ref": "Rules"}}, "List": {"Value": {"Ref": "Allowed"}}})  # fmt: skip
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack["Events"][0]
    resolver = emulator.client("route53resolver")
    (association,) = resolver.list_firewall_rule_group_associations(VpcId=vpc_id)["FirewallRuleGroupAssociations"]
    assert association["FirewallRuleGroupId"] == stack["Out"]["Group"] and association["Priority"] == 101
    rules = resolver.list_firewall_rules(FirewallRuleGroupId=stack["Out"]["Group"])["FirewallRules"]
    assert [(r["Priority"], r["Action"], r.get("BlockResponse")) for r in rules] == [
        (100, "ALLOW", None), (200, "BLOCK", "NODATA")]  # fmt: skip
    assert resolver.list_firewall_domains(FirewallDomainListId=stack["Out"]["List"])["Domains"] == [
        "api.openai.com", "*.amazonaws.com"]  # fmt: skip
    (logged,) = resolver.list_resolver_query_log_config_associations()["ResolverQueryLogConfigAssociations"]
    assert logged["ResourceId"] == vpc_id
    assert delete(emulator, stack) == "DELETE_COMPLETE"
    assert resolver.list_firewall_rule_group_associations(VpcId=vpc_id)["FirewallRuleGroupAssociations"] == []
    assert resolver.list_resolver_query_log_config_associations()["ResolverQueryLogConfigAssociations"] == []


@pytest.mark.parametrize(
    ("blocked", "reason"),
    [
        ({"Action": "BLOCK"}, "a BLOCK rule needs a BlockResponse"),
        ({"Action": "DENY"}, "Action 'DENY' is not one of"),
        ({"Action": "ALERT", "Disabled": True}, "FirewallRules properties the emulator does not model: ['Disabled']"),
    ],
)
def test_dns_firewall__a_rule_the_api_refuses_fails_the_create_naming_it(emulator, blocked, reason):
    stack = create(emulator, _dns_firewall(vpc(emulator), blocked))
    reasons = " ".join(e.get("ResourceStatusReason", "") for e in stack["Events"])
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE" and reason in reasons, reasons


def test_dns_firewall__a_domain_that_is_no_domain_specification_fails_the_create(emulator):
    resources = _dns_firewall(vpc(emulator), {"Action": "ALERT"})
    resources["Allowed"]["Properties"]["Domains"] = ["https://api.openai.com/v1"]
    stack = create(emulator, resources)
    reasons = " ".join(e.get("ResourceStatusReason", "") for e in stack["Events"])
    assert "'https://api.openai.com/v1' is not a domain specification" in reasons, reasons


# ---- WAF IP sets ----------------------------------------------------------------------------


def _acl_referencing(arn: Any) -> dict[str, Any]:
    seen = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"}
    rule = {"Name": "r", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": seen,
            "Statement": {"NotStatement": {"Statement": {"IPSetReferenceStatement": {"Arn": arn}}}}}  # fmt: skip
    return {"Type": "AWS::WAFv2::WebACL", "Properties": {"Name": _name(), "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}}, "VisibilityConfig": seen, "Rules": [rule]}}  # fmt: skip


def test_ip_set__a_rule_reads_back_naming_it_and_one_naming_no_ip_set_fails_the_create(emulator):
    ip_set = {"Type": "AWS::WAFv2::IPSet", "Properties": {"Name": _name(), "Scope": "REGIONAL",
              "IPAddressVersion": "IPV4", "Addresses": ["198.51.100.0/24"]}}  # fmt: skip
    stack = create(emulator, {"Admins": ip_set, "Acl": _acl_referencing({"Fn::GetAtt": ["Admins", "Arn"]})},
                   {"Set": {"Value": {"Fn::GetAtt": ["Admins", "Arn"]}}, "Acl": {"Value": {"Ref": "Acl"}}})  # fmt: skip
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack["Events"][0]
    name, acl_id, scope = stack["Out"]["Acl"].split("|")
    (rule,) = emulator.client("wafv2").get_web_acl(Name=name, Id=acl_id, Scope=scope)["WebACL"]["Rules"]
    assert rule["Statement"]["NotStatement"]["Statement"]["IPSetReferenceStatement"]["ARN"] == stack["Out"]["Set"]

    missing = "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/nobody/0123456789"
    refused = create(emulator, {"Acl": _acl_referencing(missing)})
    reasons = " ".join(e.get("ResourceStatusReason", "") for e in refused["Events"])
    assert refused["StackStatus"] == "ROLLBACK_COMPLETE" and "WAFNonexistentItemException" in reasons, reasons


def test_scalable_target__min_above_max__fails_the_create_as_application_auto_scaling_does(emulator):
    """CloudFormation itself does not read the template's Metadata NotAbove (only !check_parameters does):
    a template with MinCapacity above MaxCapacity is accepted, and its ScalableTarget then fails."""
    template_parameters = {
        "MinCapacity": {"Type": "Number", "Default": 3},
        "MaxCapacity": {"Type": "Number", "Default": 2},
    }
    resources = {
        "Target": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ServiceNamespace": "ecs",
                "ResourceId": "service/cluster/service",
                "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": {"Ref": "MinCapacity"},
                "MaxCapacity": {"Ref": "MaxCapacity"},
            },
        }
    }

    stack = create(
        emulator, resources, Parameters=template_parameters, Metadata={"NotAbove": {"MinCapacity": "MaxCapacity"}}
    )

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    (failed,) = [e for e in stack["Events"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Target"
    assert "MinCapacity 3 is greater than MaxCapacity 2" in failed["ResourceStatusReason"]


def test_find_in_map__a_number_parameter_names_its_key_as_text_and_a_missing_key_fails_naming_it(emulator):
    """Mapping keys are text, so !FindInMap [M, !Ref NumberParameter, K] finds "512", as on AWS."""
    mapping = {"WorkersPerTask": {"512": {"Workers": "1"}, "2048": {"Workers": "2"}}}
    topic = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": _name()}}}
    workers = {"Workers": {"Value": {"Fn::FindInMap": ["WorkersPerTask", {"Ref": "TaskCpu"}, "Workers"]}}}

    cpu = {"TaskCpu": {"Type": "Number", "Default": 512}}
    stack = create(emulator, topic, workers, Parameters=cpu, Mappings=mapping)
    assert stack["StackStatus"] == "CREATE_COMPLETE", [e.get("ResourceStatusReason") for e in stack["Events"]]
    assert stack["Out"] == {"Workers": "1"}

    cloudformation = emulator.client("cloudformation")
    template = {"Parameters": {"TaskCpu": {"Type": "Number", "Default": 1024}}, "Mappings": mapping,
                "Resources": topic, "Outputs": workers}  # fmt: skip
    with pytest.raises(
        cloudformation.exceptions.ClientError, match="Unable to get mapping for WorkersPerTask::1024::Workers"
    ):
        name = _name()
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
        emulator.wait_for_stack(name)
        raise cloudformation.exceptions.ClientError(
            {"Error": {"Code": "x", "Message": str(cloudformation.describe_stack_events(StackName=name))}}, "x"
        )
