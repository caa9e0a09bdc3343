"""Refuse a value that is an Azure DevOps macro nobody defined.

Azure DevOps leaves ``$(NAME)`` as that very text when no variable ``NAME``
exists (learn.microsoft.com/azure/devops/pipelines/process/variables, "Macro
syntax variables"), so a variable group that lacks an entry hands its step the
string ``$(NAME)``. Stored as a provider key or a domain name, it fails much
later and far away; refused here, it fails at once, naming the entry to add.
"""

from __future__ import annotations

import re

_MACRO = re.compile(r"^\s*\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)\s*$")


class UnexpandedMacroError(ValueError):
    """A value is the literal text of an Azure DevOps macro."""


def macro_name(value: object) -> str | None:
    """``NAME`` if ``value`` is exactly ``$(NAME)``, else None."""
    match = _MACRO.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def refuse_macro(label: str, value: object, environment: str | None = None) -> None:
    """Raise if ``value`` is an unexpanded macro; ``label`` says where the value was going.

    Raises:
        UnexpandedMacroError: one line naming the variable-group entry to add, never a value.
    """
    name = macro_name(value)
    if name is None:
        return
    group = f"the variable group litellm-{environment}" if environment else "the pipeline's variable group"
    raise UnexpandedMacroError(
        f"{label} is the text $({name}), which Azure DevOps leaves for an undefined variable:"
        f" add {name} to {group} (empty if unused)"
    )
