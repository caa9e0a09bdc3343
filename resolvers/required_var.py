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

from jinja2 import Environment, Undefined
from jinja2.ext import Extension


class MissingVariableError(ValueError):
    """Raised when a stack config needs a ``--var`` that was not given."""


def required(value: Any, name: str, meaning: str) -> Any:
    """Return ``value``, or raise if it is undefined or empty.

    Args:
        value: the looked-up variable, possibly a Jinja ``Undefined``.
        name: the variable's name, as given to ``--var``.
        meaning: what the variable is, with an example value.

    Raises:
        MissingVariableError: the variable is undefined or an empty string.
    """
    if isinstance(value, Undefined) or value is None or str(value).strip() == "":
        raise MissingVariableError(
            f"missing variable {name} ({meaning}): pass --var {name}=VALUE or set it in a --var-file"
        )
    return value


class RequiredVariables(Extension):
    """Adds the ``required`` filter to the Jinja environment Sceptre renders with."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["required"] = required
