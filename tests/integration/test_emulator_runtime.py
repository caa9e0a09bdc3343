"""The emulator runs what AWS runs: Lambda code, Secrets Manager's rotations, RDS on PostgreSQL, a new account's limits.

Each test deploys through the emulator's own APIs, as the AWS CLI would, and
reads the outcome back through them.
"""

from __future__ import annotations

import io
import json
import textwrap
import time
import zipfile

import botocore.exceptions
import psycopg2
import pytest

from tests.integration.conftest import start_emulator, stop_emulator
from tools.local import read_rotations, wait_for_rotation

ROLE = "arn:aws:iam::123456789012:role/runtime-test"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", textwrap.dedent(source))
    return buffer.getvalue()


def deploy(emulator, name: str, source: str, timeout: int = 30, **extra) -> str:
    """Upload the function's zip to S3 and create it from there, as the templates do. Returns its ARN."""
    s3 = emulator.client("s3")
    if "runtime-artifacts" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="runtime-artifacts")
    s3.put_object(Bucket="runtime-artifacts", Key=f"{name}.zip", Body=_zip(source))
    iam = emulator.client("iam")
    if "runtime-test" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]:
        statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        trust = {"Version": "2012-10-17", "Statement": [statement]}
        iam.create_role(RoleName="runtime-test", AssumeRolePolicyDocument=json.dumps(trust))
    function = emulator.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.lambda_handler",
        Code={"S3Bucket": "runtime-artifacts", "S3Key": f"{name}.zip"},
        Timeout=timeout,
        **extra,
    )
    return function["FunctionArn"]


def invoke(emulator, name: str, event: dict | None = None) -> tuple[dict, str | None]:
    response = emulator.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError")


def test_lambda__runs_the_uploaded_zip_in_an_isolated_python_of_its_runtime_with_its_environment(emulator):
    deploy(
        emulator,
        "runtime-probe",
        """
        import os, sys, boto3
        def lambda_handler(event, context):
            return {"version": sys.version_info[:2], "greeting": os.environ["GREETING"], "echo": event,
                    "boto3": boto3.__version__, "site": [p for p in sys.path if "site-packages" in p],
                    "remaining": context.get_remaining_time_in_millis(), "name": context.function_name}
        """,
        Environment={"Variables": {"GREETING": "hello"}},
    )

    result, error = invoke(emulator, "runtime-probe", {"ping": 1})

    assert error is None
    assert result["version"] == [3, 12]
    assert result["greeting"] == "hello" and result["echo"] == {"ping": 1}
    assert result["site"] == [], "nothing from this machine's site-packages is importable"
    assert 0 < result["remaining"] <= 30_000 and result["name"] == "runtime-probe"


def test_lambda__the_functions_sdk_calls_reach_the_emulator(emulator):
    emulator.client("secretsmanager").create_secret(Name="runtime/probe", SecretString="{}")
    deploy(
        emulator,
        "runtime-sdk",
        """
        import boto3
        def lambda_handler(event, context):
            return [s["Name"] for s in boto3.client("secretsmanager").list_secrets()["SecretList"]]
        """,
    )

    result, error = invoke(emulator, "runtime-sdk")

    assert error is None and "runtime/probe" in result


def test_lambda__an_exception_is_an_unhandled_error_with_the_functions_message_in_logs_and_metrics(emulator):
    deploy(
        emulator,
        "runtime-raise",
        """
        def lambda_handler(event, context):
            raise ValueError("the input was not what I wanted")
        """,
    )

    result, error = invoke(emulator, "runtime-raise")

    assert error == "Unhandled"
    assert result["errorType"] == "ValueError" and result["errorMessage"] == "the input was not what I wanted"
    logs = emulator.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName="/aws/lambda/runtime-raise")["logStreams"]
    messages = [e["message"] for e in logs.get_log_events(logGroupName="/aws/lambda/runtime-raise",
                                                          logStreamName=stream["logStreamName"])["events"]]  # fmt: skip
    assert messages[0].startswith("START RequestId:") and messages[-1].startswith("REPORT RequestId:")
    assert "[ERROR] ValueError: the input was not what I wanted" in messages
    errors = emulator.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "runtime-raise"}],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in errors) == 1


