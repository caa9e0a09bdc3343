"""!seed_secrets and !seed_database_url against moto's Secrets Manager, through Sceptre's connection manager."""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from moto import mock_aws
from sceptre.connection_manager import ConnectionManager
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError

from llmgw.secrets.values import database_url
from llmgw_common.gateway_secrets import GATEWAY_CA_DIR, UnverifiedUrlError, libpq_parameters
from llmgw_hooks.seed_database_url import SeedDatabaseUrl
from llmgw_hooks.seed_secrets import SecretSeedingError, SeedSecrets

MASTER_KEY = re.compile(r"^sk-[A-Za-z0-9]{48}$")


class StackOutputs:
    """The real connection manager (moto behind it), except DescribeStacks, which moto
    cannot answer in this virtualenv: it needs moto's CloudFormation extra."""

    def __init__(self, outputs: dict[str, str], status: str = "CREATE_COMPLETE") -> None:
        self.real = ConnectionManager(region="us-east-1")
        self.outputs = outputs
        self.status = status

    def call(self, service: str, command: str, kwargs: dict | None = None, **extra: object) -> dict:
        if (service, command) == ("cloudformation", "describe_stacks"):
            outputs = [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]
            return {"Stacks": [{"StackStatus": self.status, "Outputs": outputs}]}
        if (service, command) == ("cloudformation", "describe_stack_events"):
            failed = {"LogicalResourceId": "DBInstance", "ResourceStatus": "CREATE_FAILED",
                      "ResourceStatusReason": "the instance could not be created"}  # fmt: skip
            return {"StackEvents": [failed]}
        return self.real.call(service, command, kwargs or {})


