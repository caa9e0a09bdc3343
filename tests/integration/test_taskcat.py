"""taskcat runs the entrypoints against the local emulator, through its Python API.

Offline, `taskcat test run` fails however the stacks end (its HTML report
fetches CSS from the internet) and its auto-created bucket's policy is
refused by moto, so the run uses taskcat's API with a pre-created bucket and
no report, as the field notes found.
"""

from __future__ import annotations

import os
import re
from unittest import mock

import pytest
import yaml

from tools.local import LOCAL_CLIENT_CIDR
from tools.render import ROOT, StackOutputRef, launch_batches, render_environment
from tools.taskcat_build import LOGICAL_IDS, TASKCAT_OVERRIDES, VARIANTS, build, entrypoint
from tools.taskcat_gateway import AGENT_RULE, GatewayError
from tools.taskcat_gateway import clean as clean_run
from tools.taskcat_gateway import run as start_gateways

OVERRIDDEN = {key for overrides in TASKCAT_OVERRIDES.values() for key in overrides}


@pytest.fixture(scope="module")
def built(emulator):
    # The zips trust the emulator's RDS CA, as `make local` packs them.
    with mock.patch.dict(os.environ, {"LLMGW_RDS_CA_BUNDLE": str(emulator.rds_ca_bundle)}):
        build()
    return ROOT / "build" / "taskcat"


