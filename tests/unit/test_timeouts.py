"""The ALB waits longer than LiteLLM does, so a slow completion ends in LiteLLM's own error, never a 504.

The ALB's idle timeout counts seconds without a byte on the connection. A
non-streaming completion sends nothing until the provider answers, so if the
ALB gives up first, the client gets 504 while the task keeps working and
keeps paying for the call. LiteLLM must give up first, retries included.
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


def test_litellm__does_not_retry_a_timed_out_call_which_would_double_the_wait(litellm_config):
    router = litellm_config["router_settings"]
    assert int(router["timeout"]) == int(litellm_config["litellm_settings"]["request_timeout"])
    assert router["retry_policy"]["TimeoutErrorRetries"] == 0
