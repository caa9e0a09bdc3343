"""The Secrets Manager rotation protocol, shared by both rotation functions.

Secrets Manager calls a rotation function four times per rotation, with the
same ``ClientRequestToken``: createSecret, setSecret, testSecret and
finishSecret. It retries a failed call, and may call a step again after it
succeeded, so every step must be idempotent and nothing may move AWSCURRENT
before testSecret has passed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from llmgw_common import aws_clients

logger = logging.getLogger()
logger.setLevel(logging.INFO)

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
Step = Callable[[Any, str, str], None]


class RotationError(Exception):
    """The rotation cannot go on; Secrets Manager retries, and AWSCURRENT is untouched."""


def dispatch(event: Mapping[str, str], steps: Mapping[str, Step], client: Any) -> None:
    """Check the event and the version's stages, then run the requested step.

    Args:
        event: ``SecretId``, ``ClientRequestToken`` and ``Step`` from Secrets Manager.
        steps: the function for each of the four step names.
        client: a Secrets Manager client.

    Raises:
        RotationError: rotation is off, the step is unknown or the version is in the wrong stage.
    """
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise RotationError(f"{step}: not a rotation step")
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"{step}: rotation is not enabled for {arn}")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages is None:
        # Secrets Manager stages the token (an empty AWSPENDING version) before it calls any step;
        # a token it never issued is refused, createSecret included, as AWS's reference functions do.
        raise RotationError(f"{step}: secret version {token} has no stage for rotation of secret {arn}")
    if "AWSCURRENT" in stages and step != "finishSecret":
        logger.info("%s: version %s is already AWSCURRENT; nothing to do", step, token)
        return
    # finishSecret runs even then: a retry after its stage move must still finish what follows it.
    if "AWSCURRENT" not in stages and "AWSPENDING" not in stages:
        raise RotationError(f"{step}: version {token} of {arn} is not AWSPENDING")
    steps[step](client, arn, token)


def current_value(client: Any, arn: str) -> dict[str, Any]:
    return json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


def pending_value(client: Any, arn: str, token: str) -> dict[str, Any] | None:
    """The AWSPENDING value of this rotation, or None if createSecret has not stored it yet."""
    try:
        response = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    except client.exceptions.ResourceNotFoundException:
        return None
    return json.loads(response["SecretString"])


def store_pending(client: Any, arn: str, token: str, value: Mapping[str, Any]) -> None:
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(value), VersionStages=["AWSPENDING"]
    )


def promote(client: Any, arn: str, token: str) -> None:
    """Move AWSCURRENT to ``token``; the old version keeps AWSPREVIOUS. Idempotent."""
    metadata = client.describe_secret(SecretId=arn)
    current = next(v for v, stages in metadata["VersionIdsToStages"].items() if "AWSCURRENT" in stages)
    if current == token:
        return
    client.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )


def finish_secret(client: Any, arn: str, token: str) -> None:
    """finishSecret: make the new version current, then start tasks that read it.

    Both halves are idempotent and both run on every call, so a retry after
    the stage moved (a failed redeploy) still redeploys; a redundant call only
    rolls the tasks once more. The service is named by the function's
    ``ECS_CLUSTER`` and ``ECS_SERVICE`` environment.
    """
    import os

    promote(client, arn, token)
    logger.info("finishSecret: version %s is AWSCURRENT", token)
    redeploy_service(os.environ.get("ECS_CLUSTER", ""), os.environ.get("ECS_SERVICE", ""), "finishSecret")


def redeploy_service(cluster: str, service: str, step: str) -> None:
    """Start new tasks, because ECS reads secrets only when a task starts."""
    if not cluster or not service:
        logger.info("%s: no service configured; nothing to redeploy", step)
        return
    ecs = aws_clients.client("ecs")
    try:
        ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)
    except (ecs.exceptions.ClusterNotFoundException, ecs.exceptions.ServiceNotFoundException):
        logger.info("%s: service %s/%s does not exist yet; nothing to redeploy", step, cluster, service)
        return
    logger.info("%s: redeployed %s/%s so new tasks read the new value", step, cluster, service)
