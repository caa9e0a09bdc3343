"""Specialise a template to one set of parameter values, as CloudFormation would see it.

Evaluates ``Conditions``, drops resources and outputs whose condition is
false, resolves ``Fn::If``, ``Ref`` to parameters, ``Fn::FindInMap`` and ``Fn::Join``/``Fn::Split``
over known text, and leaves every other intrinsic function as it is. The result is what the tests assert on, so a
prod value is checked as prod, not as "one branch of an If".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class _Resolver:
    def __init__(self, template: Mapping[str, Any], values: Mapping[str, str]) -> None:
        self.template = template
        self.values = values
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions") or {}:
            self.condition(name)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.logic(self.template["Conditions"][name]))
        return self.conditions[name]

    def logic(self, node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return self.value(node)
        ((function, argument),) = node.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (str(self.value(item)) for item in argument)
            return left == right
        if function == "Fn::Not":
            return not self.logic(argument[0])
        if function == "Fn::And":
            return all(self.logic(item) for item in argument)
        if function == "Fn::Or":
            return any(self.logic(item) for item in argument)
        return self.value(node)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item != {"Ref": "AWS::NoValue"}]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref" and argument in self.values:
                return self.values[argument]
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.value(when_true if self.condition(name) else when_false)
            if function == "Fn::FindInMap":
                found = self._find_in_map(argument)
                if found is not None:
                    return found
            if function in ("Fn::Join", "Fn::Split"):
                joined = self._join_or_split(function, argument)
                if joined is not None:
                    return joined
        resolved = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in resolved.items() if item != {"Ref": "AWS::NoValue"}}

    def _find_in_map(self, argument: Any) -> Any:
        """``Fn::FindInMap`` once its keys are known text; None while one is unresolved or absent."""
        name, *keys = (self.value(part) for part in argument)
        node: Any = (self.template.get("Mappings") or {}).get(name)
        for key in keys:
            if not isinstance(key, str) or not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def _join_or_split(self, function: str, argument: Any) -> Any:
        """``Fn::Join`` or ``Fn::Split`` over known text; None while a part is still unresolved.

        A list parameter arrives as text ("a,b", "" for none), which CloudFormation reads as a list.
        """
        delimiter, parts = argument
        parts = self.value(parts)
        if function == "Fn::Split":
            return parts.split(delimiter) if isinstance(parts, str) else None
        if isinstance(parts, str):
            parts = parts.split(",")
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return delimiter.join(parts)
        return None


def resolve_template(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Return ``template`` as it deploys with parameter ``values`` (all given as text).

    Args:
        template: parsed template (``llmgw.parameters.load_template``).
        values: every parameter's effective value, e.g. from ``check_parameters``.

    Returns:
        A new template dict: ``Resources`` and ``Outputs`` filtered by their
        conditions, with parameter references and ``Fn::If`` resolved, plus a
        ``Conditions`` mapping of each condition name to its boolean value.
    """
    resolver = _Resolver(template, values)
    resolved: dict[str, Any] = {key: value for key, value in template.items()}
    for section in ("Resources", "Outputs"):
        kept = {}
        for name, body in (template.get(section) or {}).items():
            if "Condition" in body and not resolver.condition(body["Condition"]):
                continue
            kept[name] = resolver.value(body)
        resolved[section] = kept
    resolved["Conditions"] = dict(resolver.conditions)
    return resolved
