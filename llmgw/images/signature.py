"""The base image's digest and cosign signature, checked before anything built on it is pushed to ECR.

Used by ``ensure_image`` (the ``!push_image`` hook, ``tools.ops push-image``, taskcat's gateway
start) and by ``python -m tools.base_image verify``:

1. The digest: ``LITELLM_IMAGE_DIGEST`` from ``build-args`` if pinned (and then the tag must
   still name it), else resolved from the registry with skopeo and printed with the line to
   commit, so the first pipeline run records it (also in ``build/base-image-digest.txt``).
2. The signature: ``cosign verify --key LITELLM_COSIGN_KEY <image>@<digest>``, as LiteLLM's
   "Docker Image Security" page advises before deploying to ECS.

In a pipeline (``TF_BUILD``, which Azure Pipelines sets) a check that cannot run is a failure, and
a missing cosign is installed first (a pinned release, checked against its published checksums).
Elsewhere a missing tool is a one-line notice. Against the local emulator (``AWS_ENDPOINT_URL``),
which builds and pulls no image, nothing is verified, and that is said in one line. Standard
library only; nothing runs at import time.
https://docs.litellm.ai/docs/proxy/docker_image_security
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

COSIGN_VERSION = "v2.4.1"
_COSIGN_RELEASE = f"https://github.com/sigstore/cosign/releases/download/{COSIGN_VERSION}"


class BaseImageError(Exception):
    """The base image could not be verified; one line."""


def in_pipeline() -> bool:
    return os.environ.get("TF_BUILD", "").lower() == "true"


def _run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def resolve_digest(reference: str) -> str | None:
    """The registry's digest for ``reference`` (skopeo), or None where skopeo is missing."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        return None
    result = _run([skopeo, "inspect", "--no-tags", "--format", "{{.Digest}}", f"docker://{reference}"])
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BaseImageError(f"skopeo could not inspect {reference}: {lines[-1] if lines else 'no output'}")
    return result.stdout.strip()


def install_cosign(directory: Path) -> str:
    """Download the pinned cosign release into ``directory``, checked against the release's checksums."""
    name = "cosign-linux-amd64"
    with urllib.request.urlopen(f"{_COSIGN_RELEASE}/cosign_checksums.txt", timeout=60) as response:
        sums = dict(reversed(line.split()) for line in response.read().decode().splitlines() if line.strip())
    with urllib.request.urlopen(f"{_COSIGN_RELEASE}/{name}", timeout=120) as response:
        binary = response.read()
    if hashlib.sha256(binary).hexdigest() != sums.get(name):
        raise BaseImageError(f"cosign {COSIGN_VERSION}: {name} does not match the release's cosign_checksums.txt")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "cosign"
    path.write_bytes(binary)
    path.chmod(0o755)
    return str(path)


def verify(context: Path, say: Callable[[str], None] = print, project: Path | None = None) -> None:
    """Check the digest and signature of ``context``'s base image; raise BaseImageError if either fails."""
    from llmgw.images.build import DIGEST_ARG, ImageDefinition, ImageError

    project = project or context.resolve().parent

    if os.environ.get("AWS_ENDPOINT_URL"):
        say("base image: stand-in: deploying to an emulator, which builds and pulls no image; not verified")
        return
    try:
        definition = ImageDefinition.from_directory(context)
    except ImageError as err:
        raise BaseImageError(str(err)) from None
    if definition.base_image is None:
        say("base image: none (FROM scratch): nothing to verify")
        return
    base = definition.base_image.split("@", 1)[0]
    strict = in_pipeline()
    pinned, current = definition.pinned_digest, resolve_digest(base)
    if current is None and (strict or not pinned):
        message = f"skopeo is not installed: the digest of {base} cannot be read here"
        if strict:
            raise BaseImageError(message)
        unpinned = "" if pinned else f"; {DIGEST_ARG} is not pinned either, so prod refuses to launch"
        say(f"base image: notice: {message}; not verified{unpinned}")
        return
    if pinned and current and current != pinned:
        raise BaseImageError(
            f"{base} is now {current}, not the pinned {pinned}: check the release, then update build-args"
        )
    digest = pinned or str(current)
    if not pinned:
        record = project / "build" / "base-image-digest.txt"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"{DIGEST_ARG}={digest}\n")
        say(f"base image: {base} is not pinned; it is {digest} today. Commit {DIGEST_ARG}={digest} to "
            f"{context.name}/build-args (prod refuses to launch without it)")  # fmt: skip
        if strict:
            print(f"##vso[task.logissue type=warning]{base} is not pinned: commit {DIGEST_ARG}={digest} to build-args")
    key = definition.build_args.get("LITELLM_COSIGN_KEY", "")
    if not key:
        raise BaseImageError(f"{context.name}/build-args names no LITELLM_COSIGN_KEY to verify {base} with")
    cosign = shutil.which("cosign")
    if cosign is None and strict:
        cosign = install_cosign(project / ".local" / "bin")
    if cosign is None:
        say(f"base image: notice: cosign is not installed: the signature of {base}@{digest} is not verified here")
        return
    repository = base.rsplit(":", 1)[0]
    result = _run([cosign, "verify", "--key", key, f"{repository}@{digest}"])
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise BaseImageError(f"cosign could not verify {repository}@{digest}: {lines[-1] if lines else 'no output'}")
    say(f"base image: {repository}@{digest} is signed with LiteLLM's key ({key})")
