"""Every environment installs from a hash-locked file, compiled from its input, with the pinned uv."""

from __future__ import annotations

import re

import pytest

from llmgw.images.build import ImageDefinition
from tools.render import ROOT

# lock -> (its input, the environment it makes)
LOCKS = {
    "requirements.lock": ("requirements.txt", ".venv"),
    "emulator/requirements.lock": ("emulator/requirements.txt", ".venv-emulator"),
    "requirements-gateway.txt": ("requirements-gateway.in", ".venv-gateway"),
    "requirements-schema.txt": ("requirements-schema.in", ".venv-schema"),
    "requirements-checkov.txt": ("requirements-checkov.in", ".venv-checkov"),
    "emulator/lambda-runtime.txt": ("emulator/requirements.txt", ".venv-emulator/lambda-runtimes/python3.12"),
}


def _requirements(lock: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from pip's requirement format with continuation lines."""
    found: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=\S)", (ROOT / lock).read_text()):
        lines = [line.strip().rstrip("\\").strip() for line in entry.splitlines() if not line.strip().startswith("#")]
        if not lines or not lines[0]:
            continue
        name, _, version = lines[0].split(";")[0].strip().partition("==")
        found[_normal(name)] = (version, [h.removeprefix("--hash=") for h in lines[1:] if h.startswith("--hash=")])
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().split("[")[0]


def _direct_pins(path: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name, _, version = requirement.partition("==")
            pins[_normal(name)] = version.strip()
    return pins


@pytest.mark.parametrize("lock", LOCKS)
def test_lock__pins_every_package_to_one_version_with_its_hashes(lock):
    requirements = _requirements(lock)

    assert len(requirements) > 5
    for name, (version, hashes) in requirements.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), f"{lock}: {name} is not pinned to one version"
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), f"{lock}: {name} has no hash"


@pytest.mark.parametrize("lock", LOCKS)
def test_lock__holds_each_pin_of_its_input_at_that_version(lock):
    source, _ = LOCKS[lock]
    requirements = _requirements(lock)

    pins = _direct_pins(source)
    if lock == "emulator/lambda-runtime.txt":  # Lambda's runtime bundles boto3 alone, at the emulator's release
        pins = {"boto3": pins["boto3"]}
    for name, version in pins.items():
        assert requirements.get(name, ("absent",))[0] == version, f"{source} pins {name}=={version}: run make lock"


def test_gateway_lock__pins_the_litellm_release_the_image_runs():
    release = ImageDefinition.from_directory(ROOT / "image").build_args["LITELLM_VERSION"]
    requirements = _requirements("requirements-gateway.txt")

    assert requirements["litellm"][0] == release, "run make lock after changing LITELLM_VERSION"
    assert "litellm-proxy-extras" in requirements, "the migrations the image's LiteLLM applies"


def _expand(text: str, variables: dict[str, str]) -> str:
    while (expanded := re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), text)) != text:
        text = expanded
    return text


@pytest.mark.parametrize("lock", LOCKS)
def test_make__syncs_each_environment_from_its_lock_requiring_hashes(lock):
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    variables = dict(re.findall(r"^([A-Z_]+) := (\S+)$", makefile, flags=re.M))
    _, venv = LOCKS[lock]

    assert "UV_SYNC = $(UV) pip sync --quiet --require-hashes --python" in makefile
    made = {
        (_expand(where, variables).removesuffix("/bin/python"), path)
        for where, path in re.findall(r"\$\(UV_SYNC\) (\S+) (\S+)", makefile)
        + re.findall(r"--require-hashes --target (\S+) .* -r (\S+)", makefile)
    }
    assert (venv, lock) in made, f"{venv} is not made from {lock}"
    installs = re.findall(r"^\t.*\bpip install\b.*$", makefile, flags=re.M)
    assert all(
        "--no-deps -e ." in line or "--require-hashes" in line or "'uv==$(UV_VERSION)'" in line for line in installs
    ), "every install but the editable plugins and uv itself checks hashes"
    assert "litellm[proxy]==" not in makefile, "no second, unhashed install of LiteLLM"
