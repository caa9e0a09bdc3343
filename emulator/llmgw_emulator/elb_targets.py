"""Target groups of the emulator's load balancers: registered targets, their health checks and draining.

Modelled on the Application Load Balancer user guide:

- A newly registered target is ``initial`` and must pass one health check to
  be ``healthy``; after that, ``UnhealthyThresholdCount`` consecutive failures
  make it ``unhealthy`` and ``HealthyThresholdCount`` consecutive passes make
  it healthy again. A check fails on a timeout, a refused connection or a
  status the matcher does not list.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
- Requests go round robin to healthy targets. If none is healthy, the load
  balancer "fails open" and uses every registered target; with none
  registered, it answers 503.
- A deregistered target is ``draining`` for ``deregistration_delay``: it gets
  no new requests, its open ones finish, then it is gone.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay

Health-check intervals run on the emulator's clock (``clock.scaled``); the
check's timeout and the deregistration delay do not, since they bound how
fast the target answers and how long its open requests may run.
A target's address is its task's ENI address, as ECS registers it; the
emulator reaches it at the task's local port.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import clock

__all__ = ["Target", "TargetGroup"]


@dataclass
class Target:
    id: str
    port: int
    local_port: int
    state: str = "initial"
    reason: str | None = "Elb.InitialHealthChecking"
    description: str | None = "Initial health checks in progress"
    passes: int = 0
    failures: int = 0
    in_flight: int = 0
    ever_healthy: bool = False
    deregistered: threading.Event = field(default_factory=threading.Event)

    def record(
        self, passed: bool, why: tuple[str, str] | None, healthy_threshold: int, unhealthy_threshold: int
    ) -> None:
        if self.state == "draining":
            return
        if passed:
            self.passes, self.failures = self.passes + 1, 0
            # A new target needs one pass; an unhealthy one, the healthy threshold.
            if self.state == "initial" or (self.state == "unhealthy" and self.passes >= healthy_threshold):
                self.state, self.reason, self.description, self.ever_healthy = "healthy", None, None, True
        else:
            self.failures, self.passes = self.failures + 1, 0
            if self.failures >= unhealthy_threshold and self.state != "unhealthy":
                self.state = "unhealthy"
                self.reason, self.description = why or ("Target.FailedHealthChecks", "Health checks failed")


@dataclass
class TargetGroup:
    arn: str
    name: str
    protocol: str
    path: str
    interval: int
    timeout: int
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str
    deregistration_delay: int
    targets: dict[tuple[str, int], Target] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _turn: int = 0

    @classmethod
    def from_moto(cls, group: Any) -> TargetGroup:
        attributes = getattr(group, "attributes", {}) or {}
        matcher = (group.matcher or {}).get("HttpCode", "200")
        return cls(
            arn=group.arn,
            name=group.name,
            protocol=group.protocol or "HTTP",
            path=group.health_check_path or "/",
            interval=int(group.health_check_interval_seconds or 30),
            timeout=int(group.health_check_timeout_seconds or 5),
            healthy_threshold=int(group.healthy_threshold_count or 5),
            unhealthy_threshold=int(group.unhealthy_threshold_count or 2),
            matcher=str(matcher),
            deregistration_delay=int(attributes.get("deregistration_delay.timeout_seconds", 300)),
        )

    def matches(self, status: int) -> bool:
        for part in self.matcher.split(","):
            low, _, high = part.strip().partition("-")
            if int(low) <= status <= int(high or low):
                return True
        return False

    # ---- registration ---------------------------------------------------------------------------

    def register(self, target_id: str, port: int, local_port: int) -> Target:
        with self._lock:
            existing = self.targets.get((target_id, port))
            if existing and existing.state != "draining":
                return existing
            target = Target(target_id, port, local_port)
            self.targets[(target_id, port)] = target
        threading.Thread(target=self._check_forever, args=(target,), daemon=True).start()
        return target

    def deregister(self, target_id: str, port: int, drained: Callable[[], None] | None = None) -> None:
        """Drain the target for the deregistration delay, then forget it and call ``drained``."""
        with self._lock:
            target = self.targets.get((target_id, port))
            if target is not None and target.state != "draining":
                target.state, target.reason = "draining", "Target.DeregistrationInProgress"
                target.description = "Target deregistration is in progress"
            else:
                target = None
        if target is None:
            if drained:
                drained()
            return

        def finish() -> None:
            # Real time, not the emulator's clock: the delay is how long open requests may still run.
            deadline = time.monotonic() + self.deregistration_delay
            # The delay is an upper bound: "If a deregistering target has no in-flight requests and no
            # active connections, Elastic Load Balancing immediately completes the deregistration".
            # The emulator's proxy keeps no idle connection to a target, so open requests are all.
            while time.monotonic() < deadline and target.in_flight:
                time.sleep(0.05)
            with self._lock:
                if self.targets.get((target_id, port)) is target:
                    del self.targets[(target_id, port)]
            target.deregistered.set()
            if drained:
                drained()

        threading.Thread(target=finish, daemon=True).start()

    def state_of(self, target_id: str, port: int) -> Target | None:
        return self.targets.get((target_id, port))

    def pick(self) -> Target | None:
        """The next target for a request: round robin over healthy ones, failing open when none is."""
        with self._lock:
            live = [t for t in self.targets.values() if t.state != "draining"]
            healthy = [t for t in live if t.state == "healthy"]
            pool = healthy or [t for t in live if t.state == "unhealthy"]
            if not pool:
                return None
            self._turn += 1
            target = pool[self._turn % len(pool)]
            target.in_flight += 1
            return target

    def done(self, target: Target) -> None:
        with self._lock:
            target.in_flight -= 1

    def stop(self) -> None:
        with self._lock:
            for target in self.targets.values():
                target.deregistered.set()
            self.targets.clear()

    # ---- health checks ----------------------------------------------------------------------------

    def _check_forever(self, target: Target) -> None:
        # "Each health check request is independent and lasts the entire interval": a check
        # starts every interval, whether or not the previous one has answered.
        while not target.deregistered.is_set() and target.state != "draining":
            threading.Thread(target=self._check_once, args=(target,), daemon=True).start()
            target.deregistered.wait(clock.scaled(self.interval))

    def _check_once(self, target: Target) -> None:
        passed, why = self._check(target)
        with self._lock:
            target.record(passed, why, self.healthy_threshold, self.unhealthy_threshold)

    def _check(self, target: Target) -> tuple[bool, tuple[str, str] | None]:
        connection = http.client.HTTPConnection("127.0.0.1", target.local_port, timeout=self.timeout)
        try:
            connection.request("GET", self.path, headers={"User-Agent": "ELB-HealthChecker/2.0"})
            status = connection.getresponse().status
        except TimeoutError:
            return False, ("Target.Timeout", "Request timed out")
        except OSError:
            return False, ("Target.FailedHealthChecks", "Health checks failed")
        finally:
            connection.close()
        if self.matches(status):
            return True, None
        return False, ("Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]")
