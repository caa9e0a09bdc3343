"""tools/pipeline_rehearse.py runs a compiled pipeline as an Azure DevOps agent would: order,
conditions, macros, timeouts, checkouts and the AWS Toolkit's script step (no emulator needed)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tools.pipeline_rehearse import Agent, RehearsalError, expand_macros, run_pipeline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def agent(tmp_path) -> Agent:
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "marker.txt").write_text("the revision under test\n")
    work = tmp_path / "work"
    work.mkdir()
    return Agent(
        snapshot=snapshot,
        work=work,
        endpoint="http://127.0.0.1:9",
        ca_bundle=tmp_path / "ca.pem",
        groups={"litellm-dev": {"ALARM_EMAIL": "ops@example.com", "OPENAI_API_KEY": "sk-secret"}},
        secrets={"OPENAI_API_KEY"},
        connections={"aws-litellm-dev"},
    )


def run(agent: Agent, tmp_path: Path, text: str, **parameters):
    path = tmp_path / "azure-pipelines-fixture.yml"
    path.write_text(textwrap.dedent(text))
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    return run_pipeline(path, parameters, agent, logs), logs


def results(run_) -> dict[str, str]:
    return {j.name: j.result for s in run_.stages for j in s.jobs}


def test_failing_step__skips_the_rest_runs_always_steps_and_skips_dependants(agent, tmp_path):
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        jobs:
          - job: first
            steps:
              - bash: exit 3
                displayName: fails
              - bash: echo not reached
                displayName: skipped
              - bash: echo cleaned up
                displayName: cleanup
                condition: always()
          - job: second
            dependsOn: [first]
            steps:
              - bash: echo never
          - job: reporter
            dependsOn: [first]
            condition: failed()
            steps:
              - bash: echo first failed
        """,
    )

    assert outcome.result == "Failed"
    assert results(outcome) == {"first": "Failed", "second": "Skipped", "reporter": "Succeeded"}
    log = (logs / "__default.first.log").read_text()
    assert "fails: exit 3" in log and "skipped: skipped" in log and "cleaned up" in log


def test_failed_stage__skips_the_stages_after_it(agent, tmp_path):
    outcome, _ = run(
        agent,
        tmp_path,
        """\
        stages:
          - stage: One
            jobs:
              - job: a
                steps: [{bash: exit 1}]
          - stage: Two
            jobs:
              - job: b
                steps: [{bash: echo}]
        """,
    )

    assert [(s.name, s.result) for s in outcome.stages] == [("One", "Failed"), ("Two", "Skipped")]


def test_macros__take_group_and_predefined_values__and_an_undefined_one_stays_as_its_text(agent, tmp_path):
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        variables:
          - group: litellm-dev
          - name: aws.rolecredential.maxduration
            value: "3600"
        steps:
          - bash: |
              echo "email=$(ALARM_EMAIL) missing=$(DOMAIN_NAME) build=$(Build.BuildId)"
              echo "env=$AWS_ROLECREDENTIAL_MAXDURATION secret=${OPENAI_API_KEY:-unset}"
              test -f marker.txt && echo "checked out"
        """,
    )

    assert outcome.result == "Succeeded"
    log = (logs / "__default.__default.log").read_text()
    # the macro's text reaches bash, which runs DOMAIN_NAME as a command: what the lint forbids
    assert "email=ops@example.com missing= build=1" in log and "DOMAIN_NAME: command not found" in log
    # non-secret variables reach the environment; secret ones only when mapped
    assert "env=3600 secret=unset" in log
    assert "checked out" in log  # a regular job checks out implicitly


def test_job_past_its_timeout__is_cancelled_and_its_cleanup_still_runs(agent, tmp_path):
    agent.minute_seconds = 1  # a minute of the job's timeouts lasts a second here
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        jobs:
          - job: slow
            timeoutInMinutes: "1"
            cancelTimeoutInMinutes: "1"
            steps:
              - bash: sleep 30
              - bash: echo cleanup ran
                condition: canceled()
        """,
    )

    assert results(outcome) == {"slow": "Canceled"}
    assert "cleanup ran" in (logs / "__default.slow.log").read_text()


