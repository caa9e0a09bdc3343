"""Whether a stack's launch failed, and why, in one line, for the hooks Sceptre runs after it anyway.

Sceptre 4.7 runs ``after_launch`` hooks even when the launch failed (sceptre
issue #1339). A hook that then reads outputs or secrets of a rolled-back
stack dies with an error that hides the real cause, so each after-launch
hook asks here first and skips, naming the stack's own failure.
"""

from __future__ import annotations

from typing import Any

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
