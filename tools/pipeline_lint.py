"""Check the Azure DevOps pipelines offline, as far as a file can be checked without running it.

    python -m tools.pipeline_lint [DIR]        (default: azure-devops/)

1. Every YAML file validates against the Azure Pipelines schema that
   check-jsonschema vendors, extended with the AWS Toolkit tasks in
   azure-devops/schema/ (it knows none of them).
2. Every ``template:`` reference resolves to a file.
3. Every parameter passed to a template is declared by it, and every
   parameter it declares without a default is passed.
4. Every stack path (``<env>/<stack>.yaml``) and every ``make`` target a
   pipeline names exists.
5. Every pipeline, compiled as Azure DevOps compiles it for each value of its
   parameters (tools/pipeline_expand.py), passes tools/pipeline_checks.py: unique
   names, ``dependsOn`` targets, literal service connections, environments and
   variable groups, the AWS Toolkit's input rules, no variable-group macro in a
   script, jobs within their credentials, locks and approvals where they gate.

Each problem is one line, ``file:line: message``; the exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PYTHON = ROOT / ".venv-schema" / "bin" / "python"
ENVIRONMENTS = ("dev", "prod")
_STACK_PATH = re.compile(
    r"(dev|prod|\$\{\{\s*parameters\.environment\s*\}\})/([a-z]+|\$\{\{\s*parameters\.stack\s*\}\})\.yaml"
)
_MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([a-z][a-z0-9-]*)")


class _Loader(yaml.SafeLoader):
    """SafeLoader that records each mapping's line, for messages."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    value = _LineDict(loader.construct_mapping(node, deep=True))
    value.line = node.start_mark.line + 1
    return value


class _LineDict(dict):
    line = 0


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _display(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_Loader)


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _strings(node: Any) -> Iterator[str]:
    for item in _walk(node):
        if isinstance(item, str):
            yield item
        if isinstance(item, dict):
            yield from (key for key in item if isinstance(key, str))


def declared_parameters(document: Any) -> dict[str, bool]:
    """Parameter name -> whether it has a default, for a pipeline or template."""
    parameters = document.get("parameters", []) if isinstance(document, dict) else []
    if isinstance(parameters, dict):  # the old mapping form
        return {name: True for name in parameters}
    return {p["name"]: "default" in p for p in parameters if isinstance(p, dict) and "name" in p}


def check_references(files: list[Path], makefile: Path, config: Path) -> list[str]:
    problems: list[str] = []
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile.read_text(), flags=re.MULTILINE))
    for path in files:
        document = load(path)
        where = _display(path)
        for node in _walk(document):
            if not (isinstance(node, dict) and isinstance(node.get("template"), str)):
                continue
            target = (path.parent / node["template"]).resolve()
            if not target.is_file():
                problems.append(f"{where}:{node.line}: template {node['template']} does not exist")
                continue
            declared = declared_parameters(load(target))
            passed = set(node.get("parameters") or {})
            passed = {name for name in passed if not name.startswith("${{")}
            for name in sorted(passed - set(declared)):
                problems.append(f"{where}:{node.line}: {node['template']} declares no parameter {name}")
            for name in sorted(n for n, has_default in declared.items() if not has_default and n not in passed):
                problems.append(f"{where}:{node.line}: {node['template']} needs parameter {name}")
        for text in _strings(document):
            for env, stack in _STACK_PATH.findall(text):
                envs = ENVIRONMENTS if env.startswith("$") else (env,)
                stacks = [] if stack.startswith("$") else [stack]
                for e in envs:
                    for s in stacks:
                        if not (config / e / f"{s}.yaml").is_file():
                            problems.append(f"{where}: stack config/{e}/{s}.yaml does not exist")
            for target_name in _MAKE.findall(text):
                if target_name not in targets:
                    problems.append(f"{where}: make target {target_name} does not exist")
    return problems


