"""One rule for a usable master key: the seeding hook, the rotation function and the image's entrypoint agree."""

from __future__ import annotations

import os
import subprocess

import pytest

from llmgw.secrets.values import SecretValueError, seed_master_key
from llmgw_common.gateway_secrets import MASTER_KEY_MIN_ENTROPY, is_master_key
from tools.render import ROOT

SAMPLES = [
    "sk-" + "Zx9" * 16,  # as new_master_key() makes them: 48 letters and digits
    "sk-" + "a" * MASTER_KEY_MIN_ENTROPY,
    "sk-" + "A1" * 40,
    "sk-" + "a" * (MASTER_KEY_MIN_ENTROPY - 1),  # one short of the floor
    "sk-short",
    "sk-",
    "sk",
    "",
    "UNSEEDED",
    "pk-" + "a" * 48,
    "sk-" + "a" * 40 + "-b",  # a dash
    "sk-" + "a" * 40 + " ",  # a trailing space
    "sk-" + "é" * 40,  # letters, but not ASCII: str.isalnum() would take them
    " sk-" + "a" * 40,
    "sk-" + "a" * 39 + "\n" + "b",
]


@pytest.mark.parametrize("key", SAMPLES, ids=repr)
def test_entrypoint__starts_exactly_with_the_keys_is_master_key_accepts(key):
    env = {"PATH": os.environ["PATH"], "LITELLM_MASTER_KEY": key, "LC_ALL": "C.UTF-8"}
    result = subprocess.run(["sh", str(ROOT / "image" / "entrypoint.sh")], env=env, capture_output=True, text=True)

    # 64: refused. Past the check it execs LiteLLM's own entrypoint, absent here: 126 or 127.
    assert (result.returncode != 64) == is_master_key(key), result.stderr
    assert len(key) < 8 or key not in result.stderr  # never echoes the key (short samples occur in the message)


@pytest.mark.parametrize("key", [k for k in SAMPLES if not is_master_key(k) and k not in ("", "UNSEEDED")], ids=repr)
def test_seeding__a_stored_key_the_rule_refuses__stops_and_overwrites_nothing(key):
    with pytest.raises(SecretValueError, match="LITELLM_MASTER_KEY is set but is not a master key") as caught:
        seed_master_key({"LITELLM_MASTER_KEY": key, "LITELLM_SALT_KEY": "s" * 64})
    assert len(key) < 8 or key.strip() not in str(caught.value)


@pytest.mark.parametrize("placeholder", ["", "UNSEEDED", None])
def test_seeding__an_unset_key__is_generated_and_the_rule_accepts_it(placeholder):
    current = {"LITELLM_SALT_KEY": "s" * 64} | ({} if placeholder is None else {"LITELLM_MASTER_KEY": placeholder})
    seeded, report = seed_master_key(current)
    assert is_master_key(seeded["LITELLM_MASTER_KEY"]) and report.set == ["LITELLM_MASTER_KEY"]


def test_seeding__a_key_the_rule_accepts__is_kept():
    key = "sk-" + "k" * MASTER_KEY_MIN_ENTROPY
    seeded, report = seed_master_key({"LITELLM_MASTER_KEY": key, "LITELLM_SALT_KEY": "s" * 64})
    assert seeded["LITELLM_MASTER_KEY"] == key and "LITELLM_MASTER_KEY" in report.kept