def test_lambda__a_function_that_outlives_its_timeout_is_stopped_as_sandbox_timedout(emulator):
    deploy(
        emulator,
        "runtime-slow",
        """
        import time
        def lambda_handler(event, context):
            time.sleep(30)
        """,
        timeout=1,
    )
    started = time.monotonic()

    result, error = invoke(emulator, "runtime-slow")

    assert time.monotonic() - started < 15
    assert error == "Unhandled" and result["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result["errorMessage"]


def test_new_account__reserving_concurrency_fails_with_lambdas_minimum_unreserved_message(emulator):
    deploy(emulator, "runtime-reserve", "def lambda_handler(event, context):\n    return 1\n")

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        emulator.client("lambda").put_function_concurrency(
            FunctionName="runtime-reserve", ReservedConcurrentExecutions=1
        )

    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == (
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
        "below its minimum value of [10]."
    )


def test_new_account__a_cluster_with_capacity_providers_fails_until_the_ecs_service_linked_role_exists(emulator):
    ecs, iam = emulator.client("ecs"), emulator.client("iam")

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecs.create_cluster(clusterName="runtime-first", capacityProviders=["FARGATE"])

    assert "Unable to assume the service linked role" in refused.value.response["Error"]["Message"]
    assert iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]["Path"] == "/aws-service-role/ecs.amazonaws.com/"
    assert ecs.create_cluster(clusterName="runtime-first", capacityProviders=["FARGATE"])["cluster"]["status"]


@pytest.fixture(scope="module")
def established():
    process, running = start_emulator("established")
    yield running
    stop_emulator(process)


def test_established_account__reserving_concurrency_within_the_limit_succeeds(established):
    deploy(established, "runtime-reserve", "def lambda_handler(event, context):\n    return 1\n")

    response = established.client("lambda").put_function_concurrency(
        FunctionName="runtime-reserve", ReservedConcurrentExecutions=1
    )

    assert response["ReservedConcurrentExecutions"] == 1


# ---- Secrets Manager rotation ---------------------------------------------------------

# A minimal, correct rotation function in the shape of AWS's templates: it records
# what Secrets Manager asked of it, in order, in the secret's description.
ROTATOR = """
import boto3, json, os
sm = boto3.client("secretsmanager")

def record(arn, entry):
    described = sm.describe_secret(SecretId=arn)
    log = json.loads(described.get("Description") or "[]") + [entry]
    sm.update_secret(SecretId=arn, Description=json.dumps(log))

def lambda_handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"].get(token)
    try:
        pending = sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        pending = None
    record(arn, [step, token, stages, pending])
    if os.environ.get("FAIL_AT") == step:
        raise RuntimeError(f"{step} cannot go on")
    if step == "createSecret" and pending is None:
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString='{"v": "new"}',
                            VersionStages=["AWSPENDING"])
    if step == "finishSecret" and os.environ.get("PROMOTE", "yes") == "yes":
        current = next(v for v, s in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items()
                       if "AWSCURRENT" in s)
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                       RemoveFromVersionId=current)
"""


def rotating_secret(emulator, name: str, **variables: str) -> tuple[str, str]:
    """A secret and a rotation function that Secrets Manager may invoke for it."""
    arn = emulator.client("secretsmanager").create_secret(Name=name, SecretString='{"v": "old"}')["ARN"]
    function = deploy(emulator, name.replace("/", "-"), ROTATOR, Environment={"Variables": variables})
    emulator.client("lambda").add_permission(
        FunctionName=function,
        StatementId="secretsmanager",
        Action="lambda:InvokeFunction",
        Principal="secretsmanager.amazonaws.com",
        SourceArn=arn,
    )
    return arn, function


def recorded(emulator, arn: str) -> list[list]:
    return json.loads(emulator.client("secretsmanager").describe_secret(SecretId=arn).get("Description") or "[]")


def test_rotate_secret__runs_the_four_steps_with_the_token_it_staged_on_an_empty_pending_version(emulator):
    arn, function = rotating_secret(emulator, "rotation/immediate")
    secrets = emulator.client("secretsmanager")

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function,
                                    RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]  # fmt: skip
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=120)

    assert outcome["status"] == "Succeeded", outcome
    calls = recorded(emulator, arn)
    assert [c[0] for c in calls] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert {c[1] for c in calls} == {version}
    assert calls[0][2] == ["AWSPENDING"] and calls[0][3] is None, "createSecret sees an empty AWSPENDING version"
    current = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    assert current == {"v": "new"}
    assert secrets.describe_secret(SecretId=arn)["RotationEnabled"] is True


def test_rotate_secret__not_immediately__tests_the_configuration_on_a_copy_of_the_current_value_then_removes_it(
    emulator,
):
    arn, function = rotating_secret(emulator, "rotation/test-only")
    secrets = emulator.client("secretsmanager")
    before = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function, RotateImmediately=False,
                                    RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]  # fmt: skip
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=60)

    assert outcome["status"] == "Succeeded" and outcome["kind"] == "test"
    ((step, token, stages, pending),) = recorded(emulator, arn)
    assert (step, token, stages, pending) == ("testSecret", version, ["AWSPENDING"], '{"v": "old"}')
    assert secrets.describe_secret(SecretId=arn)["VersionIdsToStages"] == before, "the test's version is removed"


