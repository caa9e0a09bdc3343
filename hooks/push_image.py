"""Sceptre hook: make sure the image the stack will run is in ECR before the stack launches."""

from __future__ import annotations

from pathlib import Path

from sceptre.exceptions import InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook


class ImageNotAvailableError(SceptreException):
    """The stack's image is not in the registry and could not be put there."""


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
            InvalidHookArgumentValueError: the argument is no build context, or a parameter is missing.
            ImageNotAvailableError: the image is missing and cannot be built or pushed.
        """
        project = Path(self.stack.stack_group_config.get("project_path", "."))
        argument = "image" if self.argument in (None, "") else self.argument
        if not isinstance(argument, str) or not (project / argument / "Dockerfile").is_file():
            raise InvalidHookArgumentValueError(
                f"!push_image needs a build context with a Dockerfile, such as image; got {self.argument!r}"
            )
        absent = [p for p in ("RepositoryUri", "ImageTag") if not self.stack.parameters.get(p)]
        if absent:
            raise InvalidHookArgumentValueError(f"{self.stack.name}: !push_image needs the stack parameter {absent[0]}")
        from llmgw.images.build import ImageError
        from llmgw.images.publish import ensure_image

        try:
            ensure_image(
                self.stack.connection_manager,
                project / argument,
                self.stack.parameters["RepositoryUri"],
                self.stack.parameters["ImageTag"],
                str(self.stack.parameters.get("CpuArchitecture", "X86_64")),
                self.logger,
            )
        except ImageError as err:
            raise ImageNotAvailableError(f"{self.stack.name}: {err}") from err
