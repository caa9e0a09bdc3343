"""!require_pinned_image stops a prod launch, in one line, while the base image is trusted by tag alone."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from sceptre.exceptions import InvalidHookArgumentValueError

from llmgw_hooks.require_pinned_image import RequirePinnedImage, UnpinnedBaseImageError
from tools.render import ROOT

DIGEST = "sha256:" + "c" * 64


def hook_for(argument, project) -> RequirePinnedImage:
    hook = RequirePinnedImage(argument)
    hook.stack = SimpleNamespace(name="prod/network", stack_group_config={"project_path": str(project)})
    return hook


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "image", tmp_path / "image")
    return tmp_path


def test_unpinned__refuses_in_one_line_that_says_how_to_pin(project):
    with pytest.raises(UnpinnedBaseImageError) as refusal:
        hook_for("image", project).run()

    message = str(refusal.value)
    assert "\n" not in message
    assert message.startswith("prod/network: image/build-args pins no LITELLM_IMAGE_DIGEST")
    assert (
        "docker://ghcr.io/berriai/litellm-non_root:main-v" in message and "python -m tools.base_image verify" in message
    )


def test_pinned__lets_the_launch_go_on(project):
    args = project / "image" / "build-args"
    args.write_text(args.read_text().replace("LITELLM_IMAGE_DIGEST=\n", f"LITELLM_IMAGE_DIGEST={DIGEST}\n"))

    hook_for("image", project).run()


def test_every_prod_stack__runs_it_before_its_launch_and_dev_does_not():
    # Sceptre goes on with later batches when one fails, so every prod stack refuses, not just the first.
    import re

    for env, wanted in (("prod", True), ("dev", False)):
        for config in sorted((ROOT / "config" / env).glob("*.yaml")):
            if config.name == "config.yaml":
                continue
            block = re.search(r"^  before_launch:\n((?:    .*\n)*)", config.read_text(), re.MULTILINE)
            hooks = block.group(1) if block else ""
            assert ("- !require_pinned_image image" in hooks) is wanted, f"{env}/{config.name}"


def test_no_build_context__is_an_invalid_argument(project):
    with pytest.raises(InvalidHookArgumentValueError, match="needs a build context"):
        hook_for("nowhere", project).run()
