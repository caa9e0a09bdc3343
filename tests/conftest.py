"""Shared fixtures: every environment rendered once per test session, offline; and the session-end process check."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from llmgw.parameters import check_parameters
from llmgw.specialise import resolve_template
from tests.support import SESSION_MARK, marked_processes
from tools.render import ENVIRONMENTS, RenderedStack, render_environment


@dataclass
class DeployedStack:
    """A stack as it would deploy: template specialised to its environment's values."""

    rendered: RenderedStack
    values: dict[str, str]
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def resource(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id]

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


@pytest.fixture
def pipelines_copy(tmp_path):
    """A copy of azure-devops/ to break on purpose."""
    import shutil

    from tools.render import ROOT

    target = tmp_path / "azure-devops"
    shutil.copytree(ROOT / "azure-devops", target)
    return target


@pytest.fixture(scope="session")
def rendered() -> dict[str, dict[str, RenderedStack]]:
    """{env: {"dev/network": RenderedStack, ...}} with example values for prod's --vars."""
    return {env: render_environment(env) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def deployed(rendered) -> dict[str, dict[str, DeployedStack]]:
    """{env: {"network": DeployedStack, ...}}; stack outputs are shaped stand-ins."""
    result: dict[str, dict[str, DeployedStack]] = {}
    for env, stacks in rendered.items():
        result[env] = {}
        for name, stack in stacks.items():
            template = stack.template
            values = check_parameters(template, stack.example_parameters())
            short = name.split("/", 1)[1]
            result[env][short] = DeployedStack(stack, values, resolve_template(template, values))
    return result


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Fresh for every session, a nested one included, so each checks only what it started itself.
    # An xdist worker keeps the mark it inherited from its controller, which checks once every
    # worker has finished: a worker cannot tell its own leftovers from another worker's running tests.
    if not _is_xdist_worker(config):
        os.environ[SESSION_MARK] = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a process it started is still alive once every fixture has been torn down."""
    if _is_xdist_worker(session.config):
        return
    mark = os.environ.get(SESSION_MARK, "")
    deadline = time.monotonic() + 10  # a process stopped by the last teardown may take a moment to exit
    while (left := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) this test run started are still running; stopped now:"]
    lines += [f"  {pid}: {command}" for pid, command in sorted(left.items())]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True, bold=True)
    else:
        print("\n".join(lines))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# The gateway scenarios' summary, here rather than in tests/integration/conftest.py because
# xdist's controller collects nothing and may never load that file.
SCENARIO_PROPERTY = "gateway scenario"  # on a report: one line of tests/integration/load.py's summary
REPORTED_SCENARIOS: list[str] = []  # in the process that prints the summary: xdist's controller, or the only one


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Carry the scenario lines a test wrote on its report, which xdist sends from its worker to the controller."""
    from tests.integration.load import SCENARIO_LINES

    report = yield
    report.user_properties.extend((SCENARIO_PROPERTY, line) for line in SCENARIO_LINES)
    SCENARIO_LINES.clear()
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    REPORTED_SCENARIOS.extend(value for name, value in report.user_properties if name == SCENARIO_PROPERTY)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each gateway scenario's request count and failures, in every run's output, with or without `-n`."""
    if REPORTED_SCENARIOS:
        terminalreporter.section("gateway scenarios under load (tests/integration/test_litellm_service.py)")
        for line in REPORTED_SCENARIOS:
            terminalreporter.write_line(line)
