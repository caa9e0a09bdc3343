"""Content-addressed container images: the tag, the registry check, the build and the push.

Shared by the ``!push_image`` hook and the ``!image_tag`` resolver, so both
always agree on the tag. Standard library only; Sceptre imports plugins on
every command, so nothing here runs at import time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BUILD_ARGS_FILE = "build-args"
DIGEST_ARG, PIN_ARG = "LITELLM_IMAGE_DIGEST", "LITELLM_BASE_PIN"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
BUILDERS = ("docker", "podman", "buildah")
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


# The task definition's CpuArchitecture -> the image platform Fargate runs it on.
PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}


class ImageError(Exception):
    """A build, push or registry failure, described in one line."""


def platform_for(cpu_architecture: str) -> str:
    """``linux/amd64`` for X86_64, ``linux/arm64`` for ARM64. Raises ImageError for anything else."""
    if cpu_architecture not in PLATFORMS:
        raise ImageError(f"CpuArchitecture {cpu_architecture!r} is not one Fargate runs ({', '.join(PLATFORMS)})")
    return PLATFORMS[cpu_architecture]


@dataclass(frozen=True)
class ImageDefinition:
    """Everything that decides an image's bytes: its build context and its build arguments.

    ``<context>/build-args`` holds ``KEY=VALUE`` lines (the pinned LiteLLM
    version lives there); every file of the context is part of the hash, and
    so is the platform: the same files built for amd64 and arm64 are two
    images, and an immutable tag must name one of them.
    """

    context: Path
    build_args: dict[str, str] = field(default_factory=dict)
    platform: str = "linux/amd64"

    @classmethod
    def from_directory(cls, context: Path, platform: str = "linux/amd64") -> ImageDefinition:
        if not (context / "Dockerfile").is_file():
            raise ImageError(f"{context} has no Dockerfile")
        args: dict[str, str] = {}
        args_file = context / BUILD_ARGS_FILE
        if args_file.is_file():
            for number, line in enumerate(args_file.read_text().splitlines(), start=1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                key, sep, value = line.partition("=")
                if not sep or not key.strip():
                    raise ImageError(f"{args_file}:{number}: expected KEY=VALUE, got {line!r}")
                args[key.strip()] = value.strip()
        digest = args.get(DIGEST_ARG, "")
        if digest and not _DIGEST.match(digest):
            raise ImageError(f"{args_file}: {DIGEST_ARG} must be sha256:<64 hex>, as skopeo prints it; got {digest!r}")
        if digest:
            # The Dockerfile's FROM ends in ${LITELLM_BASE_PIN}: pinned, the build pulls exactly this image.
            args[PIN_ARG] = f"@{digest}"
        return cls(context, args, platform)

    @property
    def pinned_digest(self) -> str | None:
        return self.build_args.get(DIGEST_ARG) or None

    @property
    def tag(self) -> str:
        """``<LITELLM_VERSION or image>-<arch>-<16 hex of sha256(platform, files, args)>``: same inputs, same tag."""
        digest = hashlib.sha256(f"{self.platform}\0".encode())
        for path in sorted(p for p in self.context.rglob("*") if p.is_file()):
            digest.update(path.relative_to(self.context).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        digest.update(json.dumps(self.build_args, sort_keys=True).encode())
        prefix = self.build_args.get("LITELLM_VERSION", "image")
        return f"{prefix}-{self.platform.rsplit('/', 1)[-1]}-{digest.hexdigest()[:16]}"

    @property
    def base_image(self) -> str | None:
        """The first FROM image with build args and ARG defaults filled in; None for scratch."""
        args: dict[str, str] = {}
        for line in (self.context / "Dockerfile").read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0].upper() == "ARG":
                name, _, default = words[1].partition("=")
                args[name] = self.build_args.get(name, default)
            elif len(words) >= 2 and words[0].upper() == "FROM":
                image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), words[1])
                return None if image == "scratch" else image
        return None


@dataclass(frozen=True)
class Registry:
    """A Docker Registry HTTP API v2 endpoint with basic auth (ECR's ``AWS:<token>`` shape)."""

    host: str
    username: str
    password: str = field(repr=False)

    @property
    def insecure(self) -> bool:
        # Only a registry on this machine may speak plain HTTP; ECR never does.
        return self.host.split(":")[0] in ("127.0.0.1", "localhost")

    @classmethod
    def from_ecr_token(cls, host: str, authorization_token: str) -> Registry:
        username, _, password = base64.b64decode(authorization_token).decode().partition(":")
        return cls(host, username, password)

    def has_tag(self, repository: str, tag: str) -> bool:
        """Whether ``repository:tag`` exists. Raises ImageError if the registry can't be asked."""
        scheme = "http" if self.insecure else "https"
        request = urllib.request.Request(
            f"{scheme}://{self.host}/v2/{repository}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": _MANIFEST_TYPES},
        )
        credentials = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
        try:
            with urllib.request.urlopen(request, timeout=15):
                return True
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return False
            if err.code in (401, 403):
                raise ImageError(f"registry {self.host} refused the credentials ({err.code})") from None
            raise ImageError(f"registry {self.host} answered {err.code} for {repository}:{tag}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise RegistryUnreachableError(f"registry {self.host} cannot be reached: {reason}") from None


class RegistryUnreachableError(ImageError):
    """The registry did not answer at all (no network path, or no registry there)."""


@dataclass(frozen=True)
class Builder:
    """A container builder CLI. docker and podman share a syntax; buildah is close."""

    name: str
    executable: str

    @classmethod
    def detect(cls, preferred: str | None = None) -> Builder:
        """The first builder that can build here: ``$IMAGE_BUILDER`` if set, else docker, podman, buildah."""
        names = (preferred,) if preferred else BUILDERS
        for name in names:
            path = shutil.which(name)
            if path is None:
                continue
            if name == "docker" and not _docker_engine_answers(path):
                continue  # the client alone cannot build
            return cls(name, path)
        wanted = preferred or ", ".join(BUILDERS)
        raise ImageError(f"no container builder found: install one of {wanted} (or set IMAGE_BUILDER)")

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.name == "buildah":
            # Work without privileges or an overlay filesystem, as in CI containers.
            env.setdefault("STORAGE_DRIVER", "vfs")
            env.setdefault("BUILDAH_ISOLATION", "chroot")
        return env

    def _run(self, args: list[str], what: str, stdin: str | None = None) -> None:
        result = subprocess.run(
            [self.executable, *args], input=stdin, capture_output=True, text=True, env=self._env(), check=False
        )
        if result.returncode != 0:
            lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
            raise ImageError(f"{what} failed ({self.name}): {lines[-1] if lines else f'exit {result.returncode}'}")

    def build(self, definition: ImageDefinition, image: str) -> None:
        # The tasks' platform, not this machine's: an arm64 laptop must not push an amd64 task an arm64 image.
        args = ["bud" if self.name == "buildah" else "build", "--platform", definition.platform]
        for key, value in sorted(definition.build_args.items()):
            args += ["--build-arg", f"{key}={value}"]
        args += ["--tag", image, "--file", str(definition.context / "Dockerfile"), str(definition.context)]
        self._run(args, f"build of {image}")

    def push(self, image: str, registry: Registry) -> None:
        tls = ["--tls-verify=false"] if registry.insecure and self.name != "docker" else []
        self._run(
            ["login", *tls, "--username", registry.username, "--password-stdin", registry.host],
            f"login to {registry.host}",
            stdin=registry.password,
        )
        self._run(["push", *tls, image], f"push of {image}")


def _docker_engine_answers(docker: str) -> bool:
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def split_repository_uri(uri: str) -> tuple[str, str]:
    """``123.dkr.ecr.r.amazonaws.com/name`` -> (registry host, repository path)."""
    host, sep, repository = uri.partition("/")
    if not sep or not repository:
        raise ImageError(f"repository URI {uri!r} should look like HOST/REPOSITORY")
    return host, repository
