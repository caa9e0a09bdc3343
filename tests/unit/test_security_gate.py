"""The security gate can fail: checkov finds a real weakening, a planted secret, and every skip has a reason."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools.render import ENVIRONMENTS, ROOT
from tools.specialise import write_specialised

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def specialised(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("specialised")
    write_specialised(out)
    return out


def checkov(*args: str) -> subprocess.CompletedProcess[str]:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make checkov-venv`")
    return subprocess.run(
        [str(CHECKOV), *args, "--skip-download", "--compact", "--quiet"], capture_output=True, text=True, check=False
    )


def test_gate__current_templates__have_no_unsuppressed_finding(specialised):
    result = checkov("--directory", str(specialised), "--framework", "cloudformation", "secrets")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("stack", "resource", "weaken", "check"),
    [
        ("database", "DBInstance", lambda p: p.update(PubliclyAccessible=True), "CKV_AWS_17"),
        ("database", "DBInstance", lambda p: p.update(StorageEncrypted=False), "CKV_AWS_16"),
        ("security", "KmsKey", lambda p: p.update(EnableKeyRotation=False), "CKV_AWS_7"),
        ("litellm", "LogGroup", lambda p: p.pop("KmsKeyId"), "CKV_AWS_158"),
        ("security", "Repository", lambda p: p.update(ImageTagMutability="MUTABLE"), "CKV_AWS_51"),
    ],
    ids=["public database", "unencrypted database", "key without rotation", "log group without key", "mutable tags"],
)
def test_gate__weakened_prod_template__fails_naming_the_check(specialised, tmp_path, stack, resource, weaken, check):
    template = json.loads((specialised / "prod" / f"{stack}.json").read_text())
    weaken(template["Resources"][resource]["Properties"])
    (tmp_path / f"{stack}.json").write_text(json.dumps(template))

    result = checkov("--directory", str(tmp_path), "--framework", "cloudformation")

    assert result.returncode == 1
    assert check in result.stdout and resource in result.stdout


def test_gate__provider_key_committed_to_a_config__fails(tmp_path):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    planted = "AKIA" + "ZQ3DRSTUVWXY4ABC"  # shaped like an AWS access key ID; split so this file holds none
    config = tmp_path / "config" / "dev" / "security.yaml"
    config.write_text(config.read_text() + f'  LeakedAccessKey: "{planted}"\n')

    result = checkov("--directory", str(tmp_path / "config"), "--framework", "secrets")

    assert result.returncode == 1
    assert "CKV_SECRET_2" in result.stdout  # AWS access key


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
