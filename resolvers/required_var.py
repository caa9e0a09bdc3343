"""A Jinja filter that turns a missing ``--var`` into an error that says what to pass.

Sceptre renders config files with ``StrictUndefined``, so a missing variable
fails with "'dict object' has no attribute 'domain_name'". This filter names
the variable, what it is for and the flag that supplies it.

Enable it once, in ``config/config.yaml``::

    j2_environment:
      extensions: [llmgw_resolvers.required_var.RequiredVariables]

and use it in any stack config::

    DomainName: "{{ var.domain_name | required('domain_name', 'the DNS name prod serves, e.g. llm.example.com') }}"
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, Undefined, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context


class MissingVariableError(ValueError):
    """Raised when a stack config needs a ``--var`` that was not given."""


def _command_reaches(context: Context) -> bool:
    """Whether the Sceptre command being run includes the stack group being rendered.

    Sceptre reads every config file for some commands (``delete dev`` reads
    prod too, to find dependants), so only a command aimed at this group may
    insist on its variables.
    """
    command = "/".join(context.get("command_path") or []).strip("/")
    group = str(context.get("stack_group_path") or "").strip("/")
    return (
        not command
        or not group
        or group == command
        or f"{group}/".startswith(f"{command}/")
        or command.startswith(f"{group}/")
    )


@pass_context
def required(context: Context, value: Any, name: str, meaning: str) -> Any:
    """Return ``value``; if it is undefined or empty, raise, unless the command does not reach this stack.

    Args:
        context: the Jinja context Sceptre renders the config file with.
        value: the looked-up variable, possibly a Jinja ``Undefined``.
        name: the variable's name, as given to ``--var``.
        meaning: what the variable is, with an example value.

    Returns:
        ``value``, or a stand-in naming the variable when this stack is not part of the command.

    Raises:
        MissingVariableError: the variable is undefined or empty, and the command reaches this stack.
    """
    if not (isinstance(value, Undefined) or value is None or str(value).strip() == ""):
        return value
    if not _command_reaches(context):
        return f"unset-{name}"
    raise MissingVariableError(
        f"missing variable {name} ({meaning}): pass --var {name}=VALUE or set it in a --var-file"
    )


class RequiredVariables(Extension):
    """Adds the ``required`` filter to the Jinja environment Sceptre renders with."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["required"] = required
