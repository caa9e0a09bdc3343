"""What a launched stack's template asked of each resource, and a tolerant comparison with what the API answers.

The expected side is the template Sceptre sent, with the stack's own
parameters: conditions evaluated, parameters and pseudo parameters
substituted, ``Ref`` to a resource replaced by its physical ID. A value that
only AWS can compute (``Fn::GetAtt``, an ``Fn::Sub`` over attributes) becomes
:data:`ANY`, which matches any value that is present and not empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llmgw.parameters import check_parameters, load_template
from llmgw.specialise import resolve_template


class _Any:
    def __repr__(self) -> str:
        return "<any value>"


ANY = _Any()
_SUB = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class DeployedResource:
    stack: str
    logical_id: str
    type: str
    physical_id: str
    properties: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.stack}/{self.logical_id} ({self.type})"


def deployed_resources(cloudformation: Any, stack_name: str) -> list[DeployedResource]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    template = load_template(cloudformation.get_template(StackName=stack_name)["TemplateBody"])
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    values = check_parameters(template, passed)
    # DescribeStacks gives a list parameter as text ("a,b"); a Ref of it is the list.
    for name, slot in template.get("Parameters", {}).items():
        kind = str(slot.get("Type", ""))
        if (kind == "CommaDelimitedList" or kind.startswith("List<")) and isinstance(values.get(name), str):
            values = {**values, name: values[name].split(",") if values[name] else []}
    resolved = resolve_template(template, values)
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    }
    region, account = stack["StackId"].split(":")[3:5]
    known = {**values, "AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
             "AWS::StackName": stack_name, "AWS::URLSuffix": "amazonaws.com", **physical}  # fmt: skip
    found = []
    for logical_id, body in resolved["Resources"].items():
        properties = _substitute(body.get("Properties") or {}, known)
        found.append(DeployedResource(stack_name, logical_id, body["Type"], physical[logical_id], properties))
    return found


def _substitute(node: Any, known: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_substitute(item, known) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Ref":
            return known.get(argument, ANY)
        if function == "Fn::Sub":
            text, extra = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            names = {**known, **{k: _substitute(v, known) for k, v in extra.items()}}
            if all(isinstance(names.get(n), str | int) for n in _SUB.findall(text)):
                return _SUB.sub(lambda m: str(names[m.group(1)]), text)
            return ANY
        if function == "Fn::Join":
            separator, items = argument
            items = _substitute(items, known)
            if isinstance(items, list) and all(isinstance(i, str | int) for i in items):
                return separator.join(str(i) for i in items)
            return ANY
        if function.startswith("Fn::"):
            return ANY
    return {key: _substitute(value, known) for key, value in node.items()}


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` differs from ``expected``; extra keys in ``actual`` (API defaults) are fine."""
    if expected is ANY:
        return [] if actual not in (None, "", [], {}) else [f"{path}: expected a value, got {actual!r}"]
    if path.endswith("Tags") and isinstance(expected, list) and isinstance(actual, list):
        # CloudFormation adds the stack's own tags to every resource that takes tags.
        missing = [tag for tag in expected if not any(not mismatches(tag, a) for a in actual)]
        return [f"{path}: tags {_short(missing)} missing from {_short(actual)}"] if missing else []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected {_short(expected)}, got {_short(actual)}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing (expected {_short(value)})")
            else:
                problems += mismatches(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {_short(expected)}, got {_short(actual)}"]
        if all(not mismatches(e, a) for e, a in zip(expected, actual, strict=True)):
            return []
        # Services may reorder a list; each expected item must match a different actual one.
        remaining = list(actual)
        for item in expected:
            match = next((a for a in remaining if not mismatches(item, a)), None)
            if match is None:
                return [f"{path}: no item matches {_short(item)} in {_short(actual)}"]
            remaining.remove(match)
        return []
    if _scalar(expected) != _scalar(actual):
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def _scalar(value: Any) -> str:
    """CloudFormation's view of a scalar: the text of numbers, booleans as true/false."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower() if str(value).lower() in ("true", "false") else str(value)


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr, sort_keys=True)
    return text if len(text) < 200 else text[:197] + "..."
