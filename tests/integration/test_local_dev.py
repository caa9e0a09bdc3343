"""`sceptre launch dev` and `sceptre delete dev`, for real, against the local AWS emulator.

Every assertion reads the emulator's service APIs (EC2, ECS, RDS, Secrets
Manager, ...), not the templates. Tests run in file order on one emulator:
launch, inspect, relaunch, delete.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from llmgw.stacks import STACKS
from llmgw_common.gateway_secrets import database_url, libpq_parameters
from tests.integration.conftest import start_emulator, stop_emulator
from tools.inventory import inventory
from tools.local import local_variables, read_rotations
from tools.render import ROOT

# role of each security group -> the rules the guide allows, as (direction, port, peer role or CIDR)
EXPECTED_CHAIN = {
    # client_cidr: the rehearsal's clients are on loopback (tools.local.LOCAL_CLIENT_CIDR)
    ("alb", "in", 80, "127.0.0.1/32"),
    ("alb", "in", 443, "127.0.0.1/32"),
    ("alb", "out", 4000, "ecs"),
    ("ecs", "in", 4000, "alb"),
    ("ecs", "out", 443, "0.0.0.0/0"),
    ("ecs", "out", 5432, "rds"),
    ("ecs", "out", 6379, "cache"),
    ("cache", "in", 6379, "ecs"),
    ("rds", "in", 5432, "ecs"),
    ("rds", "in", 5432, "lambda"),
    ("lambda", "out", 5432, "rds"),
    ("lambda", "out", 443, "endpoints"),
    ("master-key-rotation", "out", 443, "endpoints"),
    ("endpoints", "in", 443, "10.0.0.0/16"),
    # the placeholder that replaces EC2's default allow-all egress
    ("alb", "out", -1, "127.0.0.1/32"),
    ("rds", "out", -1, "127.0.0.1/32"),
    ("cache", "out", -1, "127.0.0.1/32"),
    ("endpoints", "out", -1, "127.0.0.1/32"),
    ("lambda", "out", -1, "127.0.0.1/32"),
    ("master-key-rotation", "out", -1, "127.0.0.1/32"),
}


@pytest.fixture(scope="module")
def dev(emulator):
    started = time.monotonic()
    result = emulator.sceptre("launch", "-y", "dev")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"\nsceptre launch -y dev against the emulator: {elapsed:.1f} s")
    outputs = {"launch_log": result.stdout + result.stderr}
    for stack in STACKS:
        outputs.update(emulator.outputs(f"litellm-dev-{stack}"))
    return outputs


def test_launch_dev__all_five_stacks_are_create_complete(emulator, dev):
    stacks = emulator.client("cloudformation").describe_stacks()["Stacks"]
    assert {s["StackName"]: s["StackStatus"] for s in stacks} == {
        f"litellm-dev-{stack}": "CREATE_COMPLETE" for stack in STACKS
    }


def test_launch_dev__service_runs_in_private_subnets_with_the_ecs_group_behind_the_target_group(emulator, dev):
    (service,) = emulator.client("ecs").describe_services(cluster=dev["ClusterName"], services=[dev["ServiceName"]])[
        "services"
    ]
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(network["subnets"]) == sorted(dev["PrivateSubnetIds"].split(","))
    assert network["securityGroups"] == [dev["EcsSecurityGroupId"]]
    assert network["assignPublicIp"] == "DISABLED"
    assert [lb["targetGroupArn"] for lb in service["loadBalancers"]] == [dev["TargetGroupArn"]]
    assert service["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]


def test_launch_dev__task_secrets_point_at_the_security_stacks_secrets(emulator, dev):
    task = emulator.client("ecs").describe_task_definition(taskDefinition=dev["TaskDefinitionArn"])["taskDefinition"]
    (container,) = task["containerDefinitions"]
    sources = {s["name"]: s["valueFrom"].split(":")[:7] for s in container["secrets"]}
    arn = {
        key: dev[key].split(":")[:7]
        for key in ("MasterKeySecretArn", "UiPasswordSecretArn", "ApiKeysSecretArn", "DatabaseSecretArn")
    }
    assert sources["LITELLM_MASTER_KEY"] == arn["MasterKeySecretArn"]
    assert sources["LITELLM_SALT_KEY"] == arn["MasterKeySecretArn"]
    assert sources["UI_PASSWORD"] == arn["UiPasswordSecretArn"]
    assert sources["OPENAI_API_KEY"] == arn["ApiKeysSecretArn"]
    assert sources["DATABASE_URL"] == arn["DatabaseSecretArn"]
    assert task["executionRoleArn"] == dev["TaskExecutionRoleArn"]
    assert container["image"].startswith(dev["RepositoryUri"] + ":")


def test_launch_dev__database_uses_the_key_the_private_subnets_and_the_rds_group(emulator, dev):
    rds = emulator.client("rds")
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=dev["DBInstanceIdentifier"])["DBInstances"]
    assert db["KmsKeyId"] == dev["KmsKeyArn"]
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False
    subnets = {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]}
    assert subnets == set(dev["PrivateSubnetIds"].split(","))
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [dev["RdsSecurityGroupId"]]
    assert db["EngineVersion"].startswith("15."), "RDS runs the major the template names on a current minor"


def test_launch_dev__load_balancer_logs_to_a_private_tls_only_bucket(emulator, dev):
    elbv2, s3 = emulator.client("elbv2"), emulator.client("s3")
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=dev["LoadBalancerArn"])["Attributes"]
    }
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == dev["AccessLogBucketName"]
    policy = json.loads(s3.get_bucket_policy(Bucket=dev["AccessLogBucketName"])["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["LoadBalancerDelivers"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert statements["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    public = s3.get_public_access_block(Bucket=dev["AccessLogBucketName"])["PublicAccessBlockConfiguration"]
    assert all(public.values())


def test_launch_dev__flow_logs_are_encrypted_with_the_network_stacks_own_rotating_key(emulator, dev):
    (group,) = emulator.client("logs").describe_log_groups(logGroupNamePrefix="/vpc/dev-litellm-flow-logs")["logGroups"]
    kms = emulator.client("kms")
    key = kms.describe_key(KeyId=group["kmsKeyId"].rsplit("/", 1)[1])["KeyMetadata"]
    assert key["Description"] == "dev-litellm VPC flow logs key"
    assert key["KeyManager"] == "CUSTOMER" and key["KeyState"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


def test_launch_dev__security_group_chain_holds_and_nothing_else_is_open(emulator, dev):
    roles = {
        dev["AlbSecurityGroupId"]: "alb",
        dev["EcsSecurityGroupId"]: "ecs",
        dev["RdsSecurityGroupId"]: "rds",
        dev["CacheSecurityGroupId"]: "cache",  # exists in dev too, unused while the cache is off
        dev["LambdaSecurityGroupId"]: "lambda",
        dev["MasterKeyRotationSecurityGroupId"]: "master-key-rotation",
        dev["VpcEndpointSecurityGroupId"]: "endpoints",
    }
    groups = emulator.client("ec2").describe_security_groups(GroupIds=list(roles))["SecurityGroups"]
    found = set()
    for group in groups:
        for direction, key in (("in", "IpPermissions"), ("out", "IpPermissionsEgress")):
            for rule in group[key]:
                port = rule.get("FromPort", -1) if rule["IpProtocol"] != "-1" else -1
                peers = [r["CidrIp"] for r in rule.get("IpRanges", [])]
                peers += [roles.get(p["GroupId"], p["GroupId"]) for p in rule.get("UserIdGroupPairs", [])]
                found |= {(roles[group["GroupId"]], direction, port, peer) for peer in peers}
    assert found == EXPECTED_CHAIN


def test_launch_dev__secrets_exist_with_generated_and_seeded_values(emulator, dev):
    secrets = emulator.client("secretsmanager")
    master = json.loads(secrets.get_secret_value(SecretId=dev["MasterKeySecretArn"])["SecretString"])
    assert len(master["LITELLM_SALT_KEY"]) == 64
    assert master["LITELLM_MASTER_KEY"].startswith("sk-") and len(master["LITELLM_MASTER_KEY"]) == 51
    ui = json.loads(secrets.get_secret_value(SecretId=dev["UiPasswordSecretArn"])["SecretString"])
    assert ui["UI_USERNAME"] == "admin" and len(ui["UI_PASSWORD"]) == 24
    database = json.loads(secrets.get_secret_value(SecretId=dev["DatabaseSecretArn"])["SecretString"])
    assert database["host"] == dev["DBEndpoint"]  # written by the secret target attachment
    assert len(database["password"]) == 32
    assert database["DATABASE_URL"] == database_url(
        database, "us-east-1"
    )  # !seed_database_url, then the first rotation
    for arn in (dev["MasterKeySecretArn"], dev["ApiKeysSecretArn"]):
        assert secrets.describe_secret(SecretId=arn)["KmsKeyId"] == dev["KmsKeyId"]


def test_launch_dev__secrets_rotate_every_30_days_with_uploaded_functions(emulator, dev):
    secrets, functions = emulator.client("secretsmanager"), emulator.client("lambda")
    for secret, function in (
        ("MasterKeySecretArn", "dev-litellm-master-key-rotation"),
        ("DatabaseSecretArn", "dev-litellm-db-rotation"),
    ):
        described = secrets.describe_secret(SecretId=dev[secret])
        assert described["RotationEnabled"] is True
        assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
        configuration = functions.get_function(FunctionName=function)["Configuration"]
        assert described["RotationLambdaARN"] == configuration["FunctionArn"]
        assert configuration["Runtime"] == "python3.12"
        assert sorted(configuration["VpcConfig"]["SubnetIds"]) == sorted(dev["PrivateSubnetIds"].split(","))
    keys = [o["Key"] for o in emulator.client("s3").list_objects_v2(Bucket=dev["ArtifactBucketName"])["Contents"]]
    # The two rotation functions, and the litellm stack's migration, secret-age and (uploaded even while
    # its schedule is off) UI password rotation functions.
    assert sorted(k.split("-")[0] for k in keys) == [
        "lambdas/db_migration", "lambdas/db_rotation", "lambdas/master_key_rotation", "lambdas/secret_age",
        "lambdas/ui_password_rotation",
    ]  # fmt: skip


def test_launch_dev__creating_the_schedules_ran_both_functions_as_secrets_manager_does(emulator, dev):
    rotations = {r["secret_arn"]: r for r in read_rotations(emulator.endpoint)}

    # RotateImmediatelyOnUpdate false: only the configuration test; true: the first rotation.
    master, database = rotations[dev["MasterKeySecretArn"]], rotations[dev["DatabaseSecretArn"]]
    assert (master["kind"], master["status"], master["steps"]) == ("test", "Succeeded", ["testSecret: ok"])
    assert (database["kind"], database["status"]) == ("rotation", "Succeeded")
    assert database["steps"] == ["createSecret: ok", "setSecret: ok", "testSecret: ok", "finishSecret: ok"]


def test_launch_dev__the_database_secrets_url_connects_over_tls_to_the_instance_with_the_gateways_logins(emulator, dev):
    secret = json.loads(
        emulator.client("secretsmanager").get_secret_value(SecretId=dev["DatabaseSecretArn"])["SecretString"]
    )

    login = libpq_parameters(secret["DATABASE_URL"], str(emulator.rds_ca_bundle))  # verify-full, as Prisma verifies
    with psycopg2.connect(**login, connect_timeout=5) as connection, connection.cursor() as cursor:
        assert connection.info.ssl_in_use
        cursor.execute("SELECT session_user")
        assert cursor.fetchone() == ("litellm_clone",), "the first rotation switched to the alternate login"
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'litellm%' ORDER BY 1")
        assert [r[0] for r in cursor.fetchall()] == ["litellm", "litellm_admin", "litellm_clone", "litellm_owner"]
    connection.close()
    assert secret["host"] == dev["DBEndpoint"]


@pytest.mark.parametrize("secret", ["master-key", "database"])
def test_make_rotate__completes_all_four_steps_against_the_running_rehearsal(emulator, dev, secret):
    ecs = emulator.client("ecs")

    def deployment() -> str:
        (service,) = ecs.describe_services(cluster=dev["ClusterName"], services=[dev["ServiceName"]])["services"]
        return service["deployments"][0]["id"]

    before = deployment()
    result = subprocess.run(
        [sys.executable, "-m", "tools.local", "rotate", "dev", secret],
        cwd=ROOT,
        env={**os.environ, "LOCAL_PORT": emulator.endpoint.rsplit(":", 1)[1]},
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rotated dev-litellm/{secret} in " in result.stdout
    assert "createSecret: ok, setSecret: ok, testSecret: ok, finishSecret: ok" in result.stdout
    if secret == "database":
        assert deployment() != before, "finishSecret asked ECS for a new deployment: tasks read DATABASE_URL at start"
    else:
        assert deployment() == before, "tasks read the master key at run time: no redeploy"


def test_launch_dev__runs_both_hooks_and_the_image_hook_says_why_it_cannot_push(dev):
    log = dev["launch_log"]
    assert "secret master-key: set LITELLM_MASTER_KEY; kept LITELLM_SALT_KEY" in log
    assert "secret database: kept DATABASE_URL" in log  # the first rotation, at the schedule's creation, wrote it
    (image_line,) = [line for line in log.splitlines() if " - image: " in line]
    assert "was not built" in image_line and "has no registry" in image_line and "cannot be reached" in image_line


def test_launch_dev__a_key_in_the_url__is_refused_by_the_load_balancer_before_the_gateway_sees_it(emulator, dev):
    # LiteLLM would accept ?key= on Gemini-style routes; the load balancer logs every URL it serves.
    import urllib.error
    import urllib.request

    url = emulator.listener_url("dev-litellm-alb", 80) + "/v1beta/models/gpt-4o-mini:generateContent?key=sk-in-a-url"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=30)
    assert refused.value.code == 400
    assert "in a header" in refused.value.read().decode()


def test_launch_dev__the_secret_age_function_publishes_the_ui_passwords_age_for_its_alarm(emulator, dev):
    import datetime
    import json as json_module

    answer = emulator.client("lambda").invoke(FunctionName="dev-litellm-secret-age")
    assert "FunctionError" not in answer, answer["Payload"].read()
    age = json_module.loads(answer["Payload"].read())["ageDays"]
    assert 0 <= age < 1, "seeded at this launch"
    now = datetime.datetime.now(datetime.timezone.utc)
    points = emulator.client("cloudwatch").get_metric_statistics(
        Namespace="LiteLLMGateway", MetricName="dev-litellm-UiPasswordAgeDays", Statistics=["Maximum"],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5), Period=60,
    )["Datapoints"]  # fmt: skip
    assert [p["Maximum"] for p in points] == [age]
    (alarm,) = emulator.client("cloudwatch").describe_alarms(AlarmNames=["dev-litellm-ui-password-age"])["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "dev-litellm-UiPasswordAgeDays",
        90.0,
        "breaching",
    )


def test_launch_dev__alarms_notify_the_topic_and_autoscaling_is_registered(emulator, dev):
    # Target tracking adds its own alarms (TargetTracking-*), which act on the policy.
    alarms = emulator.client("cloudwatch").describe_alarms(AlarmNamePrefix="dev-litellm-")["MetricAlarms"]
    # 7 from the guide, errors and throttles per rotation function, the gateway's 4xx answers (item 33)
    # and the UI password's age (item 41)
    assert len(alarms) == 13
    assert all(a["AlarmActions"] == [dev["AlarmTopicArn"]] for a in alarms)
    scaling = emulator.client("application-autoscaling")
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ResourceId"] == f"service/{dev['ClusterName']}/{dev['ServiceName']}"
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    targets = {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]: p[
            "TargetTrackingScalingPolicyConfiguration"
        ]["TargetValue"]
        for p in policies
    }
    assert targets == {"ECSServiceAverageCPUUtilization": 70.0, "ECSServiceAverageMemoryUtilization": 80.0}


def test_launch_dev__the_databases_exported_logs_go_to_encrypted_groups_with_the_environments_retention(emulator, dev):
    """RDS creates /aws/rds/instance/<id>/<log> itself when it is absent: no key, kept forever, never deleted."""
    groups = emulator.client("logs").describe_log_groups(logGroupNamePrefix="/aws/rds/instance/")["logGroups"]

    found = {g["logGroupName"]: (g.get("kmsKeyId"), g.get("retentionInDays")) for g in groups}
    assert found == {
        f"/aws/rds/instance/{dev['DBInstanceIdentifier']}/{log}": (dev["KmsKeyArn"], 14)
        for log in ("postgresql", "upgrade")
    }


def test_relaunch_dev__through_make_local__changes_nothing_and_says_so(emulator, dev):
    cloudformation = emulator.client("cloudformation")
    before = {s["StackName"]: s for s in cloudformation.describe_stacks()["Stacks"]}

    # What `make local` runs the second time, pointed at this test's emulator.
    result = subprocess.run(
        [sys.executable, "-m", "tools.local", "launch", "dev"],
        cwd=ROOT,
        env={**os.environ, "LOCAL_PORT": emulator.endpoint.rsplit(":", 1)[1]},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count("No updates to perform") == len(STACKS)
    assert "Nothing changed: the 5 dev stacks were already up to date" in result.stdout
    after = {s["StackName"]: s for s in cloudformation.describe_stacks()["Stacks"]}
    for name, stack in after.items():
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack.get("LastUpdatedTime") == before[name].get("LastUpdatedTime")


BAD_CONFIGS = [
    (
        "network",
        'FlowLogRetentionDays: "14"',
        'FlowLogRetentionDays: "14"\n  VpcCidr: 10.0.0.0/33',
        "VpcCidr='10.0.0.0/33'",
    ),
    (
        "litellm",
        'MinCapacity: "1"\n  MaxCapacity: "4"',
        'MinCapacity: "4"\n  MaxCapacity: "3"',
        "MinCapacity 4 is greater",
    ),
    ("alb", 'EnableHttps: "false"', 'EnableHttps: "true"', "EnableHttps is true but DomainName is empty"),
]


@pytest.mark.parametrize(
    ("stack", "old", "new", "message"), BAD_CONFIGS, ids=["invalid CIDR", "min above max", "HTTPS without a domain"]
)
def test_relaunch_dev__bad_config__fails_in_one_line_before_any_stack_changes(
    emulator, dev, tmp_path, stack, old, new, message
):
    for name in ("config", "templates", "image", "lambdas"):
        shutil.copytree(ROOT / name, tmp_path / name)
    config = tmp_path / "config" / "dev" / f"{stack}.yaml"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new, 1))
    cloudformation = emulator.client("cloudformation")
    before = {
        s["StackName"]: (s["StackStatus"], s.get("LastUpdatedTime")) for s in cloudformation.describe_stacks()["Stacks"]
    }

    result = subprocess.run(
        [str(ROOT / ".venv/bin/sceptre"), *local_variables(["dev"]), "launch", "-y", "dev"],
        cwd=tmp_path,
        env=emulator.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode != 0
    assert any(message in line for line in (result.stdout + result.stderr).splitlines()), result.stdout + result.stderr
    after = {
        s["StackName"]: (s["StackStatus"], s.get("LastUpdatedTime")) for s in cloudformation.describe_stacks()["Stacks"]
    }
    assert after == before, "no stack was touched"


@pytest.mark.parametrize("project_code", ["ab-", "a--b"])
def test_launch_dev__a_project_code_rds_and_ecr_refuse__fails_in_one_line_before_any_stack(emulator, dev, project_code):
    """RDS identifiers and ECR names may not end with a hyphen or hold two in a row (dev-ab--db, dev-a--b-proxy)."""
    result = emulator.sceptre("--var", f"project_code={project_code}", "launch", "-y", "dev")

    names = [s["StackName"] for s in emulator.client("cloudformation").describe_stacks()["Stacks"]]
    assert result.returncode != 0
    assert not [n for n in names if n.startswith(f"{project_code}-")], "no stack was created"
    output = result.stdout + result.stderr
    assert any(f"ProjectCode={project_code!r} does not match" in line for line in output.splitlines()), output


def _ui_login(emulator, password: str) -> str:
    """What the admin UI's login form says to ``password``, through the load balancer: accepted or refused.

    The rehearsal's tasks run LiteLLM without a database (README), so past the credentials it
    answers 400 "Not connected to DB" where AWS's would log in (303); a wrong password is 401.
    """
    import http.client
    import urllib.parse

    host, port = emulator.listener_url("dev-litellm-alb", 80).split("//", 1)[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    body = urllib.parse.urlencode({"username": "admin", "password": password})
    connection.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    text = answer.read().decode(errors="replace")
    if answer.status in (302, 303) or (answer.status == 400 and "Not connected to DB" in text):
        return "accepted"
    return "refused" if answer.status == 401 else f"{answer.status}: {text[:200]}"


def test_ui_password_schedule__turned_on_rotates_nothing_and_a_rotation_logs_in_after_the_redeploy(emulator, dev):
    """After the relaunch test: this launch turns the optional schedule on, which that test's relaunch would undo."""
    secrets = emulator.client("secretsmanager")
    name = "dev-litellm/ui-password"
    before = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])["UI_PASSWORD"]
    assert _ui_login(emulator, before) == "accepted", "the seeded password logs in"

    result = emulator.sceptre("--var", "ui_password_rotation_days=30", "launch", "-y", "dev/litellm.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    described = secrets.describe_secret(SecretId=name)
    assert described["RotationEnabled"] and described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])["UI_PASSWORD"] == before

    rotated = subprocess.run(
        [sys.executable, "-m", "tools.local", "rotate", "dev", "ui-password"], cwd=ROOT,
        env={**os.environ, "LOCAL_PORT": emulator.endpoint.rsplit(":", 1)[1]}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "createSecret: ok, setSecret: ok, testSecret: ok, finishSecret: ok" in rotated.stdout
    after = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])["UI_PASSWORD"]
    assert after != before and after not in rotated.stdout + rotated.stderr
    assert _ui_login(emulator, after) == "accepted", "the redeployed tasks read the new password"
    assert _ui_login(emulator, before) == "refused"


