"""The litellm stack against the architecture guide: the task, its container, scaling, deploys, logs, the migration."""

from __future__ import annotations

import pytest

from tests.unit.stacks.guide import BOTH, as_int, container


@pytest.mark.parametrize(("env", "cpu", "memory"), [("dev", 512, 1024), ("prod", 1024, 2048)])
def test_compute__task_size_is_the_guides_in_dev_and_one_vcpu_in_prod(deployed, env, cpu, memory):
    # Departure: the guide sizes every task 512/1024. make bench measured about
    # 100 req/s per vCPU with production settings, so prod tasks get a whole vCPU.
    task = deployed[env]["litellm"].props("TaskDefinition")
    assert (as_int(task["Cpu"]), as_int(task["Memory"])) == (cpu, memory)
    assert task["NetworkMode"] == "awsvpc"
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["Family"] == {"Fn::Sub": "${Environment}-${ProjectCode}-proxy"}
    assert deployed[env]["litellm"].values["Environment"] == env


@BOTH
def test_compute__container_listens_on_4000_with_the_guide_environment(deployed, env):
    definition = container(deployed, env)
    assert definition["Name"] == "litellm-proxy"
    assert definition["PortMappings"] == [{"ContainerPort": 4000, "Protocol": "tcp"}]
    environment = {e["Name"]: str(e["Value"]) for e in definition["Environment"]}
    assert environment["STORE_MODEL_IN_DB"] == "True"
    assert environment["LITELLM_MODE"] == "PRODUCTION"
    assert environment["UI_ACCESS_MODE"] == "admin_ui"


@pytest.mark.parametrize(("env", "level"), [("dev", "DEBUG"), ("prod", "ERROR")])
def test_compute__litellm_log_is_debug_only_in_dev(deployed, env, level):
    # Departure: the guide sets DEBUG everywhere. make bench: DEBUG serves about
    # a fifth of ERROR's requests on the same vCPU, and it logs request bodies.
    environment = {e["Name"]: str(e["Value"]) for e in container(deployed, env)["Environment"]}
    assert environment["LITELLM_LOG"] == level


