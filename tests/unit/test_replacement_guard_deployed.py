"""The replacement guard against the live stack: what the pipelines run before each launch, on a push to main too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.render import ROOT, render_environment
from tools.replacement_guard import PROJECT_PATHS, deployed_replacements


def _live(stack_name: str, project: Path = ROOT) -> tuple[str, dict[str, str]]:
    """The stack as a launch of ``project`` leaves it: template body and parameter values (outputs as stand-ins)."""
    rendered = render_environment(stack_name.split("/")[0], project=project)[stack_name]
    values = {k: ",".join(v) if isinstance(v, list) else v for k, v in rendered.example_parameters().items()}
    return rendered.body, values


@pytest.mark.parametrize("stack", ["prod/security", "prod/database", "dev/litellm"])
def test_deployed_guard__unchanged_repository__compares_the_stacks_stateful_resources_and_finds_nothing(stack):
    body, parameters = _live(stack)
    compared, found = deployed_replacements(stack, body, parameters)
    assert compared > 0 and found == []


def test_deployed_guard__a_renamed_database_in_the_working_tree__is_refused_against_the_live_stack(tmp_path):
    body, parameters = _live("prod/database")  # the live stack, as main's last launch left it
    for name in PROJECT_PATHS:
        shutil.copytree(ROOT / name, tmp_path / name)
    template = tmp_path / "templates/database.yaml.j2"
    text = template.read_text()
    assert text.count("      DBName: litellm\n") == 1
    template.write_text(text.replace("      DBName: litellm\n", "      DBName: gateway\n"))

    _, found = deployed_replacements("prod/database", body, parameters, project=tmp_path)

    assert [str(f).split(":")[0] for f in found] == ["prod/database/DBInstance"]
    assert "DBName is create-only" in str(found[0])


def test_deployed_guard__a_live_output_value_differing_from_the_stand_in__is_not_a_replacement():
    body, parameters = _live("prod/database")
    live_key = "arn:aws:kms:us-east-1:210987654321:key/0000aaaa-0000-0000-0000-00000000abcd"
    live_template = body.replace("arn:aws:kms:us-east-1:123456789012:key/", "unused")  # body holds no stand-in
    _, found = deployed_replacements("prod/database", live_template, {**parameters, "KmsKeyArn": live_key})
    assert found == []


@pytest.mark.parametrize("status", ["CREATE_FAILED", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"])
def test_ops_guard__a_stack_sceptre_recreates__passes_without_reading_its_template(monkeypatch, capsys, status):
    from types import SimpleNamespace

    from tools import ops

    def never(**_: object) -> None:
        raise AssertionError("the guard read a stack that the launch deletes and recreates")

    stack = SimpleNamespace(name="prod/database", external_name="litellm-prod-database",
                            connection_manager=SimpleNamespace(call=never))  # fmt: skip
    monkeypatch.setattr(ops, "_stacks", lambda path, variables: {"prod/database": stack})
    monkeypatch.setattr(ops, "_status", lambda s: status)

    ops.replacement_guard("prod/database.yaml", {}, [])

    assert f"prod/database.yaml is {status}; the launch recreates it" in capsys.readouterr().out


def test_ops_guard__a_replacement_in_the_live_stack__fails_naming_the_resource_and_how_to_allow_it(
    monkeypatch, tmp_path, capsys
):
    from types import SimpleNamespace

    from tools import ops

    body, parameters = _live("prod/database")
    live = body.replace("      DBName: litellm\n", "      DBName: gateway\n")  # the live one has another name

    def call(service: str, command: str, kwargs: dict) -> dict:
        if command == "get_template":
            assert kwargs["TemplateStage"] == "Original"
            return {"TemplateBody": live}
        return {"Stacks": [{"Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]}]}

    stack = SimpleNamespace(name="prod/database", external_name="litellm-prod-database",
                            connection_manager=SimpleNamespace(call=call))  # fmt: skip
    monkeypatch.setattr(ops, "_stacks", lambda path, variables: {"prod/database": stack})
    monkeypatch.setattr(ops, "_status", lambda s: "UPDATE_COMPLETE")

    with pytest.raises(ops.OpsError, match="queue-time variable ALLOW_REPLACEMENT"):
        ops.replacement_guard("prod/database.yaml", {}, [])
    assert "prod/database/DBInstance: DBName is create-only" in capsys.readouterr().err

    monkeypatch.setenv("ALLOW_REPLACEMENT", "prod/database/DBInstance")
    ops.replacement_guard("prod/database.yaml", {}, [])
