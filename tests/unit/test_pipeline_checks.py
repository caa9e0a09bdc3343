"""`make lint`'s checks on compiled pipelines: each defect kind, reintroduced into a small pipeline
that passes, fails with a message that names it (tools/pipeline_checks.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools.pipeline_checks import check_pipelines

GOOD = textwrap.dedent(
    """\
    trigger: none
    pr: none
    lockBehavior: sequential
    parameters:
      - name: environment
        type: string
        default: dev
        values: [dev, prod]
    variables:
      - group: litellm-${{ parameters.environment }}
      - name: aws.rolecredential.maxduration
        value: "3600"
    stages:
      - stage: Deploy
        jobs:
          - deployment: launch
            environment: litellm-${{ parameters.environment }}
            pool:
              vmImage: ubuntu-latest
            timeoutInMinutes: "60"
            strategy:
              runOnce:
                deploy:
                  steps:
                    - task: AWSShellScript@1
                      displayName: launch
                      inputs:
                        awsCredentials: aws-litellm-${{ parameters.environment }}
                        regionName: us-east-1
                        scriptType: inline
                        inlineScript: >-
                          .venv/bin/sceptre --var "domain_name=$DOMAIN_NAME"
                          launch -y ${{ parameters.environment }}/alb.yaml
                      env:
                        DOMAIN_NAME: $(DOMAIN_NAME)
          - deployment: smoke
            dependsOn: [launch]
            environment: litellm-${{ parameters.environment }}
            pool:
              vmImage: ubuntu-latest
            timeoutInMinutes: "30"
            strategy:
              runOnce:
                deploy:
                  steps:
                    - task: AWSShellScript@1
                      displayName: smoke
                      inputs:
                        awsCredentials: aws-litellm-${{ parameters.environment }}
                        regionName: us-east-1
                        scriptType: filePath
                        filePath: azure-devops/scripts/run.sh
                        arguments: ops smoke ${{ parameters.environment }}
    """
)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "azure-pipelines-fixture.yml").write_text(text)
    return check_pipelines(tmp_path)[0]


def mutated(*edits: tuple[str, str]) -> str:
    text = GOOD
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_fixture__as_written__passes_every_check(tmp_path):
    assert problems_of(tmp_path, GOOD) == []


LAUNCH_SCRIPT = '--var "domain_name=$DOMAIN_NAME"'
SMOKE_INPUTS = "                    scriptType: filePath\n"
SMOKE_JOB = "      - deployment: smoke\n        dependsOn: [launch]\n"
SMOKE_STEPS = "        strategy:\n          runOnce:\n            deploy:\n              steps:\n"
MAXDURATION = '  - name: aws.rolecredential.maxduration\n    value: "3600"\n'

# defect -> (edits that reintroduce it into GOOD, what the failure must say)
DEFECTS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "credentials expire mid-job (the toolkit's 900 s default)": ([(MAXDURATION, "")], "its AWS credentials last 15"),
    "a job longer than a free hosted agent runs": (
        [('timeoutInMinutes: "60"', 'timeoutInMinutes: "120"')],
        "exceeds the 60 minutes a free Microsoft-hosted job runs",
    ),
    "a variable-group macro pasted into a script": (
        [('--var "domain_name=$DOMAIN_NAME"', "--var domain_name=$(DOMAIN_NAME)")],
        "pastes $(DOMAIN_NAME) into its script",
    ),
    "a macro pasted through a pipeline variable that holds one": (
        [
            (MAXDURATION, MAXDURATION + "  - name: sceptreVars\n    value: --var zone=$(HOSTED_ZONE_ID)\n"),
            (LAUNCH_SCRIPT, "$(sceptreVars) " + LAUNCH_SCRIPT),
        ],
        "pastes $(sceptreVars) into its script (HOSTED_ZONE_ID from outside the pipeline)",
    ),
    "a service connection from a free-text parameter": (
        [
            ("parameters:\n", "parameters:\n  - name: connection\n    type: string\n    default: aws-litellm-dev\n"),
            (
                "awsCredentials: aws-litellm-${{ parameters.environment }}",
                "awsCredentials: ${{ parameters.connection }}",
            ),
        ],
        "comes from a free-text parameter",
    ),
    "scriptType filePath without filePath": (
        [("                    filePath: azure-devops/scripts/run.sh\n", "")],
        "needs filePath (its scriptType is filePath)",
    ),
    "scriptType inline without inlineScript": (
        [("inlineScript: >-", "description: >-")],
        "needs inlineScript (its scriptType is inline)",
    ),
    "disableAutoCwd without workingDirectory": (
        [(SMOKE_INPUTS, SMOKE_INPUTS + "                    disableAutoCwd: 'true'\n")],
        "needs workingDirectory (its disableAutoCwd is true)",
    ),
    "an input the task ignores": (
        [(SMOKE_INPUTS, SMOKE_INPUTS + "                    inlineScript: echo\n")],
        "sets inlineScript, which the task ignores unless scriptType is inline",
    ),
    "AWS work outside the environment's approval and lock": (
        [
            (SMOKE_JOB, "  - stage: Smoke\n    jobs:\n      - job: smoke\n"),
            (
                "        environment: litellm-${{ parameters.environment }}\n"
                '        pool:\n          vmImage: ubuntu-latest\n        timeoutInMinutes: "30"\n',
                '        pool:\n          vmImage: ubuntu-latest\n        timeoutInMinutes: "30"\n',
            ),
            ('timeoutInMinutes: "30"\n' + SMOKE_STEPS, 'timeoutInMinutes: "30"\n        steps:\n'),
        ],
        "stage Smoke: uses the service connection aws-litellm-dev without a deployment job in the environment",
    ),
    "no lockBehavior for the Exclusive lock check": (
        [("lockBehavior: sequential\n", "")],
        "without lockBehavior: sequential",
    ),
    "a dependsOn naming no job": ([("dependsOn: [launch]", "dependsOn: [lanch]")], "depends on lanch, which is no job"),
    "two jobs of one name": ([("deployment: smoke", "deployment: launch")], "the name is used by 2 jobs"),
    "an invalid job name": ([("deployment: smoke", "deployment: smoke-test")], "must be letters, digits and _"),
    "clean-up after a cancel in the default 5 minutes": (
        [("displayName: smoke\n", "displayName: smoke\n                  condition: always()\n")],
        "cleans up after a cancel, in cancelTimeoutInMinutes 5",
    ),
    "another environment's service connection": (
        [("awsCredentials: aws-litellm-${{ parameters.environment }}", "awsCredentials: aws-litellm-prod")],
        "the connection aws-litellm-prod does not belong to the environment dev",
    ),
    "a stack config that does not exist": (
        [("ops smoke ${{ parameters.environment }}", "ops prerequisites dev/gateway.yaml")],
        "names dev/gateway.yaml, which config/ lacks",
    ),
    "a construct the expander does not know": (
        [("displayName: smoke", "displayName: ${{ counter('x', 1) }}")],
        "does not know the function counter()",
    ),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_lint__defect_reintroduced__fails_naming_it(tmp_path, defect):
    edits, message = DEFECTS[defect]

    problems = problems_of(tmp_path, mutated(*edits))

    assert any(message in p for p in problems), problems
