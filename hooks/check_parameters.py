"""Sceptre hook: refuse a launch whose parameters CloudFormation would refuse."""

from __future__ import annotations

from sceptre.exceptions import InvalidHookArgumentTypeError, SceptreException
from sceptre.hooks import Hook


class InvalidStackParametersError(SceptreException):
    """The stack's parameters break its template's constraints or Rules."""


class CheckParameters(Hook):
    """Checks the stack's resolved parameters against its template before launch.

    CloudFormation applies ``AllowedValues``, ``AllowedPattern``, ranges and
    ``Rules`` itself, but only once the request reaches it; this hook fails
    the same mistakes first, with one line that names the stack and the rule,
    and also where the API does not apply them (the local emulator). Each
    stack's config sets it first among its ``before_launch`` hooks (Sceptre
    merges no hook lists, so it cannot be set once in ``config/config.yaml``)::

        hooks:
          before_launch:
            - !check_parameters
    """

    def run(self) -> None:
        """Raise :class:`InvalidStackParametersError` if a parameter is refused.

        Raises:
            InvalidHookArgumentTypeError: the hook was given an argument (it takes none).
            InvalidStackParametersError: names the stack and the broken constraint.
        """
        if self.argument not in (None, ""):  # a bare tag reads as either
            raise InvalidHookArgumentTypeError(f"!check_parameters takes no argument; got {self.argument!r}")
        from llmgw.parameters import ParameterError, check_parameters, load_template

        try:
            check_parameters(load_template(self.stack.template.body), self.stack.parameters)
        except ParameterError as err:
            raise InvalidStackParametersError(f"{self.stack.name}: {err}") from err