def test_deployment_job__checks_out_only_when_told(agent, tmp_path):
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        jobs:
          - deployment: deploy
            environment: litellm-dev
            strategy:
              runOnce:
                deploy:
                  steps:
                    - bash: test ! -e marker.txt && echo "no sources"
        """,
    )

    assert outcome.result == "Succeeded"
    log = (logs / "__default.deploy.log").read_text()
    assert "no sources" in log and "approval granted" in log


def test_aws_shell_script__runs_file_path_with_arguments_region_and_the_connections_credentials(agent, tmp_path):
    script = agent.snapshot / "show.sh"
    script.write_text('printf "%s|" "$@"; echo "region=$AWS_REGION key=$AWS_ACCESS_KEY_ID cwd=$PWD"\n')
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        steps:
          - task: AWSShellScript@1
            inputs:
              awsCredentials: aws-litellm-dev
              regionName: eu-west-1
              scriptType: filePath
              filePath: $(System.DefaultWorkingDirectory)/show.sh
              arguments: one "two words"
        """,
    )

    assert outcome.result == "Succeeded"
    log = (logs / "__default.__default.log").read_text()
    assert "one|two words|region=eu-west-1 key=testing cwd=" in log


def test_aws_shell_script__unknown_service_connection__fails_the_step(agent, tmp_path):
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        steps:
          - task: AWSShellScript@1
            inputs: {awsCredentials: aws-litellm-staging, regionName: us-east-1, scriptType: inline, inlineScript: echo}
        """,
    )

    assert outcome.result == "Failed"
    assert "service connection 'aws-litellm-staging' was not found" in (logs / "__default.__default.log").read_text()


def test_task_it_cannot_run__is_refused_naming_it(agent, tmp_path):
    with pytest.raises(RehearsalError, match="cannot run the step Docker@2"):
        run(agent, tmp_path, "steps:\n  - task: Docker@2\n    inputs: {command: build}\n")


def test_run_sh__passes_group_values_as_single_quoted_arguments_never_as_code(agent, tmp_path):
    # run.sh builds the --var flags from env: values; a value full of shell syntax stays one argument.
    shutil.copytree(ROOT / "azure-devops" / "scripts", agent.snapshot / "azure-devops" / "scripts")
    stub = agent.snapshot / ".venv" / "bin" / "sceptre"
    stub.parent.mkdir(parents=True)
    stub.write_text('#!/usr/bin/env bash\nprintf "<%s>" "$@"; echo\n')  # prints the argv it gets
    stub.chmod(0o755)
    outcome, logs = run(
        agent,
        tmp_path,
        """\
        variables:
          - group: litellm-dev
        steps:
          - task: AWSShellScript@1
            inputs:
              awsCredentials: aws-litellm-dev
              regionName: us-east-1
              scriptType: filePath
              filePath: $(System.DefaultWorkingDirectory)/azure-devops/scripts/run.sh
              arguments: sceptre launch -y dev/security.yaml
            env:
              ALARM_EMAIL: $(ALARM_EMAIL)
              DOMAIN_NAME: $(DOMAIN_NAME)
              HOSTED_ZONE_ID: "a b; touch pwned $(id)"
        """,
    )

    assert outcome.result == "Succeeded"
    log = (logs / "__default.__default.log").read_text()
    assert (
        "<--var><region=us-east-1><--var><alarm_email=ops@example.com><--var><domain_name=$(DOMAIN_NAME)>"
        "<--var><hosted_zone_id=a b; touch pwned $(id)><launch><-y><dev/security.yaml>"
    ) in log
    assert not list(agent.work.rglob("pwned"))


def test_expand_macros__nested_values_and_case_insensitive_names():
    variables = {"outer": "a $(Inner) c", "inner": "b"}

    assert expand_macros("$(OUTER) $(missing)", variables) == "a b c $(missing)"


def test_independent_jobs__run_at_the_same_time_as_with_parallel_agents(agent, tmp_path):
    # `waits` sees the flag only if `signals` runs while it waits: run one after the other, it fails.
    flag = tmp_path / "flag"
    outcome, _ = run(
        agent,
        tmp_path,
        f"""\
        jobs:
          - job: waits
            steps:
              - bash: for i in $(seq 100); do test -f {flag} && exit 0; sleep 0.1; done; exit 1
          - job: signals
            steps:
              - bash: sleep 0.5; touch {flag}
        """,
    )

    assert results(outcome) == {"waits": "Succeeded", "signals": "Succeeded"}
