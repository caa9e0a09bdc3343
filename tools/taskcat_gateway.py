"""Start a taskcat run's gateway and smoke-test it, with the code the Sceptre hooks run; clean up after it.

    python -m tools.taskcat_gateway start PROJECT_NAME [--region us-east-1] [--requests 20]
    python -m tools.taskcat_gateway clean PROJECT_NAME [--region us-east-1]

taskcat runs no Sceptre hooks, so its stacks come up with ``MinCapacity`` 0: no image pushed, no
secret seeded, no task. Between the stacks' creation (``taskcat test run --no-delete``) and
their deletion, this does for every test of the run what a Sceptre launch's hooks do, then
tests the product:

1. builds image/ and pushes it to the run's repository under the litellm stack's ``ImageTag``
   (``!push_image``'s ``ensure_image``);
2. seeds the run's secrets (``!seed_secrets``' and ``!seed_database_url``'s functions), provider
   keys from the environment as for a launch;
3. runs the migration task once, as the stack's ``Migration`` custom resource does when
   ``MinCapacity`` is raised by a stack update (here it is raised outside the stack, so the
   resource, which skipped at create, does not run), and fails with its last log line;
4. raises the service's scalable target to ``MinCapacity`` 1, which starts a task, and waits
   until the service's deployment completes with it running;
5. lets this agent reach the run's load balancer (dev's answers only ``ClientCidr``): ``AGENT_CIDR``,
   or this machine's public address from checkip.amazonaws.com;
6. runs ``tools.ops smoke``'s checks, the database ones included, through the run's load balancer.

A run's tests are the stacks taskcat tagged ``taskcat-project-name`` = PROJECT_NAME; their
nested stacks are found by logical id (tools/taskcat_build.py's LOGICAL_IDS).

``clean`` follows ``taskcat test clean``, which deletes the stacks but logs and swallows a failed
delete, and with ``--no-delete`` keeps its staging bucket (``tcat-<project>-<8 random>``): it
fails if a stack of the run is left, naming it, and empties and deletes the run's bucket.
Failures end in one line and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

from botocore.exceptions import ClientError

from llmgw.stacks import BotoManager, stack_outputs
from tools.taskcat_build import LOGICAL_IDS

ROOT = Path(__file__).resolve().parent.parent
LOG = logging.getLogger("taskcat-gateway")


class GatewayError(Exception):
    """The run's gateway could not be started or failed its smoke test; one line."""


