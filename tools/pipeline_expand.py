"""Expand an Azure Pipelines YAML file the way Azure DevOps compiles it, offline.

    python -m tools.pipeline_expand azure-devops/azure-pipelines-litellm.yml environment=prod

Azure DevOps compiles a pipeline before it runs anything: it includes
templates with their parameters, evaluates every ``${{ }}`` template
expression and drops what a false ``if`` guards. Only the result can be
checked for the things a schema cannot see (a ``dependsOn`` naming no job, a
service connection that depends on a free-text parameter, a job longer than its
credentials). No offline expander is packaged, so this is a small one.

It knows the constructs these pipelines use, as Azure DevOps documents them
(learn.microsoft.com/azure/devops/pipelines/process/templates,
.../process/expressions, .../process/runtime-parameters):

- ``template:`` references in ``stages``, ``jobs``, ``steps`` and ``variables``
  lists, and ``extends:``, with typed parameters, ``values:`` and defaults;
- ``${{ if }}``, ``${{ elseif }}``, ``${{ else }}`` and ``${{ each x in y }}``
  as mapping keys and sequence items, and ``${{ }}`` inside strings;
- the functions in ``FUNCTIONS``, literals, ``parameters.x``, ``parameters['x']``
  and loop variables.

Anything else (``variables.x`` at compile time, ``${{ insert }}``, a template
in another repository, an unknown function) fails with ``ExpansionError``
naming it, rather than being guessed at. Runtime syntax, ``$(macro)`` and
``$[ expression ]``, is left for the run, as Azure DevOps leaves it.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_WHOLE = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.DOTALL)
_DIRECTIVE = re.compile(r"^\s*\$\{\{\s*(if|elseif|else|each|insert)\b(.*?)\}\}\s*$", re.DOTALL)
_EACH = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.+)$", re.DOTALL)
# The lists whose items may be template references, and the key a template of that kind holds.
TEMPLATE_LISTS = ("stages", "jobs", "steps", "variables")
PARAMETER_TYPES = (
    "string", "number", "boolean", "object", "step", "stepList", "job", "jobList",
    "deployment", "deploymentList", "stage", "stageList",
)  # fmt: skip


class ExpansionError(ValueError):
    """A construct this expander does not know, or one Azure DevOps would refuse to compile."""


# --- the expression language -------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)"
    r"|(?P<punct>[(),.\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpansionError(f"cannot read the expression {text!r} at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _truthy(value: Any) -> bool:
    # Azure DevOps' conversion to Boolean: null, false, 0, '' are false; anything else is true.
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # Azure DevOps renders Booleans capitalised
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        raise ExpansionError(f"an object cannot be inserted into a string: {json.dumps(value)[:60]}")
    return str(value)


def _convert_like(left: Any, right: Any) -> Any:
    # "If the operand types don't match, the right operand is converted to the left's type."
    if isinstance(left, bool):
        if isinstance(right, str) and right.strip().lower() in ("true", "false"):
            return right.strip().lower() == "true"
        return _truthy(right)
    if isinstance(left, (int, float)):
        try:
            return float(right)
        except (TypeError, ValueError):
            return float("nan")
    if isinstance(left, str) and not isinstance(right, (dict, list)):
        return _as_string(right)
    return right


def _equal(left: Any, right: Any) -> bool:
    right = _convert_like(left, right)
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()  # string comparison ignores case
    return left == right


def _format(template: str, *args: Any) -> str:
    def one(match: re.Match) -> str:
        index = int(match.group(1))
        if index >= len(args):
            raise ExpansionError(f"format({template!r}) names argument {index} of {len(args)}")
        return _as_string(args[index])

    return (
        re.sub(r"\{(\d+)\}", one, template.replace("{{", "\0").replace("}}", "\1"))
        .replace("\0", "{")
        .replace("\1", "}")
    )


def _coalesce(*args: Any) -> Any:
    return next((a for a in args if a is not None and a != ""), None)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "eq": lambda a, b: _equal(a, b),
    "ne": lambda a, b: not _equal(a, b),
    "and": lambda *a: all(_truthy(x) for x in a),
    "or": lambda *a: any(_truthy(x) for x in a),
    "not": lambda a: not _truthy(a),
    "coalesce": _coalesce,
    "format": _format,
    "in": lambda a, *b: any(_equal(a, x) for x in b),
    "notIn": lambda a, *b: not any(_equal(a, x) for x in b),
    "contains": lambda a, b: _as_string(b).casefold() in _as_string(a).casefold(),
    "containsValue": lambda a, b: any(_equal(x, b) for x in (a.values() if isinstance(a, dict) else a)),
    "startsWith": lambda a, b: _as_string(a).casefold().startswith(_as_string(b).casefold()),
    "endsWith": lambda a, b: _as_string(a).casefold().endswith(_as_string(b).casefold()),
    "lower": lambda a: _as_string(a).lower(),
    "upper": lambda a: _as_string(a).upper(),
    "length": lambda a: len(a) if a is not None else 0,
    "join": lambda sep, items: _as_string(sep).join(_as_string(i) for i in items),
    "replace": lambda a, old, new: _as_string(a).replace(_as_string(old), _as_string(new)),
}


class _Parser:
    def __init__(self, text: str, scope: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> None:
        self.text, self.tokens, self.position, self.scope = text, _tokens(text), 0, scope
        self.functions = functions

    def parse(self) -> Any:
        value = self._value()
        if self.position != len(self.tokens):
            raise ExpansionError(f"unexpected {self.tokens[self.position][1]!r} in ${{{{ {self.text.strip()} }}}}")
        return value

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def _take(self, text: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token[0] == "end" or (text is not None and token[1] != text):
            raise ExpansionError(f"expected {text or 'more'} in ${{{{ {self.text.strip()} }}}}")
        self.position += 1
        return token

    def _value(self) -> Any:
        kind, text = self._take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise ExpansionError(f"unexpected {text!r} in ${{{{ {self.text.strip()} }}}}")
        if self._peek()[1] == "(":
            return self._call(text)
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        return self._reference(text)

    def _call(self, name: str) -> Any:
        known = self.functions
        function = known.get(name) or next((f for n, f in known.items() if n.lower() == name.lower()), None)
        if function is None:
            raise ExpansionError(f"the expander does not know the function {name}() (it knows {', '.join(known)})")
        self._take("(")
        args = []
        while self._peek()[1] != ")":
            args.append(self._value())
            if self._peek()[1] == ",":
                self._take(",")
        self._take(")")
        try:
            return function(*args)
        except TypeError as err:
            raise ExpansionError(f"{name}() with {len(args)} arguments: {err}") from None

    def _reference(self, root: str) -> Any:
        if root == "variables":
            raise ExpansionError(
                "compile-time variables.* are not supported by this expander; pass a parameter instead"
            )
        if root not in self.scope:
            raise ExpansionError(f"${{{{ {self.text.strip()} }}}} names {root}, which is not defined here")
        value, path = self.scope[root], root
        while self._peek()[1] in (".", "["):
            if self._take()[1] == ".":
                key = self._take()[1]
            else:
                key = self._value()
                self._take("]")
            path += f".{key}"
            if isinstance(value, dict):
                if key not in value:
                    if root == "parameters" and path.count(".") == 1:
                        raise ExpansionError(f"{path} is not a declared parameter")
                    value = None
                else:
                    value = value[key]
            elif isinstance(value, list) and isinstance(key, int):
                value = value[key] if -len(value) <= key < len(value) else None
            else:
                value = None  # Azure DevOps yields null for a property of a non-object
        return value


def evaluate(text: str, scope: dict[str, Any], functions: dict[str, Callable[..., Any]] | None = None) -> Any:
    """The value of one expression (the text between ``${{`` and ``}}``, or a runtime condition).

    ``functions`` adds to ``FUNCTIONS``: a run's status functions (``succeeded()``, …) for conditions.
    """
    return _Parser(text, scope, {**FUNCTIONS, **(functions or {})}).parse()


# --- template inclusion ------------------------------------------------------------------


@dataclass
class Expanded:
    """A compiled pipeline: its body with stages, jobs and steps, and what was used to compile it."""

    path: Path
    parameters: dict[str, Any]
    body: dict[str, Any]
    templates: list[Path] = field(default_factory=list)

    def stages(self) -> list[dict[str, Any]]:
        """The pipeline as stages of jobs, as Azure DevOps reads a pipeline of jobs or steps alone."""
        if "stages" in self.body:
            return self.body["stages"]
        if "jobs" in self.body:
            return [{"stage": "__default", "jobs": self.body["jobs"]}]
        if "steps" in self.body:
            job = {k: v for k, v in self.body.items() if k in ("steps", "pool", "timeoutInMinutes", "workspace")}
            return [{"stage": "__default", "jobs": [{"job": "__default", **job}]}]
        return []


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where present: several times faster
_PARSED: dict[tuple[str, str], Any] = {}


def _load(path: Path) -> Any:
    """The file's YAML, parsed once per content (a pipeline's expansions read each template many times)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ExpansionError(f"template {path} does not exist") from None
    key = (str(path), text)
    if key not in _PARSED:
        try:
            _PARSED[key] = yaml.load(text, Loader=_SafeLoader)
        except yaml.YAMLError as err:
            raise ExpansionError(f"{path}: {err}") from None
    return copy.deepcopy(_PARSED[key])  # expansion edits what it loads


