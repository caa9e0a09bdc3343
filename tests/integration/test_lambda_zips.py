"""The rotation functions' zips: reproducible, and working in a clean Python of the Lambda runtime.

The runtime is emulated as Lambda provides it: Python 3.12 started isolated
(-I), with the zip extracted on its path and only boto3 beside it (the
runtime's own SDK). The functions talk to the local AWS emulator.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from llmgw_hooks.lambda_package import RUNTIME_PYTHON, build_zip, code_key
from tools.render import ROOT

FUNCTIONS = ("master_key_rotation", "db_rotation")
TOKEN = "a1b2c3d4-0000-4000-8000-000000000001"


def _runtime_python() -> str:
    # A real interpreter, not a pyenv shim (which only works where that version is selected).
    candidates = sorted(
        str(p) for p in Path("/root/.pyenv/versions").glob(f"{RUNTIME_PYTHON}.*/bin/python{RUNTIME_PYTHON}")
    )
    candidates += [f"/usr/bin/python{RUNTIME_PYTHON}", shutil.which(f"python{RUNTIME_PYTHON}") or ""]
    found = next((c for c in candidates if c and "/shims/" not in c and Path(c).exists()), None)
    if found is None:
        message = f"needs a Python {RUNTIME_PYTHON} interpreter, the Lambda runtime's version"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("zips")
    return {name: build_zip(ROOT, name, out) for name in FUNCTIONS}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> tuple[str, Path]:
    """(python3.12, a directory holding boto3 as the Lambda runtime provides it)."""
    python = _runtime_python()
    sdk = tmp_path_factory.mktemp("runtime-sdk")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(sdk),
         "--python-version", RUNTIME_PYTHON, "--only-binary=:all:", f"boto3=={boto3.__version__}"],
        check=True,
    )  # fmt: skip
    return python, sdk


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zip__same_sources__give_the_same_bytes(zips, tmp_path, name):
    again = build_zip(ROOT, name, tmp_path)

    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(zips[name].read_bytes()).hexdigest()
    assert again.name == Path(code_key(ROOT, name)).name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zip__holds_the_handler_and_the_shared_package_and_no_bytecode(zips, name):
    names = zipfile.ZipFile(zips[name]).namelist()
    assert "handler.py" in names and "llmgw_common/rotation.py" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    if name == "db_rotation":
        assert any(n.startswith("psycopg2/_psycopg.cpython-312-x86_64-linux-gnu") for n in names), (
            "manylinux cp312 wheel"
        )


def run_in_runtime(runtime, zip_path: Path, workdir: Path, emulator, code: str) -> subprocess.CompletedProcess[str]:
    python, sdk = runtime
    task = workdir / "task"
    zipfile.ZipFile(zip_path).extractall(task)  # as Lambda does: /var/task
    script = f"import sys; sys.path[:0] = [{str(task)!r}, {str(sdk)!r}]\n" + code
    env = {"PATH": "/usr/bin:/bin", **{k: v for k, v in emulator.env.items() if k.startswith("AWS_")}}
    return subprocess.run([python, "-I", "-c", script], env=env, capture_output=True, text=True, timeout=120)


def test_master_key_zip__rotates_a_secret_in_the_runtime(zips, runtime, tmp_path, emulator):
    secrets = emulator.client("secretsmanager")
    seeded = {"LITELLM_MASTER_KEY": "sk-" + "a" * 48, "LITELLM_SALT_KEY": "s" * 64}
    arn = secrets.create_secret(Name="zip-test/master-key", SecretString=json.dumps(seeded))["ARN"]
    secrets.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)

    result = run_in_runtime(
        runtime,
        zips["master_key_rotation"],
        tmp_path,
        emulator,
        "import handler\n"
        "for step in ('createSecret', 'setSecret', 'testSecret', 'finishSecret'):\n"
        f"    event = {{'SecretId': {arn!r}, 'ClientRequestToken': {TOKEN!r}, 'Step': step}}\n"
        "    handler.lambda_handler(event, None)\n",
    )

    assert result.returncode == 0, result.stderr
    rotated = json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    assert rotated["LITELLM_PREVIOUS_MASTER_KEY"] == seeded["LITELLM_MASTER_KEY"] != rotated["LITELLM_MASTER_KEY"]


def test_db_zip__imports_psycopg2_and_stages_a_version_in_the_runtime(zips, runtime, tmp_path, emulator):
    secrets = emulator.client("secretsmanager")
    value = {"username": "litellm", "password": "p", "host": "db.internal", "port": 5432, "dbname": "litellm"}
    arn = secrets.create_secret(Name="zip-test/database", SecretString=json.dumps(value))["ARN"]
    secrets.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    token = "a1b2c3d4-0000-4000-8000-000000000002"

    result = run_in_runtime(
        runtime,
        zips["db_rotation"],
        tmp_path,
        emulator,
        "import handler, psycopg2\n"
        "print(psycopg2.__version__)\n"
        f"event = {{'SecretId': {arn!r}, 'ClientRequestToken': {token!r}, 'Step': 'createSecret'}}\n"
        "handler.lambda_handler(event, None)\n",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2.9")
    pending = json.loads(secrets.get_secret_value(SecretId=arn, VersionId=token)["SecretString"])
    assert pending["username"] == "litellm_clone"
    assert pending["DATABASE_URL"].startswith("postgresql://litellm_clone:") and pending["DATABASE_URL"].endswith(
        "sslmode=require"
    )
