"""The security checklist holds in both environments as they deploy: every check of tools/checklist.py finds nothing.

``make lint`` runs the same checks (``python -m tools.checklist``) after
checkov; ``tools/mutations.py`` proves each can fail. The item numbers are
docs/security.md's.
"""

from __future__ import annotations

import copy

import pytest

from tools.checklist import CHECKS, Environment, environment

ENVIRONMENTS = {}


def _environment(env: str) -> Environment:
    if env not in ENVIRONMENTS:
        ENVIRONMENTS[env] = environment(env)
    return ENVIRONMENTS[env]


@pytest.mark.parametrize(
    ("env", "check"),
    [(env, c) for c in CHECKS for env in c.environments],
    ids=[f"item-{c.item}-{env}-{c.name}" for c in CHECKS for env in c.environments],
)
def test_checklist_item__holds(env, check):
    assert check.run(_environment(env)) == []


def test_checklist__every_item_from_1_to_27_has_a_check():
    assert set(range(1, 28)) <= {c.item for c in CHECKS}


def test_checklist__a_missing_resource_is_a_finding_that_names_the_item_and_resource_not_a_key_error():
    broken = copy.deepcopy(_environment("prod"))
    del broken.stacks["network"]["Resources"]["FlowLog"]
    del broken.stacks["database"]["Resources"]["ParameterGroup"]
    findings = [f for c in CHECKS if c.item in (8, 13) for f in c.run(broken)]
    assert findings == [
        "item 8 (TLS to the database) prod/database/ParameterGroup: no such resource",
        "item 13 (flow logs) prod/network/Vpc: no flow log",
    ]


def _checklist_rows() -> dict[int, str]:
    import re

    from tools.render import ROOT

    text = (ROOT / "docs/security.md").read_text()
    table = text.split("## The checklist", 1)[1].split("\n## ", 1)[0]
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| .*? \| .*? \| (.*) \|$", table, re.MULTILINE)}


def test_docs_checklist__every_item_has_a_row_citing_its_checks_and_only_checkov_ids_that_test_it():
    import re

    from tools.checklist import CHECKOV_ITEMS
    from tools.render import ROOT

    rows = _checklist_rows()
    assert set(rows) == {c.item for c in CHECKS}
    test_names = set(re.findall(r"def (test_\w+)", "".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))))
    for item, proven in rows.items():
        for check in (c for c in CHECKS if c.item == item):
            assert f"`{check.name}`" in proven, f"item {item}: docs/security.md does not cite {check.name}"
        for cited in re.findall(r"CKV_AWS_\d+", proven):
            assert CHECKOV_ITEMS.get(cited) == item, f"item {item}: {cited} does not test this item"
        for cited in re.findall(r"`(test_\w+)", proven):
            assert cited.rstrip("_") in {t[: len(cited.rstrip("_"))] for t in test_names}, f"item {item}: no {cited}"
