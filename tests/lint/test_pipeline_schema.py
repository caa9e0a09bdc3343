"""The pipelines against Azure Pipelines' schema (with the AWS Toolkit's tasks): it holds, and a typo fails.

These start check-jsonschema from .venv-schema, so `make lint` runs them, not `make test`.
"""

from __future__ import annotations

from tests.support import edit
from tools.pipeline_lint import lint
from tools.render import ROOT

PIPELINES = ROOT / "azure-devops"


def test_pipelines__as_committed__pass_every_check():
    assert lint(PIPELINES) == []


def test_lint__misspelled_key__fails_naming_the_file(pipelines_copy):
    edit(pipelines_copy / "templates" / "setup-tools.yml", "    displayName: Python", "    dispalyName: Python")

    problems = lint(pipelines_copy)

    assert any("setup-tools.yml" in p for p in problems), problems


def test_lint__misspelled_task_input__fails(pipelines_copy):
    edit(pipelines_copy / "templates" / "aws-step.yml", "      arguments:", "      argumnets:")

    assert any("aws-step.yml" in p for p in lint(pipelines_copy))
