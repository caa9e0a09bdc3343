"""Refuse a change that would replace or delete a stateful resource.

    python -m tools.replacement_guard --against origin/main     compare the working tree with a revision
    python -m tools.replacement_guard --against HEAD~1
    python -m tools.ops replacement-guard prod/database.yaml    compare with the live stack (pipelines)

CloudFormation replaces a resource (creates a new one, deletes the old) when
a create-only property changes, and deletes it when its logical ID
disappears. For the database, the key, the secrets, the repository, the log
groups and the buckets that means lost data, so both environments are
rendered from both trees, specialised to their parameter values, and every
stateful resource of the old render is compared with the new one. The
create-only properties come from the resource schemas cfn-lint ships, so
the list follows AWS's, not ours.

Some properties CloudFormation owns the value of: an edit to a secret's
``SecretString`` or ``GenerateSecretString`` is applied in place, by writing a
new value over the stored one. That resets the provider keys the seeding
hook stored, or regenerates the salt key, which leaves every credential
LiteLLM stored undecryptable; so the guard refuses it like a replacement.

A deliberate replacement (say, a planned database migration) is allowed by
naming it: ``--allow prod/database/DBInstance``.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tools.render import ENVIRONMENTS, ROOT
from tools.specialise import specialise_environment

# What holds data that a replacement would lose, or whose replacement would
# orphan it (a retained old key or secret that nothing uses any more).
STATEFUL_TYPES = (
    "AWS::RDS::DBInstance",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::ECR::Repository",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
)
# Properties whose edit makes CloudFormation write a new value over the stored one, and what that loses.
VALUE_OWNING_PROPERTIES = {
    "AWS::SecretsManager::Secret": {
        "SecretString": "the stored provider keys are reset to the template's empty slots",
        "GenerateSecretString": "a new value is generated; for the master-key secret, a new LITELLM_SALT_KEY makes "
        "every credential stored in the database undecryptable",
    },
}
# What a render needs of a tree: the configs, the templates, and the
# directories the content-hash resolvers read.
PROJECT_PATHS = ("config", "templates", "image", "lambdas")

# A resource's identity: its type and the values of its create-only properties.
Identity = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Replacement:
    """One stateful resource that the change would replace or delete."""

    resource: str  # env/stack/LogicalId
    reason: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.reason}"


@cache
def create_only_properties(resource_type: str) -> tuple[str, ...]:
    """Top-level properties whose change forces replacement, from cfn-lint's copy of the AWS schema."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    paths = schema.get("createOnlyProperties", [])
    return tuple(sorted({path.removeprefix("/properties/").split("/")[0] for path in paths}))


def stateful_identities(project: Path = ROOT) -> dict[str, Identity]:
    """Every stateful resource of every environment, keyed ``env/stack/LogicalId``."""
    found: dict[str, Identity] = {}
    for env in ENVIRONMENTS:
        for name, resolved, values in specialise_environment(env, project):
            found.update(identities_of(name, substitute(resolved, values)))
    return found


def substitute(node: Any, values: Mapping[str, str]) -> Any:
    """Fill parameter values into ``Fn::Sub`` strings, so a parameter that names a resource is compared by value."""
    if isinstance(node, list):
        return [substitute(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and "Fn::Sub" in node:
        text, local = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]
        known = {**values, **{k: v for k, v in local.items() if isinstance(v, str)}}
        filled = re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: known.get(m[1], m[0]), text)
        return filled if "${" not in filled else {"Fn::Sub": filled if not local else [filled, local]}
    return {key: substitute(value, values) for key, value in node.items()}


def identities_of(stack_name: str, template: Mapping[str, Any]) -> dict[str, Identity]:
    """The stateful resources of one specialised template, keyed ``env/stack/LogicalId``."""
    found: dict[str, Identity] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource["Type"] in STATEFUL_TYPES:
            properties = resource.get("Properties") or {}
            keys = set(create_only_properties(resource["Type"])) | set(
                VALUE_OWNING_PROPERTIES.get(resource["Type"], {})
            )
            fixed = {key: properties.get(key) for key in sorted(keys)}
            found[f"{stack_name}/{logical_id}"] = (resource["Type"], fixed)
    return found


