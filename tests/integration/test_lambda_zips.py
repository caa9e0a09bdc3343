"""The rotation functions' zips: reproducible, and working in a clean Python of the Lambda runtime.

The functions run where Secrets Manager runs them: deployed from S3 into the
local emulator, whose Lambda starts the zip in an isolated Python 3.12 with
only the runtime's boto3 beside it, and rotated through RotateSecret. The
database function rotates a login on the emulator's RDS, a real PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest

from llmgw.lambda_package import CA_BUNDLE_VARIABLE, build_zip, code_key
from llmgw_common.gateway_secrets import libpq_parameters
from tests.integration.functions import deploy
from tools.local import wait_for_rotation
from tools.render import ROOT

FUNCTIONS = ("master_key_rotation", "db_rotation", "ui_password_rotation")


@pytest.fixture(scope="module")
def zips(tmp_path_factory, emulator) -> Iterator[dict[str, Path]]:
    """The zips as `make local` packs them: trusting the emulator's RDS CA, which signs its databases."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CA_BUNDLE_VARIABLE, str(emulator.rds_ca_bundle))
        out = tmp_path_factory.mktemp("zips")
        yield {name: build_zip(ROOT, name, out) for name in FUNCTIONS}


def test_db_zip__trusts_each_regions_rds_root_unless_the_environment_names_another(
    zips, emulator, tmp_path, monkeypatch
):
    packed = zipfile.ZipFile(zips["db_rotation"])
    assert packed.read("rds-ca/us-east-1.pem") == emulator.rds_ca_bundle.read_bytes()

    monkeypatch.delenv(CA_BUNDLE_VARIABLE)
    default = zipfile.ZipFile(build_zip(ROOT, "db_rotation", tmp_path))

    roots = sorted(n for n in default.namelist() if n.startswith("rds-ca/"))
    assert roots == sorted(f"rds-ca/{p.name}" for p in (ROOT / "image" / "rds-ca").glob("*.pem"))
    assert default.read("rds-ca/eu-west-1.pem") == (ROOT / "image" / "rds-ca" / "eu-west-1.pem").read_bytes()
    assert Path(default.filename).name != zips["db_rotation"].name, "the roots are part of the content-addressed key"


def test_zip__two_builds_at_once_into_one_folder__both_return_the_whole_zip_and_leave_no_partial(zips, tmp_path):
    # make test's workers launch dev at the same time, each building into build/lambdas.
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda _: build_zip(ROOT, "master_key_rotation", tmp_path), range(2)))

    assert built[0] == built[1] and built[0].read_bytes() == zips["master_key_rotation"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [built[0].name]


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


def test_master_key_zip__rotates_its_secret_when_secrets_manager_runs_it_in_the_runtime(zips, emulator):
    secrets = emulator.client("secretsmanager")
    seeded = {"LITELLM_MASTER_KEY": "sk-" + "a" * 48, "LITELLM_SALT_KEY": "s" * 64,
              "LITELLM_PREVIOUS_MASTER_KEY": "", "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": ""}  # fmt: skip
    arn = secrets.create_secret(Name="zip-test/master-key", SecretString=json.dumps(seeded))["ARN"]
    function = deploy(
        emulator,
        zips["master_key_rotation"],
        "zip-master-key",
        {"GRACE_DAYS": "7", "KEY_PROPAGATION_SECONDS": "1"},
        arn,
    )

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function,
                                    RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]  # fmt: skip
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=300)

    assert outcome["status"] == "Succeeded", outcome
    rotated = json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    assert rotated["LITELLM_PREVIOUS_MASTER_KEY"] == seeded["LITELLM_MASTER_KEY"] != rotated["LITELLM_MASTER_KEY"]


