"""The five stacks: their names in launch order, their outputs, and whether a launch failed, and why.

Sceptre 4.7 runs ``after_launch`` hooks even when the launch failed (sceptre
issue #1339). A hook that then reads outputs or secrets of a rolled-back
stack dies with an error that hides the real cause, so each after-launch
hook asks here first and skips, naming the stack's own failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Each environment's stacks, in the order Sceptre launches them (config/<env>/<stack>.yaml).
STACKS = ("security", "network", "alb", "database", "litellm")

# A launch that ended in one of these did not do what the template asks.
FAILED = (
    "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "DELETE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED",
)  # fmt: skip


def failed_launch(stack: Any) -> str | None:
    """``None`` if the stack's last launch succeeded, else one line: its status and first failure."""
    from botocore.exceptions import ClientError

    manager = stack.connection_manager
    try:
        (described,) = manager.call(
            service="cloudformation", command="describe_stacks", kwargs={"StackName": stack.external_name}
        )["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return "the stack does not exist: its launch failed before creating it"
        raise
    status = described["StackStatus"]
    if status not in FAILED:
        return None
    events = manager.call(
        service="cloudformation", command="describe_stack_events", kwargs={"StackName": stack.external_name}
    )["StackEvents"]
    # Events come newest first; the first failure is the cause, later ones follow from it.
    failures = [
        e for e in reversed(events) if e["ResourceStatus"].endswith("_FAILED") and e.get("ResourceStatusReason")
    ]
    cause = (
        f"{failures[0]['LogicalResourceId']}: {failures[0]['ResourceStatusReason']}" if failures else "no reason given"
    )
    return f"the stack is {status} ({cause})"


def outputs_of(described: Mapping[str, Any]) -> dict[str, str]:
    """A DescribeStacks entry's outputs as ``{OutputKey: OutputValue}`` (none yet: empty)."""
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}


def stack_outputs(manager: Any, stack_name: str) -> dict[str, str]:
    """The outputs of ``stack_name``, through anything with Sceptre's ``ConnectionManager.call`` shape.

    Raises:
        botocore.exceptions.ClientError: the stack does not exist (or cannot be described).
    """
    (described,) = manager.call(service="cloudformation", command="describe_stacks", kwargs={"StackName": stack_name})[
        "Stacks"
    ]
    return outputs_of(described)


class BotoManager:
    """Sceptre's ``ConnectionManager.call(service, command, kwargs)`` over plain boto3, for the tools.

    The core takes a manager of that shape, so the hooks pass the stack's and the tools (taskcat's run,
    the operations) this one.
    """

    def __init__(self, region: str) -> None:
        import boto3

        self.session = boto3.session.Session(region_name=region)
        self.clients: dict[str, Any] = {}

    def call(self, service: str, command: str, kwargs: Mapping[str, Any] | None = None, **_: Any) -> Any:
        if service not in self.clients:
            self.clients[service] = self.session.client(service)
        return getattr(self.clients[service], command)(**(kwargs or {}))
