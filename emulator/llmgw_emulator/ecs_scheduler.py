"""ECS's service scheduler in the emulator: services run tasks, deploy them rolling and break the circuit.

A control loop (every ``_TICK`` seconds) reconciles each service, as ECS's
scheduler does for the REPLICA strategy and the rolling-update controller:

- A deployment starts for a new service, for a new task definition and for
  ``UpdateService --force-new-deployment``; the newest is PRIMARY.
- Tasks start for the primary deployment while the service has fewer than
  ``maximumPercent`` of its desired count; tasks of older deployments stop
  only while ``minimumHealthyPercent`` of the desired count stays healthy.
  A task is healthy once RUNNING, its container health check (if any) says
  HEALTHY and every target group it is registered in says healthy.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
- A task with a load balancer is registered in its target groups when it is
  RUNNING, and stopping it deregisters it first: it drains for the target
  group's deregistration delay, then gets SIGTERM and, after ``stopTimeout``,
  SIGKILL.
- A task that fails (it stops by itself, its container health check says
  UNHEALTHY, or its targets are unhealthy after the health-check grace
  period) is replaced. Failed tasks count against the deployment's circuit
  breaker, whose threshold is 0.5 x the desired count, at least 3 and at most
  200; tripped with rollback on, ECS deploys the last completed task
  definition again.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
- ``runningCount``/``pendingCount``, the deployments, the service events and
  the tasks (``list-tasks``/``describe-tasks``) report what runs.

CloudFormation waits, on a service's create and update, until its deployment
completes, and fails the resource when the circuit breaker trips, as the
``AWS::ECS::Service`` handler does. The wait gives the server lock up, so the
tasks and everyone else keep using the emulator meanwhile.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import container_images, load_balancers
from .ecs_logs import AwsLogs
from .ecs_tasks import STAND_INS, LocalTask, TaskFailure
from .request_lock import SERVER_LOCK

__all__ = ["CIRCUIT_BREAKER_TRIGGERED", "install", "shutdown", "wait_for_deployment", "wait_until_drained"]

_TICK = 0.25
_RESTART_DELAY = 1.0
CIRCUIT_BREAKER_TRIGGERED = "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'."
_STATE: dict[str, Any] = {"dir": None, "endpoint": "", "provider": None, "thread": None, "stop": threading.Event()}
_SERVICES: dict[str, ServiceRuntime] = {}
_LOCK = threading.RLock()
_INSTALLED = False


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Deployment:
    id: str
    task_definition_arn: str
    desired_count: int
    reason: str
    status: str = "PRIMARY"
    rollout_state: str = "IN_PROGRESS"
    failed_tasks: int = 0
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass
class Running:
    task: LocalTask
    deployment_id: str
    record: Any  # moto's Task, what describe-tasks serialises
    registered: list[tuple[str, str, int]] = field(default_factory=list)  # (target group, ip, port)
    stopping: bool = False
    accounted: bool = False  # its stop has been noticed
    counted: bool = False  # it has counted against the circuit breaker
    unhealthy: bool = False  # marked for replacement; keeps serving until then
    why: str | None = None


@dataclass
class ServiceRuntime:
    arn: str
    name: str
    cluster_name: str
    account_id: str
    region: str
    desired_count: int
    load_balancers: list[dict[str, Any]]
    deployments: list[Deployment] = field(default_factory=list)
    tasks: dict[str, Running] = field(default_factory=dict)
    last_completed: tuple[str, str] | None = None  # (deployment id, task definition)
    next_start: float = 0.0
    outcomes: dict[str, str] = field(default_factory=dict)  # rollout state of deployments no longer listed
    deleting: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    def event(self, message: str) -> None:
        self.events.insert(
            0, {"id": str(uuid.uuid4()), "createdAt": _now(), "message": f"(service {self.name}) {message}"}
        )
        del self.events[100:]


# ---- configuration and the hooks into moto's ECS --------------------------------------------------


def configure(state_dir: Path, endpoint: str, provider_base_url: str | None) -> None:
    _STATE.update(dir=state_dir, endpoint=endpoint, provider=provider_base_url)
    container_images.configure(state_dir)


def stand_ins() -> list[str]:
    return list(STAND_INS)


def _backend(runtime: ServiceRuntime) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[runtime.account_id][runtime.region]


def _settings(service: Any) -> tuple[int, int, bool, bool, int]:
    configuration = getattr(service, "deployment_configuration", None) or {}
    breaker = configuration.get("deploymentCircuitBreaker") or {}
    return (
        int(configuration.get("minimumHealthyPercent", 100)),
        int(configuration.get("maximumPercent", 200)),
        bool(breaker.get("enable", False)),
        bool(breaker.get("rollback", False)),
        int(getattr(service, "health_check_grace_period_seconds", 0) or 0),
    )


def _new_deployment(runtime: ServiceRuntime, task_definition_arn: str, reason: str) -> Deployment:
    for old in runtime.deployments:
        old.status = "ACTIVE"
        if old.rollout_state == "IN_PROGRESS":
            old.updated_at = _now()
    deployment = Deployment(
        f"ecs-svc/{uuid.uuid4().int % 10**19:019d}", task_definition_arn, runtime.desired_count, reason
    )
    runtime.deployments.insert(0, deployment)
    return deployment


def _on_create(service: Any, account_id: str, region: str) -> None:
    with _LOCK:
        runtime = ServiceRuntime(
            arn=service.arn,
            name=service.name,
            cluster_name=service.cluster_name,
            account_id=account_id,
            region=region,
            desired_count=int(service.desired_count or 0),
            load_balancers=list(service.load_balancers or []),
        )
        _new_deployment(runtime, service.task_definition, "ECS deployment in progress.")
        _SERVICES[service.arn] = runtime
        _snapshot_images(account_id, region, service.task_definition)
        _write_back(runtime, service)


def _on_update(service: Any, account_id: str, region: str, force: bool) -> None:
    with _LOCK:
        runtime = _SERVICES.get(service.arn)
        if runtime is None:
            _on_create(service, account_id, region)
            return
        runtime.desired_count = int(service.desired_count or 0)
        runtime.load_balancers = list(service.load_balancers or runtime.load_balancers)
        if service.task_definition != runtime.primary.task_definition_arn or force:
            _snapshot_images(account_id, region, service.task_definition)
            _new_deployment(runtime, service.task_definition, "ECS deployment in progress.")
        runtime.primary.desired_count = runtime.desired_count
        _write_back(runtime, service)


def _on_delete(service_arn: str) -> None:
    with _LOCK:
        runtime = _SERVICES.get(service_arn)
        if runtime is not None:
            runtime.deleting = True
            runtime.desired_count = 0


def _snapshot_images(account_id: str, region: str, task_definition_arn: str) -> None:
    from moto.ecs.models import ecs_backends

    definition = ecs_backends[account_id][region].describe_task_definition(task_definition_arn)
    architecture = (getattr(definition, "runtime_platform", None) or {}).get("cpuArchitecture", "X86_64")
    for container in definition.container_definitions:
        container_images.snapshot(container["image"], architecture)


# ---- the control loop ---------------------------------------------------------------------------


def _loop() -> None:
    stop: threading.Event = _STATE["stop"]
    while not stop.wait(_TICK):
        # moto's models are not thread-safe: the scheduler changes them only under the server lock.
        with SERVER_LOCK.held():
            for runtime in list(_SERVICES.values()):
                try:
                    _reconcile(runtime)
                except Exception as err:  # one service's trouble must not stop the others
                    runtime.event(f"emulator: the scheduler failed on this service: {type(err).__name__}: {err}")
            load_balancers.sync()
            for runtime in list(_SERVICES.values()):
                _publish(runtime)


def _healthy(runtime: ServiceRuntime, running: Running) -> bool:
    task = running.task
    if task.last_status != "RUNNING" or running.stopping or running.unhealthy:
        return False
    if task.definition.get("healthCheck") and task.health_status != "HEALTHY":
        return False
    if len(running.registered) < len(runtime.load_balancers):
        return False
    return all(load_balancers.target_state(arn, ip, port) == "healthy" for arn, ip, port in running.registered)


def _threshold(desired: int) -> int:
    return min(200, max(3, math.ceil(0.5 * desired)))


def _count_failure(runtime: ServiceRuntime, running: Running) -> None:
    """A failed task counts once against its deployment's circuit breaker, while that deployment runs."""
    if running.counted:
        return
    running.counted = True
    deployment = next((d for d in runtime.deployments if d.id == running.deployment_id), None)
    if deployment is not None and deployment.rollout_state == "IN_PROGRESS":
        deployment.failed_tasks += 1
        runtime.next_start = time.monotonic() + _RESTART_DELAY  # ECS throttles a service whose tasks keep failing


