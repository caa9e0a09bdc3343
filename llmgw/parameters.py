"""Check parameter values against a CloudFormation template, as CloudFormation would.

CloudFormation refuses a stack whose parameters break a template's
``AllowedValues``, ``AllowedPattern``, ``MinValue``/``MaxValue``,
``MinLength``/``MaxLength`` or ``Rules``, before it touches any resource. This
module applies the same checks locally, and the number orderings Rules cannot express
(a template's ``Metadata: NotAbove``), so the same mistakes fail the same
way with no AWS call: in a Sceptre hook, in tests, and against emulators that
do not evaluate ``Rules``.

Pure Python with no AWS access; the only input is the template text and the
parameter values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["ParameterError", "check_parameters", "load_template"]


class ParameterError(ValueError):
    """A parameter value that CloudFormation would refuse. The message is one line."""


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser: 5x faster where present
    """SafeLoader that reads CloudFormation's short-form tags (!Ref, !Sub, ...)."""


def _construct_tag(loader: Any, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(body: str) -> dict[str, Any]:
    """Parse a CloudFormation template (YAML or JSON) into plain Python data."""
    template = yaml.load(body, Loader=_CfnLoader)
    if not isinstance(template, dict):
        raise ParameterError("template is not a mapping")
    return template


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_text(item) for item in value)
    return str(value)


def _effective_values(declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any]) -> dict[str, str]:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ParameterError(f"parameters not in the template: {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given and given[name] is not None:
            values[name] = _as_text(given[name])
        elif "Default" in spec:
            values[name] = _as_text(spec["Default"])
        else:
            raise ParameterError(f"parameter {name} has no value and no default")
    return values


def _constraint(spec: Mapping[str, Any], fallback: str) -> str:
    return str(spec.get("ConstraintDescription") or fallback)


def _check_one(name: str, spec: Mapping[str, Any], value: str) -> None:
    shown = f"{name}={value!r}"
    items = value.split(",") if spec.get("Type", "String").startswith(("List<", "CommaDelimited")) else [value]
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"{shown} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ParameterError(f"{shown} is below MinValue {spec['MinValue']}: {_constraint(spec, 'too small')}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ParameterError(f"{shown} is above MaxValue {spec['MaxValue']}: {_constraint(spec, 'too large')}")
    if "AllowedValues" in spec:
        allowed = [_as_text(v) for v in spec["AllowedValues"]]
        bad = [item for item in items if item not in allowed]
        if bad:
            raise ParameterError(f"{shown} is not one of {', '.join(allowed)}")
    if "AllowedPattern" in spec:
        pattern = re.compile(str(spec["AllowedPattern"]))
        for item in items:
            if not pattern.fullmatch(item):
                raise ParameterError(
                    f"{shown} does not match {spec['AllowedPattern']}: {_constraint(spec, 'bad format')}"
                )
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ParameterError(f"{name} is shorter than {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ParameterError(f"{name} is longer than {spec['MaxLength']} characters")


class _RuleEvaluator:
    """Evaluates the rule-specific intrinsic functions over known parameter values."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return _as_text(node)
        if len(node) != 1:
            raise ParameterError(f"unsupported rule expression {node!r}")
        ((function, argument),) = node.items()
        if function == "Ref":
            if argument.startswith("AWS::"):
                raise _NeedsAws(argument)  # a pseudo parameter: only CloudFormation knows the account and region
            return self.values[argument]
        if function == "Fn::Equals":
            left, right = self(argument)
            return left == right
        if function == "Fn::Not":
            return not self(argument[0])
        if function == "Fn::And":
            return all(self(item) for item in argument)
        if function == "Fn::Or":
            return any(self(item) for item in argument)
        if function == "Fn::Contains":
            haystack, needle = self(argument)
            return needle in haystack
        if function == "Fn::EachMemberEquals":
            members, expected = self(argument)
            return all(member == expected for member in _as_list(members))
        if function == "Fn::EachMemberIn":
            members, allowed = self(argument)
            return all(member in allowed for member in _as_list(members))
        # Fn::ValueOf and friends read live AWS resources; CloudFormation checks them.
        raise _NeedsAws(function)


class _NeedsAws(Exception):
    pass


def _as_list(value: Any) -> list[str]:
    return value.split(",") if isinstance(value, str) else list(value)


def check_parameters(template: Mapping[str, Any], given: Mapping[str, Any], orders: bool = True) -> dict[str, str]:
    """Check ``given`` parameter values against ``template``.

    Args:
        template: the parsed template (see :func:`load_template`).
        given: parameter values; strings, numbers, booleans or lists of them.
        orders: also apply the template's ``Metadata: NotAbove``; CloudFormation itself does not, so the
            emulator passes False and leaves the pair to the resource that refuses it.

    Returns:
        Every declared parameter with its effective value (given or default), as text.

    Raises:
        ParameterError: the first violated constraint or rule, in one line.
    """
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters") or {}
    values = _effective_values(declared, given)
    for name, spec in declared.items():
        _check_one(name, spec, values[name])
    evaluate = _RuleEvaluator(values)
    for rule_name, rule in (template.get("Rules") or {}).items():
        try:
            if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not evaluate(assertion["Assert"]):
                    description = assertion.get("AssertDescription", "assertion failed")
                    raise ParameterError(f"rule {rule_name}: {description}")
        except _NeedsAws:
            continue
    if orders:
        _check_order(template, values)
    return values


# Rules have no arithmetic comparison, so "A is not above B" would need one assertion per value. A template
# declares such pairs once, in its Metadata (``NotAbove: {MinCapacity: MaxCapacity}``); CloudFormation ignores
# the key, this check (the !check_parameters hook, before any stack is touched) applies it, and the resource
# that takes both values refuses the pair again on AWS (Application Auto Scaling's RegisterScalableTarget).
ORDER_KEY = "NotAbove"


def _check_order(template: Mapping[str, Any], values: Mapping[str, str]) -> None:
    pairs = ((template.get("Metadata") or {}).get(ORDER_KEY)) or {}
    for lower, upper in pairs.items():
        if lower not in values or upper not in values:
            raise ParameterError(f"Metadata {ORDER_KEY}: {lower} or {upper} is not a parameter of this template")
        if float(values[lower]) > float(values[upper]):
            raise ParameterError(
                f"{lower} {values[lower]} is greater than {upper} {values[upper]}; raise {upper} to at least"
                f" {values[lower]} (Metadata {ORDER_KEY})"
            )
