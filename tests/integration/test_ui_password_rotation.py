"""The UI password's optional rotation (litellm stack, ``UiPasswordRotationDays``), then the real LiteLLM proxy.

The four steps run against moto's Secrets Manager and ECS, as Secrets Manager
would call them; the proxy then starts with the rotated secret as ECS would
inject it and is asked to log in with either password. Without a database the
proxy checks the credentials and then answers 400 "Not connected to DB", so a
password it accepts is told from one it refuses (401) without one.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
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

handler = load_handler("ui_password_rotation")
OLD_PASSWORD = "Old-UI-password-from-CloudFormation"
CLUSTER, SERVICE = "dev-litellm", "dev-litellm-proxy"


def _rendered(logical_id: str) -> dict:
    """The resource as a launch with the schedule on deploys it."""
    from llmgw.specialise import resolve_template
    from tools.checklist import _launched_with, environment

    env = environment("dev", stacks=("litellm",))
    values = _launched_with(env, "litellm", {"UiPasswordRotationDays": "30"})
    return resolve_template(env.templates["litellm"], values)["Resources"][logical_id]


@pytest.fixture()
def aws():
    environment = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "ECS_CLUSTER": CLUSTER, "ECS_SERVICE": SERVICE}  # fmt: skip
    with mock.patch.dict(os.environ, environment), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        secrets = boto3.client("secretsmanager")
        value = {"UI_USERNAME": "admin", "UI_PASSWORD": OLD_PASSWORD}
        arn = secrets.create_secret(Name="dev-litellm/ui-password", SecretString=json.dumps(value))["ARN"]
        enable_rotation(arn)
        ecs = boto3.client("ecs")
        ecs.create_cluster(clusterName=CLUSTER)
        ecs.register_task_definition(family="proxy", containerDefinitions=[{"name": "p", "image": "x", "memory": 128}])
        ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="proxy", desiredCount=1)
        yield secrets, ecs, arn


def _rotate(arn: str) -> str:
    token = issue_token(arn)
    for step in STEPS:
        handler.lambda_handler(event(arn, token, step), None)
    return token


def _current(secrets, arn: str) -> dict:
    return json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


def test_rotation__a_new_password_for_the_same_user_becomes_current_and_the_service_redeploys(aws, caplog):
    secrets, ecs, arn = aws
    (before,) = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"]

    with recorded_aws_calls() as calls:
        token = _rotate(arn)

    after = _current(secrets, arn)
    assert after["UI_USERNAME"] == "admin" and after["UI_PASSWORD"] != OLD_PASSWORD
    assert len(after["UI_PASSWORD"]) == 24 and after["UI_PASSWORD"].isalnum()
    stages = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[token]
    assert json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"])[
        "UI_PASSWORD"] == OLD_PASSWORD  # fmt: skip
    (redeployed,) = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    assert redeployed["deployments"][0]["id"] != before["deployments"][0]["id"]
    allowed = role_actions(_rendered("UiPasswordRotationRole"))
    assert "ecs:UpdateService" in calls and calls <= allowed, f"the role lacks {sorted(calls - allowed)}"
    assert OLD_PASSWORD not in caplog.text and after["UI_PASSWORD"] not in caplog.text


def test_create_secret__run_twice__stages_one_password(aws):
    secrets, _, arn = aws
    token = issue_token(arn)
    handler.lambda_handler(event(arn, token, "createSecret"), None)
    staged = secrets.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]
    handler.lambda_handler(event(arn, token, "createSecret"), None)
    assert secrets.get_secret_value(SecretId=arn, VersionId=token)["SecretString"] == staged


def test_test_secret__passes_secrets_managers_configuration_test_on_a_copy_of_the_current_value(aws):
    """RotateImmediatelyOnUpdate false: Secrets Manager stages a copy of AWSCURRENT and runs testSecret alone."""
    secrets, _, arn = aws
    token = issue_token(arn)
    secrets.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(_current(secrets, arn)),
                             VersionStages=["AWSPENDING"])  # fmt: skip
    handler.lambda_handler(event(arn, token, "testSecret"), None)
    assert _current(secrets, arn)["UI_PASSWORD"] == OLD_PASSWORD


@pytest.mark.parametrize(
    ("staged", "reason"),
    [
        ({"UI_USERNAME": "root", "UI_PASSWORD": "A" * 24}, "the username changed"),
        ({"UI_USERNAME": "admin", "UI_PASSWORD": "short1"}, "not 24 or more letters and digits"),
    ],
)
def test_test_secret__refuses_a_staged_value_createsecret_would_not_make_and_leaves_awscurrent(aws, staged, reason):
    secrets, _, arn = aws
    token = issue_token(arn)
    secrets.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(staged),
                             VersionStages=["AWSPENDING"])  # fmt: skip
    with pytest.raises(handler.RotationError, match=reason):
        handler.lambda_handler(event(arn, token, "testSecret"), None)
    assert _current(secrets, arn)["UI_PASSWORD"] == OLD_PASSWORD


def _login(proxy: gateway.Proxy, username: str, password: str) -> tuple[int, str]:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    request = urllib.request.Request(f"{proxy.url}/login", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_rotated_password__logs_in_to_a_new_litellm_task_and_the_old_one_no_longer_does(aws, tmp_path):
    secrets, _, arn = aws
    _rotate(arn)
    rotated = _current(secrets, arn)

    env = {"LITELLM_MASTER_KEY": new_master_key(), "UI_USERNAME": rotated["UI_USERNAME"],
           "UI_PASSWORD": rotated["UI_PASSWORD"]}  # fmt: skip
    proxy = gateway.start(env, tmp_path / "proxy.log")
    try:
        old_status, old_body = _login(proxy, "admin", OLD_PASSWORD)
        new_status, new_body = _login(proxy, "admin", rotated["UI_PASSWORD"])
    finally:
        proxy.stop()
    assert old_status == 401 and "Invalid credentials" in old_body
    # Past the credentials, the proxy needs its database to make the session's key.
    assert new_status == 400 and "Not connected to DB" in new_body, new_body