def _reconcile(runtime: ServiceRuntime) -> None:
    with _LOCK:
        service = _moto_service(runtime)
        minimum_percent, maximum_percent, breaker, rollback, grace = (
            _settings(service) if service else (0, 200, False, False, 0)
        )
        primary = runtime.primary
        for running in list(runtime.tasks.values()):
            _account_for(runtime, running, grace)
        live = [r for r in runtime.tasks.values() if not r.stopping and r.task.last_status != "STOPPED"]

        if (
            breaker
            and primary.rollout_state == "IN_PROGRESS"
            and primary.failed_tasks >= _threshold(runtime.desired_count)
        ):
            primary.rollout_state = "FAILED"
            primary.reason = "ECS deployment circuit breaker: tasks failed to start."
            primary.updated_at = _now()
            runtime.event(f"(deployment {primary.id}) deployment failed: tasks failed to start.")
            last = runtime.last_completed
            if rollback and last and last[1] != primary.task_definition_arn:
                rolled = _new_deployment(
                    runtime, last[1], f"ECS deployment circuit breaker: rolling back to deploymentId {last[0]}."
                )
                runtime.event(f"(deployment {rolled.id}) rolling back to deployment {last[0]} ({last[1]}).")
                if service is not None:
                    service.task_definition = last[1]
                primary = rolled

        desired = runtime.desired_count
        most = max(math.floor(desired * maximum_percent / 100), desired)
        least = math.ceil(desired * minimum_percent / 100)
        # An unhealthy task is replaced before it is stopped, room permitting (ECS since 2023):
        # it no longer counts toward the desired count, but keeps serving until its replacement is healthy.
        # https://aws.amazon.com/about-aws/whats-new/2023/10/amazon-ecs-applications-resiliency-unpredictable-load-spikes/
        ours = [r for r in live if r.deployment_id == primary.id and not r.unhealthy]
        if primary.rollout_state != "FAILED" and not runtime.deleting and time.monotonic() >= runtime.next_start:
            for _ in range(max(0, min(desired - len(ours), most - len(live)))):
                _start_task(runtime, primary, service)

        healthy_count = sum(_healthy(runtime, r) for r in live)
        for running in [r for r in live if r.unhealthy]:
            if runtime.deleting or healthy_count >= desired or len(live) >= most:
                _begin_stop(runtime, running, running.task.stop_code or "TaskFailedHealthChecks", running.why or "")
        others = [r for r in live if r.deployment_id != primary.id and not r.unhealthy]
        surplus = sorted(ours, key=lambda r: _healthy(runtime, r))[: max(0, len(ours) - desired)]
        for running in sorted(others, key=lambda r: _healthy(runtime, r)) + surplus:
            reason = f"Scaling activity initiated by (deployment {primary.id})"
            if runtime.deleting or not _healthy(runtime, running):
                _begin_stop(runtime, running, "ServiceSchedulerInitiated", reason)
            elif healthy_count - 1 >= least:
                healthy_count -= 1
                _begin_stop(runtime, running, "ServiceSchedulerInitiated", reason)

        busy = {r.deployment_id for r in runtime.tasks.values() if r.task.last_status != "STOPPED"}
        for gone in [d for d in runtime.deployments if d is not primary and d.id not in busy]:
            runtime.outcomes[gone.id] = gone.rollout_state
        runtime.deployments = [d for d in runtime.deployments if d is primary or d.id in busy]
        if (
            primary.rollout_state == "IN_PROGRESS"
            and len(runtime.deployments) == 1
            and sum(_healthy(runtime, r) for r in ours) >= desired
            and len(ours) == desired
        ):
            primary.rollout_state, primary.reason, primary.updated_at = (
                "COMPLETED",
                f"ECS deployment {primary.id} completed.",
                _now(),
            )
            runtime.last_completed = (primary.id, primary.task_definition_arn)
            runtime.event("has reached a steady state.")
        _forget_old_stopped_tasks(runtime)
        if runtime.deleting and not any(r.task.last_status != "STOPPED" for r in runtime.tasks.values()):
            _SERVICES.pop(runtime.arn, None)


