"""Sceptre hook: turn on termination protection and a stack policy after every launch."""

from __future__ import annotations

from pathlib import Path

from sceptre.exceptions import InvalidHookArgumentTypeError
from sceptre.hooks import Hook


class ProtectStack(Hook):
    """Protects a launched stack from deletion and its stateful resources from replacement.

    Termination protection makes ``sceptre delete`` (and any DeleteStack call)
    fail until someone turns it off on purpose. The stack policy denies
    ``Update:Replace`` and ``Update:Delete`` on the resource types it names,
    so an update can never replace the database or the KMS key. Both calls
    are idempotent, so the hook runs after every launch, changed or not::

        hooks:
          after_launch:
            - !protect_stack config/stack-policies/protect-stateful.json

    The argument is the policy file, relative to the Sceptre project.
    """

    def run(self) -> None:
        """Apply both protections through the stack's connection manager.

        Raises:
            InvalidHookArgumentTypeError: the argument is not an existing policy file.
        """
        policy_path = Path(self.stack.stack_group_config.get("project_path", ".")) / str(self.argument or "")
        if not self.argument or not policy_path.is_file():
            raise InvalidHookArgumentTypeError(
                f"!protect_stack needs the path of a stack policy file, relative to the project; got {self.argument!r}"
            )
        from llmgw.stacks import failed_launch

        failed = failed_launch(self.stack)
        if failed and "does not exist" in failed:
            self.logger.error("protection: skipped: %s", failed)
            return
        # A stack whose update rolled back still holds the data: protect it all the same.
        manager = self.stack.connection_manager
        manager.call(
            service="cloudformation",
            command="update_termination_protection",
            kwargs={"StackName": self.stack.external_name, "EnableTerminationProtection": True},
        )
        manager.call(
            service="cloudformation",
            command="set_stack_policy",
            kwargs={"StackName": self.stack.external_name, "StackPolicyBody": policy_path.read_text()},
        )
        self.logger.info("termination protection on; stack policy %s applied", self.argument)
