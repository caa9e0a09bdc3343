"""The ``awslogs`` log driver of the emulator's tasks: container output reaches CloudWatch Logs.

As on Fargate, a container whose definition names the ``awslogs`` driver
writes each line of its stdout and stderr to the stream
``<awslogs-stream-prefix>/<container name>/<task id>`` of ``awslogs-group``,
and a task whose log group does not exist fails to start, before its
container runs. Lines are sent every second and once more when the
container exits, so a reader that waits for the task to stop sees all of
them, as a reader of ``GetLogEvents`` does on AWS once the driver flushed.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .request_lock import SERVER_LOCK

__all__ = ["AwsLogs", "MissingLogGroup"]

# PutLogEvents takes at most 10,000 events per call.
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
_BATCH = 10_000


class MissingLogGroup(Exception):
    """The task's log group does not exist; the message is ECS's stoppedReason."""


@dataclass
class AwsLogs:
    account_id: str
    region: str
    group: str
    stream: str
    _sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_container(cls, definition: dict[str, Any], account_id: str, task_id: str) -> AwsLogs | None:
        """The container's awslogs destination, or None when it logs through no driver the emulator knows."""
        configuration = definition.get("logConfiguration") or {}
        if configuration.get("logDriver") != "awslogs":
            return None
        options = configuration.get("options") or {}
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{definition['name']}/{task_id}" if prefix else task_id
        return cls(account_id, options["awslogs-region"], options["awslogs-group"], stream)

    def _backend(self) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[self.account_id][self.region]

    def open(self) -> None:
        """Create the task's stream, as the driver does when the container starts."""
        with SERVER_LOCK.held():
            backend = self._backend()
            if self.group not in backend.groups:
                raise MissingLogGroup(
                    "ResourceInitializationError: failed to validate logger args: create stream has been retried "
                    "1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified "
                    f"log group does not exist. (awslogs-group {self.group})"
                )
            if self.stream not in backend.groups[self.group].streams:
                backend.create_log_stream(self.group, self.stream)

    def flush(self, log_file: Path) -> None:
        """Send the lines ``log_file`` gained since the last flush."""
        with self._lock:
            try:
                with log_file.open("rb") as f:
                    f.seek(self._sent)
                    data = f.read()
            except FileNotFoundError:
                return
            complete = data[: data.rfind(b"\n") + 1]
            if not complete:
                return
            self._sent += len(complete)
            now = int(time.time() * 1000)
            lines = complete.decode("utf-8", "replace").splitlines()
            events = [{"timestamp": now, "message": line} for line in lines if line]
            with SERVER_LOCK.held():
                backend = self._backend()
                for start in range(0, len(events), _BATCH):
                    backend.put_log_events(self.group, self.stream, events[start : start + _BATCH])

    def follow(self, log_file: Path, done: threading.Event) -> None:
        """Flush every second until ``done``; the caller flushes once more after the container exits."""

        def loop() -> None:
            while not done.wait(1.0):
                self.flush(log_file)

        threading.Thread(target=loop, name=f"awslogs-{self.stream[-8:]}", daemon=True).start()