def _forget_old_stopped_tasks(runtime: ServiceRuntime) -> None:
    """ECS shows a stopped task for a while, then forgets it; the emulator keeps the latest 20."""
    stopped = [a for a, r in runtime.tasks.items() if r.accounted and r.task.last_status == "STOPPED"]
    for arn in stopped[:-20]:
        running = runtime.tasks.pop(arn)
        _backend(runtime).tasks.get(runtime.cluster_name, {}).pop(running.record.task_arn, None)


def _account_for(runtime: ServiceRuntime, running: Running, grace: int) -> None:
    """Notice a task that stopped or sickened, once: count it as failed and take it out of its targets."""
    task = running.task
    if task.last_status == "STOPPED":
        if not running.accounted:
            running.accounted = True
            asked = running.stopping and task.stop_code in ("ServiceSchedulerInitiated", "UserInitiated")
            if not asked:
                _count_failure(runtime, running)
            runtime.event(f"has stopped 1 running tasks: (task {task.task_id}). Reason: {task.stopped_reason}")
            _deregister(running)
        return
    if running.stopping or running.unhealthy or task.last_status != "RUNNING":
        return
    # The grace period covers both kinds of health check: "the service scheduler ignores unhealthy
    # Elastic Load Balancing, VPC Lattice, and container health checks" for that long.
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
    if task.started_at is not None and time.time() - task.started_at < grace:
        return
    why = None
    if task.health_status == "UNHEALTHY":
        why = "Task failed container health checks"
    for arn, ip, port in running.registered:
        if why is None and load_balancers.target_state(arn, ip, port) == "unhealthy":
            why = f"Task failed ELB health checks in (target-group {arn.split(':')[-1]})"
    if why:
        running.unhealthy, running.why = True, why
        task.stop_code = "TaskFailedHealthChecks"
        runtime.event(f"has marked 1 task unhealthy: (task {task.task_id}). Reason: {why}")
        _count_failure(runtime, running)


