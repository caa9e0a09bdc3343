"""The master-key rotation function, then the real LiteLLM proxy, with its clock moved by faketime.

The rotation runs against moto's Secrets Manager; the proxy starts with the
rotated secret as ECS would inject it. faketime shifts the proxy's clock
instead of the test sleeping for a week.
"""

from __future__ import annotations

import json
import os
import re
import time
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from llmgw_common.gateway_secrets import new_master_key
from tests.integration import gateway
from tests.integration.rotation_calls import (
    STEPS,
    enable_rotation,
    event,
    issue_token,
    recorded_aws_calls,
    role_actions,
)
from tests.integration.test_db_rotation import load_handler

handler = load_handler("master_key_rotation")
PROTECTED = "/v1/models"  # needs a key, calls no provider


@pytest.fixture(scope="module")
def rotated():
    """Seed a master-key secret as !seed_secrets leaves it, rotate it once, return (before, after)."""
    aws = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with mock.patch.dict(os.environ, aws), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        client = boto3.client("secretsmanager")
        seeded = {
            "LITELLM_MASTER_KEY": new_master_key(),
            "LITELLM_SALT_KEY": "s" * 64,
            "LITELLM_PREVIOUS_MASTER_KEY": "",
            "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": "",
        }
        arn = client.create_secret(Name="dev-litellm/master-key", SecretString=json.dumps(seeded))["ARN"]
        enable_rotation(arn)
        token = issue_token(arn)
        for step in STEPS:
            handler.lambda_handler(event(arn, token, step), None)
        after = json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
        previous = json.loads(client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"])
    assert previous == seeded
    return seeded, after


def test_rotation__new_key_is_an_sk_key_and_the_salt_key_is_carried_over(rotated):
    before, after = rotated
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", after["LITELLM_MASTER_KEY"])
    assert after["LITELLM_MASTER_KEY"] != before["LITELLM_MASTER_KEY"]
    assert after["LITELLM_SALT_KEY"] == before["LITELLM_SALT_KEY"]
    assert after["LITELLM_PREVIOUS_MASTER_KEY"] == before["LITELLM_MASTER_KEY"]


@pytest.mark.parametrize(
    ("clock", "previous_key_status"),
    [("+167h", 200), ("+169h", 401)],  # an hour either side of the 7-day expiry; faketime takes one unit
    ids=["just-before-expiry", "just-after-expiry"],
)
def test_proxy_after_rotation__accepts_the_previous_key_until_its_expiry(rotated, tmp_path, clock, previous_key_status):
    _, secret = rotated
    proxy = gateway.start(secret, tmp_path / "proxy.log", faketime=clock)
    try:
        assert proxy.status(PROTECTED, secret["LITELLM_MASTER_KEY"]) == 200
        assert proxy.status(PROTECTED, secret["LITELLM_PREVIOUS_MASTER_KEY"]) == previous_key_status
        assert proxy.status(PROTECTED, new_master_key()) == 401
        assert proxy.status(PROTECTED) == 401
    finally:
        proxy.stop()


# ---- A rotation while the gateway runs: no redeploy, no 401 for any key that is still valid ---------------------


@pytest.fixture(scope="module")
def master_key_zip(tmp_path_factory):
    from llmgw.lambda_package import build_zip
    from tools.render import ROOT

    return build_zip(ROOT, "master_key_rotation", tmp_path_factory.mktemp("zip"))


def _rotate(emulator, arn: str, function: str | None = None) -> str:
    from tools.local import wait_for_rotation

    secrets = emulator.client("secretsmanager")
    extra = {"RotationLambdaARN": function, "RotationRules": {"AutomaticallyAfterDays": 30}} if function else {}
    version = secrets.rotate_secret(SecretId=arn, **extra)["VersionId"]
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=300)
    assert outcome["status"] == "Succeeded", outcome
    return version


def test_running_gateway__serves_the_new_the_previous_and_the_one_before_without_a_redeploy(
    emulator, master_key_zip, tmp_path
):
    """Tasks read the master-key secret at run time: a rotation takes effect with no redeploy, and every
    key stays valid until its own expiry, even after two rotations inside one grace period."""
    from tests.integration.functions import deploy

    secrets = emulator.client("secretsmanager")
    seeded = {"LITELLM_MASTER_KEY": new_master_key(), "LITELLM_SALT_KEY": "s" * 64,
              "LITELLM_PREVIOUS_MASTER_KEY": "", "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": "",
              "LITELLM_PREVIOUS_MASTER_KEYS": "[]"}  # fmt: skip
    arn = secrets.create_secret(Name="gateway-test/master-key", SecretString=json.dumps(seeded))["ARN"]
    # The template gives the function the gateway's cache time plus a margin; a short one keeps the test short.
    function = deploy(
        emulator, master_key_zip, "gateway-master-key", {"GRACE_DAYS": "7", "KEY_PROPAGATION_SECONDS": "2"}, arn
    )
    env = {**seeded, "LITELLM_MASTER_KEY_SECRET_ARN": arn, "LITELLM_MASTER_KEY_CACHE_SECONDS": "1",
           **{k: v for k, v in emulator.env.items() if k.startswith("AWS_")}}  # fmt: skip
    proxy = gateway.start(env, tmp_path / "proxy.log")
    try:
        first = seeded["LITELLM_MASTER_KEY"]
        _rotate(emulator, arn, function)
        second = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["LITELLM_MASTER_KEY"]
        _rotate(emulator, arn)  # by hand, inside the first rotation's grace period
        third = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["LITELLM_MASTER_KEY"]
        time.sleep(2)  # the gateway's cache

        assert len({first, second, third}) == 3
        assert proxy.status(PROTECTED, third) == 200, "the new key works on a task started with the first"
        assert proxy.status(PROTECTED, second) == 200, "the previous key works until its expiry"
        assert proxy.status(PROTECTED, first) == 200, "so does the one before: its own grace has not ended"
        assert proxy.status(PROTECTED, new_master_key()) == 401
    finally:
        proxy.stop()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rotation__calls_only_what_the_functions_role_allows(deployed, env):
    """IAM is not evaluated in moto or the emulator, so the calls are recorded and held against the role."""
    aws = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "KEY_PROPAGATION_SECONDS": "0"}  # fmt: skip
    with mock.patch.dict(os.environ, aws), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        seeded = {"LITELLM_MASTER_KEY": new_master_key(), "LITELLM_SALT_KEY": "s" * 64}
        arn = boto3.client("secretsmanager").create_secret(Name="m", SecretString=json.dumps(seeded))["ARN"]
        enable_rotation(arn)
        with recorded_aws_calls() as calls:
            token = issue_token(arn)
            for step in STEPS:
                handler.lambda_handler(event(arn, token, step), None)

    allowed = role_actions(deployed[env]["database"].resource("MasterKeyRotationRole"))
    assert calls and calls <= allowed, f"the role lacks {sorted(calls - allowed)}"
