"""A rotation step that stalls on a network call fails with the call's error, not with Task timed out.

botocore waits 60 s to connect and 60 s to read by default, longer than a
rotation function may run: a stuck call would end the invocation without the
step's error in its log. Every AWS client in lambdas/ comes from
llmgw_common.aws_clients, and every PostgreSQL connection sets connect_timeout.
"""

from __future__ import annotations

import ast
import sys

import pytest

from tools.render import ROOT

LAMBDAS = ROOT / "lambdas"
sys.path.insert(0, str(LAMBDAS / "common"))

from llmgw_common import aws_clients  # noqa: E402

SOURCES = sorted(p for p in LAMBDAS.rglob("*.py") if ".venv" not in p.parts)


def _calls(path, owner: str, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == owner
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(LAMBDAS)))
def test_rotation_code__makes_aws_clients_only_through_aws_clients(path):
    if path.name == "aws_clients.py":
        return
    assert not _calls(path, "boto3", "client") and not _calls(path, "boto3", "resource"), path


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(LAMBDAS)))
def test_rotation_code__sets_a_connect_timeout_on_every_database_connection(path):
    for call in _calls(path, "psycopg2", "connect"):
        assert "connect_timeout" in {k.arg for k in call.keywords}, f"{path}:{call.lineno}"


def test_aws_clients__give_up_on_a_stuck_call_as_configured(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    config = aws_clients.client("secretsmanager").meta.config

    assert (config.connect_timeout, config.read_timeout) == (5, 10)
    assert config.retries["total_max_attempts"] == aws_clients.MAX_ATTEMPTS == 3


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rotation_functions__outlast_the_worst_case_of_one_aws_call(deployed, env):
    functions = deployed[env]["database"].of_type("AWS::Lambda::Function")

    for name, function in functions.items():
        timeout = int(function["Properties"]["Timeout"])
        assert timeout > aws_clients.WORST_CASE_CALL_SECONDS, f"{name}: {timeout} s"