def test_rotate_secret__a_function_that_never_moves_awscurrent__fails_the_rotation(emulator):
    arn, function = rotating_secret(emulator, "rotation/no-promote", PROMOTE="no")
    secrets = emulator.client("secretsmanager")

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function)["VersionId"]
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=120)

    assert outcome["status"] == "Failed"
    assert (
        outcome["failure"]
        == f"Pending secret version {version} for Secret rotation/no-promote was not set as AWSCURRENT"
    )


def test_rotate_secret__a_failing_step_is_retried_then_fails_and_blocks_the_next_rotation(emulator):
    arn, function = rotating_secret(emulator, "rotation/failing", FAIL_AT="setSecret")
    secrets = emulator.client("secretsmanager")

    version = secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function)["VersionId"]
    outcome = wait_for_rotation(emulator.endpoint, version, timeout=120)

    assert outcome["status"] == "Failed"
    assert outcome["failure"] == "setSecret failed: RuntimeError: setSecret cannot go on"
    assert [c[0] for c in recorded(emulator, arn)] == ["createSecret"] + ["setSecret"] * 3
    assert secrets.describe_secret(SecretId=arn)["VersionIdsToStages"][version] == ["AWSPENDING"]
    with pytest.raises(botocore.exceptions.ClientError, match="A previous rotation isn't complete"):
        secrets.rotate_secret(SecretId=arn)


def test_rotate_secret__a_function_secrets_manager_may_not_invoke__is_refused_before_anything_runs(emulator):
    secrets = emulator.client("secretsmanager")
    arn = secrets.create_secret(Name="rotation/no-permission", SecretString="{}")["ARN"]
    function = deploy(emulator, "rotation-no-permission", ROTATOR)

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        secrets.rotate_secret(SecretId=arn, RotationLambdaARN=function)

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "Secrets Manager cannot invoke the specified Lambda function" in refused.value.response["Error"]["Message"]
    assert recorded(emulator, arn) == []
    assert not [r for r in read_rotations(emulator.endpoint) if r["secret_arn"] == arn]


# ---- RDS ------------------------------------------------------------------------------


def test_rds_instance__is_a_tls_only_postgresql_15_whose_master_login_is_the_managed_secret(emulator):
    rds, secrets = emulator.client("rds"), emulator.client("secretsmanager")

    instance = rds.create_db_instance(
        DBInstanceIdentifier="runtime-db",
        Engine="postgres",
        EngineVersion="15.13",
        DBInstanceClass="db.t3.micro",
        DBName="app",
        MasterUsername="app_admin",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
    )["DBInstance"]

    master = json.loads(secrets.get_secret_value(SecretId=instance["MasterUserSecret"]["SecretArn"])["SecretString"])
    assert master["username"] == "app_admin" and len(master["password"]) >= 20
    endpoint = instance["Endpoint"]
    login = {"host": endpoint["Address"], "port": endpoint["Port"], "dbname": "app", "user": "app_admin",
             "password": master["password"], "connect_timeout": 5}  # fmt: skip
    with psycopg2.connect(sslmode="require", **login) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int / 10000, rolsuper, rolcreaterole "
                       "FROM pg_roles WHERE rolname = current_user")  # fmt: skip
        assert cursor.fetchone() == (15, False, True), "PostgreSQL 15; the master is no superuser but creates roles"
    connection.close()
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        psycopg2.connect(sslmode="disable", **login)

    rds.delete_db_instance(DBInstanceIdentifier="runtime-db", SkipFinalSnapshot=True)
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(sslmode="require", **login)


# ---- custom resources ---------------------------------------------------------------------

# A custom resource's function that keeps every request it gets (in S3, for the test to read) and
# answers as its properties say: FAILED with a reason, or SUCCESS with Data and a physical id.
_CUSTOM_RESOURCE = """
import json, time, urllib.request, boto3
def lambda_handler(event, context):
    props = event["ResourceProperties"]
    status = boto3.client("cloudformation").describe_stacks(StackName=event["StackId"])["Stacks"][0]["StackStatus"]
    boto3.client("s3").put_object(Bucket="runtime-artifacts", Key=f"requests/{time.time_ns()}-{event['RequestId']}",
                                  Body=json.dumps({**event, "StackStatus": status}))
    fail = event["RequestType"] != "Delete" and props.get("Fail") == "true"
    body = {"Status": "FAILED" if fail else "SUCCESS", "Reason": "the thing refused: " + props.get("Value", ""),
            "PhysicalResourceId": "thing-" + props.get("Generation", "1"),
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"], "Data": {"Echo": props.get("Value", "")}}
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT",
                                     headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=10).read()
"""


