"""Sceptre hook: make sure the image the stack will run is in ECR before the stack launches."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sceptre.exceptions import SceptreException
from sceptre.hooks import Hook


class ImageNotAvailableError(SceptreException):
    """The stack's image is not in the registry and could not be put there."""


class NoRegistryTokenError(Exception):
    """ECR's GetAuthorizationToken failed; the message is the service's own, in one line."""


class PushImage(Hook):
    """Builds and pushes the gateway image for the stack's ``ImageTag``, unless ECR already has it.

    The repository and tag are the stack's own ``RepositoryUri`` and
    ``ImageTag`` parameters, so the hook pushes exactly what the stack will
    reference, built for the platform of its ``CpuArchitecture`` parameter
    (X86_64 or ARM64), whatever this machine is. The tag is a hash of the build context (see ``!image_tag``), so
    an unchanged image is found and not rebuilt. The argument is the build
    context, relative to the Sceptre project::

        parameters:
          RepositoryUri: !stack_output dev/security.yaml::RepositoryUri
          ImageTag: !image_tag image
        hooks:
          before_launch:
            - !push_image image

    It builds with docker, podman or buildah, whichever works here
    (``IMAGE_BUILDER`` picks one), and logs in with the ECR authorization
    token obtained through the stack's connection. Against an endpoint
    override with no reachable registry (the local emulator) it says so in
    one line and lets the launch go on; anywhere else, a missing image stops
    the launch before the stack is touched.
    """

    def run(self) -> None:
        """Ensure ``RepositoryUri:ImageTag`` exists, building and pushing it if needed.

        Raises:
            ImageNotAvailableError: the image is missing and cannot be built or pushed.
        """
        from .image_build import ImageError

        project = Path(self.stack.stack_group_config.get("project_path", "."))
        try:
            ensure_image(
                self.stack.connection_manager,
                project / str(self.argument or "image"),
                self.stack.parameters["RepositoryUri"],
                self.stack.parameters["ImageTag"],
                str(self.stack.parameters.get("CpuArchitecture", "X86_64")),
                self.logger,
            )
        except ImageError as err:
            raise ImageNotAvailableError(f"{self.stack.name}: {err}") from err


def ensure_image(
    manager: Any, context: Path, repository_uri: str, tag: str, architecture: str, logger: logging.Logger
) -> None:
    """Build ``context`` and push it as ``repository_uri:tag`` unless the registry has that tag.

    ``manager`` is anything with Sceptre's ``ConnectionManager.call(service, command, kwargs)``: the
    hook passes the stack's, the taskcat run (tools/taskcat_gateway.py) a boto3 one.

    Raises:
        ImageError: the image is missing and cannot be built or pushed.
    """
    from .image_build import (
        Builder,
        ImageDefinition,
        ImageError,
        RegistryUnreachableError,
        platform_for,
    )
    from .image_build import split_repository_uri as split

    definition = ImageDefinition.from_directory(context, platform=platform_for(architecture))
    host, repository = split(repository_uri)
    image = f"{host}/{repository}:{tag}"
    try:
        registry = _registry(manager, host)
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
    from .image_signature import BaseImageError, verify

    try:  # the base image's digest and LiteLLM's signature, before anything built on it reaches ECR
        verify(definition.context, say=logger.info)
    except BaseImageError as err:
        raise ImageError(str(err)) from None
    builder = Builder.detect(os.environ.get("IMAGE_BUILDER") or None)
    logger.info("building %s with %s", image, builder.name)
    builder.build(definition, image)
    builder.push(image, registry)
    logger.info("pushed %s", image)


def _registry(manager: Any, host: str) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    from .image_build import Registry
    from .secret_store import no_wire_logging

    try:
        with no_wire_logging():  # the token is the registry password
            response = manager.call(service="ecr", command="get_authorization_token", kwargs={})
    except ClientError as err:
        error = err.response.get("Error", {})
        raise NoRegistryTokenError(f"{error.get('Code')}: {error.get('Message')}") from None
    except BotoCoreError as err:
        raise NoRegistryTokenError(str(err)) from None
    (data,) = response["authorizationData"][:1]
    return Registry.from_ecr_token(host, data["authorizationToken"])
