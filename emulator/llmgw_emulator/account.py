"""What kind of AWS account the emulator plays: a new one by default, because first deploys die there.

``LLMGW_ACCOUNT=new`` (the default) or ``LLMGW_ACCOUNT=established``. Each
setting below is a limit or a first-use behaviour AWS documents, and only the
values differ between the two kinds:

- Lambda's account concurrency. New accounts often start at 10 concurrent
  executions, and Lambda always keeps a minimum unreserved pool (10 there,
  100 at the standard 1,000), so any ``ReservedConcurrentExecutions`` fails on
  a new account. https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
- The ECS service-linked role ``AWSServiceRoleForECS``. It exists only once
  created; a cluster created with capacity providers before that fails with
  "Unable to assume the service linked role", and the failed call leaves the
  role behind, so a retry works.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Account", "current"]


@dataclass(frozen=True)
class Account:
    kind: str
    lambda_concurrency_limit: int
    lambda_minimum_unreserved: int
    ecs_service_linked_role_exists: bool


_KINDS = {
    "new": Account("new", lambda_concurrency_limit=10, lambda_minimum_unreserved=10,
                   ecs_service_linked_role_exists=False),
    "established": Account("established", lambda_concurrency_limit=1000, lambda_minimum_unreserved=100,
                           ecs_service_linked_role_exists=True),
}  # fmt: skip


def current() -> Account:
    """The account kind named by ``LLMGW_ACCOUNT``; an unknown name is an error, never a default."""
    name = os.environ.get("LLMGW_ACCOUNT", "new")
    if name not in _KINDS:
        raise ValueError(f"LLMGW_ACCOUNT={name!r} is not an account kind the emulator knows ({', '.join(_KINDS)})")
    return _KINDS[name]