@pytest.mark.parametrize("variant", VARIANTS)
def test_entrypoint__nests_the_stacks_in_sceptres_launch_order_with_sceptres_wiring(variant):
    env, shape = VARIANTS[variant]
    stacks = render_environment(env)
    resources = entrypoint(variant, env, stacks)["Resources"]

    assert list(resources) == [LOGICAL_IDS[s.split("/")[1]] for batch in launch_batches(env) for s in sorted(batch)]
    for path, rendered in stacks.items():
        stack = path.split("/")[1]
        nested = resources[LOGICAL_IDS[stack]]["Properties"]["Parameters"]
        assert set(nested) == set(rendered.parameters), path
        for key, value in rendered.parameters.items():
            if key in shape.get(stack, {}):
                assert nested[key] == shape[stack][key], f"{path}.{key}"
            elif isinstance(value, StackOutputRef) and key != "ArtifactBucketName":
                source = LOGICAL_IDS[value.stack.split("/")[1]]
                assert nested[key] == {"Fn::GetAtt": [source, f"Outputs.{value.output}"]}, f"{path}.{key}"
            elif key not in OVERRIDDEN:
                assert nested[key] == (",".join(value) if isinstance(value, list) else value), f"{path}.{key}"
    # Litellm comes after database, as in Sceptre's order: through the cache endpoint it reads.
    litellm = resources["LitellmStack"]["Properties"]["Parameters"]
    assert litellm["CacheEndpoint"] == {"Fn::GetAtt": ["DatabaseStack", "Outputs.CacheEndpoint"]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant__changes_only_parameters_the_templates_declare(variant):
    env, shape = VARIANTS[variant]
    stacks = render_environment(env)
    for stack, values in shape.items():
        declared = yaml.load(stacks[f"{env}/{stack}"].body, Loader=yaml.BaseLoader)["Parameters"]
        for key, value in values.items():
            assert key in declared, f"{variant}: {stack} has no parameter {key}"
            allowed = declared[key].get("AllowedValues")
            assert allowed is None or value in allowed, f"{variant}: {stack}.{key}={value} not in {allowed}"


def test_entrypoint__nested_templates_are_sceptres_renders(built):
    for variant, (env, _) in VARIANTS.items():
        for path, rendered in render_environment(env).items():
            assert (built / variant / f"{path.split('/')[1]}.yaml").read_text() == rendered.body, (variant, path)


def test_taskcat_run__every_test_completes_serves_a_smoke_tested_gateway_and_is_cleaned_up(emulator, built, tmp_path):
    from taskcat.testing import CFNTest

    bucket = "taskcat-offline-staging"
    emulator.client("s3").create_bucket(Bucket=bucket)
    # The taskcat pipeline's first step: taskcat runs no Sceptre hooks, so not !service_linked_role.
    emulator.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    with mock.patch.dict(os.environ, {**emulator.env, "HOME": str(tmp_path)}):
        test = CFNTest.from_file(project_root=str(ROOT), input_file=".taskcat.yml", regions="us-east-1")
        test.config.config.project.s3_bucket = bucket
        # what the pipeline writes into .taskcat_overrides.yml: this principal's aws:userid pattern
        caller = emulator.client("sts").get_caller_identity()["UserId"]
        deployer = f"{caller.split(':')[0]}:*" if ":" in caller else caller
        for case in test.config.config.tests.values():  # tests copy the project's settings when loaded
            case.s3_bucket = bucket
            case.parameters["DeployerUserId"] = deployer
        test.lint_disable = True
        test.dont_wait_for_delete = False  # as the pipeline's `taskcat test clean --wait-for-delete`
        try:
            test.run()
        except Exception as err:
            raise AssertionError(_failures(emulator.client("cloudformation"))) from err
        try:
            statuses = _stack_statuses(emulator.client("cloudformation"))
            root_name = re.compile(rf"^tCaT-({'|'.join(map(re.escape, VARIANTS))})-[0-9a-f]+$")
            roots = {name: status for name, status in statuses.items() if root_name.match(name)}
            assert sorted(root_name.match(name)[1] for name in roots) == sorted(VARIANTS), statuses
            for root, status in roots.items():
                nested = {n[len(root) + 1 :].split("-")[0]: s for n, s in statuses.items() if n.startswith(root + "-")}
                assert status == "CREATE_COMPLETE", (root, _failures(emulator.client("cloudformation")))
                assert nested == dict.fromkeys(LOGICAL_IDS.values(), "CREATE_COMPLETE"), root
            # the pipeline's step after the create: push, seed, one task per service, a smoke test
            with mock.patch.dict(os.environ, emulator.env):
                start_gateways(test.config.config.project.name, "us-east-1", "gpt-4o-mini", requests=10, poll=1)
            ecs = emulator.client("ecs")
            for cluster in ecs.list_clusters()["clusterArns"]:
                for service in ecs.describe_services(cluster=cluster, services=ecs.list_services(cluster=cluster)[
                    "serviceArns"])["services"]:  # fmt: skip
                    assert service["runningCount"] >= 1, service["serviceName"]
            assert len(ecs.list_clusters()["clusterArns"]) == len(VARIANTS)
            # dev's load balancer answers only ClientCidr (a stand-in here): the smoke test let itself in
            ec2 = emulator.client("ec2")
            for group in ec2.describe_security_groups(Filters=[{"Name": "description", "Values": [
                    "LiteLLM load balancer"]}])["SecurityGroups"]:  # fmt: skip
                opened = {(p["FromPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p.get("IpRanges", [])
                          if r.get("Description") == AGENT_RULE}  # fmt: skip
                assert opened == {(80, LOCAL_CLIENT_CIDR), (443, LOCAL_CLIENT_CIDR)}, group["GroupId"]
            # the variant's shape reached the nested stacks
            cloudformation = emulator.client("cloudformation")
            for root in roots:
                _, shape = VARIANTS[root_name.match(root)[1]]
                for stack, values in shape.items():
                    (name,) = [n for n in statuses if n.startswith(f"{root}-{LOGICAL_IDS[stack]}-")]
                    (described,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
                    passed = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
                    assert {key: passed[key] for key in values} == values, name
        finally:
            test.clean_up()
        left = _stack_statuses(emulator.client("cloudformation"))
        assert left == {}, "taskcat's clean-up deletes every stack"
        # the pipeline's last step: nothing of the run left, its staging bucket deleted
        project = test.config.config.project.name
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket=f"tcat-{project}-k3p9x2m1")  # what --no-delete leaves
        s3.put_object(Bucket=f"tcat-{project}-k3p9x2m1", Key="litellm-gateway/main.yaml", Body=b"{}")
        s3.create_bucket(Bucket=f"tcat-{project}-other-k3p9x2m1")  # another project's: kept
        s3.put_bucket_versioning(Bucket=f"tcat-{project}-k3p9x2m1", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=f"tcat-{project}-k3p9x2m1", Key="litellm-gateway/main.yaml", Body=b"{}")
        with mock.patch.dict(os.environ, emulator.env):
            clean_run(project, "us-east-1")
        buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert f"tcat-{project}-k3p9x2m1" not in buckets and f"tcat-{project}-other-k3p9x2m1" in buckets
        # a stack taskcat's clean-up failed to delete (it only logs that) fails the check, named
        cloudformation = emulator.client("cloudformation")
        cloudformation.create_stack(
            StackName="tCaT-dev-leftover", TemplateBody='{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}',
            Tags=[{"Key": "taskcat-project-name", "Value": project}],
        )  # fmt: skip
        emulator.wait_for_stack("tCaT-dev-leftover")
        with mock.patch.dict(os.environ, emulator.env), pytest.raises(GatewayError, match="left tCaT-dev-leftover"):
            clean_run(project, "us-east-1")
        cloudformation.delete_stack(StackName="tCaT-dev-leftover")


def _failures(cloudformation) -> list[str]:
    """Every CREATE_FAILED reason of every stack, nested ones included, for an assertion's message."""
    found = []
    for stack in cloudformation.list_stacks()["StackSummaries"]:  # deleted ones too: a failed nested stack
        for event in cloudformation.describe_stack_events(StackName=stack["StackId"])["StackEvents"]:
            if event["ResourceStatus"] == "CREATE_FAILED":
                found.append(f"{stack['StackName']}/{event['LogicalResourceId']}: {event.get('ResourceStatusReason')}")
    return found


def _stack_statuses(cloudformation) -> dict[str, str]:
    stacks = cloudformation.describe_stacks()["Stacks"]
    return {s["StackName"]: s["StackStatus"] for s in stacks if s["StackName"].startswith("tCaT-")}
