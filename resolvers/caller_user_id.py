"""Sceptre resolver: who is deploying, as the ``aws:userid`` that IAM conditions see."""

from __future__ import annotations

from sceptre.exceptions import InvalidConfigFileError, SceptreException
from sceptre.resolvers import Resolver


class CallerUserIdError(SceptreException):
    """STS did not say who is calling."""


class CallerUserId(Resolver):
    """Resolves to the deploying principal's ``aws:userid`` pattern, such as ``AROAEXAMPLE:*``::

    DeployerUserId: !caller_user_id

    The security and database stacks' secret policies let it read what it seeds.
    """

    def resolve(self) -> str:
        """Ask STS who is calling, with the stack's own connection (profile, region, role).

        Raises:
            InvalidConfigFileError: the tag was given an argument (it takes none).
            CallerUserIdError: STS answered without a UserId.
        """
        if self.argument not in (None, ""):  # a bare tag reads as either
            raise InvalidConfigFileError(f"{self.stack.name}: !caller_user_id takes no argument; got {self.argument!r}")
        from llmgw.iam import user_id_pattern

        answer = self.stack.connection_manager.call("sts", "get_caller_identity")
        user_id = str(answer.get("UserId") or "")
        if not user_id:
            raise CallerUserIdError(f"{self.stack.name}: !caller_user_id: STS GetCallerIdentity gave no UserId")
        return user_id_pattern(user_id)