def replacements(
    old: Mapping[str, Identity], new: Mapping[str, Identity], allow: Iterable[str] = ()
) -> list[Replacement]:
    """What going from ``old`` to ``new`` would replace or delete, except the resources in ``allow``."""
    found = []
    for resource, (old_type, old_fixed) in sorted(old.items()):
        if resource in allow:
            continue
        if resource not in new:
            found.append(Replacement(resource, f"{old_type} would be deleted (its logical ID is gone)"))
            continue
        new_type, new_fixed = new[resource]
        if new_type != old_type:
            found.append(Replacement(resource, f"type changes from {old_type} to {new_type}"))
            continue
        for key in sorted(old_fixed):
            if old_fixed[key] == new_fixed.get(key):
                continue
            loses = VALUE_OWNING_PROPERTIES.get(old_type, {}).get(key)
            if loses:
                found.append(
                    Replacement(
                        resource,
                        f"{key} changes, so CloudFormation would write a new value over the stored one: {loses}",
                    )
                )
            else:
                found.append(
                    Replacement(
                        resource,
                        f"{key} is create-only and changes ({old_fixed[key]!r} -> {new_fixed.get(key)!r}), "
                        f"so CloudFormation would replace the {old_type}",
                    )
                )
    return found


def deployed_replacements(
    stack_name: str,
    deployed_body: str | Mapping[str, Any],
    deployed_parameters: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
    project: Path = ROOT,
    allow: Iterable[str] = (),
) -> tuple[int, list[Replacement]]:
    """What launching ``stack_name`` (``prod/database``) from ``project`` would replace in the live stack.

    The live side is the stack's own template and parameter values, as ``sceptre diff``
    reads them (GetTemplate with TemplateStage Original, DescribeStacks). The new side is
    the render, with each parameter another stack's output fills given the value the live
    stack holds: those outputs are what the next launch reads, and stand-ins would look like
    a change. Returns the number of stateful resources compared, and what would be lost.
    """
    import json

    from llmgw.parameters import check_parameters, load_template
    from llmgw.specialise import resolve_template
    from tools.render import StackOutputRef, render_environment

    env = stack_name.split("/")[0]
    live = load_template(deployed_body if isinstance(deployed_body, str) else json.dumps(deployed_body))
    live_values = check_parameters(live, dict(deployed_parameters))
    old = identities_of(stack_name, substitute(resolve_template(live, live_values), live_values))

    rendered = render_environment(env, dict(variables or {}), project=project)[stack_name]
    examples = rendered.example_parameters()
    given = {
        key: deployed_parameters.get(key, examples[key]) if isinstance(value, StackOutputRef) else examples[key]
        for key, value in rendered.parameters.items()
    }
    template = rendered.template
    values = check_parameters(template, given)
    new = identities_of(stack_name, substitute(resolve_template(template, values), values))
    return len(old), replacements(old, new, allow)


def checkout(revision: str, into: Path) -> Path:
    """Extract the project paths of ``revision`` into ``into``; raises ValueError for an unknown revision."""
    result = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, *PROJECT_PATHS],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise ValueError(f"cannot read revision {revision!r}: {result.stderr.decode().strip().splitlines()[-1]}")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision of the deployed templates, e.g. origin/main")
    parser.add_argument("--allow", action="append", default=[], help="env/stack/LogicalId allowed to be replaced")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            old = stateful_identities(checkout(args.against, Path(tmp)))
        except ValueError as err:
            print(f"replacement guard: {err}", file=sys.stderr)
            return 2
    new = stateful_identities()
    found = replacements(old, new, args.allow)
    for replacement in found:
        print(f"replacement guard: {replacement}", file=sys.stderr)
    if found:
        print(
            f"replacement guard: {len(found)} stateful resource(s) would be replaced or deleted; "
            "if that is intended, name each with --allow",
            file=sys.stderr,
        )
        return 1
    print(f"replacement guard: {len(new)} stateful resources compared with {args.against}; none replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