def _parameters(calls: BotoManager, stack: str) -> dict[str, str]:
    (found,) = calls.call("cloudformation", "describe_stacks", {"StackName": stack})["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in found.get("Parameters", [])}


def tests_of(calls: BotoManager, project: str) -> dict[str, dict[str, str]]:
    """``{entrypoint stack name: {stack: nested stack id}}`` for the run's tests."""
    found: dict[str, dict[str, str]] = {}
    pages = calls.clients.get("cloudformation") or calls.session.client("cloudformation")
    calls.clients["cloudformation"] = pages
    for page in pages.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
            if tags.get("taskcat-project-name") != project or stack.get("ParentId"):
                continue
            resources = calls.call("cloudformation", "describe_stack_resources", {"StackName": stack["StackId"]})
            nested = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResources"]}
            if not set(LOGICAL_IDS.values()) <= set(nested):
                continue  # a nested stack, which carries its parent's tags
            if stack["StackStatus"] != "CREATE_COMPLETE":
                raise GatewayError(f"{stack['StackName']} is {stack['StackStatus']}; no gateway to start")
            # by stack name: taskcat 0.9.58 gives every test's stack the last test's taskcat-test-name tag
            found[stack["StackName"]] = {name: nested[logical] for name, logical in LOGICAL_IDS.items()}
    if not found:
        raise GatewayError(f"no stack is tagged taskcat-project-name={project}: did taskcat test run create it?")
    return found


def _wait_for_service(calls: BotoManager, cluster: str, service: str, minutes: float, poll: float) -> str:
    deadline = time.monotonic() + minutes * 60
    while True:
        (described,) = calls.call("ecs", "describe_services", {"cluster": cluster, "services": [service]})["services"]
        deployments = described["deployments"]
        primary = next(d for d in deployments if d["status"] == "PRIMARY")
        if primary.get("rolloutState") == "FAILED":
            raise GatewayError(f"{cluster}/{service}: {primary.get('rolloutStateReason', 'the deployment failed')}")
        if len(deployments) == 1 and primary["runningCount"] >= 1 and primary.get("rolloutState") == "COMPLETED":
            return f"{primary['runningCount']} of {described['desiredCount']} tasks running"
        if time.monotonic() > deadline:
            raise GatewayError(f"{cluster}/{service} ran no task within {minutes:.0f} minutes")
        time.sleep(poll)


def migrate(calls: BotoManager, test: str, litellm_stack: str, cluster: str, service: str, poll: float = 10) -> str:
    """Run the stack's migration task definition once with the service's network; raise unless it exits 0."""
    resources = calls.call("cloudformation", "describe_stack_resources", {"StackName": litellm_stack})
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResources"]}
    (described,) = calls.call("ecs", "describe_services", {"cluster": cluster, "services": [service]})["services"]
    answer = calls.call("ecs", "run_task", {
        "cluster": cluster, "taskDefinition": physical["MigrationTaskDefinition"], "count": 1,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "networkConfiguration": described["networkConfiguration"], "startedBy": "taskcat-gateway-migration",
    })  # fmt: skip
    if answer.get("failures") or not answer.get("tasks"):
        raise GatewayError(f"{test}: RunTask started no migration task: {answer.get('failures')}")
    arn = answer["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 20 * 60
    while True:
        (task,) = calls.call("ecs", "describe_tasks", {"cluster": cluster, "tasks": [arn]})["tasks"]
        if task["lastStatus"] == "STOPPED":
            break
        if time.monotonic() > deadline:
            calls.call(
                "ecs", "stop_task", {"cluster": cluster, "task": arn, "reason": "the migration outlasted 20 min"}
            )
            raise GatewayError(f"{test}: the migration task {arn} was still running after 20 minutes; stopped it")
        time.sleep(poll)
    container = next((c for c in task.get("containers", []) if c.get("name") == "migrate"), {})
    if container.get("exitCode") == 0:
        return f"migration task {arn.rsplit('/', 1)[-1]} succeeded"
    if "exitCode" not in container:  # it never ran, so it logged nothing
        raise GatewayError(f"{test}: the migration task did not run: {task.get('stoppedReason')}")
    group = stack_outputs(calls, litellm_stack)["LogGroupName"]
    events = calls.call("logs", "get_log_events", {
        "logGroupName": group, "logStreamName": f"migrate/migrate/{arn.rsplit('/', 1)[-1]}", "limit": 20,
        "startFromHead": False,
    })["events"]  # fmt: skip
    last = next((e["message"].strip() for e in reversed(events) if e["message"].strip()), task.get("stoppedReason"))
    raise GatewayError(f"{test}: the migration task exited {container.get('exitCode')}: {last}")


AGENT_RULE = "taskcat-gateway: the smoke test's agent"


def open_to_this_agent(calls: BotoManager, network_stack: str, cidr: str) -> str:
    """Let ``cidr`` reach the run's load balancer: dev's answers only ``ClientCidr``, a range taskcat's
    render fills with a stand-in that reaches nobody. The rule goes with the stacks, which the run deletes."""
    from tools.ops import open_to_agent

    group = stack_outputs(calls, network_stack)["AlbSecurityGroupId"]
    open_to_agent(lambda command, kwargs: calls.call("ec2", command, kwargs), group, cidr, AGENT_RULE)
    return group


def start(
    calls: BotoManager, test: str, stacks: dict[str, str], poll: float = 10
) -> tuple[str, str, str, tuple[str, str]]:
    """Push, seed, migrate, scale to one task; the ALB's service URL, its ARN, the master key and the UI login."""
    from llmgw.images.publish import ensure_image
    from llmgw.pipeline_macros import UnexpandedMacroError, refuse_macro
    from llmgw.secrets.seeding import seed_database_url_secret, seed_security_secrets
    from llmgw.secrets.store import read_json
    from llmgw.secrets.values import SecretValueError

    security, alb = stack_outputs(calls, stacks["security"]), stack_outputs(calls, stacks["alb"])
    litellm, parameters = stack_outputs(calls, stacks["litellm"]), _parameters(calls, stacks["litellm"])
    ensure_image(calls, ROOT / "image", security["RepositoryUri"], parameters["ImageTag"],
                 parameters.get("CpuArchitecture", "X86_64"), LOG)  # fmt: skip
    offered = {k: os.environ.get(k, "") for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_BEDROCK_REGION")}
    try:
        for name, value in offered.items():
            refuse_macro(name, value, "taskcat")
        seed_security_secrets(calls, security, offered, overwrite=False, logger=LOG)
    except (SecretValueError, UnexpandedMacroError) as err:
        raise GatewayError(f"{test}: {err}") from None
    seed_database_url_secret(calls, security["DatabaseSecretArn"], calls.session.region_name, LOG)
    cluster, service = litellm["ClusterName"], litellm["ServiceName"]
    LOG.info("%s: %s", test, migrate(calls, test, stacks["litellm"], cluster, service, poll))
    resource = f"service/{cluster}/{service}"
    (target,) = calls.call(
        "application-autoscaling", "describe_scalable_targets",
        {"ServiceNamespace": "ecs", "ResourceIds": [resource]},
    )["ScalableTargets"]  # fmt: skip
    calls.call(
        "application-autoscaling", "register_scalable_target",
        {"ServiceNamespace": "ecs", "ResourceId": resource, "ScalableDimension": "ecs:service:DesiredCount",
         "MinCapacity": max(1, target["MinCapacity"]), "MaxCapacity": target["MaxCapacity"]},
    )  # fmt: skip
    # RegisterScalableTarget documents moving capacity into the range for a new target only; for
    # this update, the scale-out is asked for directly, as a scaling policy would.
    calls.call("ecs", "update_service", {"cluster": cluster, "service": service, "desiredCount": 1})
    LOG.info("%s: %s/%s scaled to MinCapacity 1; waiting for its task", test, cluster, service)
    LOG.info("%s: %s", test, _wait_for_service(calls, cluster, service, minutes=15, poll=poll))
    from tools.ops import agent_cidr

    cidr = agent_cidr()
    LOG.info("%s: %s answers %s too", test, open_to_this_agent(calls, stacks["network"], cidr), cidr)
    key = read_json(calls, security["MasterKeySecretArn"])["LITELLM_MASTER_KEY"]
    ui = read_json(calls, security["UiPasswordSecretArn"])
    return alb["ServiceUrl"], alb["LoadBalancerArn"], key, (ui["UI_USERNAME"], ui["UI_PASSWORD"])


def run(project: str, region: str, model: str, requests: int, poll: float = 10) -> None:
    from tools.ops import smoke_url

    calls = BotoManager(region)
    for test, stacks in sorted(tests_of(calls, project).items()):
        url, load_balancer, key, ui = start(calls, test, stacks, poll)
        print(f"taskcat-gateway: {test}: smoke test through {url}")
        smoke_url(url.rstrip("/"), load_balancer, key, model=model, requests=requests, concurrency=2, ui=ui)


def clean(project: str, region: str) -> None:
    """Fail if a stack of the run is left; empty and delete the run's staging bucket."""
    calls = BotoManager(region)
    cloudformation = calls.session.client("cloudformation")
    left = []
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
            if tags.get("taskcat-project-name") == project and not stack.get("ParentId"):
                left.append(f"{stack['StackName']} ({stack['StackStatus']})")
    s3 = calls.session.client("s3")
    # taskcat's generate_bucket_name: "tcat" + f"-{project}-" (cut to 63 minus its length) + 8 random
    middle = f"-{project}-"
    prefix = "tcat" + middle[: 63 - len(middle)]
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        if not (name.startswith(prefix) and re.fullmatch(r"[a-z0-9]{8}", name[len(prefix) :])):
            continue
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]  # fmt: skip
            if doomed:
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=name)
        print(f"taskcat-gateway: deleted the run's staging bucket {name}")
    if left:
        raise GatewayError("taskcat's clean-up left " + ", ".join(left) + ": delete them by hand")
    print(f"taskcat-gateway: nothing of {project} is left")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "clean"])
    parser.add_argument("project", help="the taskcat project name (TASKCAT_PROJECT_NAME)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    from botocore.exceptions import BotoCoreError

    from llmgw.images.build import ImageError
    from tools.ops import OpsError

    try:
        if args.command == "start":
            run(args.project, args.region, args.model, args.requests)
        else:
            clean(args.project, args.region)
    except (GatewayError, OpsError, ImageError, ClientError, BotoCoreError) as err:
        print(f"taskcat-gateway: {str(err).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