def _start_task(runtime: ServiceRuntime, deployment: Deployment, service: Any) -> None:
    from moto.ecs.models import Task

    backend = _backend(runtime)
    definition = backend.describe_task_definition(deployment.task_definition_arn)
    cluster = backend.clusters[runtime.cluster_name]
    record = Task(
        cluster,
        definition,
        None,
        None,
        backend,
        group=f"service:{runtime.name}",
        launch_type="FARGATE" if service is None or not getattr(service, "capacity_provider_strategy", None) else "",
        started_by=deployment.id,
        networking_configuration=getattr(service, "network_configuration", None) or None,
        platform_version="1.4.0",
        capacity_provider_name=(getattr(service, "capacity_provider_strategy", None) or [{}])[0].get(
            "capacityProvider"
        ),
    )
    record._transitions = []  # moto's managed state would move it on by itself; the local task decides
    record.status = "PROVISIONING"
    essential = next(c for c in definition.container_definitions if c.get("essential", True))
    task = LocalTask(
        pull_error=_cannot_pull(runtime, definition),
        task_arn=record.task_arn,
        definition=essential,
        region=runtime.region,
        directory=Path(_STATE["dir"]) / "tasks" / record.id,
        resolve_secret=lambda arn, key, stage, version: _resolve_secret(runtime, arn, key, stage, version),
        emulator_endpoint=_STATE["endpoint"],
        provider_base_url=_STATE["provider"],
        logs=AwsLogs.for_container(essential, runtime.account_id, record.id),
    )
    backend.tasks.setdefault(runtime.cluster_name, {})[record.task_arn] = record
    runtime.tasks[record.task_arn] = Running(task, deployment.id, record)
    runtime.event(f"has started 1 tasks: (task {record.id}).")
    task.start()


