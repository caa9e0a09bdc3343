"""The base image's digest and signature check (llmgw.images.signature), with skopeo and cosign stubbed.

What runs where: in a pipeline (TF_BUILD) every check must run; elsewhere a missing tool is a
notice; against the emulator nothing is pulled, so nothing is verified.
"""

from __future__ import annotations

import subprocess

import pytest

from llmgw.images import signature as image_signature
from llmgw.images.signature import BaseImageError, verify

DIGEST, MOVED = "sha256:" + "a" * 64, "sha256:" + "b" * 64
KEY = "https://raw.githubusercontent.com/BerriAI/litellm/0123abc/cosign.pub"


@pytest.fixture
def context(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("TF_BUILD", raising=False)
    directory = tmp_path / "image"
    directory.mkdir()
    (directory / "Dockerfile").write_text("ARG LITELLM_BASE_PIN=\nFROM reg.example/litellm:v1${LITELLM_BASE_PIN}\n")
    (directory / "build-args").write_text(f"LITELLM_COSIGN_KEY={KEY}\n")
    return directory


@pytest.fixture
def tools(monkeypatch):
    """Which of skopeo and cosign exist, what the registry says, and every command run."""
    state = {"skopeo": True, "cosign": True, "digest": DIGEST, "signed": True, "ran": []}

    def which(name):
        return f"/usr/bin/{name}" if state.get(name) else None

    def run(argv, **_):
        state["ran"].append(argv)
        if argv[0].endswith("skopeo"):
            return subprocess.CompletedProcess(argv, 0, state["digest"] + "\n", "")
        ok = state["signed"]
        return subprocess.CompletedProcess(argv, 0 if ok else 1, "", "" if ok else "Error: no matching signatures")

    monkeypatch.setattr(image_signature.shutil, "which", which)
    monkeypatch.setattr(image_signature.subprocess, "run", run)
    return state


def _pin(context, digest=DIGEST):
    (context / "build-args").write_text(f"LITELLM_IMAGE_DIGEST={digest}\nLITELLM_COSIGN_KEY={KEY}\n")


def test_pinned_base__is_checked_against_the_tag_and_verified_with_litellms_key(context, tools):
    _pin(context)
    said = []

    verify(context, say=said.append, project=context.parent)

    assert ["/usr/bin/cosign", "verify", "--key", KEY, f"reg.example/litellm@{DIGEST}"] in tools["ran"]
    assert said == [f"base image: reg.example/litellm@{DIGEST} is signed with LiteLLM's key ({KEY})"]


def test_pinned_base_whose_tag_moved__is_refused(context, tools):
    _pin(context)
    tools["digest"] = MOVED

    with pytest.raises(BaseImageError, match=rf"reg.example/litellm:v1 is now {MOVED}, not the pinned {DIGEST}"):
        verify(context, project=context.parent)


def test_unsigned_image__is_refused_with_cosigns_reason(context, tools):
    _pin(context)
    tools["signed"] = False

    with pytest.raises(BaseImageError, match=r"cosign could not verify .*: Error: no matching signatures"):
        verify(context, project=context.parent)


def test_unpinned_base__is_resolved_recorded_and_verified_by_that_digest(context, tools):
    said = []

    verify(context, say=said.append, project=context.parent)

    assert (context.parent / "build" / "base-image-digest.txt").read_text() == f"LITELLM_IMAGE_DIGEST={DIGEST}\n"
    assert said[0].startswith(f"base image: reg.example/litellm:v1 is not pinned; it is {DIGEST} today. Commit")
    assert tools["ran"][-1][-1] == f"reg.example/litellm@{DIGEST}"


def test_missing_cosign__is_a_notice_here_and_a_failure_in_a_pipeline(context, tools, monkeypatch):
    _pin(context)
    tools["cosign"] = False
    said = []
    verify(context, say=said.append, project=context.parent)
    assert said == [f"base image: notice: cosign is not installed: the signature of reg.example/litellm:v1@{DIGEST} "
                    "is not verified here"]  # fmt: skip

    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setattr(
        image_signature,
        "install_cosign",
        lambda directory: (_ for _ in ()).throw(
            BaseImageError("cosign v2.4.1: cosign-linux-amd64 does not match the release's cosign_checksums.txt")
        ),
    )
    with pytest.raises(BaseImageError, match=r"does not match the release's cosign_checksums\.txt"):
        verify(context, project=context.parent)


def test_missing_skopeo__in_a_pipeline__is_a_failure(context, tools, monkeypatch):
    tools["skopeo"] = False
    monkeypatch.setenv("TF_BUILD", "True")

    with pytest.raises(BaseImageError, match="skopeo is not installed"):
        verify(context, project=context.parent)


def test_against_the_emulator__nothing_is_pulled_so_nothing_is_verified_and_it_says_so(context, tools, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("TF_BUILD", "True")
    said = []

    verify(context, say=said.append, project=context.parent)

    assert tools["ran"] == [] and said == [
        "base image: stand-in: deploying to an emulator, which builds and pulls no image; not verified"
    ]


def test_the_repositorys_image__names_litellms_key_at_a_commit_not_a_branch():
    from llmgw.images.build import ImageDefinition
    from tools.render import ROOT

    key = ImageDefinition.from_directory(ROOT / "image").build_args["LITELLM_COSIGN_KEY"]
    assert key.startswith("https://raw.githubusercontent.com/BerriAI/litellm/") and key.endswith("/cosign.pub")
    commit = key.split("/")[-2]
    assert len(commit) == 40 and all(c in "0123456789abcdef" for c in commit), "a commit hash cannot be moved"


def test_from_scratch__has_no_base_image_to_verify_and_says_so(context, tools):
    (context / "Dockerfile").write_text("FROM scratch\nCOPY x /x\n")
    said = []

    verify(context, say=said.append, project=context.parent)

    assert tools["ran"] == [] and said == ["base image: none (FROM scratch): nothing to verify"]
