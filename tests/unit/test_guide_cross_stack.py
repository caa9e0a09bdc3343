"""The architecture guide's numbers that span stacks: the alarms, and the database connections at a rollout's peak.

Each stack's own values are checked in tests/unit/stacks/test_<stack>.py; how, in that package's docstring.
"""

from __future__ import annotations

import pytest
import yaml

from tests.unit.stacks.guide import BOTH, as_int, container

GUIDE_ALARMS = {
    # stack, logical id: (metric, comparison, threshold, period, evaluation periods)
    ("database", "CpuAlarm"): ("CPUUtilization", "GreaterThanThreshold", 80, 300, 3),
    ("database", "FreeStorageAlarm"): ("FreeStorageSpace", "LessThanThreshold", 5 * 1024**3, 300, 3),
    ("database", "ConnectionsAlarm"): ("DatabaseConnections", "GreaterThanThreshold", 80, 300, 3),
    ("litellm", "HighCpuAlarm"): ("CPUUtilization", "GreaterThanThreshold", 85, 300, 3),
    ("litellm", "HighMemoryAlarm"): ("MemoryUtilization", "GreaterThanThreshold", 90, 300, 3),
    ("litellm", "UnhealthyHostsAlarm"): ("UnHealthyHostCount", "GreaterThanOrEqualToThreshold", 1, 60, 3),
    ("litellm", "Target5xxAlarm"): ("HTTPCode_Target_5XX_Count", "GreaterThanThreshold", 10, 300, 2),
}


@BOTH
@pytest.mark.parametrize(("where", "expected"), GUIDE_ALARMS.items(), ids=[k[1] for k in GUIDE_ALARMS])
def test_alarms__match_the_guide_thresholds(deployed, env, where, expected):
    stack, logical_id = where
    alarm = deployed[env][stack].props(logical_id)
    actual = (
        alarm["MetricName"],
        alarm["ComparisonOperator"],
        as_int(alarm["Threshold"]),
        alarm["Period"],
        alarm["EvaluationPeriods"],
    )
    assert actual == expected


@BOTH
def test_alarms__every_alarm_notifies_the_alarm_topic(deployed, env):
    topic = deployed[env]["litellm"].values["AlarmTopicArn"]
    alarms = [a for s in deployed[env].values() for a in s.of_type("AWS::CloudWatch::Alarm").values()]
    # and errors and throttles per rotation function, the gateway's 4xx answers (item 33) and the UI
    # password's age (item 41); in prod, CPU and memory per cache node, and the WAF's blocks
    assert len(alarms) == len(GUIDE_ALARMS) + 4 + 1 + 1 + (4 + 1 if env == "prod" else 0)
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [topic]


# RDS for PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000), and
# DBInstanceClassMemory is the class's memory less what the OS and RDS keep (measured: about 0.9 of it).
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections
_CLASS_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}


_MEMORY_AVAILABLE = 0.85  # below what was measured, so the estimate errs low


_RDS_RESERVED = 5  # superuser_reserved_connections 3 and rds.rds_superuser_reserved_connections 2


_OTHER_CONNECTIONS = {"the migration task (Prisma, LiteLLM's lock, the age check)": 4, "a rotation": 2,
                      "an operator's psql sessions": 2}  # fmt: skip


@BOTH
def test_database_pool__every_connection_at_a_rollouts_peak_fits_the_instance_class(deployed, env):
    # LiteLLM opens database_connection_pool_limit connections per worker; a rolling deploy runs up to
    # MaximumPercent of MaxCapacity tasks at once; beside them, the migration, a rotation and people.

    from tools.render import ROOT

    pool = yaml.safe_load((ROOT / "image" / "config.yaml").read_text())["general_settings"]
    litellm = deployed[env]["litellm"]
    peak_tasks = (
        as_int(litellm.values["MaxCapacity"])
        * as_int(litellm.props("Service")["DeploymentConfiguration"]["MaximumPercent"])
        // 100
    )
    workers = as_int({e["Name"]: e["Value"] for e in container(deployed, env)["Environment"]}["NUM_WORKERS"])
    gateway = peak_tasks * workers * int(pool["database_connection_pool_limit"])
    instance_class = str(deployed[env]["database"].values["DBInstanceClass"])
    size = instance_class.rsplit(".", 1)[-1]
    assert size in _CLASS_GIB, f"{instance_class}: add its memory to _CLASS_GIB"
    max_connections = min(int(_CLASS_GIB[size] * 1024**3 * _MEMORY_AVAILABLE / 9531392), 5000)

    others, allowed = sum(_OTHER_CONNECTIONS.values()), max_connections - _RDS_RESERVED
    needed = gateway + others
    assert needed <= allowed, (
        f"{env}: {peak_tasks} tasks x {workers} workers x "
        f"{pool['database_connection_pool_limit']} connections + {others} others = {needed}, over the {allowed} "
        f"that {instance_class} allows"
    )
    assert int(pool["proxy_batch_write_at"]) == 60, "spend once a minute, not a database write per request"
