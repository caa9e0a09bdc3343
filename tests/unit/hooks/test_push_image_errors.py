"""!push_image, when the endpoint cannot hand out an ECR authorization: one line, never a traceback.

Faked at the narrowest point, Sceptre's connection manager, answering as an
AWS emulator without ECR does (LocalStack's community edition: NotImplemented)
or as an account whose role may not call ECR.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from llmgw_hooks.push_image import ImageNotAvailableError, PushImage
from tools.render import ROOT


class NoEcr:
    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message

    def call(self, service: str, command: str, kwargs: dict) -> dict:
        raise ClientError({"Error": {"Code": self.code, "Message": self.message}}, "GetAuthorizationToken")


def hook(manager) -> PushImage:
    push = PushImage("image")
    push.stack = SimpleNamespace(
        name="dev/litellm",
        stack_group_config={"project_path": str(ROOT)},
        parameters={"RepositoryUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/dev-litellm-proxy",
                    "ImageTag": "1.106.12-amd64-0123456789abcdef", "CpuArchitecture": "X86_64"},
        connection_manager=manager,
    )  # fmt: skip
    return push


def test_push_image__an_emulator_without_ecr__says_so_in_one_line_and_lets_the_launch_go_on(monkeypatch, caplog):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")

    with caplog.at_level(logging.INFO):
        hook(NoEcr("InternalFailure", "API for service 'ecr' not yet implemented")).run()

    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("image: the endpoint http://127.0.0.1:4566 hands out no ECR authorization")
    assert "not yet implemented" in line and "was not built" in line


def test_push_image__ecr_refuses_the_token_on_aws__stops_the_launch_in_one_line(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    refusal = NoEcr(
        "AccessDeniedException", "User: arn:aws:iam::1:user/ci is not authorized to perform: ecr:GetAuthorizationToken"
    )

    with pytest.raises(ImageNotAvailableError) as stopped:
        hook(refusal).run()

    message = str(stopped.value)
    assert "\n" not in message and message.startswith("dev/litellm: ECR would not hand out a registry token")
    assert "ecr:GetAuthorizationToken" in message
