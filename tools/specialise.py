"""Write each environment's templates as they deploy, for scanners that cannot evaluate conditions.

    python -m tools.specialise            writes build/specialised/<env>/<stack>.json

checkov reads ``Fn::If`` as a failure and knows nothing of parameter values,
so it scans these instead of the renders: every parameter substituted with
the value Sceptre passes (stack outputs as shaped stand-ins), every
condition evaluated, resources whose condition is false dropped. prod is
scanned as prod, not as one branch of an If.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmgw.parameters import check_parameters
from llmgw.specialise import resolve_template
from tools.render import ENVIRONMENTS, ROOT, render_environment


def specialise_environment(env: str, project: Path = ROOT) -> Iterator[tuple[str, dict[str, Any], dict[str, str]]]:
    """Each stack of ``env`` as it deploys: ``(stack path, specialised template, parameter values)``."""
    for name, stack in render_environment(env, project=project).items():
        template = stack.template
        values = check_parameters(template, stack.example_parameters())
        yield name, resolve_template(template, values), values


def write_specialised(out_dir: Path) -> list[Path]:
    written = []
    for env in ENVIRONMENTS:
        for name, resolved, _ in specialise_environment(env):
            # Rules were checked by check_parameters; Conditions are now plain booleans.
            for section in ("Rules", "Conditions"):
                resolved.pop(section, None)
            path = out_dir / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(resolved, indent=2) + "\n")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "specialised")
    args = parser.parse_args(argv)
    for path in write_specialised(args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
