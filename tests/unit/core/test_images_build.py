"""The image definition: its content tag, its base image and its digest pin."""

from __future__ import annotations

import pytest

from llmgw.images.build import ImageDefinition, ImageError
from tools.render import ROOT

DIGEST = "sha256:" + "a" * 64


def definition(tmp_path, dockerfile: str, args: str = "") -> ImageDefinition:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "build-args").write_text(args)
    return ImageDefinition.from_directory(tmp_path)


def test_project_image__is_litellms_non_root_image_at_the_pinned_release():
    image = ImageDefinition.from_directory(ROOT / "image")
    version = image.build_args["LITELLM_VERSION"]
    assert image.base_image == f"ghcr.io/berriai/litellm-non_root:main-v{version}"
    assert version not in {"1.82.7", "1.82.8", "1.107.0"}, "a known-bad release"
    assert image.tag.startswith(f"{version}-")


def test_content_tag__names_the_platform_and_differs_between_platforms():
    amd64 = ImageDefinition.from_directory(ROOT / "image", platform="linux/amd64").tag
    arm64 = ImageDefinition.from_directory(ROOT / "image", platform="linux/arm64").tag
    version = ImageDefinition.from_directory(ROOT / "image").build_args["LITELLM_VERSION"]

    assert amd64.startswith(f"{version}-amd64-") and arm64.startswith(f"{version}-arm64-")
    assert amd64.rsplit("-", 1)[1] != arm64.rsplit("-", 1)[1]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_task_definition__runs_the_cpu_architecture_the_image_is_built_for(deployed, env):
    litellm = deployed[env]["litellm"]
    platform = litellm.props("TaskDefinition")["RuntimePlatform"]
    assert platform == {"OperatingSystemFamily": "LINUX", "CpuArchitecture": litellm.values["CpuArchitecture"]}
    assert litellm.rendered.parameters["CpuArchitecture"] == litellm.values["CpuArchitecture"], "set in the config"


def test_base_image__fills_build_args_and_arg_defaults(tmp_path):
    image = definition(tmp_path, "ARG V=1\nARG R=reg\nFROM ${R}/x:v$V\n", "V=2\n")
    assert image.base_image == "reg/x:v2"


def test_build_args__a_pinned_digest__makes_the_build_pull_by_digest(tmp_path):
    image = definition(tmp_path, "ARG V=1\nARG LITELLM_BASE_PIN=\nFROM reg/x:v$V${LITELLM_BASE_PIN}\n",
                       f"LITELLM_IMAGE_DIGEST={DIGEST}\n")  # fmt: skip
    assert image.build_args["LITELLM_BASE_PIN"] == f"@{DIGEST}"
    assert image.base_image == f"reg/x:v1@{DIGEST}" and image.pinned_digest == DIGEST


def test_build_args__a_digest_that_is_not_sha256__is_refused_naming_it(tmp_path):
    with pytest.raises(ImageError, match=r"LITELLM_IMAGE_DIGEST must be sha256:<64 hex>"):
        definition(tmp_path, "FROM reg/x:1\n", "LITELLM_IMAGE_DIGEST=latest\n")


def test_build_args__malformed_line__names_file_and_line(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "build-args").write_text("# comment\nNOT A PAIR\n")
    with pytest.raises(ImageError, match=r"build-args:2: expected KEY=VALUE"):
        ImageDefinition.from_directory(tmp_path)