def _coerce(declaration: dict[str, Any], value: Any, where: str) -> Any:
    name, kind = declaration["name"], declaration.get("type", "string")
    if kind not in PARAMETER_TYPES:
        raise ExpansionError(f"{where}: parameter {name} has the unknown type {kind}")
    if kind == "boolean":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            value = value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise ExpansionError(f"{where}: parameter {name} is a boolean, not {value!r}")
    elif kind == "number":
        try:
            value = float(value) if "." in str(value) else int(str(value))
        except ValueError:
            raise ExpansionError(f"{where}: parameter {name} is a number, not {value!r}") from None
    elif kind == "string":
        if isinstance(value, (dict, list)):
            raise ExpansionError(f"{where}: parameter {name} is a string, not an object")
        value = _as_string(value)
    elif kind.endswith("List") and not isinstance(value, list):
        raise ExpansionError(f"{where}: parameter {name} is a {kind}, not {type(value).__name__}")
    allowed = declaration.get("values")
    if allowed is not None and not any(_equal(value, _coerce({"name": name, "type": kind}, a, where)) for a in allowed):
        raise ExpansionError(f"{where}: parameter {name} is {value!r}, not one of {', '.join(map(str, allowed))}")
    return value


def bind_parameters(declared: Any, given: dict[str, Any], where: str) -> dict[str, Any]:
    """Typed parameter values for a template or pipeline, with defaults; unknown or missing ones fail."""
    if declared is None:
        declared = []
    if isinstance(declared, dict):
        raise ExpansionError(f"{where}: the old parameters mapping form is not supported; declare a list")
    names = [d["name"] for d in declared]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ExpansionError(f"{where}: unexpected parameter {', '.join(unknown)} (declared: {', '.join(names)})")
    bound = {}
    for declaration in declared:
        name = declaration["name"]
        if name in given:
            bound[name] = _coerce(declaration, given[name], where)
        elif "default" in declaration:
            bound[name] = _coerce(declaration, declaration["default"], where)
        else:
            raise ExpansionError(f"{where}: parameter {name} is required and was not passed")
    return bound