def _cannot_pull(runtime: ServiceRuntime, definition: Any) -> str | None:
    """Why the task cannot start before its container does: a missing ECR repository, or sidecars."""
    from moto.ecr.models import ecr_backends

    if len(definition.container_definitions) != 1:
        return (
            f"the emulator runs one container per task; {definition.family} has "
            f"{len(definition.container_definitions)}, so none of them runs"
        )
    image = definition.container_definitions[0]["image"]
    host, _, rest = image.partition("/")
    parts = host.split(".")
    if len(parts) >= 6 and parts[1:3] == ["dkr", "ecr"]:
        account, region, repository = parts[0], parts[3], rest.rsplit(":", 1)[0]
        if repository not in ecr_backends[account][region].repositories:
            return (
                f"CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref "
                f"{image}: {image}: not found (the repository {repository} does not exist in {account}/{region})"
            )
    return None


def _resolve_secret(runtime: ServiceRuntime, arn: str, key: str | None, stage: str | None, version: str | None) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    prefix = (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
        "failed: unable to retrieve secret from asm: service call has been retried 1 time(s):"
    )
    with SERVER_LOCK.held():
        try:
            response = secretsmanager_backends[runtime.account_id][runtime.region].get_secret_value(
                secret_id=arn, version_id=version, version_stage=stage or ("AWSCURRENT" if not version else None)
            )
        except Exception as err:
            raise TaskFailure(
                f"{prefix} failed to fetch secret {arn} from secrets manager: {getattr(err, 'message', err)}"
            ) from None
    value = response.get("SecretString") if isinstance(response, dict) else getattr(response, "secret_string", None)
    if key is None:
        return str(value)
    try:
        document = json.loads(value or "")
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or key not in document:
        raise TaskFailure(f"{prefix} retrieved secret from Secrets Manager did not contain json key {key}")
    return str(document[key])


def _begin_stop(runtime: ServiceRuntime, running: Running, code: str, reason: str) -> None:
    """Deregister the task, let it drain, then stop it; ECS's order for a task behind a load balancer."""
    if running.stopping:
        return
    running.stopping = True
    task = running.task
    task.desired_status = "STOPPED"
    task.stop_code, task.stopped_reason = code, reason
    if task.last_status == "RUNNING":
        task.last_status = "DEACTIVATING"
    pending = list(running.registered)
    running.registered = []
    if not pending:
        task.stop(code, reason)
        return
    remaining = {"count": len(pending)}

    def drained() -> None:
        remaining["count"] -= 1
        if remaining["count"] == 0:
            task.stop(code, reason)

    for arn, ip, port in pending:
        load_balancers.deregister(arn, ip, port, drained)


def _deregister(running: Running) -> None:
    for arn, ip, port in running.registered:
        load_balancers.deregister(arn, ip, port, None)
    running.registered = []


# ---- publishing what runs to moto's objects (under the server lock) ---------------------------------


def _moto_service(runtime: ServiceRuntime) -> Any:
    try:
        return _backend(runtime).services.get(f"{runtime.cluster_name}:{runtime.name}")
    except Exception:
        return None


def _publish(runtime: ServiceRuntime) -> None:
    with _LOCK:
        for running in runtime.tasks.values():
            if running.task.last_status == "RUNNING" and not running.registered and not running.stopping:
                _register(runtime, running)
            _mirror(running)
        service = _moto_service(runtime)
        if service is not None:
            _write_back(runtime, service)


def _register(runtime: ServiceRuntime, running: Running) -> None:
    address = next(
        (d["value"] for a in running.record.attachments for d in a["details"] if d["name"] == "privateIPv4Address"),
        "127.0.0.1",
    )
    for balancer in runtime.load_balancers:
        arn = balancer["targetGroupArn"]
        port = int(balancer["containerPort"])
        load_balancers.register(runtime.account_id, runtime.region, arn, address, port, running.task.port)
        running.registered.append((arn, address, port))


