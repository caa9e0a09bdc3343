"""tools.ops offline: bad input refused in one line before any stack is touched; waiting out busy stacks."""

from __future__ import annotations

import pytest

from llmgw.stacks import STACKS
from tools import ops


@pytest.mark.parametrize(
    "command", [["smoke", "prod"], ["unprotect", "prod/alb.yaml"], ["prerequisites", "prod/alb.yaml"]]
)
def test_ops__var_that_is_an_unexpanded_azure_devops_macro__is_refused_naming_the_group_entry(command, capsys):
    code = ops.main(["--var", "region=us-east-1", "--var", "domain_name=$(DOMAIN_NAME)", *command])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "ops: --var domain_name is the text $(DOMAIN_NAME), which Azure DevOps leaves for an undefined variable:"
        " add DOMAIN_NAME to the variable group litellm-prod (empty if unused)"
    )


class _Stack:
    """A Sceptre stack whose CloudFormation status moves through ``statuses``, one per describe."""

    def __init__(self, name: str, statuses: list[str]) -> None:
        self.name, self.external_name, self.statuses = name, name, statuses
        self.connection_manager = self

    def call(self, service: str, command: str, kwargs: dict) -> dict:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"Stacks": [{"StackStatus": status}]}


def test_wait_while_busy__a_stack_mid_update__is_waited_out_then_passes(capsys):
    stacks = [_Stack("dev/security", ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"])]

    ops._wait_while_busy(stacks, minutes=1, poll=0)

    assert capsys.readouterr().out.count("waiting for dev/security") == 2


def test_wait_while_busy__still_busy_at_the_deadline__fails_naming_the_stack():
    with pytest.raises(ops.OpsError, match=r"still busy after 0 minutes: dev/alb UPDATE_ROLLBACK_IN_PROGRESS"):
        ops._wait_while_busy([_Stack("dev/alb", ["UPDATE_ROLLBACK_IN_PROGRESS"])], minutes=0, poll=0)


class _HalfDeleted:
    """A DELETE_FAILED database stack whose DB instance its delete already removed."""

    external_name = "litellm-prod-database"

    def __init__(self) -> None:
        self.connection_manager = self
        self.calls: list[str] = []

    def call(self, service: str, command: str, kwargs: dict) -> dict:
        from botocore.exceptions import ClientError

        self.calls.append(command)
        if command == "describe_stacks":
            return {"Stacks": [{"Outputs": [{"OutputKey": "DBInstanceIdentifier", "OutputValue": "prod-litellm-db"}]}]}
        if command == "modify_db_instance":
            raise ClientError({"Error": {"Code": "DBInstanceNotFound", "Message": "not found"}}, command)
        return {}


def test_set_protection__a_database_the_delete_already_removed__is_reported_gone_not_an_error():
    stack = _HalfDeleted()

    lines = ops._set_protection(stack, on=True)

    assert lines == ["termination protection on for litellm-prod-database", "database prod-litellm-db is already gone"]
    assert stack.calls == ["update_termination_protection", "describe_stacks", "modify_db_instance"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_ops__reads_the_stacks_without_the_launch_time_vars_it_never_sends(env):
    from tools import ops

    stacks = ops._stacks(env, {})

    assert sorted(stacks) == sorted(f"{env}/{stack}" for stack in STACKS)


def test_open_to_agent__adds_only_what_the_group_lacks_and_closing_removes_only_that(monkeypatch):
    import boto3
    from moto import mock_aws

    from tools.ops import close_to_agent, open_to_agent

    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        vpc = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        group = client.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
        http = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "203.0.113.7/32"}]}
        client.authorize_security_group_ingress(GroupId=group, IpPermissions=[http])

        def ec2(command, kwargs):
            return getattr(client, command)(**kwargs)

        def rules():
            (found,) = client.describe_security_groups(GroupIds=[group])["SecurityGroups"]
            return {(p["FromPort"], r["CidrIp"]) for p in found["IpPermissions"] for r in p["IpRanges"]}

        added = open_to_agent(ec2, group, "203.0.113.7/32")
        assert [p["FromPort"] for p in added] == [443]  # 80 was there already
        assert rules() == {(80, "203.0.113.7/32"), (443, "203.0.113.7/32")}
        close_to_agent(ec2, group, added)
        assert rules() == {(80, "203.0.113.7/32")}, "the rule it did not add stays"


def test_agent_cidr__is_agent_cidr_when_set(monkeypatch):
    from tools.ops import agent_cidr

    monkeypatch.setenv("AGENT_CIDR", "198.51.100.4/32")
    assert agent_cidr() == "198.51.100.4/32"
