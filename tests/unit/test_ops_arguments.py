"""tools.ops refuses bad input in one line, before it touches any stack."""

from __future__ import annotations

import pytest

from tools import ops


@pytest.mark.parametrize(
    "command", [["smoke", "prod"], ["unprotect", "prod/alb.yaml"], ["prerequisites", "prod/alb.yaml"]]
)
def test_ops__var_that_is_an_unexpanded_azure_devops_macro__is_refused_naming_the_group_entry(command, capsys):
    code = ops.main(["--var", "region=us-east-1", "--var", "domain_name=$(DOMAIN_NAME)", *command])

    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "ops: --var domain_name is the text $(DOMAIN_NAME), which Azure DevOps leaves for an undefined variable:"
        " add DOMAIN_NAME to the variable group litellm-prod (empty if unused)"
    )
