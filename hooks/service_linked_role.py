"""Sceptre hook: create an AWS service's service-linked role before a stack that needs it."""

from __future__ import annotations

import re

from sceptre.exceptions import InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook

_SERVICE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$")


class ServiceLinkedRoleError(SceptreException):
    """The service-linked role is missing and could not be created."""


class ServiceLinkedRole(Hook):
    """Creates the service-linked role of an AWS service unless the account already has it.

    A new account has no ``AWSServiceRoleForECS``: creating a cluster with
    capacity providers before it exists fails with "Unable to assume the
    service linked role", which is a first launch's first failure. Creating
    the role is idempotent, so the hook runs before every launch::

        hooks:
          before_launch:
            - !service_linked_role ecs.amazonaws.com

    The argument is the service principal the role belongs to.
    """

    def run(self) -> None:
        """Create the role, or say that it exists.

        Raises:
            InvalidHookArgumentValueError: the argument is not a service principal.
            ServiceLinkedRoleError: the role is absent and the caller may not create it.
        """
        from botocore.exceptions import ClientError

        service = str(self.argument or "")
        if not _SERVICE.match(service):
            raise InvalidHookArgumentValueError(
                f"!service_linked_role needs a service principal such as ecs.amazonaws.com; got {self.argument!r}"
            )
        try:
            response = self.stack.connection_manager.call(
                service="iam", command="create_service_linked_role", kwargs={"AWSServiceName": service}
            )
        except ClientError as err:
            error = err.response.get("Error", {})
            # IAM's answer when the role exists (InvalidInput: "... has been taken in this account").
            if error.get("Code") == "InvalidInput" and "has been taken" in error.get("Message", ""):
                self.logger.info("service-linked role for %s exists", service)
                return
            raise ServiceLinkedRoleError(
                f"{self.stack.name}: the service-linked role for {service} is needed and could not be created "
                f"({error.get('Code')}: {error.get('Message')}); an administrator can run: "
                f"aws iam create-service-linked-role --aws-service-name {service}"
            ) from err
        self.logger.info("created service-linked role %s for %s", response["Role"]["RoleName"], service)
