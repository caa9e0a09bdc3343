"""A prod launch without its account-specific --vars fails with a line that says what to pass."""

from __future__ import annotations

import pytest
from jinja2 import Environment, StrictUndefined

from llmgw.config_vars import MissingVariableError, RequiredVariables
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


def test_required__missing_under_sceptre_delete__is_a_stand_in_because_a_delete_sends_no_parameters():
    import click

    with click.Context(click.Command("delete")):
        assert render("{{ var.x | required('x', 'an x') }}") == "unset-x"
    with click.Context(click.Command("launch")), pytest.raises(MissingVariableError):
        render("{{ var.x | required('x', 'an x') }}")


def test_prod_config__without_domain_name__fails_before_rendering_any_template():
    with pytest.raises(Exception, match=EXPECTED):
        render_environment("prod", {"domain_name": ""})


def test_required__unexpanded_azure_devops_macro__raises_naming_the_group_entry():
    with pytest.raises(ValueError, match=r"^--var x is the text \$\(X\), .* add X to the pipeline's variable group"):
        render("{{ var.x | required('x', 'an x') }}", x="$(X)")


def test_expanded__optional_value__passes_unless_it_is_an_unexpanded_macro():
    assert render("{{ var.e | default('') | expanded('e') }}") == ""
    assert render("{{ var.e | default('') | expanded('e') }}", e="ops@example.com") == "ops@example.com"
    with pytest.raises(ValueError, match=r"^--var e is the text \$\(ALARM_EMAIL\)"):
        render("{{ var.e | default('') | expanded('e') }}", e="$(ALARM_EMAIL)")


def test_prod_config__domain_name_as_an_unexpanded_macro__fails_naming_the_litellm_prod_group_entry():
    with pytest.raises(Exception, match=r"add DOMAIN_NAME to the variable group litellm-prod"):
        render_environment("prod", {"domain_name": "$(DOMAIN_NAME)", "hosted_zone_id": "Z1"})
