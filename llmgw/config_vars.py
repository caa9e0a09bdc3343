"""A Jinja filter that turns a missing ``--var`` into an error that says what to pass.

Sceptre renders config files with ``StrictUndefined``, so a missing variable
fails with "'dict object' has no attribute 'domain_name'". This filter names
the variable, what it is for and the flag that supplies it.

Enable it once, in ``config/config.yaml``::

    j2_environment:
      extensions: [llmgw.config_vars.RequiredVariables]

and use it in any stack config::

    DomainName: "{{ var.domain_name | required('domain_name', 'the DNS name prod serves, e.g. llm.example.com') }}"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


# Sceptre commands that send no parameter anywhere, so a launch-time value is not needed for them.
COMMANDS_WITHOUT_PARAMETERS = {"delete"}
# Set by a tool that reads the configs for stack names and connections only (tools.ops).
_READING_STACKS_ONLY: ContextVar[bool] = ContextVar("reading_stacks_only", default=False)


@contextmanager
def reading_stacks_only() -> Iterator[None]:
    """Render configs for their stacks' names, dependencies and connections, sending no parameter:
    a ``required`` variable that is missing becomes a stand-in instead of an error."""
    token = _READING_STACKS_ONLY.set(True)
    try:
        yield
    finally:
        _READING_STACKS_ONLY.reset(token)


def _sceptre_command() -> str | None:
    """The name of the Sceptre CLI command running (``launch``, ``delete``), if Sceptre's CLI is running."""
    import click

    context = click.get_current_context(silent=True)
    return context.command.name if context is not None else None


@pass_context
def required(context: Context, value: Any, name: str, meaning: str) -> Any:
    """Return ``value``; if it is undefined or empty, raise, unless the command does not reach this stack.

    Args:
        context: the Jinja context Sceptre renders the config file with.
        value: the looked-up variable, possibly a Jinja ``Undefined``.
        name: the variable's name, as given to ``--var``.
        meaning: what the variable is, with an example value.

    Returns:
        ``value``, or a stand-in naming the variable when this stack is not part of the command or the
        command sends no parameters (``sceptre delete``, or inside :func:`reading_stacks_only`).

    Raises:
        MissingVariableError: the variable is undefined or empty, and the command reaches this stack.
    """
    if not (isinstance(value, Undefined) or value is None or str(value).strip() == ""):
        return expanded(context, value, name)
    sends_nothing = _READING_STACKS_ONLY.get() or _sceptre_command() in COMMANDS_WITHOUT_PARAMETERS
    if not _command_reaches(context) or sends_nothing:
        return f"unset-{name}"
    raise MissingVariableError(
        f"missing variable {name} ({meaning}): pass --var {name}=VALUE or set it in a --var-file"
    )


@pass_context
def expanded(context: Context, value: Any, name: str) -> Any:
    """Return ``value`` unless it is an Azure DevOps macro nobody defined, such as ``$(ALARM_EMAIL)``.

    Raises:
        UnexpandedMacroError: the value is the literal ``$(NAME)``; the message names the
            variable-group entry to add.
    """
    from llmgw.pipeline_macros import refuse_macro

    if _command_reaches(context):
        environment = str(context.get("stack_group_path") or "").strip("/").split("/")[0] or None
        refuse_macro(f"--var {name}", value, environment)
    return value


class UnknownRegionError(ValueError):
    """Raised when ``--var region`` names no region AWS has."""


def aws_region(value: Any) -> str:
    """Return ``value`` if botocore knows it as a region of any AWS partition, else raise naming it.

    An unknown region otherwise surfaces only when Sceptre calls an endpoint
    that does not exist, after it has started launching. The list is
    botocore's own (offline); a region newer than the installed botocore
    needs a newer botocore.

    Raises:
        UnknownRegionError: ``value`` is not a known region.
    """
    import boto3

    session = boto3.session.Session()
    known = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("cloudformation", partition)
    }
    region = str(value)
    if region not in known:
        near = sorted(r for r in known if r.split("-")[0] == region.split("-")[0].lower()) or sorted(known)[:6]
        raise UnknownRegionError(
            f"region {region!r} is not an AWS region: pass --var region= one of {', '.join(near)}"
            " (or upgrade botocore if the region is newer than it)"
        )
    return region


class RequiredVariables(Extension):
    """Adds the ``required``, ``expanded`` and ``aws_region`` filters to the Jinja environment Sceptre renders with."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["required"] = required
        environment.filters["expanded"] = expanded
        environment.filters["aws_region"] = aws_region
