"""!push_image for real: Debian's buildah builds, Debian's docker-registry receives.

The registry runs on 127.0.0.1 with htpasswd basic auth, the auth shape ECR
uses; the ECR authorization token comes from moto through Sceptre's own
connection manager, so the only fake is AWS's token endpoint.
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from moto import mock_aws
from sceptre.connection_manager import ConnectionManager

from llmgw.images.build import ImageDefinition
from llmgw.net import free_port
from llmgw_hooks.push_image import ImageNotAvailableError, PushImage

MOTO_ECR_PASSWORD = "123456789012-auth-token"  # what moto's GetAuthorizationToken hands out
TOOLS = ("buildah", "docker-registry", "htpasswd")


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"needs {', '.join(missing)} (Debian packages buildah, docker-registry, apache2-utils)"
        missing(message)


def start_registry(workdir: Path, password: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    htpasswd = subprocess.run(["htpasswd", "-Bbn", "AWS", password], capture_output=True, text=True, check=True).stdout
    (workdir / "htpasswd").write_text(htpasswd)
    (workdir / "config.yml").write_text(
        f"""version: 0.1
log: {{level: error}}
storage: {{filesystem: {{rootdirectory: {workdir / "data"}}}}}
http: {{addr: 127.0.0.1:{port}}}
auth: {{htpasswd: {{realm: test, path: {workdir / "htpasswd"}}}}}
"""
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(workdir / "config.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
        except urllib.error.HTTPError:
            break  # 401: up, and asking for credentials
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("docker-registry did not start")
            time.sleep(0.2)
        else:
            break
    return process, port


@pytest.fixture
def registry(tmp_path) -> Iterator[int]:
    (tmp_path / "registry").mkdir()
    process, port = start_registry(tmp_path / "registry", MOTO_ECR_PASSWORD)
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def project(tmp_path) -> Path:
    """A Sceptre project holding a FROM scratch build context; no outside registry is needed."""
    context = tmp_path / "project" / "image"
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\nARG LITELLM_VERSION\nCOPY hello.txt /hello.txt\n")
    (context / "hello.txt").write_text("hello\n")
    (context / "build-args").write_text("LITELLM_VERSION=0.0.1\n")
    return tmp_path / "project"


@pytest.fixture(autouse=True)
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def push(project: Path, port: int, tag: str | None = None, architecture: str = "X86_64") -> None:
    hook = PushImage("image")
    platform = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}[architecture]
    hook.stack = SimpleNamespace(
        name="dev/litellm",
        stack_group_config={"project_path": str(project)},
        parameters={
            "RepositoryUri": f"127.0.0.1:{port}/dev-litellm-proxy",
            "ImageTag": tag or ImageDefinition.from_directory(project / "image", platform=platform).tag,
            "CpuArchitecture": architecture,
        },
        connection_manager=ConnectionManager(region="us-east-1"),
    )
    hook.run()


def registry_has(port: int, tag: str) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/dev-litellm-proxy/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
        },
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(f"AWS:{MOTO_ECR_PASSWORD}".encode()).decode())
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as err:
        assert err.code == 404
        return False
    return True


def test_push_image__new_content__is_built_and_pushed_under_its_content_tag(project, registry, caplog):
    tag = ImageDefinition.from_directory(project / "image").tag
    assert not registry_has(registry, tag)

    with caplog.at_level(logging.INFO):
        push(project, registry)

    assert registry_has(registry, tag)
    assert "pushed" in caplog.text


def _image_config(port: int, tag: str) -> dict:
    """The pushed image's config, as a task's runtime reads it: architecture and OS."""
    import json

    credentials = "Basic " + base64.b64encode(f"AWS:{MOTO_ECR_PASSWORD}".encode()).decode()
    accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

    def get(path: str, accept_type: str = "*/*") -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v2/dev-litellm-proxy/{path}")
        request.add_header("Authorization", credentials)
        request.add_header("Accept", accept_type)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    manifest = get(f"manifests/{tag}", accept)
    return get(f"blobs/{manifest['config']['digest']}")


@pytest.mark.parametrize(("architecture", "expected"), [("ARM64", "arm64"), ("X86_64", "amd64")])
def test_push_image__builds_for_the_tasks_cpu_architecture_whatever_this_machine_is(
    project, registry, architecture, expected
):
    platform = f"linux/{expected}"
    tag = ImageDefinition.from_directory(project / "image", platform=platform).tag

    push(project, registry, architecture=architecture)

    config = _image_config(registry, tag)
    assert (config["os"], config["architecture"]) == ("linux", expected)
    assert f"-{expected}-" in tag, "the platform is part of the immutable tag"


def test_push_image__second_run__finds_the_tag_and_does_not_rebuild(project, registry, caplog):
    push(project, registry)
    caplog.clear()

    with caplog.at_level(logging.INFO):
        push(project, registry)

    messages = [record.getMessage() for record in caplog.records]
    assert any(m.endswith("is already in the registry; not rebuilding") for m in messages)
    assert not any(m.startswith(("building", "pushed")) for m in messages)


def test_push_image__changed_input__gets_a_new_tag(project, registry):
    first = ImageDefinition.from_directory(project / "image").tag
    push(project, registry)
    (project / "image" / "build-args").write_text("LITELLM_VERSION=0.0.2\n")

    second = ImageDefinition.from_directory(project / "image").tag
    push(project, registry)

    assert first != second and second.startswith("0.0.2-")
    assert registry_has(registry, first) and registry_has(registry, second)


def test_push_image__same_inputs__always_give_the_same_tag(project, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(project / "image", copy)
    assert ImageDefinition.from_directory(project / "image").tag == ImageDefinition.from_directory(copy).tag


def test_push_image__denied_credentials__fail_in_one_line_before_building(project, tmp_path):
    (tmp_path / "strict").mkdir()
    process, port = start_registry(tmp_path / "strict", "another-password")
    try:
        with pytest.raises(ImageNotAvailableError) as caught:
            push(project, port)
    finally:
        process.terminate()
    assert str(caught.value) == f"dev/litellm: registry 127.0.0.1:{port} refused the credentials (401)"


def test_push_image__failed_build__fails_in_one_line_and_pushes_nothing(project, registry):
    (project / "image" / "Dockerfile").write_text("FROM scratch\nCOPY missing-file.txt /\n")
    tag = ImageDefinition.from_directory(project / "image").tag

    with pytest.raises(ImageNotAvailableError, match=r"^dev/litellm: build of .* failed \(buildah\): ") as caught:
        push(project, registry)

    assert "\n" not in str(caught.value)
    assert not registry_has(registry, tag)


def test_push_image__no_builder__fails_in_one_line(project, registry, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(
        ImageNotAvailableError, match=r"no container builder found: install one of docker, podman, buildah"
    ):
        push(project, registry)


def test_push_image__override_tag_not_in_the_registry__is_refused(project, registry):
    with pytest.raises(ImageNotAvailableError, match=r"ImageTag 0\.0\.0-old is not in .* push 0\.0\.0-old first"):
        push(project, registry, tag="0.0.0-old")
