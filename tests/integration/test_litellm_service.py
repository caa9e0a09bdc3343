"""The litellm stack's ECS service behind the alb stack's load balancer, running in the rehearsal.

One emulator and one copy of the repository for the module. Tests run in file
order: launch dev, check the gateway answers through its ALB, then the
moments production gateways go down, each under a bounded load counted
request by request (``load.py``): a master-key rotation, a database rotation
with its redeploy, a new image config, a broken one, a killed task; last, the
emulator stops and leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration import gateway
from tests.integration.conftest import start_emulator, stop_emulator
from tests.integration.load import SCENARIO_LINES, Client, report, run_clients, stop_clients
from tools.render import ROOT

CLUSTER, SERVICE = "dev-litellm", "dev-litellm-proxy"
MASTER_KEY, DATABASE = "dev-litellm/master-key", "dev-litellm/database"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("project")
    for name in ("config", "templates", "image", "lambdas"):
        shutil.copytree(ROOT / name, copy / name, symlinks=True)
    return copy


@pytest.fixture(scope="module")
def rehearsal(project: Path) -> Any:
    process, emulator = start_emulator("new", project=project)
    started = time.monotonic()
    result = emulator.sceptre_in(project, "launch", "-y", "dev")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"\nsceptre launch -y dev, first task healthy included: {time.monotonic() - started:.1f} s")
    yield emulator
    if process.poll() is None:
        stop_emulator(process)


def _secret(emulator: Any, name: str, stage: str = "AWSCURRENT") -> dict[str, str]:
    value = emulator.client("secretsmanager").get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]
    return json.loads(value)


def _service(emulator: Any) -> dict[str, Any]:
    (service,) = emulator.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return service


def _target_health(emulator: Any) -> list[dict[str, Any]]:
    elb = emulator.client("elbv2")
    (group,) = elb.describe_target_groups(Names=["dev-litellm-tg"])["TargetGroups"]
    return elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]


def _steady(emulator: Any, desired: int, timeout: float = 180) -> dict[str, Any]:
    """Wait until one completed deployment runs ``desired`` tasks, every one a healthy target."""
    deadline = time.monotonic() + timeout
    while True:
        service = _service(emulator)
        healthy = [t for t in _target_health(emulator) if t["TargetHealth"]["State"] == "healthy"]
        if (
            len(service["deployments"]) == 1
            and service["deployments"][0]["rolloutState"] == "COMPLETED"
            and service["runningCount"] == desired
            and len(healthy) == desired
            and len(_target_health(emulator)) == desired
        ):
            return service
        if time.monotonic() > deadline:
            pytest.fail(f"the service did not settle at {desired} healthy tasks: {service['deployments']}")
        time.sleep(0.5)


def _status(
    url: str, path: str, key: str | None = None, body: dict[str, Any] | None = None, timeout: float = 60
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode() if body else None, headers=headers, method="POST" if body else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _clients(url: str, emulator: Any) -> list[Client]:
    """Half the load keeps the key it read before; half reads the secret again every second."""
    before = _secret(emulator, MASTER_KEY)["LITELLM_MASTER_KEY"]
    latest = {"key": before, "read": time.monotonic()}

    def fresh() -> str:
        if time.monotonic() - latest["read"] >= 1:
            latest["key"], latest["read"] = _secret(emulator, MASTER_KEY)["LITELLM_MASTER_KEY"], time.monotonic()
        return latest["key"]

    return run_clients([Client("key read before", url, lambda: before), Client("key read every second", url, fresh)])


def _rotate(emulator: Any, name: str) -> dict[str, Any]:
    from tools.local import wait_for_rotation

    version = emulator.client("secretsmanager").rotate_secret(SecretId=name)["VersionId"]
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=300)
    assert outcome["status"] == "Succeeded", outcome
    return outcome


def _database(emulator: Any) -> Any:
    """A connection to the gateway's database as the gateway logs in: DATABASE_URL, verified against the CA."""
    import psycopg2

    from llmgw_common.gateway_secrets import libpq_parameters

    login = libpq_parameters(_secret(emulator, DATABASE)["DATABASE_URL"], str(emulator.rds_ca_bundle))
    connection = psycopg2.connect(**login, connect_timeout=5)
    connection.autocommit = True
    return connection


def _shipped_migrations() -> list[str]:
    """The migrations of the litellm-proxy-extras the pinned LiteLLM depends on (.venv-gateway)."""
    (directory,) = (ROOT / ".venv-gateway").glob("lib/python*/site-packages/litellm_proxy_extras/migrations")
    return sorted(p.name for p in directory.iterdir() if (p / "migration.sql").is_file())


