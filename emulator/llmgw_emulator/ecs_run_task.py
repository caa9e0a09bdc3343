"""ECS ``RunTask`` in the emulator: a standalone task runs its container once and reports how it ended.

moto records a standalone task and moves it to RUNNING by itself, running
nothing. Here each task ``RunTask`` starts is a :class:`LocalTask`, as a
service's are: its image is pulled, its secrets resolved, its container run,
its ``awslogs`` output sent to CloudWatch Logs; a container override of ``environment``
is applied (any other override is refused, not ignored); a ``clientToken`` seen in the last
24 hours returns the tasks it started instead of starting more; ``DescribeTasks`` reports its
``lastStatus``, ``stopCode``, ``stoppedReason`` and the container's
``exitCode`` as they are, and ``StopTask`` stops it (SIGTERM, then SIGKILL
after ``stopTimeout``). A task whose container exits is STOPPED with stop code
``EssentialContainerExited``; one that could not start, ``TaskFailedToStart``.
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ecs_scheduler
from .ecs_logs import AwsLogs
from .ecs_tasks import LocalTask

__all__ = ["install", "shutdown"]

_TASKS: dict[str, _Standalone] = {}
_TOKENS: dict[str, tuple[float, list[Any]]] = {}  # clientToken -> (when, the tasks it started)
_TOKEN_SECONDS = 24 * 3600
_REQUEST = threading.local()
_LOCK = threading.Lock()
_INSTALLED = False


@dataclass
class _Standalone:
    task: LocalTask
    record: Any  # moto's Task, which DescribeTasks serialises


@dataclass
class _Account:
    account_id: str
    region: str


def _overridden(container: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The container definition with its RunTask environment override applied (later values win)."""
    for override in overrides.get("containerOverrides") or []:
        if override.get("name") == container.get("name") and override.get("environment"):
            merged = {e["name"]: e.get("value", "") for e in container.get("environment") or []}
            merged.update({e["name"]: e.get("value", "") for e in override["environment"]})
            container = {**container, "environment": [{"name": k, "value": v} for k, v in merged.items()]}
    return container


def _check_overrides(overrides: dict[str, Any]) -> None:
    from moto.ecs.exceptions import InvalidParameterException

    unknown = sorted(k for k, v in overrides.items() if v and k != "containerOverrides")
    unknown += sorted(
        f"containerOverrides.{k}" for o in overrides.get("containerOverrides") or [] for k in o
        if k not in ("name", "environment")
    )  # fmt: skip
    if unknown:
        raise InvalidParameterException(f"the emulator applies only environment overrides, not {', '.join(unknown)}")


def _start(backend: Any, record: Any, overrides: dict[str, Any]) -> None:
    definition = backend.describe_task_definition(record.task_definition_arn)
    record._transitions = []  # moto's managed state would move it on by itself; the local task decides
    record.status = "PROVISIONING"
    account = _Account(backend.account_id, backend.region_name)
    ecs_scheduler._snapshot_images(account.account_id, account.region, definition.arn)
    essential = _overridden(next(c for c in definition.container_definitions if c.get("essential", True)), overrides)
    task = LocalTask(
        pull_error=ecs_scheduler._cannot_pull(account, definition),
        task_arn=record.task_arn,
        definition=essential,
        region=account.region,
        directory=Path(ecs_scheduler._STATE["dir"]) / "tasks" / record.id,
        resolve_secret=lambda arn, key, stage, version: ecs_scheduler._resolve_secret(
            account, arn, key, stage, version
        ),
        emulator_endpoint=ecs_scheduler._STATE["endpoint"],
        provider_base_url=ecs_scheduler._STATE["provider"],
        logs=AwsLogs.for_container(essential, account.account_id, record.id),
    )
    with _LOCK:
        _TASKS[record.task_arn] = _Standalone(task, record)
    task.start()


def _mirror_all() -> None:
    with _LOCK:
        for standalone in _TASKS.values():
            ecs_scheduler._mirror(standalone)  # type: ignore[arg-type]


def shutdown() -> None:
    """Stop every standalone task now: nothing the emulator started may outlive it."""
    with _LOCK:
        for standalone in _TASKS.values():
            standalone.task.kill_now()


def install() -> None:
    """Make RunTask run its tasks, and DescribeTasks/ListTasks/StopTask see them as they are. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    import inspect

    from moto.ecs.models import EC2ContainerServiceBackend

    run, describe, listing, stop = (
        EC2ContainerServiceBackend.run_task,
        EC2ContainerServiceBackend.describe_tasks,
        EC2ContainerServiceBackend.list_tasks,
        EC2ContainerServiceBackend.stop_task,
    )

    run_signature = inspect.signature(run)

    def run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        overrides = run_signature.bind(self, *args, **kwargs).arguments.get("overrides") or {}
        _check_overrides(overrides)
        token = getattr(_REQUEST, "token", None)
        with _LOCK:
            for old in [t for t, (when, _) in _TOKENS.items() if time.time() - when > _TOKEN_SECONDS]:
                del _TOKENS[old]
            if token and token in _TOKENS:
                return _TOKENS[token][1]  # the same request again: the tasks it started, no new ones
        records = run(self, *args, **kwargs)
        for record in records:
            _start(self, record, overrides)
        if token:
            with _LOCK:
                _TOKENS[token] = (time.time(), records)
        return records

    from moto.ecs.responses import EC2ContainerServiceResponse

    respond = EC2ContainerServiceResponse.run_task

    def run_task_response(self: EC2ContainerServiceResponse) -> Any:
        # moto's handler does not pass clientToken on; the backend reads it from here.
        _REQUEST.token = self._get_param("clientToken")
        try:
            return respond(self)
        finally:
            _REQUEST.token = None

    EC2ContainerServiceResponse.run_task = run_task_response  # type: ignore[method-assign]

    def describe_tasks(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        _mirror_all()
        return describe(self, *args, **kwargs)

    list_signature = inspect.signature(listing)

    def list_tasks(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        _mirror_all()
        call = list_signature.bind(self, *args, **kwargs)
        # "The default status filter is RUNNING": stopped tasks are listed only when asked for.
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
        call.arguments["desiredStatus"] = call.arguments.get("desiredStatus") or "RUNNING"
        return listing(*call.args, **call.kwargs)

    def stop_task(self: EC2ContainerServiceBackend, cluster_str: str, task_str: str, reason: str) -> Any:
        with _LOCK:
            standalone = next((s for arn, s in _TASKS.items() if arn.endswith("/" + task_str.split("/")[-1])), None)
        if standalone is None:
            return stop(self, cluster_str, task_str, reason)
        standalone.task.stop("UserInitiated", reason or "Task stopped by user")
        ecs_scheduler._mirror(standalone)  # type: ignore[arg-type]
        return standalone.record

    # A Fargate task definition sizes the task, not its containers; moto added None to an int.
    requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def _calculate_task_resource_requirements(task_definition: Any) -> Any:
        if "FARGATE" in (getattr(task_definition, "requires_compatibilities", None) or []):
            return {"CPU": int(task_definition.cpu or 0), "MEMORY": int(task_definition.memory or 0), "PORTS": [],
                    "PORTS_UDP": []}  # fmt: skip
        return requirements(task_definition)

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(  # type: ignore[method-assign]
        _calculate_task_resource_requirements
    )
    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]
    EC2ContainerServiceBackend.describe_tasks = describe_tasks  # type: ignore[method-assign]
    EC2ContainerServiceBackend.list_tasks = list_tasks  # type: ignore[method-assign]
    EC2ContainerServiceBackend.stop_task = stop_task  # type: ignore[method-assign]
    _INSTALLED = True