def _custom_stack(emulator, token: str, **properties) -> dict:
    from tests.integration.test_emulator_resources import create

    resources = {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": token, **properties}}}
    return create(emulator, resources, outputs={"Echo": {"Value": {"Fn::GetAtt": ["Thing", "Echo"]}}})


def _ordered(emulator, stack_id: str, before: set[str]) -> list[dict]:
    """The requests the stack's custom resource got that are not in ``before``, oldest first."""
    s3 = emulator.client("s3")
    keys = sorted(s3.list_objects_v2(Bucket="runtime-artifacts", Prefix="requests/").get("Contents", []),
                  key=lambda k: k["Key"])  # fmt: skip
    events = [json.loads(s3.get_object(Bucket="runtime-artifacts", Key=k["Key"])["Body"].read()) for k in keys]
    return [e for e in events if e["StackId"] == stack_id and e["RequestId"] not in before]


def test_custom_resource__gets_create_update_and_delete_requests_and_its_data_reaches_getatt(emulator):
    from tests.integration.test_emulator_resources import delete, update

    token = deploy(emulator, "custom-thing", _CUSTOM_RESOURCE)
    stack = _custom_stack(emulator, token, Value="one", Count=3, Flag=True)

    assert stack["StackStatus"] == "CREATE_COMPLETE", [e.get("ResourceStatusReason") for e in stack["Events"]]
    assert stack["Out"]["Echo"] == "one"
    (created,) = _ordered(emulator, stack["StackId"], set())
    assert created["RequestType"] == "Create" and created["LogicalResourceId"] == "Thing"
    assert created["ResourceType"] == "Custom::Thing" and created["StackStatus"] == "CREATE_IN_PROGRESS"
    assert created["ResourceProperties"] == {"ServiceToken": token, "Value": "one", "Count": "3", "Flag": "true"}

    seen = {created["RequestId"]}
    resources = {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": token, "Value": "two",
                                                                   "Generation": "2"}}}  # fmt: skip
    update(emulator, stack, resources)
    updated, replaced = _ordered(emulator, stack["StackId"], seen)
    assert updated["RequestType"] == "Update" and updated["PhysicalResourceId"] == "thing-1"
    assert updated["OldResourceProperties"]["Value"] == "one" and updated["ResourceProperties"]["Value"] == "two"
    # A new physical id is a replacement: the old one is deleted in the cleanup phase.
    assert replaced["RequestType"] == "Delete" and replaced["PhysicalResourceId"] == "thing-1"
    assert replaced["StackStatus"] == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"

    seen |= {updated["RequestId"], replaced["RequestId"]}
    assert delete(emulator, stack) == "DELETE_COMPLETE"
    (deleted,) = _ordered(emulator, stack["StackId"], seen)
    assert deleted["RequestType"] == "Delete" and deleted["PhysicalResourceId"] == "thing-2"


def test_custom_resource__a_failed_response_fails_the_create_with_its_reason(emulator):
    token = deploy(emulator, "custom-thing-fails", _CUSTOM_RESOURCE)
    stack = _custom_stack(emulator, token, Value="no capacity", Fail=True)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    (reason,) = [e["ResourceStatusReason"] for e in stack["Events"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert reason.startswith("Received response status [FAILED] from custom resource. Message returned: ")
    assert "the thing refused: no capacity" in reason


def test_custom_resource__a_rollback_sends_an_update_back_to_the_old_properties_during_update_rollback(emulator):
    from tests.integration.test_emulator_resources import create, update

    token = deploy(emulator, "custom-thing-rollback", _CUSTOM_RESOURCE)
    thing = {"Type": "Custom::Thing", "Properties": {"ServiceToken": token, "Value": "old"}}
    later = {"Type": "Custom::Thing", "DependsOn": "Thing", "Properties": {"ServiceToken": token, "Value": "ok"}}
    stack = create(emulator, {"Later": later, "Thing": thing})
    seen = {e["RequestId"] for e in _ordered(emulator, stack["StackId"], set())}
    broken = {**later, "Properties": {**later["Properties"], "Value": "breaks", "Fail": True}}
    renewed = {**thing, "Properties": {**thing["Properties"], "Value": "new"}}

    update(emulator, stack, {"Later": broken, "Thing": renewed})

    status = emulator.client("cloudformation").describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"]
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    requests = [(e["LogicalResourceId"], e["RequestType"], e["ResourceProperties"]["Value"], e["StackStatus"])
                for e in _ordered(emulator, stack["StackId"], seen)]  # fmt: skip
    # What a resource DependsOn is updated first, whatever the template's order.
    assert requests[:2] == [("Thing", "Update", "new", "UPDATE_IN_PROGRESS"),
                            ("Later", "Update", "breaks", "UPDATE_IN_PROGRESS")], requests  # fmt: skip
    assert ("Thing", "Update", "old", "UPDATE_ROLLBACK_IN_PROGRESS") in requests[2:], requests
