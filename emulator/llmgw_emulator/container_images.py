"""Images for the emulator's tasks: an ECR image is the build context whose content tag it carries.

ECS pulls ``<repository>:<tag>`` and runs its entrypoint and command. Here no
image is built or pulled (LiteLLM's base image is on ghcr.io, which these
machines cannot reach), so an image stands in as follows:

- Its files are those of the build context whose ``!image_tag`` is the tag:
  every context in ``LLMGW_IMAGE_CONTEXTS`` (default: this repository's
  ``image/``) is hashed as the tag resolver hashes it, and the match is
  copied when a task definition naming the image is registered. Later edits
  to the context do not change that image, as pushing a new tag does not
  change an old one. A tag no context matches is not in the registry, and a
  task using it stops with ECS's ``CannotPullContainerError``.
- The Dockerfile is interpreted, not built: ``FROM`` LiteLLM's image at the
  release ``.venv-gateway`` holds, ``ARG``, ``COPY``, ``USER``, ``WORKDIR``,
  ``EXPOSE``, ``ENTRYPOINT`` and ``CMD`` (exec form). Any other instruction, or
  another base image or release, refuses the image, naming what.
- The base image's ``/app/docker/prod_entrypoint.sh`` is a stand-in
  (``standins/prod_entrypoint.sh``) that runs ``litellm`` from ``.venv-gateway``,
  and its ``/app/litellm/proxy/prisma_migration.py`` is one
  (``standins/prisma_migration.py``) that applies LiteLLM's migration SQL
  without Prisma, whose engines cannot be downloaded here.
- There is no container filesystem: the image's ``/app`` is a directory of
  the task, and ``/app/`` in the entrypoint, the command, the environment
  and the image's scripts is rewritten to it.
- A PEM file in the image that holds Amazon RDS root certificates holds the
  emulator's RDS CA instead, which signs the local instances' certificates,
  as the Lambda packaging's ``LLMGW_RDS_CA_BUNDLE`` does for the functions.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CannotPullContainerError", "Image", "ImageRefusedError", "contexts", "pull", "snapshot"]

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
LITELLM_BASE = "ghcr.io/berriai/litellm-non_root:main-v"
_SUPPORTED = {"FROM", "ARG", "COPY", "USER", "WORKDIR", "EXPOSE", "ENTRYPOINT", "CMD"}
_LOCK = threading.Lock()
_state_dir: Path | None = None


class CannotPullContainerError(Exception):
    """ECS could not pull the image: the registry has no such tag."""


class ImageRefusedError(Exception):
    """The image exists but the local stand-in cannot run it; the message says why."""


@dataclass(frozen=True)
class Image:
    uri: str
    root: Path  # the image's filesystem: root/"app" is its /app
    entrypoint: list[str]
    command: list[str]
    user: str
    workdir: str = "/"

    def rebase(self, argument: str) -> str:
        """An argument of the entrypoint or command, with the image's /app/ as the task's directory."""
        return argument.replace("/app/", f"{self.root}/app/")

    def rebase_value(self, value: str) -> str:
        """An environment value: a path under /app/, alone or as a URL's query value, is the task's."""
        return re.sub(r"(?:(?<=^)|(?<=[=&\s:\"']))/app/", f"{self.root}/app/", value)


def configure(state_dir: Path) -> None:
    global _state_dir
    _state_dir = state_dir


def contexts() -> list[Path]:
    raw = os.environ.get("LLMGW_IMAGE_CONTEXTS")
    return [Path(p) for p in raw.split(os.pathsep) if p] if raw else [REPOSITORY_ROOT / "image"]


def installed_litellm() -> Path:
    return Path(os.environ.get("LLMGW_LITELLM", REPOSITORY_ROOT / ".venv-gateway" / "bin" / "litellm"))


def _litellm_version() -> str | None:
    """The release of LiteLLM in .venv-gateway, from its installed metadata."""
    venv = installed_litellm().parent.parent
    for metadata in venv.glob("lib/python*/site-packages/litellm-*.dist-info/METADATA"):
        for line in metadata.read_text().splitlines():
            if line.startswith("Version: "):
                return line.split(" ", 1)[1].strip()
    return None


def _images_dir() -> Path:
    if _state_dir is None:
        raise RuntimeError("container_images.configure() was not called")
    return _state_dir / "images"


def _tag_of(uri: str) -> str:
    name, _, tag = uri.rpartition(":")
    return tag if name and "/" not in tag else "latest"


def snapshot(uri: str, architecture: str) -> bool:
    """Copy the build context whose tag is ``uri``'s, as a push of it would; True if one matched."""
    from llmgw.images.build import ImageDefinition, platform_for

    tag = _tag_of(uri)
    target = _images_dir() / tag
    with _LOCK:
        if (target / "image.json").is_file():
            return True
        for context in contexts():
            if not (context / "Dockerfile").is_file():
                continue
            definition = ImageDefinition.from_directory(context, platform=platform_for(architecture))
            if definition.tag == tag:
                _unpack(context, definition.build_args, target)
                return True
    return False


