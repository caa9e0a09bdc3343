"""The package layout of docs/architecture.md holds: what may import what, and plugins that are only plugins."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.render import ROOT

FIRST_PARTY = {"llmgw", "llmgw_common", "llmgw_hooks", "llmgw_resolvers", "llmgw_emulator", "tools", "tests"}

# Each package: where its sources are, and the first-party packages (plus sceptre) it may import.
# docs/architecture.md carries the same table; test_docs__carry_the_import_rules holds them together.
RULES: dict[str, tuple[str, set[str]]] = {
    "llmgw_common": ("lambdas/common/llmgw_common", set()),
    "lambdas": ("lambdas", {"llmgw_common"}),
    "llmgw": ("llmgw", {"llmgw_common"}),
    "llmgw_hooks": ("hooks", {"llmgw", "sceptre"}),
    "llmgw_resolvers": ("resolvers", {"llmgw", "sceptre"}),
    "llmgw_emulator": ("emulator/llmgw_emulator", {"llmgw"}),
    "tools": ("tools", {"llmgw", "llmgw_common", "llmgw_emulator", "sceptre"}),
}


def imported(path: Path) -> set[str]:
    """The top-level names a module imports, at any depth (plugins import inside run() to stay cheap)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    folder = ROOT / RULES[package][0]
    found = sorted(folder.rglob("*.py"))
    if package == "lambdas":  # the functions, not the library they share
        found = [p for p in found if "common" not in p.relative_to(folder).parts]
    return [p for p in found if "standins" not in p.parts]


@pytest.mark.parametrize("package", RULES)
def test_imports__each_package_imports_only_what_docs_architecture_allows(package):
    allowed = RULES[package][1] | {package} | ({"llmgw_common"} if package == "lambdas" else set())
    files = sources(package)
    assert files, f"{RULES[package][0]} holds no module: the rule would be vacuous"
    for path in files:
        reached = imported(path) & (FIRST_PARTY | {"sceptre"})
        assert reached <= allowed, f"{path.relative_to(ROOT)} imports {sorted(reached - allowed)}"


def test_imports__a_forbidden_import_is_found(tmp_path):
    """The check above can fail: an import inside a function counts."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from llmgw_hooks.push_image import PushImage\n")
    assert "llmgw_hooks" in imported(module)


PLUGIN_BASES = {"Hook", "Resolver"}


@pytest.mark.parametrize("folder", ["hooks", "resolvers"])
def test_plugins__define_only_plugin_classes_and_their_errors(folder):
    for path in sorted((ROOT / folder).glob("*.py")):
        tree = ast.parse(path.read_text())
        plugins = 0
        for node in tree.body:
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                assert bases & PLUGIN_BASES or node.name.endswith("Error"), f"{where}: {node.name} is no plugin"
                plugins += bool(bases & PLUGIN_BASES)
            else:
                is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                is_constant = isinstance(node, ast.Assign) and all(n.id.isupper() for n in node.targets)  # type: ignore[attr-defined]
                assert isinstance(node, ast.Import | ast.ImportFrom) or is_docstring or is_constant, (
                    f"{where}: {type(node).__name__} belongs in llmgw, not in a plugin module"
                )
        assert plugins == 1 or path.name == "__init__.py", f"{path.relative_to(ROOT)} defines {plugins} plugins"


def test_plugins__importing_every_plugin_loads_nothing_but_the_plugins():
    """Sceptre imports every registered plugin on every command, so a plugin module imports only
    Sceptre's own base classes at the top and the core inside ``run()``/``resolve()``."""
    script = """
import json, sys
from importlib.metadata import entry_points
import sceptre.exceptions, sceptre.hooks, sceptre.resolvers
before = set(sys.modules)
points = [p for g in ("sceptre.hooks", "sceptre.resolvers") for p in entry_points(group=g)
          if p.value.startswith(("llmgw_hooks.", "llmgw_resolvers."))]
for point in points:
    point.load()
print(json.dumps({"plugins": len(points), "loaded": sorted(set(sys.modules) - before)}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/")
    report = json.loads(result.stdout)
    assert report["plugins"] == 12
    extra = [m for m in report["loaded"] if not m.startswith(("llmgw_hooks", "llmgw_resolvers"))]
    assert extra == [], f"importing the plugins also loads {extra}"


def test_docs__carry_the_import_rules():
    table = (ROOT / "docs" / "architecture.md").read_text().split("## Packages", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("Package", "---"):
            name = cells[0].strip("`") if cells[0] != "(functions)" else "lambdas"
            documented[name] = set() if cells[3] in ("nothing", "anything") else set(re.findall(r"`(\w+)`", cells[3]))
    assert {k: v for k, v in documented.items() if k != "tests"} == {k: rule[1] for k, rule in RULES.items()}
