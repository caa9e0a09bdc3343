"""Render the Sceptre project offline: templates, parameters and launch order per environment.

Uses Sceptre's Python API, because the CLI's ``dump template`` prints a YAML
template as one quoted string. Nothing here needs AWS credentials: resolvers
such as ``!stack_output`` are reported, not resolved.

    python -m tools.render            # writes build/rendered/<env>/<stack>.yaml and .deploy.yaml
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "prod")

# Account-specific values arrive with --var at launch time: prod's domain, dev's client range.
# Rendering offline needs stand-ins of the right shape; none of these exists in AWS.
EXAMPLE_VARIABLES_BY_ENV = {
    "prod": {
        "domain_name": "llm.example.com",
        "hosted_zone_id": "Z0EXAMPLE0000000000000",
        "admin_ui_cidr": "198.51.100.0/24",  # TEST-NET-2 (RFC 5737)
    },
    "dev": {"client_cidr": "192.0.2.0/24"},  # TEST-NET-1 (RFC 5737): an address range no client has
}
EXAMPLE_VARIABLES = EXAMPLE_VARIABLES_BY_ENV["prod"]
# !caller_user_id's stand-in: the aws:userid pattern of a role's sessions, shaped as STS gives it.
EXAMPLE_DEPLOYER = "AROAEXAMPLEDEPLOYER00:*"

# Stand-ins for stack outputs, shaped like the real ones, so that linting and
# the parameter check can see a whole environment before anything exists.
EXAMPLE_OUTPUTS = {
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "MasterKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-litellm/master-key-AbCdEf",
    "UiPasswordSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-litellm/ui-password-AbCdEf",
    "ApiKeysSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-litellm/api-keys-AbCdEf",
    "DatabaseSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-litellm/database-AbCdEf",
    "CacheAuthSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-litellm/cache-auth-AbCdEf",
    "CacheEndpoint": "master.dev-litellm-cache.abcdef.use1.cache.amazonaws.com",
    "CacheSecurityGroupId": "sg-0a1b2c3d4e5f60005",
    "TaskExecutionRoleArn": "arn:aws:iam::123456789012:role/litellm-dev-security-TaskExecutionRole-AbCdEf",
    "TaskRoleArn": "arn:aws:iam::123456789012:role/litellm-dev-security-TaskRole-AbCdEf",
    "RepositoryUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/dev-litellm-proxy",
    "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:dev-litellm-alarms",
    "ArtifactBucketName": "litellm-dev-security-artifactbucket-abcdef123456",
    "LambdaSecurityGroupId": "sg-0a1b2c3d4e5f60004",
    "MasterKeyRotationSecurityGroupId": "sg-0a1b2c3d4e5f60007",
    "VpcId": "vpc-0a1b2c3d4e5f67890",
    "PublicSubnetIds": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    "PrivateSubnetIds": ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"],
    "AlbSecurityGroupId": "sg-0a1b2c3d4e5f60001",
    "EcsSecurityGroupId": "sg-0a1b2c3d4e5f60002",
    "RdsSecurityGroupId": "sg-0a1b2c3d4e5f60003",
    "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/dev-litellm-tg/0123456789abcdef",
    "TargetGroupFullName": "targetgroup/dev-litellm-tg/0123456789abcdef",
    "LoadBalancerFullName": "app/dev-litellm-alb/0123456789abcdef",
}
# Outputs that differ by environment: dev runs no cache unless launched with --var enable_cache=true.
EXAMPLE_OUTPUTS_BY_ENVIRONMENT = {"dev": {"CacheEndpoint": "none"}}


@dataclass(frozen=True)
class StackOutputRef:
    """A parameter that comes from another stack's output (``!stack_output STACK::KEY``)."""

    stack: str
    output: str


