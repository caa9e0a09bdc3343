"""Publish the gateway image: build its context and push it to ECR, unless ECR already holds its tag."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any


class NoRegistryTokenError(Exception):
    """ECR's GetAuthorizationToken failed; the message is the service's own, in one line."""


def ensure_image(
    manager: Any, context: Path, repository_uri: str, tag: str, architecture: str, logger: logging.Logger
) -> None:
    """Build ``context`` and push it as ``repository_uri:tag`` unless the registry has that tag.

    ``manager`` is anything with Sceptre's ``ConnectionManager.call(service, command, kwargs)``: the
    hook passes the stack's, the taskcat run (tools/taskcat_gateway.py) a boto3 one.

    Raises:
        ImageError: the image is missing and cannot be built or pushed.
    """
    from llmgw.images.build import (
        Builder,
        ImageDefinition,
        ImageError,
        RegistryUnreachableError,
        platform_for,
    )
    from llmgw.images.build import split_repository_uri as split

    definition = ImageDefinition.from_directory(context, platform=platform_for(architecture))
    host, repository = split(repository_uri)
    image = f"{host}/{repository}:{tag}"
    try:
        registry = registry_for(manager, host)
    except NoRegistryTokenError as err:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            logger.warning(
                "image: the endpoint %s hands out no ECR authorization (%s), so %s was not built", endpoint, err, image
            )
            return
        raise ImageError(f"ECR would not hand out a registry token: {err}") from None
    try:
        if registry.has_tag(repository, tag):
            logger.info("image %s is already in the registry; not rebuilding", image)
            return
    except RegistryUnreachableError as err:
        if os.environ.get("AWS_ENDPOINT_URL"):
            logger.warning(
                "image: %s was not built: AWS_ENDPOINT_URL points at an emulator, which has no registry "
                "(%s); its tasks run the build context whose tag this is",
                image, err,
            )  # fmt: skip
            return
        raise
    if tag != definition.tag:
        raise ImageError(
            f"ImageTag {tag} is not in {host}/{repository} and {definition.context.name}/ builds "
            f"{definition.tag}; push {tag} first or drop the override"
        )
    from llmgw.images.signature import BaseImageError, verify

    try:  # the base image's digest and LiteLLM's signature, before anything built on it reaches ECR
        verify(definition.context, say=logger.info)
    except BaseImageError as err:
        raise ImageError(str(err)) from None
    builder = Builder.detect(os.environ.get("IMAGE_BUILDER") or None)
    logger.info("building %s with %s", image, builder.name)
    builder.build(definition, image)
    builder.push(image, registry)
    logger.info("pushed %s", image)


def registry_for(manager: Any, host: str) -> Any:
    """ECR's registry at ``host``, logged in with the token ``manager`` obtains (never logged)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from llmgw.aws_errors import error_line
    from llmgw.images.build import Registry
    from llmgw.secrets.store import no_wire_logging

    try:
        with no_wire_logging():  # the token is the registry password
            response = manager.call(service="ecr", command="get_authorization_token", kwargs={})
    except ClientError as err:
        raise NoRegistryTokenError(error_line(err)) from None
    except BotoCoreError as err:
        raise NoRegistryTokenError(str(err)) from None
    (data,) = response["authorizationData"][:1]
    return Registry.from_ecr_token(host, data["authorizationToken"])
