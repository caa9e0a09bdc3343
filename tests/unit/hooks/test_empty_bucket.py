"""!empty_bucket against moto's S3: it empties what it names, and fails loudly on what it cannot do."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError

from llmgw_hooks.empty_bucket import BucketNotEmptiedError, EmptyBucket


class Manager:
    """Sceptre's ConnectionManager.call shape over moto; DescribeStacks answers with the given outputs."""

    def __init__(self, outputs: dict[str, str] | None, refuse: str | None = None) -> None:
        self.outputs, self.refuse = outputs, refuse

    def call(self, service: str, command: str, kwargs: dict | None = None, **_: object) -> dict:
        if command == self.refuse:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, command)
        if (service, command) == ("cloudformation", "describe_stacks"):
            if self.outputs is None:
                raise ClientError(
                    {"Error": {"Code": "ValidationError", "Message": "Stack with id x does not exist"}}, command
                )
            return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]}
        return getattr(boto3.client(service, region_name="us-east-1"), command)(**(kwargs or {}))


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="artifacts")
        client.put_bucket_versioning(Bucket="artifacts", VersioningConfiguration={"Status": "Enabled"})
        for n in range(3):
            client.put_object(Bucket="artifacts", Key="lambdas/a.zip", Body=str(n).encode())
        client.delete_object(Bucket="artifacts", Key="lambdas/a.zip")  # a delete marker too
        yield client


def hook(argument: object, manager: Manager) -> EmptyBucket:
    made = EmptyBucket(argument)
    made.stack = SimpleNamespace(name="dev/security", external_name="litellm-dev-security", connection_manager=manager)
    return made


def test_empty_bucket__removes_every_version_and_delete_marker(s3):
    hook("ArtifactBucketName", Manager({"ArtifactBucketName": "artifacts"})).run()

    listing = s3.list_object_versions(Bucket="artifacts")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")


@pytest.mark.parametrize("manager", [Manager(None), Manager({})], ids=["no stack", "stack without outputs yet"])
def test_empty_bucket__with_nothing_to_empty__returns(s3, manager):
    hook("ArtifactBucketName", manager).run()


def test_empty_bucket__a_bucket_already_deleted__returns(s3):
    hook("ArtifactBucketName", Manager({"ArtifactBucketName": "gone"})).run()


def test_empty_bucket__access_denied__fails_naming_the_bucket_and_the_code(s3):
    with pytest.raises(BucketNotEmptiedError, match=r"^dev/security: s3://artifacts: AccessDenied: Access Denied$"):
        hook("ArtifactBucketName", Manager({"ArtifactBucketName": "artifacts"}, refuse="delete_objects")).run()


def test_empty_bucket__describe_refused__fails_rather_than_skipping(s3):
    with pytest.raises(BucketNotEmptiedError, match="AccessDenied"):
        hook("ArtifactBucketName", Manager({"ArtifactBucketName": "artifacts"}, refuse="describe_stacks")).run()


def test_empty_bucket__an_output_the_stack_lacks__fails_naming_the_outputs_it_has(s3):
    with pytest.raises(InvalidHookArgumentValueError, match=r"no such output \(it has ArtifactBucketName\)"):
        hook("ArtifactBucket", Manager({"ArtifactBucketName": "artifacts"})).run()


@pytest.mark.parametrize("argument", [None, "", ["ArtifactBucketName"], {"output": "ArtifactBucketName"}])
def test_empty_bucket__without_an_output_name__fails_naming_the_argument(s3, argument):
    with pytest.raises(InvalidHookArgumentTypeError, match="needs the name of the stack output"):
        hook(argument, Manager({"ArtifactBucketName": "artifacts"})).run()
