"""The suite leaves nothing running: a whole process group is stopped, and the session's end fails on a leftover."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.support import group_members, stop_group
from tools.render import ROOT


def test_stop_group__stops_a_child_that_outlives_its_leader_and_ignores_sigterm():
    # Like faketime and the proxy: the leader exits on SIGTERM, its child ignores it.
    leader = subprocess.Popen(["sh", "-c", "(trap '' TERM; sleep 300) & wait"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(group_members(leader.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group_members(leader.pid)) == 2

    stop_group(leader, timeout=1)

    assert group_members(leader.pid) == []


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "two-xdist-workers"])
def test_session_end__a_process_a_test_left_running__fails_the_run_naming_it(tmp_path, workers):
    # With workers (make test runs -n), the process is a worker's and the controller must still name it.
    (tmp_path / "test_leak.py").write_text(
        "import subprocess\n\n\ndef test_leaves_a_process():\n"
        "    subprocess.Popen(['sleep', '300'], start_new_session=True)\n\n\n"
        "def test_leaves_nothing():\n    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", *workers,
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout
    assert "1 process(es) this test run started are still running; stopped now:" in result.stdout
    assert "sleep 300" in result.stdout