def _mirror(running: Running) -> None:
    task, record = running.task, running.record
    record.status = task.last_status
    record.desired_status = task.desired_status
    record.stopped_reason = task.stopped_reason or ""
    record.stop_code = task.stop_code
    record.health_status = task.health_status if task.definition.get("healthCheck") else "UNKNOWN"
    if task.started_at:
        record.started_at = datetime.fromtimestamp(task.started_at, timezone.utc)
    if task.stopped_at:
        record.stopped_at = datetime.fromtimestamp(task.stopped_at, timezone.utc)
    for container in record.containers:
        container.last_status = task.last_status if task.last_status in ("RUNNING", "STOPPED") else "PENDING"
        container.exitCode = task.exit_code  # moto's model says 0 from the start, whatever ran
        container.health_status = record.health_status
        container.reason = task.stopped_reason if task.last_status == "STOPPED" else None


def _write_back(runtime: ServiceRuntime, service: Any) -> None:
    tasks = [r.task for r in runtime.tasks.values()]
    service.running_count = sum(t.last_status == "RUNNING" for t in tasks)
    service.pending_count = sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in tasks)
    strategy = getattr(service, "capacity_provider_strategy", None)
    deployments = []
    for d in runtime.deployments:
        mine = [r.task for r in runtime.tasks.values() if r.deployment_id == d.id]
        entry = {
            "id": d.id,
            "status": d.status,
            "taskDefinition": d.task_definition_arn,
            "desiredCount": d.desired_count if d.status == "PRIMARY" else 0,
            "pendingCount": sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in mine),
            "runningCount": sum(t.last_status == "RUNNING" for t in mine),
            "failedTasks": d.failed_tasks,
            "createdAt": d.created_at,
            "updatedAt": d.updated_at,
            "rolloutState": d.rollout_state,
            "rolloutStateReason": d.reason,
            "platformVersion": getattr(service, "platform_version", None),
            "platformFamily": "Linux",
            "networkConfiguration": getattr(service, "network_configuration", None) or None,
        }
        if strategy:
            entry["capacityProviderStrategy"] = strategy
        else:
            entry["launchType"] = service.launch_type
        deployments.append(entry)
    service.deployments = deployments
    service.events = list(runtime.events)


# ---- what CloudFormation waits on -----------------------------------------------------------------


def _steady(runtime: ServiceRuntime) -> bool:
    """ECS's "services stable": one deployment, running all of the desired count, every task healthy."""
    if len(runtime.deployments) != 1 or runtime.primary.rollout_state != "COMPLETED":
        return False
    live = [r for r in runtime.tasks.values() if r.task.last_status != "STOPPED" and not r.stopping]
    return len(live) == runtime.desired_count and all(_healthy(runtime, r) for r in live)


def wait_for_deployment(service_arn: str, limit_seconds: float = 900) -> None:
    """Until the service is stable; raises the handler's error if the deployment this change started fails.

    A deployment that a later one replaced (an UpdateService meanwhile) is waited out, as the
    handler waits for the service, not for one deployment.
    """
    with _LOCK:
        runtime = _SERVICES.get(service_arn)
        deployment_id = runtime.primary.id if runtime else None
    if runtime is None:
        return
    deadline = time.monotonic() + limit_seconds
    with SERVER_LOCK.released():
        while time.monotonic() < deadline:
            with _LOCK:
                deployment = next((d for d in runtime.deployments if d.id == deployment_id), None)
                state = deployment.rollout_state if deployment else runtime.outcomes.get(str(deployment_id), "")
                if state == "FAILED":
                    raise DeploymentFailedError(CIRCUIT_BREAKER_TRIGGERED)
                if _steady(runtime):
                    return
            time.sleep(_TICK)
    raise DeploymentFailedError(f"Service {runtime.name} did not stabilize within {limit_seconds:.0f} s")


def wait_until_drained(service_arn: str, limit_seconds: float = 300) -> None:
    """Until every task of a deleted service has stopped, as CloudFormation waits for INACTIVE."""
    deadline = time.monotonic() + limit_seconds
    with SERVER_LOCK.released():
        while service_arn in _SERVICES and time.monotonic() < deadline:
            time.sleep(_TICK)


class DeploymentFailedError(Exception):
    def __init__(self, message: str):
        super().__init__(f'Resource handler returned message: "{message}" (HandlerErrorCode: GeneralServiceException)')
        self.message = message


def shutdown() -> None:
    """Stop every task now: the emulator is going away, and nothing it started may outlive it."""
    _STATE["stop"].set()
    with _LOCK:
        for runtime in _SERVICES.values():
            for running in runtime.tasks.values():
                running.task.kill_now()
    load_balancers.shutdown()