def extended_schema(out: Path) -> Path:
    """The vendored Azure Pipelines schema plus this repository's AWS Toolkit tasks."""
    where = "import check_jsonschema, pathlib; print(pathlib.Path(check_jsonschema.__file__).parent)"
    vendored = subprocess.run(
        [str(SCHEMA_PYTHON), "-c", where], capture_output=True, text=True, check=True
    ).stdout.strip()
    schema = json.loads((Path(vendored) / "builtin_schemas" / "vendor" / "azure-pipelines.json").read_text())
    task = schema["definitions"]["task"]
    for extra in json.loads((ROOT / "azure-devops" / "schema" / "aws-toolkit-tasks.json").read_text())["tasks"]:
        task["properties"]["task"]["anyOf"].append({"description": extra["description"], "enum": [extra["name"]]})
        task["anyOf"].append(
            {
                "properties": {
                    "task": {"pattern": f"^{re.escape(extra['name'])}$", "description": extra["description"]},
                    "inputs": {
                        "properties": extra["inputs"],
                        "additionalProperties": False,
                        "required": extra["required"],
                    },
                },
                "required": ["task"],
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(schema))
    return out


_VARIABLE_SHAPES = (
    {"name", "value"},
    {"name", "value", "readonly"},
    {"group"},
    {"template"},
    {"template", "parameters"},
)


def is_variables_template(document: Any) -> bool:
    # The schema describes pipelines and their stage, job and step templates;
    # a variables template (parameters and variables only) is checked here.
    return isinstance(document, dict) and set(document) <= {"parameters", "variables"} and "variables" in document


def check_variables_template(path: Path) -> list[str]:
    problems = []
    for number, entry in enumerate(load(path)["variables"]):
        if not isinstance(entry, dict) or set(entry) not in _VARIABLE_SHAPES:
            problems.append(f"{_display(path)}: variables[{number}] must be name/value, group or template")
    return problems


def check_schema(files: list[Path]) -> list[str]:
    problems = [p for f in files if is_variables_template(load(f)) for p in check_variables_template(f)]
    files = [f for f in files if not is_variables_template(load(f))]
    return problems + _check_jsonschema(files)


def _check_jsonschema(files: list[Path]) -> list[str]:
    if not SCHEMA_PYTHON.exists():
        return [f"{SCHEMA_PYTHON.relative_to(ROOT)} is missing: run `make schema-venv`"]
    schema = extended_schema(ROOT / "build" / "azure-pipelines-schema.json")
    result = subprocess.run(
        [str(SCHEMA_PYTHON), "-m", "check_jsonschema", "--schemafile", str(schema),
         "--data-transform", "azure-pipelines", "--regex-variant", "nonunicode", "-o", "json",
         *[str(f) for f in files]],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode == 0:
        return []
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"check-jsonschema failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}"]
    problems = []
    for error in report.get("errors", []):
        where = _display(Path(error["filename"]))
        problems.append(f"{where}: {error.get('path', '$')}: {error.get('message', 'invalid')}")
    for error in report.get("parse_errors", []):
        problems.append(f"{error.get('filename')}: {error.get('message', 'cannot be parsed')}")
    return problems or [f"check-jsonschema failed: {result.stdout.strip()[:200]}"]


def lint_references(directory: Path, makefile: Path = ROOT / "Makefile", config: Path = ROOT / "config") -> list[str]:
    """Every check but the schema's: templates, parameters, stacks and make targets, and the compiled pipelines."""
    from tools.pipeline_checks import check_pipelines

    files = sorted(p for p in directory.rglob("*.yml"))
    return check_references(files, makefile, config) + check_pipelines(directory)[0]


def lint(directory: Path, makefile: Path = ROOT / "Makefile", config: Path = ROOT / "config") -> list[str]:
    files = sorted(p for p in directory.rglob("*.yml"))
    return check_schema(files) + lint_references(directory, makefile, config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=ROOT / "azure-devops")
    args = parser.parse_args(argv)
    problems = lint(args.directory.resolve())
    for problem in problems:
        print(problem)
    from tools.pipeline_checks import check_pipelines

    files = len(list(args.directory.rglob("*.yml")))
    compiled = check_pipelines(args.directory.resolve())[1]
    print(f"pipelines: {files} files, {compiled} compiled expansions, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
