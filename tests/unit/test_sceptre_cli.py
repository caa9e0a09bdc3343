"""The real Sceptre CLI renders every stack with no AWS credentials at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmgw.stacks import STACKS
from tools.render import EXAMPLE_VARIABLES_BY_ENV, ROOT

SCEPTRE = str(Path(sys.executable).with_name("sceptre"))


def run_sceptre(*args: str) -> subprocess.CompletedProcess[str]:
    # No credentials, no config, no endpoint: any AWS call would fail loudly.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": "/nonexistent",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run([SCEPTRE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_sceptre_dump_template__every_stack__renders_without_credentials(env):
    variables = [arg for key, value in EXAMPLE_VARIABLES_BY_ENV[env].items() for arg in ("--var", f"{key}={value}")]

    result = run_sceptre(*variables, "dump", "template", env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("AWSTemplateFormatVersion") == len(STACKS)


def test_sceptre_launch_prod__without_its_vars__fails_in_one_line_naming_the_variable():
    result = run_sceptre("launch", "-y", "prod")

    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1
    assert "missing variable domain_name" in lines[0]
    assert "--var domain_name=VALUE" in lines[0]


def test_sceptre_launch_dev__without_the_addresses_it_may_serve__fails_in_one_line_naming_client_cidr():
    result = run_sceptre("launch", "-y", "dev")

    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert "missing variable client_cidr" in lines[0]
    assert "--var client_cidr=VALUE" in lines[0]
    assert "Launching Stack" not in result.stdout + result.stderr


@pytest.mark.parametrize("region", ["mars-1", "us-east-9", "US-EAST-1"])
def test_sceptre_launch__an_unknown_region__fails_in_one_line_before_any_stack(region):
    result = run_sceptre("--var", f"region={region}", "launch", "-y", "dev")

    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert f"region {region!r} is not an AWS region" in lines[0]
    assert "Launching Stack" not in result.stdout + result.stderr
