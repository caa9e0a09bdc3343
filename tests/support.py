"""What the test suites share beyond fixtures."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """A tool the test needs is absent: fail under CI, which installs everything (.ci/run), skip on a laptop."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _stat(pid: str) -> tuple[str, int] | None:
    """A process's state letter and process group, from /proc (None once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(entry.name)) and stat[1] == pgid and stat[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process started with ``start_new_session=True`` and every process of its group.

    Waiting for the leader alone is not enough: faketime runs the proxy as its child, and a child
    that outlives the leader's exit would be left running (it was, twice per run of
    test_master_key_rotation.py).
    """
    pgid = process.pid
    for sig, patience in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + patience
        while group_members(pgid) and time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
        if not group_members(pgid):
            break
    process.wait(timeout=5)
    left = group_members(pgid)
    assert not left, f"process group {pgid} survived SIGKILL: {left}"


# Every process the suite starts inherits this variable, so the session's end can find those still alive,
# whichever parent they were reparented to.
SESSION_MARK = "LLMGW_TEST_SESSION"


def marked_processes(mark: str) -> dict[int, str]:
    """Live processes whose environment carries ``SESSION_MARK=mark``: {pid: command line}."""
    needle = f"{SESSION_MARK}={mark}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        stat = _stat(entry.name)
        if needle in environment and stat and stat[0] != "Z":
            found[int(entry.name)] = command[:200]
    return found


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in ``path`` by ``new``; ``old`` must be there, so a stale edit fails."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