@BOTH
def test_compute__workers_match_the_tasks_vcpus(deployed, env):
    environment = {e["Name"]: str(e["Value"]) for e in container(deployed, env)["Environment"]}
    cpu = as_int(deployed[env]["litellm"].values["TaskCpu"])
    assert as_int(environment["NUM_WORKERS"]) == max(1, cpu // 1024)


@BOTH
def test_startup__reads_the_model_cost_map_from_the_image_not_from_the_internet(deployed, env):
    # Without it every task fetches the cost map from GitHub as it starts, through the NAT
    # gateway, and waits on it when GitHub is slow or unreachable (LiteLLM's production page).
    environment = {e["Name"]: str(e["Value"]) for e in container(deployed, env)["Environment"]}
    assert environment.get("LITELLM_LOCAL_MODEL_COST_MAP") == "True"


@BOTH
def test_compute__every_secret_comes_from_secrets_manager_never_the_environment(deployed, env):
    definition = container(deployed, env)
    sources = {s["Name"]: s["ValueFrom"]["Fn::Sub"] for s in definition["Secrets"]}
    assert sources == {
        "LITELLM_MASTER_KEY": "${MasterKeySecretArn}:LITELLM_MASTER_KEY::",
        "LITELLM_SALT_KEY": "${MasterKeySecretArn}:LITELLM_SALT_KEY::",
        "LITELLM_PREVIOUS_MASTER_KEY": "${MasterKeySecretArn}:LITELLM_PREVIOUS_MASTER_KEY::",
        "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": "${MasterKeySecretArn}:LITELLM_PREVIOUS_MASTER_KEY_EXPIRES::",
        "LITELLM_PREVIOUS_MASTER_KEYS": "${MasterKeySecretArn}:LITELLM_PREVIOUS_MASTER_KEYS::",
        "UI_USERNAME": "${UiPasswordSecretArn}:UI_USERNAME::",
        "UI_PASSWORD": "${UiPasswordSecretArn}:UI_PASSWORD::",
        "OPENAI_API_KEY": "${ApiKeysSecretArn}:OPENAI_API_KEY::",
        "ANTHROPIC_API_KEY": "${ApiKeysSecretArn}:ANTHROPIC_API_KEY::",
        "AWS_BEDROCK_REGION": "${ApiKeysSecretArn}:AWS_BEDROCK_REGION::",
        "DATABASE_URL": "${DatabaseSecretArn}:DATABASE_URL::",
        # the cache's AUTH token, where the cache runs (prod)
        **({"REDIS_PASSWORD": "${CacheAuthSecretArn}:REDIS_PASSWORD::"} if env == "prod" else {}),
    }
    assert not {e["Name"] for e in definition["Environment"]} & set(sources)


@BOTH
def test_compute__image_is_pinned_by_tag_never_latest(deployed, env):
    # Departure: the guide runs :latest. Our repository's tags are immutable
    # and ImageTag refuses floating names.
    image = container(deployed, env)["Image"]
    assert image == {"Fn::Sub": "${RepositoryUri}:${ImageTag}"}
    assert deployed[env]["litellm"].values["ImageTag"] not in {"latest", "stable", "main-latest"}
    assert deployed[env]["security"].props("Repository")["ImageTagMutability"] == "IMMUTABLE"


@BOTH
def test_compute__container_health_check_is_liveliness_30s_10s_5_retries_180s_start(deployed, env):
    check = container(deployed, env)["HealthCheck"]
    assert "/health/liveliness" in check["Command"][1]
    assert (check["Interval"], check["Timeout"], check["Retries"], as_int(check["StartPeriod"])) == (30, 10, 5, 180)


@pytest.mark.parametrize(("env", "provider"), [("dev", "FARGATE_SPOT"), ("prod", "FARGATE")])
def test_compute__capacity_is_spot_in_dev_and_on_demand_in_prod(deployed, env, provider):
    service = deployed[env]["litellm"].props("Service")
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": provider, "Weight": 1}]


@pytest.mark.parametrize(("env", "minimum"), [("dev", 1), ("prod", 2)])
def test_compute__autoscaling_runs_min_to_4_tasks_with_the_guide_targets(deployed, env, minimum):
    # Guide: min 1, max 4 (configurable); production additions: 2+ tasks.
    stack = deployed[env]["litellm"]
    target = stack.props("ScalableTarget")
    assert (as_int(target["MinCapacity"]), as_int(target["MaxCapacity"])) == (minimum, 4)
    # The ScalableTarget sets the count; a DesiredCount would undo autoscaling on every update
    # (test_launch_dev__after_autoscaling_scaled_the_service_out__a_new_image_keeps_every_task).
    assert "DesiredCount" not in stack.props("Service")
    for policy, metric, value in (
        ("CpuScalingPolicy", "ECSServiceAverageCPUUtilization", 70),
        ("MemoryScalingPolicy", "ECSServiceAverageMemoryUtilization", 80),
    ):
        config = stack.props(policy)["TargetTrackingScalingPolicyConfiguration"]
        assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == metric
        assert as_int(config["TargetValue"]) == value
        assert (as_int(config["ScaleInCooldown"]), as_int(config["ScaleOutCooldown"])) == (300, 60)


@BOTH
def test_compute__rolling_deploy_is_100_200_with_rollback_and_a_600s_grace(deployed, env):
    service = deployed[env]["litellm"].props("Service")
    assert service["DeploymentConfiguration"] == {
        "MinimumHealthyPercent": 100,
        "MaximumPercent": 200,
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
    }
    assert as_int(service["HealthCheckGracePeriodSeconds"]) == 600


@BOTH
def test_compute__tasks_run_in_private_subnets_without_public_ips_behind_the_target_group(deployed, env):
    service = deployed[env]["litellm"].props("Service")
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["Subnets"] == deployed[env]["litellm"].values["PrivateSubnetIds"]
    assert service["LoadBalancers"] == [
        {
            "ContainerName": "litellm-proxy",
            "ContainerPort": 4000,
            "TargetGroupArn": deployed[env]["litellm"].values["TargetGroupArn"],
        }
    ]


@pytest.mark.parametrize(("env", "insights"), [("dev", "disabled"), ("prod", "enabled")])
def test_compute__container_insights_only_in_prod(deployed, env, insights):
    settings = deployed[env]["litellm"].props("Cluster")["ClusterSettings"]
    assert settings == [{"Name": "containerInsights", "Value": insights}]


@pytest.mark.parametrize(("env", "days", "policy"), [("dev", 14, "Delete"), ("prod", 90, "Retain")])
def test_logs__gateway_log_group_keeps_14_days_in_dev_and_90_in_prod(deployed, env, days, policy):
    group = deployed[env]["litellm"].resource("LogGroup")
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": "/ecs/${Environment}-${ProjectCode}-proxy"}
    assert as_int(group["Properties"]["RetentionInDays"]) == days
    assert group["DeletionPolicy"] == policy


@BOTH
def test_migration__serving_tasks_never_migrate_and_the_service_waits_for_the_one_migration(deployed, env):
    # Concurrent start-up migrations race (LiteLLM issues #14400, #33650); one that waits up to
    # 600 s for LiteLLM's migration lock outlasts the container health check. The rehearsal runs
    # one migration but cannot show two racing, so the wiring is held here.
    litellm = deployed[env]["litellm"]
    serving = {e["Name"]: str(e["Value"]) for e in container(deployed, env)["Environment"]}
    (migrate,) = litellm.props("MigrationTaskDefinition")["ContainerDefinitions"]
    migration = litellm.props("Migration")

    assert serving["DISABLE_SCHEMA_UPDATE"] == "true"
    assert litellm.resource("Migration")["Type"] == "Custom::DatabaseMigration"
    assert litellm.resource("Service")["DependsOn"] == "Migration"
    assert migration["TaskDefinition"] == {"Ref": "MigrationTaskDefinition"}, "a new image is a new revision"
    assert migration["ServiceToken"] == {"Fn::GetAtt": ["MigrationFunction", "Arn"]}
    assert int(migration["ServiceTimeout"]) == 1800, "inside the pipeline job's hour"
    assert migration["AllowOlderImage"] == litellm.values["AllowOlderImage"], "per run: a flip must not migrate again"
    assert "ALLOW_OLDER_IMAGE" not in {e["Name"] for e in migrate["Environment"]}
    assert migrate["WorkingDirectory"] == "/app"
    assert migrate["Image"] == container(deployed, env)["Image"], "the migration runs the image about to roll out"
    assert migrate["EntryPoint"] == ["python3", "/app/gateway/migrate.py"]
    assert [s["Name"] for s in migrate["Secrets"]] == ["DATABASE_URL"], "the database login and nothing else"
    assert "TaskRoleArn" not in litellm.props("MigrationTaskDefinition"), "the migration calls no AWS API"
    assert migration["Subnets"] == litellm.props("Service")["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    # A migration longer than one invocation hands its wait on within CloudFormation's wait.
    assert int(litellm.props("MigrationFunction")["Timeout"]) == 900
    # A log group created by an update that rolls back must not stay in the retry's way.
    policy = litellm.resource("MigrationFunctionLogGroup")["DeletionPolicy"]
    assert policy == ("RetainExceptOnCreate" if env == "prod" else "Delete")


@pytest.mark.parametrize(
    ("cpu", "memory"), [("256", "512"), ("512", "1024"), ("1024", "2048"), ("2048", "4096"), ("4096", "8192")]
)
def test_compute__workers_follow_every_fargate_cpu_size_with_no_parameter_to_disagree(deployed, cpu, memory):
    from llmgw.parameters import check_parameters
    from llmgw.specialise import resolve_template

    litellm = deployed["dev"]["litellm"]
    assert "NumWorkers" not in litellm.rendered.template["Parameters"]
    values = check_parameters(litellm.rendered.template, {**litellm.values, "TaskCpu": cpu, "TaskMemory": memory})
    task = resolve_template(litellm.rendered.template, values)["Resources"]["TaskDefinition"]["Properties"]
    (gateway,) = task["ContainerDefinitions"]
    assert {e["Name"]: e["Value"] for e in gateway["Environment"]}["NUM_WORKERS"] == str(max(1, int(cpu) // 1024))
