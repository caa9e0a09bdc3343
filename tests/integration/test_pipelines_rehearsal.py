"""`make rehearse-pipelines`: every pipeline scenario, run step by step against fresh emulators,
ends with the stacks in the state the pipeline promises (tools/pipeline_rehearse.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import missing
from tools.pipeline_rehearse import EMULATOR_PYTHON, ROOT, SCENARIOS


def test_rehearse_pipelines__every_scenario__ends_in_the_promised_state():
    if not EMULATOR_PYTHON.exists():
        message = f"{EMULATOR_PYTHON} is missing: run `make emulator-venv`"
        missing(message)

    result = subprocess.run(
        [sys.executable, "-m", "tools.pipeline_rehearse"], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )

    print(result.stdout)  # the stages and stack states of every run, in the test's output
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for scenario in SCENARIOS:
        assert f"scenario {scenario.name}:" in result.stdout
    assert f"rehearse-pipelines: {len(SCENARIOS)} scenarios," in result.stdout
