"""!caller_user_id: the deployer as the aws:userid that the secrets' policies let read them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from llmgw.iam import user_id_pattern
from llmgw_resolvers.caller_user_id import CallerUserId, CallerUserIdError


@pytest.mark.parametrize(
    ("user_id", "pattern"),
    [
        ("AROAEXAMPLEROLEID0001:azure-devops-run-4711", "AROAEXAMPLEROLEID0001:*"),  # every session of the role
        ("AIDAEXAMPLEUSERID0001", "AIDAEXAMPLEUSERID0001"),  # an IAM user has no session part
        ("123456789012", "123456789012"),  # the account's root user
    ],
)
def test_user_id_pattern__covers_every_session_of_a_role_and_exactly_a_user(user_id, pattern):
    assert user_id_pattern(user_id) == pattern


def _resolver(answer: dict) -> CallerUserId:
    calls = []
    manager = SimpleNamespace(call=lambda service, command: calls.append((service, command)) or answer)
    resolver = CallerUserId()
    resolver.stack = SimpleNamespace(name="dev/security", connection_manager=manager)
    resolver.calls = calls
    return resolver


def test_caller_user_id__asks_sts_with_the_stacks_own_connection():
    resolver = _resolver({"UserId": "AROAEXAMPLEROLEID0001:session", "Arn": "arn:aws:sts::1:assumed-role/r/session"})

    assert resolver.resolve() == "AROAEXAMPLEROLEID0001:*"
    assert resolver.calls == [("sts", "get_caller_identity")]


def test_caller_user_id__an_answer_without_a_user_id__fails_naming_the_stack():
    expected = r"^dev/security: !caller_user_id: STS GetCallerIdentity gave no UserId"
    with pytest.raises(CallerUserIdError, match=expected):
        _resolver({}).resolve()


def test_caller_user_id__given_an_argument__fails_naming_it():
    from types import SimpleNamespace

    from sceptre.exceptions import InvalidConfigFileError

    resolver = CallerUserId("deployer")
    resolver.stack = SimpleNamespace(name="dev/security", connection_manager=None)
    with pytest.raises(InvalidConfigFileError, match="takes no argument; got 'deployer'"):
        resolver.resolve()
