"""The emulator's Application Load Balancers at work: moto's model, served by local listeners and target groups.

``sync()`` (called by the control loop under the server lock) reads moto's
ELBv2 model and makes what runs match it: a listener proxy per listener
(``elb_listeners``) and the health checks of each target group
(``elb_targets``). ``describe-target-health`` reports those health checks'
states; ``/moto-api/llmgw/load-balancers`` lists each listener's local URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from .elb_listeners import RESPONSE_HEADER_ATTRIBUTES, Listener, ListenerConfig, Rule, listener_ports
from .elb_targets import TargetGroup
from .request_lock import SERVER_LOCK

__all__ = ["deregister", "install", "register", "shutdown", "sync", "target_state"]

_GROUPS: dict[str, TargetGroup] = {}
_LISTENERS: dict[str, Listener] = {}
_MOTO_GROUPS: dict[str, Any] = {}
_CANNOT_LISTEN: set[str] = set()
_LOCK = threading.RLock()
_INSTALLED = False


def _backends() -> list[Any]:
    from moto.elbv2.models import elbv2_backends

    return [backend for regions in list(elbv2_backends.values()) for backend in list(regions.values())]


def _action(action: Any) -> dict[str, Any]:
    return dict(getattr(action, "data", None) or action)


def _certificate_domain(listener: Any, account_id: str, region: str) -> str | None:
    arn = listener.certificate or (listener.certificates[0] if listener.certificates else None)
    if not arn:
        return None
    from moto.acm.models import acm_backends

    try:
        return str(acm_backends[account_id][region].get_certificate(arn).common_name)
    except Exception:
        return None


def _tls_files(domain: str) -> tuple[Any, Any]:
    from . import rds_postgres

    directory = rds_postgres.state_dir() / "alb-tls" / domain
    directory.mkdir(parents=True, exist_ok=True)
    return rds_postgres._server_certificate(directory, "127.0.0.1", domain)


def sync() -> None:
    """Make the running listeners and target groups match moto's model. Call with the server lock held."""
    with _LOCK:
        seen_groups, seen_listeners = set(), set()
        wanted_ports = listener_ports()
        for backend in _backends():
            for group in backend.target_groups.values():
                seen_groups.add(group.arn)
                fresh = TargetGroup.from_moto(group)
                current = _GROUPS.get(group.arn)
                if current is None:
                    _GROUPS[group.arn] = fresh
                else:
                    for name in ("path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher"):
                        setattr(current, name, getattr(fresh, name))
                    current.deregistration_delay = fresh.deregistration_delay
            for balancer in backend.load_balancers.values():
                idle = int(
                    (getattr(balancer, "attrs", None) or balancer.attributes).get("idle_timeout.timeout_seconds", 60)
                )
                for listener in balancer.listeners.values():
                    seen_listeners.add(listener.arn)
                    config = ListenerConfig(
                        arn=listener.arn,
                        load_balancer_arn=balancer.arn,
                        protocol=listener.protocol,
                        port=int(listener.port),
                        idle_timeout=idle,
                        default_actions=[_action(a) for a in listener.default_actions],
                        rules=[
                            Rule(int(rule.priority), list(rule.conditions), [_action(a) for a in rule.actions])
                            for rule in listener._non_default_rules.values()
                        ],
                        certificate_domain=_certificate_domain(listener, backend.account_id, backend.region_name),
                        response_headers={
                            header: listener.attributes[key]
                            for key, header in RESPONSE_HEADER_ATTRIBUTES.items()
                            if listener.attributes.get(key)
                        },
                    )
                    running = _LISTENERS.get(listener.arn)
                    if running is None:
                        if listener.arn in _CANNOT_LISTEN:
                            continue
                        local = wanted_ports.get(config.port, 0)
                        try:
                            _LISTENERS[listener.arn] = Listener(config, _GROUPS, local, _tls_files)
                        except OSError as err:
                            _CANNOT_LISTEN.add(listener.arn)  # said once; the listener stays unserved
                            print(
                                f"emulator: listener {config.port} cannot listen on 127.0.0.1:{local}: {err}",
                                flush=True,
                            )
                            seen_listeners.discard(listener.arn)
                            continue
                        print(
                            f"emulator: {balancer.name} listener :{config.port} serves {_LISTENERS[listener.arn].url}",
                            flush=True,
                        )
                    else:
                        running.update(config, _GROUPS)
        for arn in [a for a in _LISTENERS if a not in seen_listeners]:
            _LISTENERS.pop(arn).close()
        for arn in [a for a in _GROUPS if a not in seen_groups]:
            _GROUPS.pop(arn).stop()