def _migration_tasks(emulator: Any) -> list[dict[str, Any]]:
    ecs = emulator.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, startedBy="cloudformation-migration", desiredStatus="STOPPED")["taskArns"]
    return ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []


# ---- the gateway answers through its load balancer ------------------------------------------------------


def test_launch_dev__the_gateway_answers_through_its_alb_with_the_seeded_key_and_refuses_without_one(rehearsal):
    url = rehearsal.listener_url("dev-litellm-alb")
    key = _secret(rehearsal, MASTER_KEY)["LITELLM_MASTER_KEY"]
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}

    status, answer = _status(url, "/v1/chat/completions", key, body)
    assert status == 200, answer
    assert json.loads(answer)["choices"][0]["message"]["content"] == "Hello from the fake upstream."
    assert _status(url, "/v1/chat/completions", None, body)[0] == 401
    service = _steady(rehearsal, desired=1)
    assert (service["runningCount"], service["pendingCount"], service["desiredCount"]) == (1, 0, 1)


def test_launch_dev__each_task_is_a_healthy_target_at_its_eni_address_and_container_port(rehearsal):
    ecs = rehearsal.client("ecs")
    (task_arn,) = ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
    (task,) = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
    address = next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "privateIPv4Address")
    (target,) = _target_health(rehearsal)

    assert (task["lastStatus"], task["healthStatus"], task["desiredStatus"]) == ("RUNNING", "HEALTHY", "RUNNING")
    assert task["startedBy"] == _service(rehearsal)["deployments"][0]["id"]
    assert target["Target"] == {"Id": address, "Port": 4000}
    assert target["TargetHealth"]["State"] == "healthy"


def test_task__gets_the_task_definitions_environment_and_secrets_and_litellm_runs_without_database_url(rehearsal):
    (service,) = rehearsal.api("services")
    (task,) = [t for t in service["tasks"] if t["lastStatus"] == "RUNNING"]
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{task['pid']}/environ").read_bytes().decode().split("\0")
        if "=" in item
    )
    master, ui = _secret(rehearsal, MASTER_KEY), _secret(rehearsal, "dev-litellm/ui-password")

    assert environ["LITELLM_MASTER_KEY"] == master["LITELLM_MASTER_KEY"]  # valueFrom <arn>:LITELLM_MASTER_KEY::
    assert environ["LITELLM_SALT_KEY"] == master["LITELLM_SALT_KEY"]
    assert environ["UI_PASSWORD"] == ui["UI_PASSWORD"]
    assert (environ["LITELLM_MODE"], environ["STORE_MODEL_IN_DB"], environ["NUM_WORKERS"]) == (
        "PRODUCTION",
        "True",
        "1",
    )
    assert (environ["AWS_REGION"], environ["AWS_EXECUTION_ENV"]) == ("us-east-1", "AWS_ECS_FARGATE")
    assert "DATABASE_URL" not in environ  # the stand-in's one withheld value: Prisma's engines cannot download here


def test_emulator__says_at_start_in_one_line_each_what_stands_in_for_what(rehearsal):
    rehearsal.log.seek(0)
    said = [line for line in rehearsal.log.read().splitlines() if line.startswith("emulator: stand-in: ")]
    readme = " ".join((ROOT / "README.md").read_text().split())

    assert any("DATABASE_URL" in line and "Prisma" in line for line in said), said
    assert len(said) >= 5
    for line in said:
        assert line.removeprefix("emulator: stand-in: ") in readme, f"the README does not say: {line}"


