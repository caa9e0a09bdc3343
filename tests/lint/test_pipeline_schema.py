"""The pipelines against Azure Pipelines' schema (with the AWS Toolkit's tasks): it holds, and a typo fails.

These start check-jsonschema from .venv-schema, so `make lint` runs them, not `make test`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.pipeline_lint import lint
from tools.render import ROOT

PIPELINES = ROOT / "azure-devops"


@pytest.fixture
def copy(tmp_path) -> Path:
    target = tmp_path / "azure-devops"
    shutil.copytree(PIPELINES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_pipelines__as_committed__pass_every_check():
    assert lint(PIPELINES) == []


def test_lint__misspelled_key__fails_naming_the_file(copy):
    edit(copy / "templates" / "setup-tools.yml", "    displayName: Python", "    dispalyName: Python")

    problems = lint(copy)

    assert any("setup-tools.yml" in p for p in problems), problems


def test_lint__misspelled_task_input__fails(copy):
    edit(copy / "templates" / "aws-step.yml", "      arguments:", "      argumnets:")

    assert any("aws-step.yml" in p for p in lint(copy))
