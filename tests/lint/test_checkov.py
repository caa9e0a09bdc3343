"""checkov, as make security runs it, can fail: it finds a real weakening and a planted secret.

These start checkov, so `make lint` (make security) runs them, not `make test`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.render import ENVIRONMENTS, ROOT, write_rendered
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


# What checkov cannot decide on a raw render: each is a value a parameter or condition sets, resolved
# (and suppressed in dev only) in the specialised renders, which the gate scans.
RAW_ONLY = {
    ("CKV_AWS_65", "AWS::ECS::Cluster.Cluster"),  # Container Insights: EnableContainerInsights
    ("CKV_AWS_157", "AWS::RDS::DBInstance.DBInstance"),  # Multi-AZ: the MultiAZ parameter
    ("CKV_AWS_23", "AWS::EC2::SecurityGroup.AlbSecurityGroup"),  # dev's port-80 rule sits in an Fn::If
}


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    write_rendered(out)
    return out


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_as_it_ships__scans_each_raw_render_without_crashing(raw, env):
    """Organisations run their scanner over a repository's templates as they are, unspecialised."""
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(raw / env), "--framework", "cloudformation", "--skip-download", "--output",
         "json", "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    assert failed == RAW_ONLY