def test_alb__applies_a_listener_rule_by_priority_and_path_before_the_others(rehearsal):
    elb = rehearsal.client("elbv2")
    (balancer,) = elb.describe_load_balancers(Names=["dev-litellm-alb"])["LoadBalancers"]
    (listener,) = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    rule = elb.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=5,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v1/blocked/*"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418", "MessageBody": "no"}}],
    )["Rules"][0]
    url = rehearsal.listener_url("dev-litellm-alb")
    try:
        deadline = time.monotonic() + 10
        while _status(url, "/v1/blocked/x")[0] != 418 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _status(url, "/v1/blocked/x") == (418, b"no")
        assert _status(url, "/v1/models")[0] == 401  # rule 10 (/v1/*) still forwards the rest
        assert _status(url, "/health/liveliness")[0] == 200  # rule 20
    finally:
        elb.delete_rule(RuleArn=rule["RuleArn"])


# ---- one migration per rollout ------------------------------------------------------------------


def test_launch_dev__one_migration_task_applies_litellms_schema_before_the_first_serving_task_starts(rehearsal):
    (migration,) = _migration_tasks(rehearsal)
    (container,) = migration["containers"]
    (service,) = rehearsal.api("services")
    first_serving = min(
        t["startedAt"] for t in rehearsal.client("ecs").describe_tasks(
            cluster=CLUSTER, tasks=[t["taskArn"] for t in service["tasks"]]
        )["tasks"]
    )  # fmt: skip
    with _database(rehearsal) as connection, connection.cursor() as cursor:
        cursor.execute('SELECT migration_name, finished_at IS NOT NULL, checksum FROM "_prisma_migrations"')
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'LiteLLM_%'"
        )
        owners = [r[0] for r in cursor.fetchall()]

    assert container["exitCode"] == 0 and migration["stopCode"] == "EssentialContainerExited"
    subnet = {d["name"]: d["value"] for a in migration["attachments"] for d in a["details"]}["subnetId"]
    private = rehearsal.outputs("litellm-dev-network")["PrivateSubnetIds"].split(",")
    assert subnet in private, "the migration runs in the private subnets, as the service's tasks do"
    assert migration["stoppedAt"] <= first_serving, "the service started before its schema was migrated"
    assert sorted(r[0] for r in rows) == _shipped_migrations(), "every migration the pinned release ships, once"
    assert all(finished and len(checksum) == 64 for _, finished, checksum in rows)
    # Tables belong to the role both alternating logins act as, so either may migrate and use them.
    assert owners == ["litellm_owner"]
    (task,) = [t for t in service["tasks"] if t["lastStatus"] == "RUNNING"]
    environ = Path(f"/proc/{task['pid']}/environ").read_bytes().decode().split("\0")
    assert "DISABLE_SCHEMA_UPDATE=true" in environ, "serving tasks never migrate"


# ---- rotations under load --------------------------------------------------------------------------------


def test_master_key_rotation__under_load__fails_no_request_with_either_key_and_needs_no_redeploy(rehearsal):
    url = rehearsal.listener_url("dev-litellm-alb")
    before = _secret(rehearsal, MASTER_KEY)
    deployment = _service(rehearsal)["deployments"][0]["id"]
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        _rotate(rehearsal, MASTER_KEY)
        time.sleep(35)  # past the gateway's 30 s cache: every task has read the new AWSCURRENT
    finally:
        stop_clients(clients)
    report("master-key rotation", clients)

    assert all(c.results and not c.failures for c in clients)
    assert _secret(rehearsal, MASTER_KEY)["LITELLM_MASTER_KEY"] != before["LITELLM_MASTER_KEY"]
    assert _service(rehearsal)["deployments"][0]["id"] == deployment  # the tasks read the key at run time


def test_master_key_rotation__with_a_fleet_of_tasks_started_before_and_after__fails_no_request(rehearsal):
    """Two tasks, then a rotation, then one task replaced: one knows the new key from its start, one never did."""
    ecs = rehearsal.client("ecs")
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=2)
    _steady(rehearsal, desired=2)
    url = rehearsal.listener_url("dev-litellm-alb")
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        _rotate(rehearsal, MASTER_KEY)
        (oldest, *_) = ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
        ecs.stop_task(cluster=CLUSTER, task=oldest, reason="the rehearsal replaces one task after the rotation")
        time.sleep(3)
        _steady(rehearsal, desired=2)
        time.sleep(3)
    finally:
        stop_clients(clients)
    report("master-key rotation, mixed fleet", clients)

    assert all(c.results and not c.failures for c in clients)


@pytest.mark.parametrize(("clock", "status"), [("+167h", 200), ("+169h", 401)], ids=["before-expiry", "after-expiry"])
def test_master_key_rotation__the_key_read_before_works_until_its_grace_ends(rehearsal, tmp_path, clock, status):
    """The rotated secret as the tasks read it, in LiteLLM with its clock moved by faketime."""
    secret = _secret(rehearsal, MASTER_KEY)
    (previous,) = [
        p
        for p in json.loads(secret["LITELLM_PREVIOUS_MASTER_KEYS"])
        if p["key"] == secret["LITELLM_PREVIOUS_MASTER_KEY"]
    ]
    proxy = gateway.start(secret, tmp_path / "proxy.log", faketime=clock)
    try:
        assert proxy.status("/v1/models", previous["key"]) == status
        assert proxy.status("/v1/models", secret["LITELLM_MASTER_KEY"]) == 200
    finally:
        proxy.stop()


def test_database_rotation__redeploys_rolling_and_fails_no_request(rehearsal):
    ecs = rehearsal.client("ecs")
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=1)
    _steady(rehearsal, desired=1)
    url = rehearsal.listener_url("dev-litellm-alb")
    before = _service(rehearsal)["deployments"][0]["id"]
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        _rotate(rehearsal, DATABASE)  # finishSecret: ecs:UpdateService --force-new-deployment
        time.sleep(1)
        after = _steady(rehearsal, desired=1)
        time.sleep(2)
    finally:
        stop_clients(clients)
    report("database rotation and redeploy", clients)

    assert after["deployments"][0]["id"] != before
    assert all(c.results and not c.failures for c in clients)


# ---- image changes under load ----------------------------------------------------------------------------


def test_migration_refused__the_rollout_stops_with_the_migrations_log_line_and_the_old_tasks_keep_serving(
    rehearsal, project
):
    # A newer LiteLLM migrated the database; the image about to roll out is older than that schema.
    newer = "29991231000000_from_a_newer_litellm"
    with _database(rehearsal) as connection, connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count) '
            "VALUES (%s, %s, %s, now(), 1)",
            (newer, "0" * 64, newer),
        )
    config = project / "image" / "config.yaml"
    good = config.read_text()
    config.write_text(good + "# a new image\n")
    url = rehearsal.listener_url("dev-litellm-alb")
    definition = _service(rehearsal)["taskDefinition"]
    migrations_before = len(_migration_tasks(rehearsal))
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        result = rehearsal.sceptre_in(project, "launch", "-y", "dev")
        time.sleep(2)
    finally:
        stop_clients(clients)
        config.write_text(good)
        with _database(rehearsal) as connection, connection.cursor() as cursor:
            cursor.execute('DELETE FROM "_prisma_migrations" WHERE migration_name = %s', (newer,))
    report("migration refused", clients)
    output = result.stdout + result.stderr

    assert result.returncode != 0
    reasons = [line for line in output.splitlines() if "Migration Custom::DatabaseMigration UPDATE_FAILED" in line]
    assert len(reasons) == 1, output[-4000:]
    (reason,) = reasons
    assert "exited 65: migrate: refused: the database holds 1 migration(s) newer than this image knows" in reason
    assert newer in reason
    assert "UPDATE_ROLLBACK_COMPLETE" in output
    assert len(_migration_tasks(rehearsal)) == migrations_before + 1, "one migration task, and no service update"
    assert all(c.results and not c.failures for c in clients)
    assert _steady(rehearsal, desired=1)["taskDefinition"] == definition
    line = "migration refused: rolled back; " + reason.split(" - ", 1)[-1].strip()
    SCENARIO_LINES.append(line)
    print(line)


def test_new_image_config__launch_dev_rolls_it_out__fails_no_request_and_the_new_config_serves(rehearsal, project):
    config = project / "image" / "config.yaml"
    config.write_text(
        config.read_text().replace(
            "model_list:\n",
            "model_list:\n  - model_name: rehearsal-new-model\n    litellm_params:\n"
            "      model: openai/gpt-4o-mini\n      api_key: os.environ/OPENAI_API_KEY\n",
            1,
        )
    )
    url = rehearsal.listener_url("dev-litellm-alb")
    definition = _service(rehearsal)["taskDefinition"]
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        result = rehearsal.sceptre_in(project, "launch", "-y", "dev")
        time.sleep(2)
    finally:
        stop_clients(clients)
    report("new image config", clients)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert all(c.results and not c.failures for c in clients)
    service = _steady(rehearsal, desired=1)
    assert service["taskDefinition"] != definition
    key = _secret(rehearsal, MASTER_KEY)["LITELLM_MASTER_KEY"]
    status, models = _status(url, "/v1/models", key)
    assert status == 200 and "rehearsal-new-model" in {m["id"] for m in json.loads(models)["data"]}


def test_broken_image_config__trips_the_circuit_breaker__the_stack_rolls_back_and_the_old_tasks_keep_serving(
    rehearsal, project
):
    config = project / "image" / "config.yaml"
    good = config.read_text()
    config.write_text(good + "model_list: [\n  broken: {\n")  # LiteLLM cannot parse it and exits at start
    url = rehearsal.listener_url("dev-litellm-alb")
    definition = _service(rehearsal)["taskDefinition"]
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        result = rehearsal.sceptre_in(project, "launch", "-y", "dev")
        time.sleep(2)
    finally:
        stop_clients(clients)
        config.write_text(good)
    report("broken image config", clients)
    output = result.stdout + result.stderr

    assert result.returncode != 0
    reasons = [line for line in output.splitlines() if "Service AWS::ECS::Service UPDATE_FAILED" in line]
    assert len(reasons) == 1, output[-4000:]
    (reason,) = reasons
    assert "ECS Deployment Circuit Breaker was triggered" in reason, reason
    assert "UPDATE_ROLLBACK_COMPLETE" in output
    assert all(c.results and not c.failures for c in clients)
    service = _steady(rehearsal, desired=1)
    assert service["taskDefinition"] == definition
    (stack,) = rehearsal.client("cloudformation").describe_stacks(StackName="litellm-dev-litellm")["Stacks"]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e["message"] for e in service["events"] if "deployment failed" in e["message"]]
    assert failed, service["events"][:5]
    line = "broken image config: rolled back; " + reason.split(" - ", 1)[-1].strip()
    SCENARIO_LINES.append(line)
    print(line)


def test_killed_task__is_replaced_and_the_alb_routes_around_it(rehearsal):
    ecs = rehearsal.client("ecs")
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=2)
    _steady(rehearsal, desired=2)
    url = rehearsal.listener_url("dev-litellm-alb")
    (victim,) = [t for t in rehearsal.api("services")[0]["tasks"] if t["lastStatus"] == "RUNNING"][:1]
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        os.killpg(victim["pid"], signal.SIGKILL)
        killed = time.time()
        time.sleep(2)
        _steady(rehearsal, desired=2)
        time.sleep(2)
    finally:
        stop_clients(clients)
    report("killed task", clients)

    (task,) = ecs.describe_tasks(cluster=CLUSTER, tasks=[victim["taskArn"]])["tasks"]
    assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "EssentialContainerExited")
    # Only a request the killed task was answering may fail; from a second on, the ALB routes around it.
    assert all(len(c.failures) <= 1 for c in clients), [c.failures for c in clients]
    assert not [r for c in clients for r in c.failures if r.sent_at > killed + 1]


def test_rolling_deploy__a_long_completion_in_flight_on_a_replaced_task_still_completes(rehearsal):
    """75 s, well inside LiteLLM's 600 s request_timeout: a deploy must not cut what LiteLLM would finish."""
    url = rehearsal.listener_url("dev-litellm-alb")
    key = _secret(rehearsal, MASTER_KEY)["LITELLM_MASTER_KEY"]
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "take 75 seconds"}]}
    outcome: dict[str, Any] = {}

    def long_completion() -> None:
        started = time.monotonic()
        outcome["status"], outcome["body"] = _status(url, "/v1/chat/completions", key, body, timeout=700)
        outcome["seconds"] = time.monotonic() - started

    caller = threading.Thread(target=long_completion)
    caller.start()
    time.sleep(3)
    rehearsal.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, forceNewDeployment=True)
    caller.join(timeout=700)
    line = f"long completion through a rolling deploy: {outcome.get('status')} after {outcome.get('seconds', 0):.0f} s"
    SCENARIO_LINES.append(line)
    print(line)

    assert outcome["status"] == 200, outcome["body"][:300]
    _steady(rehearsal, desired=_service(rehearsal)["desiredCount"])


def test_launch_dev__after_autoscaling_scaled_the_service_out__a_new_image_keeps_every_task(rehearsal, project):
    """Autoscaling moved the desired count to 3 (by UpdateService, as Application Auto Scaling does); a deploy
    must roll the three tasks, not cut the service back to the template's count under the load it scaled for."""
    ecs = rehearsal.client("ecs")
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=3)
    _steady(rehearsal, desired=3)
    config = project / "image" / "config.yaml"
    config.write_text(config.read_text() + "# a change after scaling out\n")
    url = rehearsal.listener_url("dev-litellm-alb")
    clients = _clients(url, rehearsal)
    try:
        time.sleep(2)
        result = rehearsal.sceptre_in(project, "launch", "-y", "dev")
        time.sleep(2)
    finally:
        stop_clients(clients)
    report("new image after a scale-out", clients)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _service(rehearsal)["desiredCount"] == 3
    _steady(rehearsal, desired=3)
    assert all(c.results and not c.failures for c in clients)


# ---- nothing outlives the rehearsal --------------------------------------------------------------------------


def test_emulator_stop__leaves_no_task_process_and_no_listening_port(rehearsal):
    services = rehearsal.api("services")
    pids = [t["pid"] for s in services for t in s["tasks"] if t["pid"]]
    ports = [int(x["LocalUrl"].rsplit(":", 1)[1]) for x in rehearsal.api("load-balancers")]
    ports += [t["localPort"] for s in services for t in s["tasks"]]
    assert pids and ports

    stop_emulator(rehearsal.process)  # SIGTERM, what `make local-down` sends

    alive = [p for p in pids if Path(f"/proc/{p}").exists() and "zombie" not in Path(f"/proc/{p}/status").read_text()]
    assert not alive
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
