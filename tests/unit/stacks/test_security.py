"""The security stack against the architecture guide: the key, the five secrets, the roles, what is retained."""

from __future__ import annotations

import json
import re

import pytest

from llmgw.secrets.values import seed_master_key
from tests.unit.stacks.guide import BOTH


@BOTH
def test_security__five_secrets_all_encrypted_with_the_customer_managed_key(deployed, env):
    secrets = deployed[env]["security"].of_type("AWS::SecretsManager::Secret")
    assert sorted(s["Properties"]["Name"]["Fn::Sub"].split("/")[1] for s in secrets.values()) == [
        "api-keys",
        "cache-auth",  # the shared-state cache's AUTH token, beyond the guide (issue 15)
        "database",
        "master-key",
        "ui-password",
    ]
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"] == {"Ref": "KmsKey"}


@BOTH
def test_security__master_key_secret_holds_the_master_key_and_a_generated_salt_key(deployed, env):
    generate = deployed[env]["security"].props("MasterKeySecret")["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {
        "LITELLM_MASTER_KEY": "UNSEEDED",  # replaced by !seed_secrets; the gateway refuses a non-sk- key
        "LITELLM_PREVIOUS_MASTER_KEY": "",  # written by the rotation function
        "LITELLM_PREVIOUS_MASTER_KEY_EXPIRES": "",
    }
    # CloudFormation generates only the salt key, which encrypts the credentials LiteLLM stores.
    assert generate["GenerateStringKey"] == "LITELLM_SALT_KEY"
    assert generate["PasswordLength"] == 64 and generate["ExcludePunctuation"] is True
    # The guide's master key (sk- and 48 random characters) is what !seed_secrets writes over UNSEEDED.
    seeded, _ = seed_master_key(json.loads(generate["SecretStringTemplate"]) | {"LITELLM_SALT_KEY": "s" * 64})
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", seeded["LITELLM_MASTER_KEY"])


@BOTH
def test_security__ui_password_is_24_characters_for_user_admin(deployed, env):
    generate = deployed[env]["security"].props("UiPasswordSecret")["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {"UI_USERNAME": "admin"}
    assert (generate["GenerateStringKey"], generate["PasswordLength"]) == ("UI_PASSWORD", 24)


@BOTH
def test_security__api_keys_secret_has_slots_for_each_provider_and_no_values(deployed, env):
    text = deployed[env]["security"].props("ApiKeysSecret")["SecretString"]["Fn::Sub"]
    slots = json.loads(text.replace("${AWS::Region}", "us-east-1"))
    assert slots == {"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "AWS_BEDROCK_REGION": "us-east-1"}


@BOTH
def test_security__database_secret_generates_the_password_beside_username_dbname_and_port(deployed, env):
    generate = deployed[env]["security"].props("DatabaseSecret")["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {"username": "litellm", "dbname": "litellm", "port": 5432}
    assert generate["GenerateStringKey"] == "password"
    for forbidden_by_rds in '/@" ':
        assert forbidden_by_rds in generate["ExcludeCharacters"]


@BOTH
def test_security__kms_key_rotates_and_has_a_30_day_deletion_window(deployed, env):
    key = deployed[env]["security"].props("KmsKey")
    assert key["EnableKeyRotation"] is True
    assert key["PendingWindowInDays"] == 30


@BOTH
def test_security__exports_the_key_four_secrets_and_two_roles(deployed, env):
    outputs = deployed[env]["security"].template["Outputs"]
    assert {
        "KmsKeyArn",
        "MasterKeySecretArn",
        "UiPasswordSecretArn",
        "ApiKeysSecretArn",
        "DatabaseSecretArn",
        "TaskExecutionRoleArn",
        "TaskRoleArn",
    } <= set(outputs)
    assert len(deployed[env]["security"].of_type("AWS::IAM::Role")) == 2


@pytest.mark.parametrize(("env", "policy"), [("dev", "Delete"), ("prod", "Retain")])
def test_security__key_secrets_and_images_are_retained_in_prod_and_deleted_in_dev(deployed, env, policy):
    security = deployed[env]["security"]
    for logical_id in (
        "KmsKey",
        "MasterKeySecret",
        "UiPasswordSecret",
        "ApiKeysSecret",
        "DatabaseSecret",
        "Repository",
    ):
        resource = security.resource(logical_id)
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (policy, policy), logical_id
