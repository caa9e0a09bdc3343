"""The local gateway environment installs from a hash-locked file compiled for the release image/build-args pins."""

from __future__ import annotations

import re

from llmgw_hooks.image_build import ImageDefinition
from tools.render import ROOT

LOCK = ROOT / "requirements-gateway.txt"


def _requirements() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from pip's requirement format with continuation lines."""
    found: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=\S)", LOCK.read_text()):
        lines = [line.strip().rstrip("\\").strip() for line in entry.splitlines() if not line.strip().startswith("#")]
        if not lines or not lines[0]:
            continue
        name, _, version = lines[0].split(";")[0].strip().partition("==")
        found[name.lower()] = (version, [h.removeprefix("--hash=") for h in lines[1:] if h.startswith("--hash=")])
    return found


def test_gateway_lock__pins_the_litellm_release_the_image_runs():
    release = ImageDefinition.from_directory(ROOT / "image").build_args["LITELLM_VERSION"]
    requirements = _requirements()

    assert requirements["litellm"][0] == release, "run make gateway-lock after changing LITELLM_VERSION"
    assert "litellm-proxy-extras" in requirements, "the migrations the image's LiteLLM applies"


def test_gateway_lock__every_package_is_pinned_to_one_version_with_its_hashes():
    requirements = _requirements()

    assert len(requirements) > 50
    for name, (version, hashes) in requirements.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), f"{name} is not pinned to one version"
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), f"{name} has no sha256 hash"


def test_make_gateway_venv__installs_with_require_hashes_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements-gateway.txt" in makefile
    assert "litellm[proxy]==" not in makefile, "no second, unhashed install of LiteLLM"