class _Expander:
    def __init__(self, path: Path) -> None:
        self.root = path
        self.templates: list[Path] = []

    def template(self, reference: str, here: Path, given: dict[str, Any], kind: str | None) -> Any:
        if "@" in reference:
            raise ExpansionError(f"{reference}: templates in other repositories are not supported")
        path = (here.parent / reference).resolve() if not reference.startswith("/") else Path(reference)
        document = _load(path)
        if not isinstance(document, dict):
            raise ExpansionError(f"template {reference} is not a mapping")
        self.templates.append(path)
        scope = {"parameters": bind_parameters(document.get("parameters"), given, _short(path))}
        body = {k: v for k, v in document.items() if k != "parameters"}
        expanded = self.node(body, scope, path, None)
        if kind is None:
            return expanded
        if kind not in expanded:
            held = ", ".join(k for k in expanded if k in TEMPLATE_LISTS) or "nothing"
            raise ExpansionError(f"template {reference} is used in a {kind} list but holds {held}")
        return expanded[kind] or []

    def node(self, node: Any, scope: dict[str, Any], here: Path, kind: str | None) -> Any:
        if isinstance(node, str):
            return self.string(node, scope)
        if isinstance(node, list):
            return self.sequence(node, scope, here, kind)
        if isinstance(node, dict):
            return self.mapping(node, scope, here)
        return node

    def string(self, text: str, scope: dict[str, Any]) -> Any:
        whole = _WHOLE.match(text)
        if whole and "${{" not in whole.group(1):
            return evaluate(whole.group(1), scope)
        return _EXPRESSION.sub(lambda m: _as_string(evaluate(m.group(1), scope)), text)

    def _directive(self, key: Any) -> tuple[str, str] | None:
        if not isinstance(key, str):
            return None
        match = _DIRECTIVE.match(key)
        return (match.group(1), match.group(2).strip()) if match else None

    def mapping(self, node: dict[str, Any], scope: dict[str, Any], here: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        chain: bool | None = None  # None: no if before; True: a branch was taken; False: none yet
        for key, value in node.items():
            directive = self._directive(key)
            if directive is None:
                chain = None
                name = self.string(key, scope) if isinstance(key, str) else key
                if isinstance(name, (dict, list)):
                    raise ExpansionError(f"the key {key!r} evaluates to an object")
                if name in result:
                    raise ExpansionError(f"the key {name} is defined twice")
                child_kind = name if name in TEMPLATE_LISTS else None
                result[name] = self.node(value, scope, here, child_kind)
                continue
            for part in self._directive_parts(directive, value, scope, here, None, chain):
                if part is _NOTHING:
                    continue
                if not isinstance(part, dict):
                    raise ExpansionError(f"{key} inside a mapping must hold a mapping")
                for name, item in part.items():
                    if name in result:
                        raise ExpansionError(f"the key {name} is defined twice (by {key.strip()})")
                    result[name] = item
            chain = self._chain
        return result

    _chain: bool | None = None

    def _directive_parts(
        self, directive: tuple[str, str], value: Any, scope: dict[str, Any], here: Path, kind: str | None,
        chain: bool | None,
    ) -> Iterator[Any]:  # fmt: skip
        word, rest = directive
        if word == "insert":
            raise ExpansionError("${{ insert }} is not supported by this expander")
        if word == "each":
            match = _EACH.match(rest)
            if not match:
                raise ExpansionError(f"cannot read ${{{{ each {rest} }}}}: expected NAME in EXPRESSION")
            variable, collection = match.group(1), evaluate(match.group(2), scope)
            if isinstance(collection, dict):
                items: list[Any] = [{"key": k, "value": v} for k, v in collection.items()]
            elif isinstance(collection, list):
                items = collection
            elif collection is None:
                items = []
            else:
                raise ExpansionError(f"${{{{ each {rest} }}}}: {match.group(2).strip()} is not a list or object")
            self._chain = None
            for item in items:
                yield self.node(value, {**scope, variable: item}, here, kind)
            return
        if word == "if":
            taken = _truthy(evaluate(rest, scope))
            self._chain = taken
        else:
            if chain is None:
                raise ExpansionError(f"${{{{ {word} }}}} without an ${{{{ if }}}} before it")
            if word == "else" and rest:
                raise ExpansionError("${{ else }} takes no condition")
            taken = not chain and (word == "else" or _truthy(evaluate(rest, scope)))
            # an else ends the chain; an elseif carries on whether a branch was taken
            self._chain = None if word == "else" else (chain or taken)
        if taken:
            yield self.node(value, scope, here, kind)
        else:
            yield _NOTHING

    def sequence(self, node: list[Any], scope: dict[str, Any], here: Path, kind: str | None) -> list[Any]:
        result: list[Any] = []
        chain: bool | None = None
        for item in node:
            directive = self._directive(next(iter(item))) if isinstance(item, dict) and len(item) == 1 else None
            if directive is not None:
                (value,) = item.values()
                for part in self._directive_parts(directive, value, scope, here, kind, chain):
                    if part is _NOTHING:
                        continue
                    result.extend(part if isinstance(part, list) else [part])
                chain = self._chain
                continue
            chain = None
            if kind and isinstance(item, dict) and "template" in item:
                extra = set(item) - {"template", "parameters"}
                if extra:
                    raise ExpansionError(f"a {kind} template reference cannot also set {', '.join(sorted(extra))}")
                reference = self.string(item["template"], scope)
                given = self.node(item.get("parameters") or {}, scope, here, None)
                result.extend(self.template(reference, here, given, kind))
                continue
            value = self.node(item, scope, here, kind if kind == "variables" else None)
            if isinstance(item, str) and isinstance(value, list):
                result.extend(value)  # `- ${{ parameters.steps }}` inserts a stepList's items
            else:
                result.append(value)
        return result


_NOTHING = object()


def _short(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[parts.index("azure-devops") :]) if "azure-devops" in parts else str(path)


def expand(path: Path, values: dict[str, Any] | None = None) -> Expanded:
    """Compile ``path`` with the given runtime parameter values (the rest take their defaults)."""
    path = path.resolve()
    document = _load(path)
    if not isinstance(document, dict):
        raise ExpansionError(f"{_short(path)} is not a mapping")
    expander = _Expander(path)
    declared = document.get("parameters") or []
    parameters = bind_parameters(declared, values or {}, _short(path))
    scope = {"parameters": parameters}
    body = {k: v for k, v in document.items() if k != "parameters"}
    extends = body.pop("extends", None)
    body = expander.node(body, scope, path, None)
    if extends is not None:
        extends = expander.node(extends, scope, path, None)
        if set(extends) - {"template", "parameters"}:
            raise ExpansionError(f"extends: takes template and parameters, not {', '.join(sorted(extends))}")
        included = expander.template(extends["template"], path, extends.get("parameters") or {}, None)
        for key, value in included.items():
            if key == "variables" and "variables" in body:
                body["variables"] = [*body["variables"], *value]
            elif key in body:
                raise ExpansionError(f"{_short(path)} and its extends template both set {key}")
            else:
                body[key] = value
    leftover = [s for s in _strings(body) if "${{" in s]
    if leftover:
        raise ExpansionError(f"{_short(path)}: an expression was left unexpanded: {leftover[0][:80]!r}")
    return Expanded(path, parameters, body, expander.templates)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def declared_parameters(path: Path) -> list[dict[str, Any]]:
    """The runtime parameters a pipeline declares, as written."""
    document = _load(path.resolve())
    return (document.get("parameters") or []) if isinstance(document, dict) else []


def parameter_sets(path: Path) -> list[dict[str, Any]]:
    """Every combination of the pipeline's enumerable parameters (``values:`` lists and Booleans)."""
    declared = declared_parameters(path)
    choices: list[tuple[str, list[Any]]] = []
    for declaration in declared:
        if declaration.get("values") is not None:
            choices.append((declaration["name"], list(declaration["values"])))
        elif declaration.get("type") == "boolean":
            choices.append((declaration["name"], [False, True]))
    sets: list[dict[str, Any]] = [{}]
    for name, options in choices:
        sets = [{**s, name: option} for s in sets for option in options]
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("values", nargs="*", help="NAME=VALUE runtime parameters")
    args = parser.parse_args(argv)
    try:
        expanded = expand(args.pipeline, dict(v.split("=", 1) for v in args.values))
    except ExpansionError as err:
        print(f"expand: {err}", file=sys.stderr)
        return 1
    yaml.safe_dump(expanded.body, sys.stdout, sort_keys=False, width=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
