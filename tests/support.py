"""What the test suites share beyond fixtures."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """A tool the test needs is absent: fail under CI, which installs everything (.ci/run), skip on a laptop."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
