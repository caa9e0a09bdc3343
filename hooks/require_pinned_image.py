"""Sceptre hook: refuse to launch unless the image's base is pinned by digest."""

from __future__ import annotations

from pathlib import Path

from sceptre.exceptions import InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook


class UnpinnedBaseImageError(SceptreException):
    """The build context's base image is trusted by tag alone."""


class RequirePinnedImage(Hook):
    """Stops the launch, in one line, while ``<context>/build-args`` pins no ``LITELLM_IMAGE_DIGEST``.

    A tag can be moved to other bytes; a digest cannot. prod runs only a base image whose digest is
    committed, so the launch is refused before the first stack of the environment is touched::

        hooks:
          before_launch:
            - !require_pinned_image image

    The argument is the build context, relative to the Sceptre project.
    """

    def run(self) -> None:
        """Return if pinned.

        Raises:
            InvalidHookArgumentValueError: the argument names no build context.
            UnpinnedBaseImageError: no digest is pinned.
        """
        from llmgw.images.build import DIGEST_ARG, ImageDefinition, ImageError

        context = Path(self.stack.stack_group_config.get("project_path", ".")) / str(self.argument or "")
        if not self.argument or not (context / "Dockerfile").is_file():
            raise InvalidHookArgumentValueError(
                f"!require_pinned_image needs a build context with a Dockerfile, such as image; got {self.argument!r}"
            )
        try:
            definition = ImageDefinition.from_directory(context)
        except ImageError as err:
            raise UnpinnedBaseImageError(str(err)) from None
        if definition.pinned_digest:
            self.logger.info("base image pinned: %s", definition.base_image)
            return
        base = (definition.base_image or "").split("@", 1)[0]
        raise UnpinnedBaseImageError(
            f"{self.stack.name}: {self.argument}/build-args pins no {DIGEST_ARG}, and this environment runs only a "
            f"base image pinned by digest: run `python -m tools.base_image verify` (the image pipeline does) or "
            f"`skopeo inspect --format '{{{{.Digest}}}}' docker://{base}`, then commit {DIGEST_ARG}=sha256:..."
        )