@dataclass
class RenderedStack:
    """One stack of one environment, as Sceptre would send it."""

    name: str  # e.g. "dev/network"
    template_path: str  # relative to templates/
    body: str
    parameters: dict[str, str | list[str] | StackOutputRef]
    sceptre_user_data: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)  # stack paths, e.g. "dev/network"

    @property
    def template(self) -> dict[str, Any]:
        from llmgw.parameters import load_template

        return load_template(self.body)

    def example_parameters(self) -> dict[str, str | list[str]]:
        """Parameters with every stack output replaced by a stand-in of the right shape."""
        outputs = {**EXAMPLE_OUTPUTS, **EXAMPLE_OUTPUTS_BY_ENVIRONMENT.get(self.name.split("/")[0], {})}
        return {
            key: outputs[value.output] if isinstance(value, StackOutputRef) else value
            for key, value in self.parameters.items()
        }


def _plan(env: str, variables: dict[str, str] | None = None, examples: bool = True, project: Path = ROOT):
    """A Sceptre plan for ``env``; ``examples`` fills prod's --vars with stand-ins (offline use only)."""
    from sceptre.context import SceptreContext
    from sceptre.plan.plan import SceptrePlan

    context = SceptreContext(
        project_path=str(project),
        command_path=env,
        user_variables={**(EXAMPLE_VARIABLES_BY_ENV.get(env, {}) if examples else {}), **(variables or {})},
    )
    return SceptrePlan(context)


def _raw_parameters(stack: Any) -> dict[str, str | list[str] | StackOutputRef]:
    from sceptre.resolvers.stack_output import StackOutput

    raw = vars(stack)["_parameters"]  # unresolved: resolving would call AWS
    params: dict[str, str | list[str] | StackOutputRef] = {}
    for key, value in raw.items():
        if type(value).__name__ == "CallerUserId":
            params[key] = EXAMPLE_DEPLOYER  # who deploys is known only when someone does
        elif isinstance(value, StackOutput):
            dependency, output = value.argument.split("::")
            params[key] = StackOutputRef(dependency.removesuffix(".yaml"), output)
        elif isinstance(value, str | list):
            params[key] = value
        else:
            params[key] = value.resolve()  # this project's other resolvers (!image_tag) work offline
    return params


def render_environment(
    env: str, variables: dict[str, str] | None = None, project: Path = ROOT
) -> dict[str, RenderedStack]:
    """Render every stack of ``env`` of the project at ``project``; keys are stack paths such as ``dev/network``."""
    plan = _plan(env, variables, project=project)
    rendered = {}
    for stack, body in plan.generate().items():
        rendered[stack.name] = RenderedStack(
            name=stack.name,
            template_path=stack.template_handler_config["path"],
            body=body,
            parameters=_raw_parameters(stack),
            sceptre_user_data=dict(vars(stack)["_sceptre_user_data"]),
            dependencies=sorted(
                {(d if isinstance(d, str) else d.name).removesuffix(".yaml") for d in stack.dependencies}
            ),
        )
    return rendered


def launch_batches(env: str, variables: dict[str, str] | None = None) -> list[set[str]]:
    """The batches ``sceptre launch <env>`` runs, in order; stacks in a batch run in parallel."""
    plan = _plan(env, variables)
    plan.resolve("launch")
    return [{stack.name for stack in batch} for batch in plan.launch_order]


def write_rendered(out_dir: Path) -> list[Path]:
    """Write each rendered template and a cfn-lint deployment file beside it."""
    written = []
    for env in ENVIRONMENTS:
        for name, stack in render_environment(env).items():
            stem = out_dir / name
            stem.parent.mkdir(parents=True, exist_ok=True)
            template_file = stem.with_suffix(".yaml")
            template_file.write_text(stack.body)
            parameters = stack.example_parameters()
            declared = stack.template.get("Parameters", {})
            for key, value in parameters.items():
                # Sceptre passes a list parameter as text ("a,b", "" for none); cfn-lint's files take lists.
                if declared.get(key, {}).get("Type") == "CommaDelimitedList" and isinstance(value, str):
                    parameters[key] = value.split(",") if value else []
            deployment = {
                # cfn-lint reads this path relative to where it runs: the repository root.
                "template-file-path": _display(template_file),
                "parameters": parameters,
            }
            deploy_file = stem.with_suffix(".deploy.yaml")
            deploy_file.write_text(yaml.safe_dump(deployment, sort_keys=False))
            written.append(template_file)
    return written


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "rendered")
    args = parser.parse_args(argv)
    for path in write_rendered(args.out):
        print(_display(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
