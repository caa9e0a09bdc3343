"""tools/pipeline_expand.py compiles pipelines as Azure DevOps does, on the constructs the pipelines use."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools.pipeline_expand import ExpansionError, evaluate, expand, parameter_sets


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("eq('Prod', 'prod')", True),  # strings compare ignoring case
        ("ne(parameters.flag, true)", False),
        ("eq(parameters.flag, 'true')", True),  # the right operand takes the left's type
        ("and(true, not(false), or(false, true))", True),
        ("coalesce('', null, 'x')", "x"),
        ("format('{0}-{1}', 'a', 2)", "a-2"),
        ("format('{{literal}} {0}', 'x')", "{literal} x"),
        ("containsValue(parameters.list, 'b')", True),
        ("in('b', 'a', 'b')", True),
        ("parameters.map['k'].inner", "deep"),
        ("parameters.missing_key_of.map", None),
        ("length(parameters.list)", 2),
    ],
)
def test_evaluate__functions_and_references__as_azure_devops_defines_them(expression, value):
    scope = {"parameters": {"flag": True, "list": ["a", "b"], "map": {"k": {"inner": "deep"}}, "missing_key_of": {}}}

    assert evaluate(expression, scope) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("variables.region", "compile-time variables"),
        ("parameters.nope", "not a declared parameter"),
        ("counter('x', 1)", "does not know the function counter()"),
        ("eq('a'", "expected"),
    ],
)
def test_evaluate__unknown_construct__is_refused_naming_it(expression, message):
    with pytest.raises(ExpansionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(expression, {"parameters": {}})


def test_expand__if_elseif_else_and_each__in_mappings_and_sequences(tmp_path):
    pipeline = write(
        tmp_path,
        "p.yml",
        """\
        parameters:
          - {name: env, type: string, values: [dev, prod, test]}
          - {name: stacks, type: object, default: [a, b]}
        jobs:
          - job: only
            variables:
              ${{ if eq(parameters.env, 'dev') }}:
                size: small
              ${{ elseif eq(parameters.env, 'prod') }}:
                size: large
              ${{ else }}:
                size: none
            steps:
              - ${{ each stack in parameters.stacks }}:
                  - bash: echo ${{ stack }}
              - ${{ if eq(parameters.env, 'prod') }}:
                  - bash: echo prod only
        """,
    )

    dev, prod, test = (expand(pipeline, {"env": e}).body["jobs"][0] for e in ("dev", "prod", "test"))

    assert (dev["variables"], prod["variables"], test["variables"]) == (
        {"size": "small"},
        {"size": "large"},
        {"size": "none"},
    )
    assert [s["bash"] for s in dev["steps"]] == ["echo a", "echo b"]
    assert [s["bash"] for s in prod["steps"]] == ["echo a", "echo b", "echo prod only"]


def test_expand__templates_get_typed_parameters_and_defaults_relative_to_the_including_file(tmp_path):
    write(
        tmp_path,
        "templates/job.yml",
        """\
        parameters:
          - {name: name, type: string}
          - {name: minutes, type: number, default: "30"}
          - {name: enabled, type: boolean, default: "false"}
        jobs:
          - job: ${{ parameters.name }}
            timeoutInMinutes: ${{ parameters.minutes }}
            steps:
              - template: step.yml
                parameters: {enabled: "${{ parameters.enabled }}"}
        """,
    )
    write(
        tmp_path,
        "templates/step.yml",
        """\
        parameters:
          - {name: enabled, type: boolean}
        steps:
          - ${{ if parameters.enabled }}:
              - bash: echo on
          - ${{ else }}:
              - bash: echo off
        """,
    )
    pipeline = write(
        tmp_path,
        "p.yml",
        """\
        jobs:
          - template: templates/job.yml
            parameters: {name: first}
          - template: templates/job.yml
            parameters: {name: second, minutes: "5", enabled: "true"}
        """,
    )

    first, second = expand(pipeline).body["jobs"]

    assert (first["job"], first["timeoutInMinutes"], first["steps"]) == ("first", 30, [{"bash": "echo off"}])
    assert (second["job"], second["timeoutInMinutes"], second["steps"]) == ("second", 5, [{"bash": "echo on"}])


def test_expand__extends__merges_the_template_into_the_pipeline(tmp_path):
    write(
        tmp_path,
        "base.yml",
        """\
        parameters:
          - {name: who, type: string}
        stages:
          - stage: Only
            jobs:
              - job: hello
                steps:
                  - bash: echo ${{ parameters.who }}
        """,
    )
    pipeline = write(
        tmp_path,
        "p.yml",
        """\
        trigger: none
        parameters:
          - {name: who, type: string, default: world}
        extends:
          template: base.yml
          parameters: {who: "${{ parameters.who }}"}
        """,
    )

    body = expand(pipeline).body

    assert body["trigger"] == "none"
    assert body["stages"][0]["jobs"][0]["steps"] == [{"bash": "echo world"}]


@pytest.mark.parametrize(
    ("parameters", "given", "message"),
    [
        ("- {name: env, type: string, values: [dev, prod]}", {"env": "test"}, "not one of dev, prod"),
        ("- {name: env, type: string}", {}, "env is required"),
        ("- {name: env, type: string, default: dev}", {"nope": "x"}, "unexpected parameter nope"),
        ("- {name: flag, type: boolean, default: 'false'}", {"flag": "yes"}, "is a boolean"),
        ("- {name: n, type: number, default: '1'}", {"n": "many"}, "is a number"),
    ],
)
def test_expand__bad_parameter__fails_as_azure_devops_refuses_to_compile(tmp_path, parameters, given, message):
    pipeline = write(tmp_path, "p.yml", f"parameters:\n  {parameters}\nsteps:\n  - bash: echo\n")

    with pytest.raises(ExpansionError, match=message):
        expand(pipeline, given)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("steps:\n  - ${{ insert }}: {bash: echo}\n", r"\$\{\{ insert \}\} is not supported"),
        ("steps:\n  - template: steps.yml@other\n", "other repositories"),
        ("steps:\n  - template: missing.yml\n", "does not exist"),
        ("steps:\n  - ${{ else }}:\n      - bash: echo\n", "without an"),
        ("steps:\n  - bash: echo ${{ variables.x }}\n", "compile-time variables"),
    ],
)
def test_expand__construct_it_does_not_know__is_refused_not_guessed(tmp_path, body, message):
    pipeline = write(tmp_path, "p.yml", body)

    with pytest.raises(ExpansionError, match=message):
        expand(pipeline)


def test_expand__runtime_syntax__is_left_for_the_run(tmp_path):
    pipeline = write(tmp_path, "p.yml", "steps:\n  - bash: echo $(Build.BuildId) $[ variables.x ]\n")

    assert expand(pipeline).body["steps"] == [{"bash": "echo $(Build.BuildId) $[ variables.x ]"}]


def test_parameter_sets__every_value_list_and_boolean_combination(tmp_path):
    pipeline = write(
        tmp_path,
        "p.yml",
        """\
        parameters:
          - {name: env, type: string, values: [dev, prod]}
          - {name: confirm, type: boolean, default: "false"}
          - {name: free, type: string, default: x}
        steps: []
        """,
    )

    assert parameter_sets(pipeline) == [
        {"env": "dev", "confirm": False},
        {"env": "dev", "confirm": True},
        {"env": "prod", "confirm": False},
        {"env": "prod", "confirm": True},
    ]
