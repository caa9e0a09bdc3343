"""Every checkov suppression names its check, gives a reason, and is listed in docs/security.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.render import ENVIRONMENTS, ROOT
from tools.specialise import write_specialised


@pytest.fixture(scope="module")
def specialised(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("specialised")
    write_specialised(out)
    return out


def _skips(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "checkov" in node and isinstance(node["checkov"], dict):
            found += [s for s in node["checkov"].get("skip", []) if isinstance(s, dict)]
        for value in node.values():
            found += _skips(value)
    elif isinstance(node, list):
        for value in node:
            found += _skips(value)
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_suppression__names_a_check_and_gives_a_reason(specialised, env):
    skips = [s for path in sorted((specialised / env).glob("*.json")) for s in _skips(json.loads(path.read_text()))]
    assert skips, "the gate would be vacuous without any suppression to check"
    for skip in skips:
        assert skip["id"].startswith("CKV"), skip
        assert len(skip.get("comment", "")) >= 40, f"{skip['id']}: a reason a reviewer can judge"


def _suppressions_table() -> list[tuple[set[str], set[str], str]]:
    import re

    text = (ROOT / "docs/security.md").read_text()
    table = text.split("**Suppressions**", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("CKV"):
            rows.append((set(re.findall(r"CKV_AWS_\d+", cells[0])), set(re.findall(r"`(\w+)`", cells[1])), cells[2]))
    return rows


def test_every_suppression__is_listed_in_the_suppressions_table_with_where_it_applies(specialised):
    found: dict[tuple[str, str], set[str]] = {}
    for env in ENVIRONMENTS:
        for path in sorted((specialised / env).glob("*.json")):
            for logical_id, resource in json.loads(path.read_text())["Resources"].items():
                for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                    found.setdefault((skip["id"], logical_id), set()).add(env)
    rows = _suppressions_table()
    for (check, logical_id), envs in sorted(found.items()):
        listed = [where for ids, resources, where in rows if check in ids and logical_id in resources]
        assert listed, f"{check} on {logical_id} is suppressed but not listed in docs/security.md"
        assert listed[0].startswith("both" if envs == set(ENVIRONMENTS) else "dev only"), (check, logical_id, envs)
    for ids, resources, _ in rows:
        for check in ids:
            for logical_id in resources:
                assert (check, logical_id) in found, f"docs/security.md lists {check} on {logical_id}: not suppressed"