def test_db_zip__rotates_the_password_of_an_emulated_rds_instance_with_psycopg2_from_its_wheel(zips, emulator):
    rds, secrets = emulator.client("rds"), emulator.client("secretsmanager")
    instance = rds.create_db_instance(
        DBInstanceIdentifier="zip-test-db", Engine="postgres", EngineVersion="15.13", DBInstanceClass="db.t3.micro",
        DBName="litellm", MasterUsername="litellm_admin", ManageMasterUserPassword=True, AllocatedStorage=20,
    )["DBInstance"]  # fmt: skip
    value = {"username": "litellm", "password": "initial-Pa55", "dbname": "litellm", "engine": "postgres",
             "host": instance["Endpoint"]["Address"], "port": instance["Endpoint"]["Port"]}  # fmt: skip
    arn = secrets.create_secret(Name="zip-test/database", SecretString=json.dumps(value))["ARN"]
    environment = {"MASTER_SECRET_ARN": instance["MasterUserSecret"]["SecretArn"],
                   "DB_INSTANCE_IDENTIFIER": "zip-test-db", "DB_USERNAME": "litellm"}  # fmt: skip
    function = deploy(emulator, zips["db_rotation"], "zip-db", environment, arn)

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function,
                                    RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]  # fmt: skip
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=300)

    assert outcome["status"] == "Succeeded", outcome
    current = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert current["username"] == "litellm_clone"
    login = libpq_parameters(current["DATABASE_URL"], str(emulator.rds_ca_bundle))
    with psycopg2.connect(**login, connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT session_user")
        assert cursor.fetchone() == ("litellm_clone",)
    connection.close()


def test_master_key_zip__passes_secrets_managers_configuration_test(zips, emulator):
    """RotateImmediately false: Secrets Manager runs testSecret alone against a copy of the current version."""
    secrets = emulator.client("secretsmanager")
    seeded = {"LITELLM_MASTER_KEY": "sk-" + "b" * 48, "LITELLM_SALT_KEY": "s" * 64,
              "LITELLM_PREVIOUS_MASTER_KEY": "", "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": ""}  # fmt: skip
    arn = secrets.create_secret(Name="zip-test/master-key-config", SecretString=json.dumps(seeded))["ARN"]
    function = deploy(
        emulator,
        zips["master_key_rotation"],
        "zip-master-key-config",
        {"GRACE_DAYS": "7", "KEY_PROPAGATION_SECONDS": "1"},
        arn,
    )

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function, RotateImmediately=False,
                                    RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]  # fmt: skip
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=300)

    assert (outcome["kind"], outcome["status"], outcome["steps"]) == ("test", "Succeeded", ["testSecret: ok"]), outcome
    assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"]) == seeded


def test_master_key_zip__unseeded_placeholder__passes_the_configuration_test_but_is_never_rotated(zips, emulator):
    """A stack launched without Sceptre's hooks (taskcat) keeps the template's placeholder."""
    secrets = emulator.client("secretsmanager")
    placeholder = {"LITELLM_MASTER_KEY": "UNSEEDED", "LITELLM_SALT_KEY": "s" * 64,
                   "LITELLM_PREVIOUS_MASTER_KEY": "", "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": ""}  # fmt: skip
    arn = secrets.create_secret(Name="zip-test/master-key-unseeded", SecretString=json.dumps(placeholder))["ARN"]
    function = deploy(
        emulator,
        zips["master_key_rotation"],
        "zip-master-key-unseeded",
        {"GRACE_DAYS": "7", "KEY_PROPAGATION_SECONDS": "1"},
        arn,
    )

    tested = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function, RotateImmediately=False,
                                   RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]  # fmt: skip
    test = wait_for_rotation(emulator.endpoint, tested, timeout=300)
    rotated = secrets.rotate_secret(SecretId=arn)["VersionId"]
    rotation = wait_for_rotation(emulator.endpoint, rotated, timeout=300)

    assert test["status"] == "Succeeded"
    assert rotation["status"] == "Failed" and rotation["steps"][0] == "createSecret: RotationError"
    assert "the current master key is unseeded or breaks the rule" in rotation["failure"]
    assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"]) == placeholder
