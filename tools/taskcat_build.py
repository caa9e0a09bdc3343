"""Build taskcat's input from the Sceptre project: the renders, the zips, and an entrypoint that nests them.

    python -m tools.taskcat_build          writes build/taskcat/

taskcat tests one template per test and cannot order templates, so the five
stacks become ``AWS::CloudFormation::Stack`` resources of one entrypoint,
``build/taskcat/<variant>/main.yaml``. Each nested template is Sceptre's own
render of the environment, and each parameter is the value Sceptre passes,
with ``!stack_output`` turned into ``!GetAtt <Stack>.Outputs.<Output>``: the
two deployments cannot drift, and a test compares their wiring.

Where a taskcat run must differ, it says so here (TASKCAT_OVERRIDES): it
names resources after a random project code, reads the function zips from
its own staging bucket, and starts with no task (the image push and the
secret seeding are Sceptre hooks; tools/taskcat_gateway.py runs their code
after the create and scales the service up).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from llmgw.lambda_package import build_zip
from llmgw.stacks import STACKS
from tools.render import ROOT, RenderedStack, StackOutputRef, launch_batches, render_environment

OUT = ROOT / "build" / "taskcat"
# variant -> (Sceptre environment rendered for it, parameter values changed for the variant)
VARIANTS: dict[str, tuple[str, dict[str, dict[str, str]]]] = {
    "dev": ("dev", {}),
    # prod's sizes on dev's render: prod's Rules would demand a real domain for
    # HTTPS and the WAF, and its policies would leave a snapshot and retained
    # keys behind in a throwaway account. HTTPS, WAF and deletion protection stay off.
    "prod-shaped": (
        "dev",
        {
            "network": {"NatGateways": "2"},
            "database": {
                "DBInstanceClass": "db.t3.small",
                "MultiAZ": "true",
                "EnablePerformanceInsights": "true",
                "EnableCache": "true",
                "CacheNodeType": "cache.t4g.small",
                "CacheMultiAZ": "true",
            },
            "litellm": {
                "TaskCpu": "1024",
                "TaskMemory": "2048",
                "CapacityProvider": "FARGATE",
                "EnableContainerInsights": "true",
                "LiteLLMLog": "ERROR",
            },
        },
    ),
}
STAGED = "build/taskcat"  # where taskcat finds these files under its key prefix
LOGICAL_IDS = {stack: f"{stack.capitalize()}Stack" for stack in STACKS}
TASKCAT_OVERRIDES: dict[str, dict[str, Any]] = {
    # name everything after the test's random project code, so runs never collide
    # the secrets' policies let the run's own principal read what tools/taskcat_gateway.py seeds
    "*": {"ProjectCode": {"Ref": "ProjectCode"}, "DeployerUserId": {"Ref": "DeployerUserId"}},
    # the zips taskcat staged, not the artifact bucket !upload_lambdas fills
    "database": {
        "ArtifactBucketName": {"Ref": "QSS3BucketName"},
        "MasterKeyRotationCodeKey": "code-key:master_key_rotation",
        "DbRotationCodeKey": "code-key:db_rotation",
    },
    # no task at create: no hook has pushed an image or seeded a master key yet. After the create,
    # tools/taskcat_gateway.py pushes and seeds with the hooks' code, then raises MinCapacity to 1.
    # The migration custom resource skips while MinCapacity is 0, and runs when it is raised.
    "litellm": {
        "MinCapacity": "0",
        "ArtifactBucketName": {"Ref": "QSS3BucketName"},
        "DbMigrationCodeKey": "code-key:db_migration",
        "SecretAgeCodeKey": "code-key:secret_age",
        "UiPasswordRotationCodeKey": "code-key:ui_password_rotation",
    },
}


def _code_key(value: str) -> dict[str, Any]:
    name = value.removeprefix("code-key:")
    return {"Fn::Sub": f"${{QSS3KeyPrefix}}{STAGED}/lambdas/{build_zip(ROOT, name, OUT / 'lambdas').name}"}


def nested_parameters(
    stack: str, rendered: RenderedStack, shape: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """The parameters a nested stack gets: Sceptre's, with outputs read from sibling stacks."""
    values: dict[str, Any] = {}
    for key, value in rendered.parameters.items():
        if isinstance(value, StackOutputRef):
            source = value.stack.split("/", 1)[1]
            values[key] = {"Fn::GetAtt": [LOGICAL_IDS[source], f"Outputs.{value.output}"]}
        else:
            values[key] = ",".join(value) if isinstance(value, list) else value
    for scope in ("*", stack):
        for key, value in TASKCAT_OVERRIDES.get(scope, {}).items():
            if key in values:
                values[key] = _code_key(value) if str(value).startswith("code-key:") else value
    values.update((shape or {}).get(stack, {}))
    return values


