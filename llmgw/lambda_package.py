"""Reproducible Lambda zips: the same sources always give the same bytes and the same S3 key.

A function is ``lambdas/<name>/`` (its ``handler.py`` and a ``requirements.txt``)
plus the shared ``lambdas/common/llmgw_common`` package. Dependencies are
installed from manylinux wheels for the runtime the template declares, so the
zip built on any machine runs on Lambda. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

RUNTIME_PYTHON = "3.12"  # the templates' Runtime: python3.12
PLATFORM = "manylinux2014_x86_64"  # the templates' Architectures: [x86_64]
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can record
CA_DIR = "rds-ca"  # a function's roots for its database, one <region>.pem each, if it has any
CA_BUNDLE_VARIABLE = "LLMGW_RDS_CA_BUNDLE"


class LambdaPackageError(Exception):
    """A function cannot be packaged; the message says which and why, in one line."""


def _function_dir(project: Path, name: str) -> Path:
    path = project / "lambdas" / name
    if not (path / "handler.py").is_file():
        raise LambdaPackageError(f"lambdas/{name}/handler.py does not exist")
    return path


def _files(root: Path) -> list[Path]:
    # os.walk, unlike rglob, follows a linked directory (lambdas/db_rotation/rds-ca -> image/rds-ca).
    found = [Path(d) / f for d, _, names in os.walk(root, followlinks=True) for f in names]
    return sorted(p for p in found if "__pycache__" not in p.parts and p.suffix != ".pyc")


def sources(project: Path, name: str) -> dict[str, Path]:
    """Archive path -> source file, for everything that decides the zip except downloaded wheels."""
    function, common = _function_dir(project, name), project / "lambdas" / "common"
    found = {p.relative_to(function).as_posix(): p for p in _files(function)}
    found.update({p.relative_to(common).as_posix(): p for p in _files(common / "llmgw_common")})
    override = ca_override()
    if override is not None:
        for archive_path in found:
            if archive_path.startswith(CA_DIR + "/"):
                found[archive_path] = override
    return found


def ca_override() -> Path | None:
    """The certificate ``LLMGW_RDS_CA_BUNDLE`` names in place of every region's RDS root, if set.

    Like ``AWS_CA_BUNDLE`` for boto3, the environment may name another trust
    store; the local rehearsal names its own CA, which signs its databases.
    It is part of the zip's hash, so the key says which was packed.
    """
    override = os.environ.get(CA_BUNDLE_VARIABLE)
    if not override:
        return None
    path = Path(override)
    if not path.is_file() or b"-----BEGIN CERTIFICATE-----" not in path.read_bytes():
        raise LambdaPackageError(f"{CA_BUNDLE_VARIABLE}={override} is not a file of PEM certificates")
    return path


def check_trust(project: Path, name: str, region: str) -> None:
    """Refuse to pack a function that has RDS roots but none for ``region``.

    Its database would present a certificate neither the function nor the
    gateway can verify, and the first rotation would fail only after the
    stack is up. tools/rds_ca_bundle.py writes one file per region.
    """
    found = sources(project, name)
    if not any(p.startswith(CA_DIR + "/") for p in found) or os.environ.get(CA_BUNDLE_VARIABLE):
        return
    if f"{CA_DIR}/{region}.pem" not in found:
        shown = _shown(project, _function_dir(project, name) / CA_DIR)
        raise LambdaPackageError(
            f"{shown}/ has no Amazon RDS root CA for {region}: "
            "run `make rds-ca-bundle` where truststore.pki.rds.amazonaws.com is reachable"
        )


def _shown(project: Path, path: Path) -> str:
    real, root = path.resolve(), project.resolve()
    return str(real.relative_to(root)) if real.is_relative_to(root) else str(real)


def code_key(project: Path, name: str) -> str:
    """``lambdas/<name>-<16 hex>.zip``, a hash of the sources, the runtime and the platform."""
    digest = hashlib.sha256(f"{RUNTIME_PYTHON} {PLATFORM}\0".encode())
    for archive_path, path in sorted(sources(project, name).items()):
        digest.update(archive_path.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"lambdas/{name}-{digest.hexdigest()[:16]}.zip"


def _install_requirements(requirements: Path, target: Path) -> None:
    if not requirements.is_file() or not requirements.read_text().strip():
        return
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--platform", PLATFORM, "--implementation", "cp",
        "--python-version", RUNTIME_PYTHON, "--only-binary=:all:", "-r", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
        raise LambdaPackageError(f"installing {requirements} for {PLATFORM} failed: {lines[-1]}")


def build_zip(project: Path, name: str, out_dir: Path) -> Path:
    """Build ``out_dir/<name>-<hash>.zip`` (reused if present) and return its path."""
    out = out_dir / Path(code_key(project, name)).name
    if out.is_file():
        return out
    with tempfile.TemporaryDirectory(prefix=f"lambda-{name}-") as staging_dir:
        staging = Path(staging_dir)
        for archive_path, path in sources(project, name).items():
            if archive_path != "requirements.txt":
                (staging / archive_path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, staging / archive_path)
        _install_requirements(_function_dir(project, name) / "requirements.txt", staging)
        out_dir.mkdir(parents=True, exist_ok=True)
        # A name of its own: two launches at once (make test's workers) may build the same zip.
        # The bytes are the same, so whichever rename lands last is as good as the first.
        handle, partial_name = tempfile.mkstemp(dir=out_dir, prefix=f"{out.stem}-", suffix=".partial")
        os.close(handle)
        partial = Path(partial_name)
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
                for path in _files(staging):
                    # Fixed times and modes: the bytes depend on the contents alone.
                    info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=_EPOCH)
                    info.external_attr = 0o644 << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
            partial.chmod(0o644)  # as a plain open() would have made it; mkstemp makes 0600
            partial.replace(out)
        finally:
            partial.unlink(missing_ok=True)
    return out
