"""The ALB waits longer than LiteLLM does, so a slow completion ends in LiteLLM's own error, never a 504 or a 502.

The ALB's idle timeout counts seconds without a byte on the connection. A
non-streaming completion sends nothing until the provider answers, so if the
ALB gives up first, the client gets 504 while the task keeps working and
keeps paying for the call. LiteLLM must give up first, retries included. And a
task being replaced must keep its open requests as long: a deploy that stopped it
sooner would cut the completion with a 502.
"""

from __future__ import annotations

import pytest
import yaml

from tools.render import ROOT

MARGIN = 30  # seconds for LiteLLM to answer after its own timeout


@pytest.fixture(scope="module")
def litellm_config() -> dict:
    return yaml.safe_load((ROOT / "image/config.yaml").read_text())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_alb_idle_timeout__outlasts_litellms_request_timeout(deployed, litellm_config, env):
    idle = int(deployed[env]["alb"].values["IdleTimeoutSeconds"])
    request = int(litellm_config["litellm_settings"]["request_timeout"])

    assert idle >= request + MARGIN, f"{env}: the ALB cuts a {request} s completion at {idle} s with a 504"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_alb_drain__outlasts_litellms_request_timeout_so_a_deploy_cuts_no_completion(deployed, litellm_config, env):
    """A task being replaced keeps its open requests for the deregistration delay, then stops.

    Shown in the rehearsal by
    test_rolling_deploy__a_long_completion_in_flight_on_a_replaced_task_still_completes.
    """
    values = deployed[env]["alb"].values
    drain = int(values["DeregistrationDelaySeconds"])
    request = int(litellm_config["litellm_settings"]["request_timeout"])

    assert drain >= request + MARGIN, f"{env}: a deploy cuts a {request} s completion after {drain} s"


def test_litellm__does_not_retry_a_timed_out_call_which_would_double_the_wait(litellm_config):
    router = litellm_config["router_settings"]
    assert int(router["timeout"]) == int(litellm_config["litellm_settings"]["request_timeout"])
    assert router["retry_policy"]["TimeoutErrorRetries"] == 0
