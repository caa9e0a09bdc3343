"""!service_linked_role creates an AWS service's service-linked role unless the account has it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from sceptre.exceptions import InvalidHookArgumentValueError

from llmgw_hooks.service_linked_role import ServiceLinkedRole, ServiceLinkedRoleError

TAKEN = "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."


class FakeIam:
    """Fakes AWS at the narrowest point: Sceptre's connection manager, answering as IAM does."""

    def __init__(self, error: tuple[str, str] | None = None) -> None:
        self.error, self.calls = error, []

    def call(self, service: str, command: str, kwargs: dict) -> dict:
        self.calls.append((service, command, kwargs))
        if self.error:
            code, message = self.error
            raise ClientError({"Error": {"Code": code, "Message": message}}, "CreateServiceLinkedRole")
        return {"Role": {"RoleName": "AWSServiceRoleForECS"}}


def hook_for(argument, iam: FakeIam) -> ServiceLinkedRole:
    hook = ServiceLinkedRole(argument)
    hook.stack = SimpleNamespace(name="dev/litellm", connection_manager=iam)
    return hook


def test_service_linked_role__absent__is_created_for_the_named_service():
    iam = FakeIam()

    hook_for("ecs.amazonaws.com", iam).run()

    assert iam.calls == [("iam", "create_service_linked_role", {"AWSServiceName": "ecs.amazonaws.com"})]


def test_service_linked_role__already_there__is_left_alone_without_error():
    hook_for("ecs.amazonaws.com", FakeIam(("InvalidInput", TAKEN))).run()


def test_service_linked_role__caller_may_not_create_it__fails_in_one_line_with_the_command_for_an_admin():
    iam = FakeIam(
        ("AccessDenied", "User: arn:aws:iam::1:user/ci is not authorized to perform: iam:CreateServiceLinkedRole")
    )

    with pytest.raises(ServiceLinkedRoleError) as refused:
        hook_for("ecs.amazonaws.com", iam).run()

    message = str(refused.value)
    assert "\n" not in message and message.startswith("dev/litellm: the service-linked role for ecs.amazonaws.com")
    assert message.endswith("aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com")


@pytest.mark.parametrize("argument", [None, "", "ecs", "arn:aws:iam::1:role/x"])
def test_service_linked_role__argument_not_a_service_principal__is_refused_naming_it(argument):
    with pytest.raises(InvalidHookArgumentValueError, match=r"needs a service principal such as ecs\.amazonaws\.com"):
        hook_for(argument, FakeIam()).run()
