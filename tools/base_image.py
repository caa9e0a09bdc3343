"""Verify LiteLLM's base image, its digest and cosign signature, as every build does before a push.

    python -m tools.base_image verify [--context image]

The checks are ``llmgw.images.signature.verify``; the image pipeline's build runs them
through ``tools.ops push-image``. Failures end in one line and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from llmgw.images.signature import BaseImageError, verify

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    verify_parser = commands.add_parser("verify")
    verify_parser.add_argument("--context", type=Path, default=ROOT / "image")
    args = parser.parse_args(argv)
    try:
        verify(args.context, project=ROOT)
    except BaseImageError as err:
        print(f"base-image: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