def status_api(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``GET /moto-api/llmgw/services``: each service's tasks, their local ports and health."""
    with _LOCK:
        body = [
            {
                "serviceArn": r.arn,
                "desiredCount": r.desired_count,
                "deployments": [
                    {"id": d.id, "rolloutState": d.rollout_state, "failedTasks": d.failed_tasks} for d in r.deployments
                ],
                "tasks": [
                    {
                        "taskArn": arn,
                        "lastStatus": x.task.last_status,
                        "healthStatus": x.task.health_status,
                        "localPort": x.task.port,
                        "pid": x.task.process.pid if x.task.process else None,
                        "directory": str(x.task.directory),
                        "stoppedReason": x.task.stopped_reason,
                    }
                    for arn, x in r.tasks.items()
                ],
            }
            for r in _SERVICES.values()
        ]
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def install() -> None:
    """Make moto's ECS services run their tasks. Idempotent; the loop starts with the server."""
    global _INSTALLED
    if _INSTALLED:
        return
    import inspect

    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/llmgw/services"] = status_api
    create, update, delete, stop = (
        EC2ContainerServiceBackend.create_service,
        EC2ContainerServiceBackend.update_service,
        EC2ContainerServiceBackend.delete_service,
        EC2ContainerServiceBackend.stop_task,
    )
    delete_signature = inspect.signature(delete)

    def create_service(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        service = create(self, *args, **kwargs)
        _on_create(service, self.account_id, self.region_name)
        return service

    def update_service(self: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Any:
        force = bool(properties.get("force_new_deployment"))
        service = update(self, properties)
        _on_update(service, self.account_id, self.region_name, force)
        return service

    def delete_service(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        call = delete_signature.bind(self, *args, **kwargs)
        service = self._get_service(call.arguments["cluster_name"], call.arguments["service_name"])
        arn = service.arn
        result = delete(*call.args, **call.kwargs)
        _on_delete(arn)
        return result

    def stop_task(self: EC2ContainerServiceBackend, cluster_str: str, task_str: str, reason: str) -> Any:
        with _LOCK:
            for runtime in _SERVICES.values():
                for arn, running in runtime.tasks.items():
                    if arn.endswith(task_str.split("/")[-1]):
                        _begin_stop(runtime, running, "UserInitiated", reason or "Task stopped by user")
                        return running.record
        return stop(self, cluster_str, task_str, reason)

    _autoscaling_keeps_the_desired_count_in_range()
    EC2ContainerServiceBackend.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.delete_service = delete_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.stop_task = stop_task  # type: ignore[method-assign]
    _INSTALLED = True


def _autoscaling_keeps_the_desired_count_in_range() -> None:
    """RegisterScalableTarget moves an ECS service's desired count into [MinCapacity, MaxCapacity].

    "If the specified resource is not active in the target service, this operation does not change
    the resource's current capacity. Otherwise, it changes the resource's current capacity to a value
    that is inside of this range." Scaling policies themselves do not act in the emulator.
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
    """
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend

    original = ApplicationAutoscalingBackend.register_scalable_target

    def register_scalable_target(self: ApplicationAutoscalingBackend, *args: Any, **kwargs: Any) -> Any:
        target = original(self, *args, **kwargs)
        if target.service_namespace == "ecs" and target.scalable_dimension == "ecs:service:DesiredCount":
            _, cluster, name = target.resource_id.split("/")
            backend = self.ecs_backend
            (service,), _ = backend.describe_services(cluster, [name])
            current = int(service.desired_count or 0)
            wanted = min(max(current, int(target.min_capacity)), int(target.max_capacity))
            if service.status == "ACTIVE" and wanted != current:
                backend.update_service({"cluster": cluster, "service": name, "desired_count": wanted})
        return target

    ApplicationAutoscalingBackend.register_scalable_target = register_scalable_target  # type: ignore[method-assign]


def start() -> None:
    if _STATE["thread"] is None:
        _STATE["thread"] = threading.Thread(target=_loop, name="ecs-scheduler", daemon=True)
        _STATE["thread"].start()