def test_delete_dev__removes_the_five_stacks_in_reverse_order_and_leaves_nothing(emulator, dev):
    (service,) = emulator.api("services")
    pids = [t["pid"] for t in service["tasks"] if t["pid"]]
    ports = [int(x["LocalUrl"].rsplit(":", 1)[1]) for x in emulator.api("load-balancers")]
    assert pids and ports
    started = time.monotonic()
    result = emulator.sceptre("delete", "-y", "dev")
    print(f"\nsceptre delete -y dev against the emulator: {time.monotonic() - started:.1f} s")

    assert result.returncode == 0, result.stdout + result.stderr
    log = result.stdout + result.stderr
    order = [
        stack for line in log.splitlines() if "delete complete" in line for stack in STACKS if f"dev/{stack} " in line
    ]
    assert order.index("litellm") < min(order.index("alb"), order.index("database"))
    assert max(order.index("alb"), order.index("database")) < min(order.index("security"), order.index("network"))
    assert emulator.client("cloudformation").describe_stacks()["Stacks"] == []
    # dev retains nothing: the KMS key is scheduled for deletion, everything else is gone, but for
    # the account's ECS service-linked role, which the launch created and which outlives every stack.
    left = {kind: items for kind, items in inventory(emulator.session()).items() if items}
    assert left == {"iam_roles": ["AWSServiceRoleForECS"]}
    # Nothing keeps running or listening: the service's delete waited for its tasks to stop.
    assert emulator.api("services") == [] and emulator.api("load-balancers") == []
    assert not [
        p for p in pids if Path(f"/proc/{p}").exists() and "zombie" not in Path(f"/proc/{p}/status").read_text()
    ]
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def run_local(*args: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.local", *args],
        cwd=ROOT,
        env={**os.environ, "LOCAL_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_local__port_taken_by_another_program__says_so_in_one_line():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        result = run_local("up", port=squatter.getsockname()[1])

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "is in use by another program; choose another with LOCAL_PORT=<port>" in result.stderr


def test_local_summary__emulator_not_running__says_so_in_one_line():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]

    result = run_local("summary", "dev", port=free)

    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"local: the emulator is not running on http://127.0.0.1:{free}; start it with: make local"
    )


