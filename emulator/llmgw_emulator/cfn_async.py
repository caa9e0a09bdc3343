"""CloudFormation's stack operations return at once and go on in the background, as on AWS.

``CreateStack``, ``UpdateStack`` and ``DeleteStack`` answer with the stack id
as soon as the operation has begun, and the stack reads ``*_IN_PROGRESS``
until it ends; clients poll ``DescribeStacks`` and ``DescribeStackEvents``.
moto runs them inside the request instead, so a client saw only the end: Sceptre
prints the events that arrive while it waits, and missed the one resource
event that says why an update failed. A request that fails before the
operation begins (a parameter that breaks a rule, a stack that exists) still
fails in the request, as on AWS.
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from .request_lock import SERVER_LOCK

__all__ = ["began", "install"]

_WORKER = threading.local()
_INSTALLED = False


def began(stack_id: str) -> None:
    """Called by the operation once its stack is registered: the request may now answer."""
    signal = getattr(_WORKER, "signal", None)
    if signal is not None:
        _WORKER.signal = None  # the first (outermost) stack answers; nested ones do not
        signal(stack_id)


def _fail_stack(stack_id: str, err: BaseException) -> None:
    """An operation that broke after its request answered: say so, and end the stack's operation failed."""
    import sys
    import traceback

    print(f"emulator: the CloudFormation operation on {stack_id} broke: {err!r}", file=sys.stderr, flush=True)
    traceback.print_exception(err, file=sys.stderr)
    from moto.cloudformation.models import cloudformation_backends

    for backends in cloudformation_backends.values():
        for backend in backends.values():
            stack = backend.stacks.get(stack_id)
            if stack is not None and stack.status.endswith("_IN_PROGRESS"):
                failed = stack.status.replace("_IN_PROGRESS", "_FAILED")
                stack.status, stack.status_reason = failed, f"the emulator broke: {err!r}"[:1000]


def _in_background(operation: Callable[[], Any], answer: Callable[[str], Any]) -> Any:
    granted, begun, done = threading.Event(), threading.Event(), threading.Event()
    box: dict[str, Any] = {}

    def signal(stack_id: str) -> None:
        box["stack_id"] = stack_id
        begun.set()

    def work() -> None:
        granted.wait()
        _WORKER.signal = signal
        try:
            box["result"] = operation()
        except BaseException as err:  # handed back to the request if it has not answered yet
            box["error"] = err
            if "stack_id" in box:  # the request has answered: nobody else would ever see this
                _fail_stack(box["stack_id"], err)
        finally:
            _WORKER.signal = None
            done.set()
            begun.set()
            SERVER_LOCK.release_handed_over()

    worker = threading.Thread(target=work, name="cloudformation-operation", daemon=True)
    worker.start()
    SERVER_LOCK.hand_over(worker, granted)
    begun.wait()
    if done.is_set() and "stack_id" not in box:
        if "error" in box:
            raise box["error"]
        return box["result"]
    return answer(box["stack_id"])


def install() -> None:
    """Run the three stack operations in the background. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult, EmptyResult

    for name in ("create_stack", "update_stack"):
        original = getattr(CloudFormationResponse, name)

        def respond(self: CloudFormationResponse, _original: Any = original) -> Any:
            return _in_background(lambda: _original(self), lambda stack_id: ActionResult({"StackId": stack_id}))

        setattr(CloudFormationResponse, name, functools.wraps(original)(respond))

    original_delete = CloudFormationResponse.delete_stack

    @functools.wraps(original_delete)
    def delete_stack(self: CloudFormationResponse) -> Any:
        return _in_background(lambda: original_delete(self), lambda _: EmptyResult())

    CloudFormationResponse.delete_stack = delete_stack  # type: ignore[method-assign]

    original_validate = CloudFormationBackend._validate_export_uniqueness

    # CreateStack registers the stack, then checks its exports (which may create resources).
    @functools.wraps(original_validate)
    def _validate_export_uniqueness(self: CloudFormationBackend, stack: Any) -> None:
        stack.status = "CREATE_IN_PROGRESS"  # moto's CREATE_PENDING is no status CloudFormation has
        began(stack.stack_id)
        original_validate(self, stack)

    CloudFormationBackend._validate_export_uniqueness = _validate_export_uniqueness  # type: ignore[method-assign]
    _no_lazy_creates_from_readers()
    _INSTALLED = True


def _no_lazy_creates_from_readers() -> None:
    """While an operation runs, a reader sees what exists; it never creates what is not made yet.

    moto creates a resource on the first Ref to it, so a DescribeStacks
    arriving while the operation waited (on a service's deployment, say)
    evaluated the outputs and created that resource a second time. On AWS,
    outputs appear once a create completes, and an update shows the previous
    ones until it completes.
    """
    from moto.cloudformation.models import Stack

    outputs, resources = Stack.outputs.fget, Stack.stack_resources.fget

    def read_outputs(self: Stack) -> Any:
        if str(self.status).endswith("_IN_PROGRESS"):
            return getattr(self, "llmgw_outputs_before", None) if str(self.status).startswith("UPDATE") else None
        return outputs(self)

    def read_resources(self: Stack) -> Any:
        if str(self.status).endswith("_IN_PROGRESS"):
            return list(self.resource_map._parsed_resources.values())
        return resources(self)

    Stack.outputs = property(read_outputs)  # type: ignore[method-assign,assignment]
    Stack.stack_resources = property(read_resources)  # type: ignore[method-assign,assignment]
