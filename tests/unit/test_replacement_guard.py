"""The replacement guard: a change that would replace or delete a stateful resource fails, others pass.

Each case edits a copy of the project the way a pull request would, renders
both trees and compares them. The edits are real mistakes: each one would
make CloudFormation create a new database, key, secret, repository or log
group and delete (or orphan) the old one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.render import ROOT
from tools.replacement_guard import (
    PROJECT_PATHS,
    STATEFUL_TYPES,
    create_only_properties,
    replacements,
    stateful_identities,
)


@pytest.fixture(scope="module")
def current():
    return stateful_identities()


@pytest.fixture
def project(tmp_path) -> Path:
    for name in PROJECT_PATHS:
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def edit(project: Path, path: str, old: str, new: str) -> None:
    file = project / path
    text = file.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    file.write_text(text.replace(old, new))


def test_guard__current_tree_against_itself__replaces_nothing(current):
    assert replacements(current, current) == []


def test_guard__covers_every_stateful_resource_of_both_environments(current):
    types = {resource_type for resource_type, _ in current.values()}
    assert types == set(STATEFUL_TYPES)
    for env in ("dev", "prod"):
        assert f"{env}/database/DBInstance" in current
        assert f"{env}/security/KmsKey" in current


def test_create_only_properties__come_from_the_aws_schemas():
    assert {"DBName", "KmsKeyId", "StorageEncrypted", "DBInstanceIdentifier"} <= set(
        create_only_properties("AWS::RDS::DBInstance")
    )
    assert create_only_properties("AWS::Logs::LogGroup") == ("LogGroupName",)


# (file, text before, text after, resource the guard must name, why)
REPLACING_CHANGES = [
    (
        "templates/database.yaml.j2",
        "      StorageEncrypted: true",
        "      StorageEncrypted: false",
        "prod/database/DBInstance",
        "StorageEncrypted is create-only",
    ),
    (
        "templates/database.yaml.j2",
        "      DBName: litellm",
        "      DBName: gateway",
        "prod/database/DBInstance",
        "DBName is create-only",
    ),
    (
        "templates/security.yaml.j2",
        "  KmsKey:\n    Type: AWS::KMS::Key",
        "  GatewayKey:\n    Type: AWS::KMS::Key",
        "prod/security/KmsKey",
        "would be deleted",
    ),
    (
        "templates/security.yaml.j2",
        "      Name: !Sub ${Environment}-${ProjectCode}/master-key",
        "      Name: !Sub ${Environment}-${ProjectCode}/master-key-v2",
        "prod/security/MasterKeySecret",
        "Name is create-only",
    ),
    (
        "templates/security.yaml.j2",
        "      RepositoryName: !Sub ${Environment}-${ProjectCode}-proxy",
        "      RepositoryName: !Sub ${Environment}-${ProjectCode}-gateway",
        "prod/security/Repository",
        "RepositoryName is create-only",
    ),
    (
        "templates/litellm.yaml.j2",
        "      LogGroupName: !Sub /ecs/${Environment}-${ProjectCode}-proxy",
        "      LogGroupName: !Sub /ecs/${Environment}-${ProjectCode}-gateway",
        "prod/litellm/LogGroup",
        "LogGroupName is create-only",
    ),
]


@pytest.mark.parametrize(
    ("path", "old", "new", "resource", "why"), REPLACING_CHANGES, ids=[c[4] for c in REPLACING_CHANGES]
)
def test_guard__replacing_change__fails_naming_the_resource_and_why(current, project, path, old, new, resource, why):
    edit(project, path, old, new)

    found = replacements(current, stateful_identities(project))

    assert resource in {r.resource for r in found}, found
    assert all(why in r.reason for r in found if r.resource == resource)


# An edit CloudFormation applies in place, but by writing a new value over the one stored.
VALUE_RESETTING_CHANGES = [
    (
        "        PasswordLength: 64\n        ExcludePunctuation: true",
        "        PasswordLength: 48\n        ExcludePunctuation: true",
        "prod/security/MasterKeySecret",
        "a new LITELLM_SALT_KEY makes every credential stored in the database undecryptable",
    ),
    (
        """'{"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "",""",
        """'{"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",""",
        "prod/security/ApiKeysSecret",
        "the stored provider keys are reset",
    ),
]


@pytest.mark.parametrize(("old", "new", "resource", "why"), VALUE_RESETTING_CHANGES, ids=["salt key", "provider keys"])
def test_guard__a_change_that_makes_cloudformation_write_a_new_secret_value__fails_like_a_replacement(
    current, project, old, new, resource, why
):
    edit(project, "templates/security.yaml.j2", old, new)

    found = {r.resource: r.reason for r in replacements(current, stateful_identities(project))}

    assert resource in found, found
    assert "CloudFormation would write a new value over the stored one" in found[resource]
    assert why in found[resource]


def test_guard__a_config_value_that_reaches_a_create_only_property__fails(current, project):
    # ProjectCode names the secrets, the repository and the log groups.
    edit(project, "config/config.yaml", 'default("litellm")', 'default("gateway")')

    found = {r.resource for r in replacements(current, stateful_identities(project))}

    assert {"prod/security/MasterKeySecret", "prod/security/Repository", "prod/litellm/LogGroup"} <= found


def test_guard__in_place_change__passes(current, project):
    # Backups, instance size and retention change in place; nothing is replaced.
    edit(project, "config/prod/database.yaml", "DBInstanceClass: db.t3.small", "DBInstanceClass: db.t3.medium")

    assert replacements(current, stateful_identities(project)) == []


def test_guard__allowed_replacement__passes_only_for_the_named_resource(current, project):
    edit(project, "templates/database.yaml.j2", "      DBName: litellm", "      DBName: gateway")
    changed = stateful_identities(project)

    assert replacements(current, changed, allow=["prod/database/DBInstance", "dev/database/DBInstance"]) == []
    assert {r.resource for r in replacements(current, changed, allow=["dev/database/DBInstance"])} == {
        "prod/database/DBInstance"
    }