@pytest.fixture
def aws(monkeypatch):
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_BEDROCK_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def security(aws):
    """The three secrets as the security template creates them, and a hook bound to them."""
    import boto3

    client = boto3.client("secretsmanager", region_name="us-east-1")
    arns = {
        "MasterKeySecretArn": client.create_secret(
            Name="dev-litellm/master-key",
            SecretString=json.dumps({"LITELLM_MASTER_KEY": "UNSEEDED", "LITELLM_SALT_KEY": "s" * 64}),
        )["ARN"],
        "UiPasswordSecretArn": client.create_secret(
            Name="dev-litellm/ui-password", SecretString=json.dumps({"UI_USERNAME": "admin", "UI_PASSWORD": "p" * 24})
        )["ARN"],
        "ApiKeysSecretArn": client.create_secret(
            Name="dev-litellm/api-keys",
            SecretString=json.dumps({"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "AWS_BEDROCK_REGION": "us-east-1"}),
        )["ARN"],
    }
    return SimpleNamespace(client=client, arns=arns, manager=StackOutputs(arns))


def seed(security, **argument) -> None:
    hook = SeedSecrets(argument or None)
    hook.stack = SimpleNamespace(
        name="dev/security", external_name="litellm-dev-security", connection_manager=security.manager
    )
    hook.run()


def value(security, key: str) -> dict:
    return json.loads(security.client.get_secret_value(SecretId=security.arns[key])["SecretString"])


def versions(security, key: str) -> int:
    return len(security.client.list_secret_version_ids(SecretId=security.arns[key])["Versions"])


def test_seed__placeholder_master_key__becomes_an_sk_key_and_the_salt_key_stays(security):
    seed(security)

    master = value(security, "MasterKeySecretArn")
    assert MASTER_KEY.match(master["LITELLM_MASTER_KEY"])
    assert master["LITELLM_SALT_KEY"] == "s" * 64


def test_seed__twice__leaves_every_value_and_version_unchanged(security):
    seed(security)
    first = {k: value(security, k) for k in security.arns}
    counts = {k: versions(security, k) for k in security.arns}

    seed(security)

    assert {k: value(security, k) for k in security.arns} == first
    assert {k: versions(security, k) for k in security.arns} == counts


def test_seed__salt_key__is_generated_once_and_never_changed(security):
    security.client.put_secret_value(
        SecretId=security.arns["MasterKeySecretArn"], SecretString=json.dumps({"LITELLM_MASTER_KEY": "UNSEEDED"})
    )
    seed(security)
    salt = value(security, "MasterKeySecretArn")["LITELLM_SALT_KEY"]
    assert len(salt) == 64

    # A master key reset to its placeholder is regenerated; the salt key is not.
    security.client.put_secret_value(
        SecretId=security.arns["MasterKeySecretArn"],
        SecretString=json.dumps({"LITELLM_MASTER_KEY": "UNSEEDED", "LITELLM_SALT_KEY": salt}),
    )
    seed(security)

    assert value(security, "MasterKeySecretArn")["LITELLM_SALT_KEY"] == salt


def test_seed__missing_ui_password__is_generated_with_24_characters(security):
    security.client.put_secret_value(SecretId=security.arns["UiPasswordSecretArn"], SecretString="{}")

    seed(security)

    ui = value(security, "UiPasswordSecretArn")
    assert ui["UI_USERNAME"] == "admin" and len(ui["UI_PASSWORD"]) == 24


def test_seed__provider_keys_from_the_environment__fill_empty_slots(security, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-from-pipeline")

    seed(security)

    keys = value(security, "ApiKeysSecretArn")
    assert keys["OPENAI_API_KEY"] == "sk-openai-from-pipeline"
    assert keys["ANTHROPIC_API_KEY"] == ""


def test_seed__operator_set_value__survives_a_relaunch_unless_overwrite_is_asked(security, monkeypatch):
    security.client.put_secret_value(
        SecretId=security.arns["ApiKeysSecretArn"],
        SecretString=json.dumps(
            {"OPENAI_API_KEY": "set-by-operator", "ANTHROPIC_API_KEY": "", "AWS_BEDROCK_REGION": "us-east-1"}
        ),
    )
    monkeypatch.setenv("OPENAI_API_KEY", "from-pipeline")

    seed(security)
    assert value(security, "ApiKeysSecretArn")["OPENAI_API_KEY"] == "set-by-operator"

    seed(security, overwrite_provider_keys="true")
    assert value(security, "ApiKeysSecretArn")["OPENAI_API_KEY"] == "from-pipeline"


def test_seed__missing_provider_keys__are_reported_not_invented(security, caplog):
    with caplog.at_level(logging.INFO):
        seed(security)

    keys = value(security, "ApiKeysSecretArn")
    assert (keys["OPENAI_API_KEY"], keys["ANTHROPIC_API_KEY"]) == ("", "")
    assert "missing OPENAI_API_KEY, ANTHROPIC_API_KEY" in caplog.text


def test_seed__logs_key_names_and_never_a_value(security, monkeypatch, caplog, capsys):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    with caplog.at_level(logging.DEBUG):
        seed(security)

    printed = caplog.text + "".join(capsys.readouterr())
    stored = [v for key in security.arns for v in value(security, key).values() if len(v) > 8]
    assert stored, "the secrets hold values to look for"
    for secret_value in stored:
        assert secret_value not in printed
    assert "set LITELLM_MASTER_KEY" in printed


def test_seed__provider_key_with_quotes__is_stored_exactly(security, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-\"quoted\"'key'\n")  # a trailing newline is a paste artifact

    seed(security)

    assert value(security, "ApiKeysSecretArn")["OPENAI_API_KEY"] == "sk-\"quoted\"'key'"


def test_seed__provider_key_with_a_line_break_inside__fails_in_one_line_without_the_value(security, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-first-half\nsecond-half")

    with pytest.raises(SecretSeedingError) as caught:
        seed(security)

    message = str(caught.value)
    assert message == (
        "dev/security: api-keys: ANTHROPIC_API_KEY contains a line break or control character; "
        "pass the key alone, on one line"
    )
    assert value(security, "ApiKeysSecretArn")["ANTHROPIC_API_KEY"] == ""


# ---- DATABASE_URL -------------------------------------------------------------------------

URL_SPECIAL = "p@ss:w/rd?#%&+ ü"


@pytest.mark.parametrize("password", ["plain", URL_SPECIAL, "%41%"])
def test_database_url__parses_back_to_the_same_password_and_verifies_the_server(password):
    url = database_url(
        {"username": "lite:llm", "password": password, "host": "db.example", "port": 5432, "dbname": "litellm"},
        "eu-west-1",
    )

    login = libpq_parameters(url, "/tmp/eu-west-1.pem")
    assert (login["user"], login["password"]) == ("lite:llm", password)
    assert (login["host"], login["port"], login["dbname"]) == ("db.example", 5432, "litellm")
    assert (login["sslmode"], login["sslrootcert"]) == ("verify-full", "/tmp/eu-west-1.pem")


def test_database_url__asks_prisma_to_verify_the_server_against_the_regions_root_in_the_image():
    """Prisma takes sslmode=verify-full as prefer, and verifies nothing unless sslaccept=strict."""
    url = database_url({"username": "u", "password": "p", "host": "h", "port": 5432, "dbname": "litellm"}, "eu-west-1")

    query = dict(parse_qsl(urlsplit(url).query))
    assert query == {"sslmode": "require", "sslaccept": "strict", "sslcert": f"{GATEWAY_CA_DIR}/eu-west-1.pem"}


@pytest.mark.parametrize(
    "query",
    [
        "sslmode=require",
        "sslmode=verify-full",
        "sslmode=require&sslaccept=accept_invalid_certs&sslcert=/app/gateway/rds-ca/us-east-1.pem",
        "sslmode=require&sslaccept=strict&sslcert=/tmp/mine.pem",
        "sslmode=require&sslaccept=strict&sslcert=/app/gateway/rds-ca/../../tmp/x.pem",
    ],
)
def test_libpq_parameters__refuse_a_url_prisma_would_not_verify_against_an_rds_root(query):
    with pytest.raises(UnverifiedUrlError, match="sslaccept=strict"):
        libpq_parameters(f"postgresql://u:p@h:5432/litellm?{query}", "/tmp/us-east-1.pem")


def _database_hook(arn: str) -> SeedDatabaseUrl:
    hook = SeedDatabaseUrl()
    hook.stack = SimpleNamespace(
        name="dev/database",
        external_name="litellm-dev-database",
        region="us-east-1",
        parameters={"DatabaseSecretArn": arn},
        connection_manager=StackOutputs({}),
    )
    return hook


def test_seed_database_url__writes_the_url_once_and_keeps_it(aws):
    import boto3

    client = boto3.client("secretsmanager", region_name="us-east-1")
    fields = {"username": "litellm", "password": URL_SPECIAL, "host": "db.example", "port": 5432, "dbname": "litellm"}
    arn = client.create_secret(Name="dev-litellm/database", SecretString=json.dumps(fields))["ARN"]
    hook = _database_hook(arn)

    hook.run()
    hook.run()

    stored = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    assert stored["DATABASE_URL"] == database_url(fields, "us-east-1")
    assert len(client.list_secret_version_ids(SecretId=arn)["Versions"]) == 2  # created, then one URL write


def test_seed_database_url__keeps_an_earlier_unverified_url_until_the_next_rotation(aws, caplog):
    """Tasks of the image before the RDS roots would not start on a URL that names a root file they lack."""
    import boto3

    client = boto3.client("secretsmanager", region_name="us-east-1")
    fields = {"username": "litellm", "password": "pw", "host": "db.example", "port": 5432, "dbname": "litellm"}
    earlier = {**fields, "DATABASE_URL": "postgresql://litellm:pw@db.example:5432/litellm?sslmode=require"}
    arn = client.create_secret(Name="dev-litellm/database", SecretString=json.dumps(earlier))["ARN"]

    with caplog.at_level(logging.INFO):
        _database_hook(arn).run()

    assert json.loads(client.get_secret_value(SecretId=arn)["SecretString"]) == earlier
    assert "without server verification until the next rotation" in caplog.text


@pytest.mark.parametrize("hook_class", [SeedSecrets, SeedDatabaseUrl])
def test_seeding_hooks__after_a_failed_launch__skip_in_one_line_naming_the_stacks_failure(aws, caplog, hook_class):
    """Sceptre runs after_launch hooks even when the launch failed (sceptre issue #1339)."""
    hook = hook_class()
    hook.stack = SimpleNamespace(
        name="dev/database", external_name="litellm-dev-database", parameters={"DatabaseSecretArn": "unused"},
        connection_manager=StackOutputs({}, status="ROLLBACK_COMPLETE"),
    )  # fmt: skip

    with caplog.at_level(logging.INFO):
        hook.run()

    (line,) = [r.getMessage() for r in caplog.records]
    assert line.endswith("skipped: the stack is ROLLBACK_COMPLETE (DBInstance: the instance could not be created)")


@pytest.mark.parametrize("key", ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_BEDROCK_REGION"])
def test_seed__unexpanded_azure_devops_macro__is_refused_naming_the_variable_group_entry(security, monkeypatch, key):
    # A variable group without the entry hands the step the macro's own text.
    monkeypatch.setenv(key, f"$({key})")
    before = value(security, "ApiKeysSecretArn")

    with pytest.raises(SecretSeedingError) as caught:
        seed(security)

    assert str(caught.value) == (
        f"dev/security: {key} is the text $({key}), which Azure DevOps leaves for an undefined variable:"
        f" add {key} to the variable group litellm-dev (empty if unused)"
    )
    assert value(security, "ApiKeysSecretArn") == before  # nothing stored


def test_seed__bedrock_region_other_than_the_task_roles__is_refused_before_anything_is_stored(security, monkeypatch):
    security.manager.outputs["BedrockRegion"] = "us-east-1"
    monkeypatch.setenv("AWS_BEDROCK_REGION", "eu-west-1")
    before = value(security, "ApiKeysSecretArn")

    with pytest.raises(SecretSeedingError) as caught:
        seed(security, overwrite_provider_keys="true")

    assert str(caught.value) == (
        "dev/security: api-keys: AWS_BEDROCK_REGION is eu-west-1, but the task role may call Bedrock only in"
        " us-east-1 (BedrockRegion): launch with --var bedrock_region=eu-west-1, or store us-east-1"
        " (AWS_BEDROCK_REGION=us-east-1 and --var overwrite_provider_keys=true)"
    )
    assert value(security, "ApiKeysSecretArn") == before


def test_seed__stored_bedrock_region_other_than_the_task_roles__is_refused_not_kept_silently(security, monkeypatch):
    # The secret holds us-east-1 (the template's default); the stack was relaunched with bedrock_region=eu-west-1.
    security.manager.outputs["BedrockRegion"] = "eu-west-1"
    before = value(security, "ApiKeysSecretArn")

    with pytest.raises(SecretSeedingError, match="AWS_BEDROCK_REGION is us-east-1, but the task role may call"):
        seed(security)

    assert value(security, "ApiKeysSecretArn") == before


def test_seed__bedrock_region_equal_to_the_task_roles__is_stored(security, monkeypatch):
    security.manager.outputs["BedrockRegion"] = "eu-west-1"
    monkeypatch.setenv("AWS_BEDROCK_REGION", "eu-west-1")
    seed(security, overwrite_provider_keys="true")
    assert value(security, "ApiKeysSecretArn")["AWS_BEDROCK_REGION"] == "eu-west-1"


@pytest.mark.parametrize(
    ("argument", "error", "message"),
    [
        ("true", InvalidHookArgumentTypeError, "takes a mapping"),
        (["overwrite_provider_keys"], InvalidHookArgumentTypeError, "takes a mapping"),
        ({"overwrite": "true"}, InvalidHookArgumentValueError, "knows only overwrite_provider_keys; got overwrite"),
        ({"overwrite_provider_keys": "yes"}, InvalidHookArgumentValueError, "must be true or false; got 'yes'"),
    ],
)
def test_seed__an_argument_it_cannot_read__fails_naming_it_before_any_secret_is_read(
    security, argument, error, message
):
    before = value(security, "ApiKeysSecretArn")
    hook = SeedSecrets(argument)
    hook.stack = SimpleNamespace(name="dev/security", external_name="litellm-dev-security", connection_manager=None)

    with pytest.raises(error, match=re.escape(message)):
        hook.run()  # a connection manager of None: nothing was called

    assert value(security, "ApiKeysSecretArn") == before


@pytest.mark.parametrize("stored", ["sk-my-team-key", '"a JSON string"', "[1, 2]"])
def test_seed__a_secret_stored_as_plain_text__stops_naming_the_secret_and_keeps_the_value(security, stored):
    security.client.put_secret_value(SecretId=security.arns["MasterKeySecretArn"], SecretString=stored)

    with pytest.raises(
        SecretSeedingError, match=r"^dev/security: secret dev-litellm/master-key-\w+ holds .*, not a JSON"
    ):
        seed(security)

    current = security.client.get_secret_value(SecretId=security.arns["MasterKeySecretArn"])["SecretString"]
    assert current == stored


def test_seed__an_operator_master_key_the_rule_refuses__fails_is_kept_and_holds_back_no_other_secret(
    security, monkeypatch
):
    security.client.put_secret_value(
        SecretId=security.arns["MasterKeySecretArn"],
        SecretString=json.dumps({"LITELLM_MASTER_KEY": "sk-1234", "LITELLM_SALT_KEY": "s" * 64}),
    )

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-" + "r" * 40)  # a provider key being stored at the same time

    with pytest.raises(SecretSeedingError, match=r"^dev/security: master-key: LITELLM_MASTER_KEY is set but is not"):
        seed(security)

    assert value(security, "MasterKeySecretArn")["LITELLM_MASTER_KEY"] == "sk-1234"
    assert value(security, "ApiKeysSecretArn")["OPENAI_API_KEY"] == "sk-proj-" + "r" * 40  # not held back


def test_seed_database_url__given_an_argument__fails_naming_it(aws):
    hook = SeedDatabaseUrl("DatabaseSecretArn")
    with pytest.raises(InvalidHookArgumentTypeError, match="takes no argument; got 'DatabaseSecretArn'"):
        hook.run()
