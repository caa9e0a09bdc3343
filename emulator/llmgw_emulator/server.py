"""Run moto's server on loopback with this project's CloudFormation extensions.

    python -m llmgw_emulator.server --port 4566 [--state-dir DIR]

Exits 2 with one line if the port is taken. Runs until SIGTERM or SIGINT,
then stops the local databases it started.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def build_server(host: str, port: int, state_dir: Path | None = None) -> Any:
    """moto's server app with this project's extensions, answering one request at a time."""
    # Order matters: moto builds its CloudFormation type map on first use,
    # so the extra resource types must be defined before the first request.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from . import (  # noqa: F401 - importing registers the types
        cfn_async,
        cfn_custom_resources,
        cfn_dynamic_references,
        cfn_engine,
        ecs_resources,
        ecs_run_task,
        ecs_scheduler,
        elasticache_valkey,
        lambda_service,
        load_balancers,
        model_fixes,
        provider,
        rds_postgres,
        route53resolver_firewall,
        secrets_rotation,
    )
    from .cfn import fixes, types  # noqa: F401 - importing registers the types
    from .request_lock import SERVER_LOCK

    cfn_engine.install()
    cfn_dynamic_references.install()  # after cfn_engine's own clean_json: it sees the values Fn::Sub made
    cfn_async.install()
    cfn_custom_resources.install()
    model_fixes.install()
    ecs_resources.install()
    lambda_service.install()
    lambda_service.set_endpoint(f"http://{host}:{port}")
    secrets_rotation.install()
    rds_postgres.install()
    rds_postgres.configure(state_dir, port)
    ecs_scheduler.install()
    ecs_run_task.install()  # after the scheduler: its StopTask falls back to the scheduler's
    load_balancers.install()
    route53resolver_firewall.install()
    ecs_scheduler.configure(rds_postgres.state_dir(), f"http://{host}:{port}", provider.start(rds_postgres.state_dir()))
    app = DomainDispatcherApplication(create_backend_app)

    # moto's backends are not thread-safe: Sceptre launches stacks in
    # parallel, and concurrent CreateStack calls corrupt the stack registry.
    def serialised(environ: dict[str, Any], start_response: Any) -> Any:
        with SERVER_LOCK.held():
            return list(app(environ, start_response))

    return make_server(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local AWS emulator (moto) for the LiteLLM gateway stacks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, help="where local databases keep their data (default: a temp dir)")
    args = parser.parse_args(argv)

    from . import account

    try:
        kind = account.current()
    except ValueError as err:
        print(f"emulator: {err}")
        return 2
    if not port_is_free(args.host, args.port):
        print(f"emulator: port {args.port} on {args.host} is already in use; pick another with LOCAL_PORT=<port>")
        return 2

    try:
        from . import clock, elb_listeners

        clock.scale()
        elb_listeners.listener_ports()
    except ValueError as err:
        print(f"emulator: {err}")
        return 2
    from .provider import ProviderError

    try:
        server = build_server(args.host, args.port, args.state_dir)
    except ProviderError as err:
        print(f"emulator: {err}")
        return 2
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from . import ecs_scheduler

    ecs_scheduler.start()
    print(f"emulator: listening on http://{args.host}:{args.port}", flush=True)
    print(
        f"emulator: playing a {kind.kind} account (LLMGW_ACCOUNT): Lambda concurrency {kind.lambda_concurrency_limit}, "
        f"ECS service-linked role {'present' if kind.ecs_service_linked_role_exists else 'absent until created'}",
        flush=True,
    )
    from . import clock, container_images

    print(
        f"emulator: ECS tasks run {container_images.installed_litellm()} in place of the image's LiteLLM; "
        f"AWS's health-check intervals, grace periods, drains and stop timeouts run at x{clock.scale()} "
        "(LLMGW_TIME_SCALE)",
        flush=True,
    )
    for line in ecs_scheduler.stand_ins():
        print(f"emulator: stand-in: {line}", flush=True)

    import faulthandler

    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid> prints every thread's stack to the log
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    ecs_scheduler.shutdown()
    from . import ecs_run_task

    ecs_run_task.shutdown()
    server.shutdown()
    from . import elasticache_valkey, provider, rds_postgres

    provider.stop()
    elasticache_valkey.stop_all()
    rds_postgres.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
