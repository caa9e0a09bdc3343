"""Secrets Manager's rotation as AWS runs it: RotateSecret and AWS::SecretsManager::RotationSchedule.

moto 5.2's RotateSecret invokes the function through Docker, ignores what the
function returns, then moves AWSCURRENT itself, and refuses a new rotation in
exactly the state a successful one leaves. AWS does this instead
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html,
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda.html):

- It refuses to start while AWSPENDING sits on a version that is not
  AWSCURRENT ("A previous rotation isn't complete"), and refuses a function
  whose resource policy does not let ``secretsmanager.amazonaws.com``
  invoke it.
- ``RotateImmediately`` true: it attaches AWSPENDING to a new, empty version
  whose id is the ClientRequestToken, then invokes createSecret, setSecret,
  testSecret and finishSecret with that token. A failed step is retried; a
  rotation whose function never moved AWSCURRENT to the token fails with
  "Pending secret version ... was not set as AWSCURRENT".
- ``RotateImmediately`` false: it tests the configuration by running only
  testSecret, against an AWSPENDING version it creates from the current
  value, and then removes that version.
- It reports RotationStarted/Succeeded/Failed (TestRotation* for a test) to
  EventBridge's default bus, as CloudTrail events.

RotateSecret is asynchronous on AWS, so the API call returns the version id
at once and the steps run in the background. The CloudFormation resource
waits, and a failure fails the resource with the function's own message.
Every rotation's outcome is also kept where tools can read it:
``GET /moto-api/llmgw/rotations`` (an emulator-only endpoint, like moto's own
``/moto-api``), since AWS offers no API that says a rotation has ended.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
    SecretNotFoundException,
    SecretsManagerClientError,
)
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends

from . import lambda_runtime, lambda_service
from .request_lock import SERVER_LOCK

__all__ = ["ROTATIONS", "RotationFailedError", "RotationSchedule", "install"]

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# AWS retries a failed step but does not document how often or how fast; the
# emulator tries each step this many times in a row (README, emulator section).
ATTEMPTS = 3
_INSTALLED = False


class RotationFailedError(Exception):
    """A rotation ended without AWSCURRENT on its version; the message is the function's or Secrets Manager's."""


class AccessDeniedException(SecretsManagerClientError):
    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


@dataclass
class Rotation:
    """One rotation or configuration test, as tools read it from ``/moto-api/llmgw/rotations``."""

    secret_arn: str
    version_id: str
    kind: str  # "rotation" or "test"
    function_arn: str
    status: str = "InProgress"  # then "Succeeded" or "Failed"
    steps: list[str] = field(default_factory=list)  # each invocation, e.g. "createSecret: ok"
    failure: str = ""
    started: float = field(default_factory=time.time)
    ended: float | None = None


ROTATIONS: list[Rotation] = []


def _secret(backend: SecretsManagerBackend, secret_id: str) -> Any:
    if not backend._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    return backend.secrets[secret_id]


def _allows_secrets_manager(function: Any, secret_arn: str) -> bool:
    """Whether the function's resource policy lets Secrets Manager invoke it for this secret."""
    for statement in function.policy.statements:
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "secretsmanager.amazonaws.com" not in services or not {"lambda:InvokeFunction", "lambda:*"} & set(actions):
            continue
        source = (statement.get("Condition", {}).get("ArnLike", {}) or {}).get("AWS:SourceArn")
        if source in (None, secret_arn) or secret_arn.startswith(source.rstrip("*")):
            return True
    return False


def _function(backend: SecretsManagerBackend, arn: str, secret_arn: str) -> Any:
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(backend.account_id, backend.region_name).get_function(arn)
    except Exception:
        raise ResourceNotFoundException(f"Resource not found for ARN '{arn}'.") from None
    if not _allows_secrets_manager(function, secret_arn):
        raise AccessDeniedException(
            "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy "
            "grants access to the principal secretsmanager.amazonaws.com."
        )
    return function