def pull(uri: str) -> Image:
    """The image a task runs, or ``CannotPullContainerError`` as ECS reports a missing tag."""
    manifest = _images_dir() / _tag_of(uri) / "image.json"
    if not manifest.is_file():
        raise CannotPullContainerError(
            f"CannotPullContainerError: pull image manifest has been retried 7 time(s): "
            f"failed to resolve ref {uri}: {uri}: not found"
        )
    data = json.loads(manifest.read_text())
    if "refused" in data:
        raise ImageRefusedError(data["refused"])
    return Image(
        uri, manifest.parent / "rootfs", data["entrypoint"], data["command"], data["user"], data.get("workdir", "/")
    )


def _unpack(context: Path, build_args: dict[str, str], target: Path) -> None:
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    root = staging / "rootfs"
    root.mkdir(parents=True)
    try:
        manifest = _interpret(context, build_args, root)
    except ImageRefusedError as refusal:
        manifest = {"refused": str(refusal)}
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    final = target / "rootfs"
    for path in final.rglob("*"):
        if path.is_file() and path.read_bytes()[:2] == b"#!":
            path.write_text(path.read_text().replace("/app/", f"{final}/app/"))
        elif path.is_file() and path.suffix == ".pem" and _holds_rds_roots(path):
            path.write_bytes(_emulator_rds_ca())
    (target / "image.json").write_text(json.dumps(manifest))  # last: its presence means the image is whole


def _holds_rds_roots(path: Path) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except ValueError:
        return False
    units = [a.value for c in certificates for a in c.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    return bool(certificates) and len(units) == len(certificates) and all(u == "Amazon RDS" for u in units)


def _emulator_rds_ca() -> bytes:
    from . import rds_postgres

    return rds_postgres.certificate_authority()[2].read_bytes()


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [[*line.split(None, 1), ""][:2] for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def _interpret(context: Path, build_args: dict[str, str], root: Path) -> dict[str, object]:
    args: dict[str, str] = {}
    manifest: dict[str, object] = {"entrypoint": [], "command": [], "user": "root", "workdir": "/"}
    for keyword, raw in _instructions(context / "Dockerfile"):
        keyword = keyword.upper()
        if keyword not in _SUPPORTED:
            raise ImageRefusedError(f"the local stand-in for images does not interpret {keyword} ({context})")
        rest = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), raw)
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = build_args.get(name.strip(), default.strip())
        elif keyword == "FROM":
            base = rest.split()[0]
            if not base.startswith(LITELLM_BASE):
                raise ImageRefusedError(f"the local stand-in runs only LiteLLM's image, not FROM {base}")
            wanted, have = base[len(LITELLM_BASE) :].split("@", 1)[0], _litellm_version()  # tag[@digest]
            if wanted != have:
                raise ImageRefusedError(
                    f"the image is LiteLLM {wanted} but .venv-gateway holds {have or 'none'}: run make gateway-venv"
                )
            (root / "app" / "docker").mkdir(parents=True)
            shutil.copy2(STANDINS / "prod_entrypoint.sh", root / "app" / "docker" / "prod_entrypoint.sh")
            (root / "app" / "litellm" / "proxy").mkdir(parents=True)
            shutil.copy2(STANDINS / "prisma_migration.py", root / "app" / "litellm" / "proxy" / "prisma_migration.py")
        elif keyword == "COPY":
            flags = [w for w in rest.split() if w.startswith("--")]
            # Ownership and mode are the container user's business; the stand-in runs as this machine's user.
            unknown = [f for f in flags if not f.startswith(("--chown=", "--chmod="))]
            if unknown:
                raise ImageRefusedError(f"the local stand-in for images does not interpret COPY {unknown[0]}")
            _copy(context, [w for w in rest.split() if not w.startswith("--")], root)
        elif keyword == "USER":
            manifest["user"] = rest.strip()
        elif keyword == "WORKDIR":
            manifest["workdir"] = rest.strip()
        elif keyword in ("ENTRYPOINT", "CMD"):
            try:
                value = json.loads(rest)
            except json.JSONDecodeError:
                value = None
            if not isinstance(value, list):
                raise ImageRefusedError(f"{keyword} must be in exec form (a JSON list) for the local stand-in")
            manifest["entrypoint" if keyword == "ENTRYPOINT" else "command"] = value
    return manifest


def _copy(context: Path, words: list[str], root: Path) -> None:
    *sources, destination = words
    for source in sources:
        origin = (context / source).resolve()
        if any(c in source for c in "*?[") or not origin.exists():
            raise ImageRefusedError(f"COPY {source}: no such file in the build context {context}")
        into = root / destination.lstrip("/")
        if origin.is_dir():
            shutil.copytree(origin, into, dirs_exist_ok=True, symlinks=False)
        else:
            into.mkdir(parents=True, exist_ok=True) if destination.endswith("/") else into.parent.mkdir(
                parents=True, exist_ok=True
            )
            shutil.copy2(origin, into / origin.name if destination.endswith("/") else into)