def test_launch_dev__a_reserved_concurrency_on_a_new_account__fails_with_lambdas_own_message(tmp_path):
    """What the rotation functions reserved before (1), on an account with Lambda's new-account limit of 10."""
    for name in ("config", "templates", "image", "lambdas"):
        shutil.copytree(ROOT / name, tmp_path / name)
    config = tmp_path / "config" / "dev" / "database.yaml"
    config.write_text(config.read_text() + '  RotationReservedConcurrency: "1"\n')
    process, emulator = start_emulator("new")
    try:
        result = subprocess.run(
            [str(ROOT / ".venv/bin/sceptre"), *local_variables(["dev"]), "launch", "-y", "dev/database.yaml"],
            cwd=tmp_path, env=emulator.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        cloudformation = emulator.client("cloudformation")
        (stack,) = cloudformation.describe_stacks(StackName="litellm-dev-database")["Stacks"]
        events = cloudformation.describe_stack_events(StackName="litellm-dev-database")["StackEvents"]
    finally:
        stop_emulator(process)

    assert result.returncode != 0
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    # Sceptre runs after_launch hooks even after a failed launch: the hook says it skipped, and why.
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "lacks host" not in output, output
    (skipped,) = [line for line in output.splitlines() if "dev/database - secret database: skipped" in line]
    assert "the stack is ROLLBACK_COMPLETE" in skipped and "minimum value of [10]" in skipped, skipped
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "MasterKeyRotationFunction"
    assert (
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
        "below its minimum value of [10]." in failed["ResourceStatusReason"]
    )