def _publish(backend: SecretsManagerBackend, secret_arn: str, event_name: str) -> None:
    """The CloudTrail event Secrets Manager sends to EventBridge's default bus."""
    from moto.events.models import events_backends

    detail = {
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": event_name,
        "awsRegion": backend.region_name,
        "additionalEventData": {"SecretId": secret_arn},
    }
    events_backends[backend.account_id][backend.region_name].put_events(
        [
            {
                "Source": "aws.secretsmanager",
                "DetailType": "AWS Service Event via CloudTrail",
                "Detail": json.dumps(detail),
                "Resources": [secret_arn],
            }
        ]
    )


def _invoke_step(function: Any, rotation: Rotation, step: str) -> None:
    """One step, retried as Secrets Manager retries. Raises RotationFailedError after the last attempt."""
    event = {
        "Step": step,
        "SecretId": rotation.secret_arn,
        "ClientRequestToken": rotation.version_id,
        "RotationToken": str(uuid.uuid4()),
    }
    for _ in range(ATTEMPTS):
        try:
            result = lambda_service.invoke(function, event)
        except lambda_service.TooManyRequestsError as err:
            rotation.steps.append(f"{step}: throttled")
            message = f"{step}: Lambda throttled the invocation ({err})"
            continue
        except lambda_runtime.LambdaRuntimeError as err:
            rotation.steps.append(f"{step}: not run")
            raise RotationFailedError(
                f"{step}: the local emulator cannot run {function.function_name}: {err}"
            ) from None
        if result.function_error is None:
            rotation.steps.append(f"{step}: ok")
            return
        rotation.steps.append(f"{step}: {result.error_type}")
        message = f"{step} failed: {result.error_type}: {result.error_message}"
    raise RotationFailedError(message)


def _run(backend: SecretsManagerBackend, rotation: Rotation, function: Any) -> None:
    """Invoke the steps and settle the versions; raises RotationFailedError on failure."""
    secret = backend.secrets[rotation.secret_arn]
    test = rotation.kind == "test"
    _publish(backend, rotation.secret_arn, "TestRotationStarted" if test else "RotationStarted")
    try:
        for step in ("testSecret",) if test else STEPS:
            _invoke_step(function, rotation, step)
        stages = secret.versions.get(rotation.version_id, {}).get("version_stages", [])
        if not test and "AWSCURRENT" not in stages:
            raise RotationFailedError(
                f"Pending secret version {rotation.version_id} for Secret {secret.name} was not set as AWSCURRENT"
            )
    except RotationFailedError as err:
        rotation.status, rotation.failure, rotation.ended = "Failed", str(err), time.time()
        _publish(backend, rotation.secret_arn, "TestRotationFailed" if test else "RotationFailed")
        raise
    finally:
        if test:
            # The test's version is temporary whatever its outcome.
            secret.versions.pop(rotation.version_id, None)
    rotation.status, rotation.ended = "Succeeded", time.time()
    if not test:
        secret.last_rotation_date = int(time.time())
    _publish(backend, rotation.secret_arn, "TestRotationSucceeded" if test else "RotationSucceeded")


