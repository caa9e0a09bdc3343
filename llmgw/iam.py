"""IAM identities as policies see them."""

from __future__ import annotations


def user_id_pattern(user_id: str) -> str:
    """The ``aws:userid`` pattern of every session of the caller.

    STS's ``UserId`` is ``<role id>:<session name>`` for an assumed role, whose session name changes
    with every pipeline run, and the user's id for an IAM user. Unlike the role's ARN, the role id
    also holds for a role with a path, which an assumed-role ARN does not show.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable
    """
    role_id, _, session = user_id.partition(":")
    return f"{role_id}:*" if session else role_id