def register(account_id: str, region: str, group_arn: str, target_id: str, port: int, local_port: int) -> None:
    """Register a task's address in a target group, as ECS does once the task runs."""
    from moto.elbv2.models import elbv2_backends

    with _LOCK:
        group = _GROUPS.get(group_arn)
        if group is None:
            for backend in _backends():
                if group_arn in backend.target_groups:
                    group = _GROUPS[group_arn] = TargetGroup.from_moto(backend.target_groups[group_arn])
        if group is None:
            raise KeyError(f"target group {group_arn} does not exist")
        group.register(target_id, port, local_port)
    moto_group = elbv2_backends[account_id][region].target_groups.get(group_arn)
    if moto_group is not None:
        moto_group.targets[target_id] = {"Id": target_id, "Port": port}
        moto_group.deregistered_targets.pop(target_id, None)
        _MOTO_GROUPS[group_arn] = moto_group


def deregister(group_arn: str, target_id: str, port: int, drained: Callable[[], None] | None) -> None:
    with _LOCK:
        group = _GROUPS.get(group_arn)
        moto_group = _MOTO_GROUPS.get(group_arn)

    def forget() -> None:
        if moto_group is not None:
            if SERVER_LOCK.holding():
                moto_group.targets.pop(target_id, None)
            else:  # the drain ends on a thread of its own
                with SERVER_LOCK.held():
                    moto_group.targets.pop(target_id, None)
        if drained:
            drained()

    if group is None:
        forget()
        return
    group.deregister(target_id, port, forget)


def target_state(group_arn: str, target_id: str, port: int) -> str | None:
    group = _GROUPS.get(group_arn)
    target = group.state_of(target_id, port) if group else None
    return target.state if target else None


def shutdown() -> None:
    with _LOCK:
        for listener in _LISTENERS.values():
            listener.close()
        _LISTENERS.clear()
        for group in _GROUPS.values():
            group.stop()
        _GROUPS.clear()


def load_balancers_api(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``GET /moto-api/llmgw/load-balancers``: every listener and the local URL that serves it."""
    with _LOCK:
        body = [
            {"ListenerArn": arn, "LoadBalancerArn": x.config.load_balancer_arn, "Port": x.config.port,
             "Protocol": x.config.protocol, "LocalUrl": x.url}
            for arn, x in _LISTENERS.items()
        ]  # fmt: skip
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def install() -> None:
    """Report target health from the local health checks, and serve the listener list. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/llmgw/load-balancers"] = load_balancers_api
    original = FakeTargetGroup.health_for

    def health_for(self: FakeTargetGroup, target: dict[str, Any], ec2_backend: Any) -> Any:
        target_id = target.get("Id") or target.get("id")
        local = _GROUPS.get(self.arn)
        known = self.targets.get(target_id) if target_id else None
        if local is not None and known is not None:
            port = int(target.get("Port") or known.get("Port") or self.port)
            state = local.state_of(str(target_id), port)
            if state is not None:
                return FakeHealthStatus(
                    str(target_id), str(port), self.health_check_port, state.state, state.reason, state.description
                )
        return original(self, target, ec2_backend)

    FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]
    _INSTALLED = True
