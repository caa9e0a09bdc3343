"""A prod launch without its account-specific --vars fails with a line that says what to pass."""

from __future__ import annotations

import pytest
from jinja2 import Environment, StrictUndefined

from llmgw_resolvers.required_var import MissingVariableError, RequiredVariables
from tools.render import render_environment

EXPECTED = (
    r"missing variable domain_name \(the DNS name prod serves, e\.g\. llm\.example\.com\): pass --var domain_name=VALUE"
)


def render(text: str, **variables) -> str:
    env = Environment(undefined=StrictUndefined, extensions=[RequiredVariables])
    return env.from_string(text).render(var=variables)


def test_required__defined_value__passes_through():
    assert render("{{ var.x | required('x', 'an x') }}", x="value") == "value"


@pytest.mark.parametrize("variables", [{}, {"x": ""}, {"x": "  "}])
def test_required__missing_or_empty__raises_naming_the_variable(variables):
    with pytest.raises(MissingVariableError, match=r"^missing variable x \(an x\): pass --var x=VALUE"):
        render("{{ var.x | required('x', 'an x') }}", **variables)


def test_prod_config__without_domain_name__fails_before_rendering_any_template():
    with pytest.raises(Exception, match=EXPECTED):
        render_environment("prod", {"domain_name": ""})