def entrypoint(variant: str, env: str, stacks: dict[str, RenderedStack]) -> dict[str, Any]:
    """The entrypoint template that nests the five rendered stacks in Sceptre's order."""
    resources: dict[str, Any] = {}
    order = [stack.split("/", 1)[1] for batch in launch_batches(env) for stack in sorted(batch)]
    for stack in order:
        rendered = stacks[f"{env}/{stack}"]
        resource: dict[str, Any] = {
            "Type": "AWS::CloudFormation::Stack",
            "Properties": {
                "TemplateURL": {
                    "Fn::Sub": "https://${QSS3BucketName}.s3.${QSS3BucketRegion}.${AWS::URLSuffix}/"
                    f"${{QSS3KeyPrefix}}{STAGED}/{variant}/{stack}.yaml"
                },
                "Parameters": nested_parameters(stack, rendered, VARIANTS[variant][1]),
                "TimeoutInMinutes": 90,
            },
        }
        # Sceptre `dependencies:` that carry no data become DependsOn.
        explicit = sorted(
            LOGICAL_IDS[d.split("/", 1)[1]]
            for d in rendered.dependencies
            if LOGICAL_IDS[d.split("/", 1)[1]] not in _referenced(resource)
        )
        if explicit:
            resource["DependsOn"] = explicit
        resources[LOGICAL_IDS[stack]] = resource
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"LiteLLM gateway, the five stacks of {env} nested for taskcat ({variant}). Generated by "
            "tools/taskcat_build.py from Sceptre's renders; edit the templates and configs, not this file."
        ),
        "Metadata": {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": [
                    {
                        "Label": {"default": "Staging (filled by taskcat)"},
                        "Parameters": ["QSS3BucketName", "QSS3BucketRegion", "QSS3KeyPrefix"],
                    },
                    {"Label": {"default": "Deployment"}, "Parameters": ["ProjectCode", "DeployerUserId"]},
                ]
            }
        },
        "Parameters": {
            "QSS3BucketName": {
                "Type": "String",
                "Description": "Bucket taskcat staged the project in ($[taskcat_autobucket]).",
                "AllowedPattern": "^[0-9a-z][0-9a-z.-]{1,61}[0-9a-z]$",
                "ConstraintDescription": "must be an S3 bucket name.",
            },
            "QSS3BucketRegion": {
                "Type": "String",
                "Description": "Region of QSS3BucketName ($[taskcat_current_region]).",
                "AllowedPattern": "^[a-z]{2}(-[a-z]+)+-\\d$",
                "ConstraintDescription": "must be a region name such as us-east-1.",
            },
            "QSS3KeyPrefix": {
                "Type": "String",
                "Description": "Key prefix of the staged project, ending in a slash.",
                "Default": "litellm-gateway/",
                "AllowedPattern": "^[0-9a-zA-Z_/-]*/$",
                "ConstraintDescription": "must be letters, digits, - _ and /, ending in /.",
            },
            "DeployerUserId": {
                "Type": "String",
                "Description": (
                    "aws:userid of the principal that runs taskcat and the gateway job, which the secrets' "
                    "policies let read them: the pipeline writes it into .taskcat_overrides.yml from "
                    "aws sts get-caller-identity (a role's id and ':*')."
                ),
                "AllowedPattern": "^[A-Za-z0-9@._-][A-Za-z0-9:@._-]{10,125}(:\\*)?$",
                "ConstraintDescription": "must be an aws:userid such as AROAEXAMPLEID1234:*.",
            },
            "ProjectCode": {
                "Type": "String",
                "Description": "Names every resource; taskcat passes a random one so runs never collide.",
                "Default": "litellm",
                "AllowedPattern": "^[a-z0-9][a-z0-9-]{1,19}$",
                "ConstraintDescription": "2-20 lower-case letters, digits and hyphens.",
            },
        },
        "Resources": resources,
        "Outputs": {
            key: {"Description": description, "Value": {"Fn::GetAtt": [LOGICAL_IDS[stack], f"Outputs.{key}"]}}
            for key, stack, description in (
                ("ServiceUrl", "alb", "Base URL of the gateway."),
                ("ClusterName", "litellm", "ECS cluster of the gateway."),
                ("DBEndpoint", "database", "Host name of the database."),
                ("RepositoryUri", "security", "ECR repository of the gateway image."),
            )
        },
    }


def _referenced(resource: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::GetAtt" in node:
                found.add(node["Fn::GetAtt"][0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(resource)
    return found


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def build() -> list[Path]:
    written = []
    for variant, (env, _) in VARIANTS.items():
        stacks = render_environment(env)
        directory = OUT / variant
        directory.mkdir(parents=True, exist_ok=True)
        for name, rendered in stacks.items():
            path = directory / f"{name.split('/', 1)[1]}.yaml"
            path.write_text(rendered.body)
            written.append(path)
        main = directory / "main.yaml"
        main.write_text(yaml.dump(entrypoint(variant, env, stacks), Dumper=_NoAliases, sort_keys=False, width=120))
        written.append(main)
    return written


def main() -> int:
    for path in build():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