def start(
    backend: SecretsManagerBackend,
    secret_id: str,
    client_request_token: str | None,
    rotation_lambda_arn: str | None,
    rotation_rules: dict[str, Any] | None,
    rotate_immediately: bool,
) -> tuple[Rotation, Any]:
    """Configure rotation and stage its version, as RotateSecret does before it invokes anything."""
    secret = _secret(backend, secret_id)
    if secret.is_deleted():
        raise InvalidRequestException("You tried to perform the operation on a secret that's currently marked deleted.")
    for version in secret.versions.values():
        stages = version["version_stages"]
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages:
            raise InvalidRequestException("A previous rotation isn't complete. That rotation will be reattempted.")
    days = (rotation_rules or {}).get("AutomaticallyAfterDays")
    if days is not None and not 1 <= int(days) <= 1000:
        raise InvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
    function_arn = rotation_lambda_arn or secret.rotation_lambda_arn
    if not function_arn:
        raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
    function = _function(backend, function_arn, secret.arn)

    secret.rotation_lambda_arn = function_arn
    secret.rotation_requested = secret.rotation_enabled = True
    if days is not None:
        secret.auto_rotate_after_days = int(days)
    if secret.auto_rotate_after_days:
        secret.next_rotation_date = int(time.time()) + int(secret.auto_rotate_after_days) * 86400

    token = client_request_token or str(uuid.uuid4())
    if token in secret.versions:
        raise InvalidRequestException(f"You can't use ClientRequestToken {token} because that version already exists.")
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    version: dict[str, Any] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    if not rotate_immediately:
        current = secret.versions[secret.default_version_id]
        version.update({k: current[k] for k in ("secret_string", "secret_binary") if k in current})
    secret.versions[token] = version
    rotation = Rotation(secret.arn, token, "rotation" if rotate_immediately else "test", function_arn)
    ROTATIONS.append(rotation)
    return rotation, function


def rotate_secret(
    self: SecretsManagerBackend,
    secret_id: str,
    client_request_token: str | None = None,
    rotation_lambda_arn: str | None = None,
    rotation_rules: dict[str, Any] | None = None,
    rotate_immediately: bool = True,
) -> str:
    """The RotateSecret API: stage, answer at once, and rotate in the background as AWS does."""
    rotation, function = start(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules,
                               rotate_immediately)  # fmt: skip

    def in_background() -> None:
        # A failure is recorded in ROTATIONS and sent to EventBridge, as AWS reports it.
        with SERVER_LOCK.held(), contextlib.suppress(RotationFailedError):
            _run(self, rotation, function)

    threading.Thread(target=in_background, name=f"rotate-{rotation.version_id}", daemon=True).start()
    secret = self.secrets[rotation.secret_arn]
    return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": rotation.version_id})


def rotations_api(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``GET /moto-api/llmgw/rotations``: every rotation so far, newest last."""
    return 200, {"Content-Type": "application/json"}, json.dumps([asdict(r) for r in ROTATIONS])


class RotationSchedule(CloudFormationModel):
    """AWS::SecretsManager::RotationSchedule: configures rotation and runs it as RotateSecret would, then waits.

    ``RotateImmediatelyOnUpdate`` (default true) runs the four steps;
    false runs only the configuration test. A failure fails the resource
    with the function's message, so the stack rolls back.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-secretsmanager-rotationschedule.html
    """

    def __init__(self, secret_arn: str):
        self.secret_arn = secret_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::RotationSchedule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RotationSchedule:
        p = cloudformation_json["Properties"]
        rules = sorted(set(p.get("RotationRules", {})) - {"AutomaticallyAfterDays"})
        if rules:
            raise NotImplementedError(f"RotationSchedule RotationRules the emulator does not model: {rules}")
        if "RotationLambdaARN" not in p:
            raise NotImplementedError("RotationSchedule without RotationLambdaARN (managed or hosted rotation)")
        backend = secretsmanager_backends[account_id][region_name]
        immediately = str(p.get("RotateImmediatelyOnUpdate", True)).lower() == "true"
        rotation, function = start(
            backend, p["SecretId"], None, p["RotationLambdaARN"], p.get("RotationRules"), immediately
        )
        _run(backend, rotation, function)
        return cls(rotation.secret_arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: RotationSchedule,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RotationSchedule:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """CancelRotateSecret: rotation is off; the function and rules stay recorded, as on AWS."""
        backend = secretsmanager_backends[account_id][region_name]
        if self.secret_arn in backend.secrets:
            backend.secrets[self.secret_arn].rotation_enabled = False


def install() -> None:
    """Replace moto's RotateSecret and serve the rotations endpoint. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.moto_api._internal import urls

    SecretsManagerBackend.rotate_secret = rotate_secret  # type: ignore[method-assign]
    urls.url_paths["{0}/moto-api/llmgw/rotations"] = rotations_api
    _INSTALLED = True
