"""!image_tag resolves to the content tag the image hook pushes, or to an explicit override."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sceptre.exceptions import InvalidConfigFileError

from llmgw.images.build import ImageDefinition
from llmgw_resolvers.image_tag import ImageTag
from tools.render import ROOT


def resolve(argument) -> str:
    resolver = ImageTag(argument)
    resolver.stack = SimpleNamespace(name="dev/litellm", stack_group_config={"project_path": str(ROOT)})
    return resolver.resolve()


def test_image_tag__context_directory__is_the_content_tag_with_the_pinned_version():
    tag = resolve("image")

    assert tag == ImageDefinition.from_directory(ROOT / "image").tag
    assert tag.startswith(ImageDefinition.from_directory(ROOT / "image").build_args["LITELLM_VERSION"] + "-")


@pytest.mark.parametrize("override", ["", None])
def test_image_tag__empty_override__falls_back_to_the_content_tag(override):
    assert resolve({"context": "image", "override": override}) == resolve("image")


def test_image_tag__override__pins_that_tag():
    assert resolve({"context": "image", "override": "1.106.12-0123456789abcdef"}) == "1.106.12-0123456789abcdef"


def test_image_tag__directory_without_dockerfile__names_the_problem():
    with pytest.raises(InvalidConfigFileError, match=r"dev/litellm: !image_tag 'config': .* has no Dockerfile"):
        resolve("config")


def test_image_tag__architecture__gives_the_tag_of_that_platform():
    assert (
        resolve({"context": "image", "architecture": "ARM64"})
        == ImageDefinition.from_directory(ROOT / "image", platform="linux/arm64").tag
    )
    assert resolve({"context": "image", "architecture": "X86_64"}) == resolve("image")


def test_image_tag__unknown_architecture__names_it():
    with pytest.raises(InvalidConfigFileError, match=r"CpuArchitecture 'RISCV' is not one Fargate runs"):
        resolve({"context": "image", "architecture": "RISCV"})
