"""The shared-state cache as it would deploy: database stack (the cache), network (its door), litellm (its use).

LiteLLM's docs: without Redis, a limit across N tasks lets N times through, cooldowns and
revocations stay on the task that saw them. https://docs.litellm.ai/docs/proxy/redis_requirements
What the cache does for LiteLLM is proven by tests/integration/test_litellm_shared_state.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmgw.parameters import check_parameters
from llmgw.specialise import resolve_template
from tools.render import ROOT, render_environment

AUTH_TOKEN = "{{resolve:secretsmanager:${CacheAuthSecretArn}:SecretString:REDIS_PASSWORD}}"


def environment(deployed, env: str) -> dict[str, str]:
    (definition,) = deployed[env]["litellm"].props("TaskDefinition")["ContainerDefinitions"]
    return {e["Name"]: str(e["Value"]) for e in definition["Environment"]}


def secrets(deployed, env: str) -> dict[str, str]:
    (definition,) = deployed[env]["litellm"].props("TaskDefinition")["ContainerDefinitions"]
    return {s["Name"]: s["ValueFrom"]["Fn::Sub"] for s in definition["Secrets"]}


def test_prod_cache__encrypts_in_transit_and_at_rest_with_the_gateway_key(deployed):
    database = deployed["prod"]["database"]
    cache = database.props("Cache")
    assert cache["TransitEncryptionEnabled"] is True
    assert cache["AtRestEncryptionEnabled"] is True
    assert cache["KmsKeyId"] == database.values["KmsKeyArn"]


def test_prod_cache__authenticates_with_a_token_cloudformation_reads_from_secrets_manager(deployed):
    # A dynamic reference: the token is in no parameter, template, event or output.
    assert deployed["prod"]["database"].props("Cache")["AuthToken"] == {"Fn::Sub": AUTH_TOKEN}


def test_prod_cache__lives_in_the_private_subnets_behind_its_own_security_group(deployed):
    database = deployed["prod"]["database"]
    cache = database.props("Cache")
    assert cache["SecurityGroupIds"] == [database.values["CacheSecurityGroupId"]]
    assert cache["CacheSubnetGroupName"] == {"Ref": "CacheSubnetGroup"}
    assert database.props("CacheSubnetGroup")["SubnetIds"] == database.values["PrivateSubnetIds"]


def test_prod_cache__is_maintained_apart_from_the_database_and_alarms_on_the_metric_for_small_nodes(deployed):
    database = deployed["prod"]["database"]
    window = database.props("Cache")["PreferredMaintenanceWindow"]
    assert window != database.props("DBInstance")["PreferredMaintenanceWindow"]
    # AWS: for nodes of two vCPUs or fewer, watch CPUUtilization (t4g nodes have two).
    assert {database.props(f"CacheCpuAlarm{n}")["MetricName"] for n in ("001", "002")} == {"CPUUtilization"}


def test_prod_cache__keeps_a_replica_in_the_second_az_that_takes_over(deployed):
    cache = deployed["prod"]["database"].props("Cache")
    assert (cache["NumCacheClusters"], cache["MultiAZEnabled"], cache["AutomaticFailoverEnabled"]) == (2, True, True)
    assert cache["Engine"] == "valkey"


def test_cache_security_group__answers_only_the_gateway_tasks_on_6379(deployed):
    network = deployed["prod"]["network"]
    rules = [
        r["Properties"]
        for r in network.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Ref": "CacheSecurityGroup"}
    ]
    assert rules == [{**rules[0], "IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379}]
    assert rules[0]["SourceSecurityGroupId"] == {"Ref": "EcsSecurityGroup"}
    assert "SecurityGroupIngress" not in network.props("CacheSecurityGroup")


def test_prod_tasks__reach_the_cache_over_tls_with_the_token_from_secrets_manager(deployed):
    env = environment(deployed, "prod")
    assert env["REDIS_HOST"] == deployed["prod"]["litellm"].values["CacheEndpoint"]
    assert (env["REDIS_PORT"], env["REDIS_SSL"]) == ("6379", "true")
    assert secrets(deployed, "prod")["REDIS_PASSWORD"] == "${CacheAuthSecretArn}:REDIS_PASSWORD::"
    assert "REDIS_PASSWORD" not in env


def test_task_execution_role__may_read_the_cache_token(deployed):
    (policy,) = deployed["prod"]["security"].props("TaskExecutionRole")["Policies"]
    readable = [
        s["Resource"] for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "secretsmanager:GetSecretValue"
    ]
    assert {"Ref": "CacheAuthSecret"} in readable[0]


def test_dev__runs_no_cache_by_default_and_its_tasks_get_no_redis_settings(deployed):
    assert "Cache" not in deployed["dev"]["database"].resources
    assert not [name for name in environment(deployed, "dev") if name.startswith("REDIS_")]
    assert "REDIS_PASSWORD" not in secrets(deployed, "dev")


def test_dev__runs_the_cache_when_launched_with_enable_cache():
    stack = render_environment("dev", {"enable_cache": "true"})["dev/database"]
    values = check_parameters(stack.template, stack.example_parameters())
    resources = resolve_template(stack.template, values)["Resources"]
    assert resources["Cache"]["Properties"]["NumCacheClusters"] == 1
    assert resources["Cache"]["Properties"]["TransitEncryptionEnabled"] is True


@pytest.mark.parametrize(
    ("parameter", "value", "names"),
    [("EnableCache", "false", "set EnableCache to true"), ("CacheMultiAZ", "false", "set CacheMultiAZ to true"),
     ("CacheNodeType", "cache.t4g.micro", "cache.t4g.small or larger")],
)  # fmt: skip
def test_prod_rules__refuse_a_prod_without_a_replicated_cache_of_a_real_size(deployed, parameter, value, names):
    from llmgw.parameters import ParameterError

    database = deployed["prod"]["database"]
    passed = {**database.rendered.example_parameters(), parameter: value}
    with pytest.raises(ParameterError, match=names):
        check_parameters(database.rendered.template, passed)


def test_gateway_config__takes_the_cache_from_the_redis_environment():
    config = yaml.safe_load((ROOT / "image" / "config.yaml").read_text())
    router = config["router_settings"]
    assert (router["redis_host"], router["redis_port"], router["redis_password"]) == (
        "os.environ/REDIS_HOST",
        "os.environ/REDIS_PORT",
        "os.environ/REDIS_PASSWORD",
    )
    # The response cache would answer one team's prompt with another's completion: left off.
    assert "cache" not in config.get("litellm_settings", {})


def test_image__waits_for_the_cache_before_serving():
    entrypoint = (ROOT / "image" / "entrypoint.sh").read_text()
    assert "python3 /app/gateway/wait_for_redis.py || exit $?" in entrypoint
    assert "wait_for_redis.py" in (ROOT / "image" / "Dockerfile").read_text()
    assert Path(ROOT / "image" / "wait_for_redis.py").exists()
