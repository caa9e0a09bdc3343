"""Sceptre resolver: the content tag of the gateway image."""

from __future__ import annotations

from pathlib import Path

from sceptre.exceptions import InvalidConfigFileError
from sceptre.resolvers import Resolver


class ImageTag(Resolver):
    """Resolves to the tag ``!push_image`` builds: a hash of the build context, its build args and the platform.

    The same files always give the same tag, so a relaunch with no change
    asks for an image that is already in ECR. ``architecture`` is the stack's
    ``CpuArchitecture`` (X86_64 by default), which ``!push_image`` builds for;
    if the two disagree, the hook stops the launch in one line. A non-empty
    ``override`` pins an older tag instead, for a rollback::

        ImageTag: !image_tag image
        ImageTag: !image_tag {context: image, architecture: ARM64, override: "{{ var.image_tag | default('') }}"}
    """

    def resolve(self) -> str:
        """Return the override, or the content tag of the context directory.

        Raises:
            InvalidConfigFileError: the argument is not a context directory with a Dockerfile.
        """
        from llmgw.images.build import ImageDefinition, ImageError, platform_for

        argument = self.argument if isinstance(self.argument, dict) else {"context": self.argument}
        unknown = sorted(set(argument) - {"context", "architecture", "override"})
        if unknown:
            raise InvalidConfigFileError(
                f"{self.stack.name}: !image_tag knows context, architecture and override; got {', '.join(unknown)}"
            )
        if argument.get("override"):
            return str(argument["override"])
        project = Path(self.stack.stack_group_config.get("project_path", "."))
        try:
            platform = platform_for(str(argument.get("architecture") or "X86_64"))
            return ImageDefinition.from_directory(project / str(argument.get("context") or "image"), platform).tag
        except ImageError as err:
            raise InvalidConfigFileError(
                f"{self.stack.name}: !image_tag {self.argument!r}: {err}; expected a build context such as image"
            ) from err
