"""The security gate proves what it claims: each checklist item, broken in a copy, makes the gate fail naming it.

The harness runs checkov over every mutated copy (about 2.5 min), so `make lint` (make security) runs these,
not `make test`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tools.checklist import CHECKS, TITLES
from tools.mutations import load_mutations
from tools.render import ROOT


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.mutations", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("mutations") / "outcomes.json"
    result = _harness("--json", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_mutation__is_caught_by_a_check_of_its_own_item(outcomes):
    survivors = [o for o in outcomes if not o["caught_by"] or o["error"]]
    assert not survivors
    assert {o["item"] for o in outcomes} == set(TITLES)


def test_every_mutation__runs_in_each_environment_its_item_is_checked_in(outcomes):
    for mutation in load_mutations():
        checked_in = {env for c in CHECKS if c.item == mutation.item for env in c.environments}
        ran = {o["environment"] for o in outcomes if o["mutation"] == mutation.name}
        assert ran == set(mutation.environments) and ran <= checked_in, mutation.name


def test_the_audits_nine_surviving_mutations__are_among_the_cases():
    names = {m.name for m in load_mutations()}
    assert names >= {
        "VPC flow log deleted",
        "endpoint private DNS off",
        "ECR lifecycle policy removed",
        "WAF rate rule switched to Count",
        "WAF common rule group switched to Count",
        "AdministratorAccess attached to the task role",
        "GetSecretValue on every secret",
        "low-entropy secret in the task environment under a new name",
        "prod database wired to the public subnets",
        "prod tasks wired to the public subnets",
        "master-key createSecret idempotency guard removed",
    }


def test_a_mutation_the_gate_cannot_see__survives_and_fails_the_run(tmp_path):
    harmless = tmp_path / "mutations.yaml"
    harmless.write_text(
        "- item: 13\n  name: a flow log with another description\n  file: templates/network.yaml.j2\n"
        '  replace: "      TrafficType: ALL\\n"\n  by: "      TrafficType: ALL\\n      Tags: [{Key: a, Value: b}]\\n"\n'
    )
    result = _harness("--mutations", str(harmless), "--only", "13")
    assert result.returncode == 1
    assert "survived: item 13 mutation 'a flow log with another description' in dev" in result.stderr
    assert "**SURVIVED**" in result.stdout


def test_a_mutation_whose_text_is_gone__fails_naming_it(tmp_path):
    stale = tmp_path / "mutations.yaml"
    stale.write_text("- item: 13\n  name: stale\n  file: templates/network.yaml.j2\n  replace: NotInTheFile\n  by: x\n")
    result = _harness("--mutations", str(stale), "--only", "13")
    assert result.returncode == 1
    assert "its text occurs 0 times in templates/network.yaml.j2, not once" in result.stdout + result.stderr


def test_docs_security__carries_exactly_the_harness_table(outcomes):
    from tools.mutations import DOCS, docs_table, table

    assert docs_table(DOCS.read_text()) == table(outcomes), "run: python -m tools.mutations --write-docs"
