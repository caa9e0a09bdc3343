"""Custom resources in the emulator: CloudFormation's request/response protocol with a Lambda function.

For ``AWS::CloudFormation::CustomResource`` and every ``Custom::<name>``
type, as CloudFormation does:

- On create, update and delete it invokes the function named by
  ``ServiceToken`` asynchronously with the request event: ``RequestType``,
  ``ResponseURL``, ``StackId``, ``RequestId``, ``ResourceType``,
  ``LogicalResourceId``, ``ResourceProperties`` (every value a string, as
  CloudFormation passes them), and on update ``OldResourceProperties`` and
  ``PhysicalResourceId``; on delete, ``PhysicalResourceId``.
- It waits for the function to PUT its response to ``ResponseURL``, up to
  ``ServiceTimeout`` seconds (default 3600). ``SUCCESS`` completes the
  resource, its ``Data`` readable with ``Fn::GetAtt``; ``FAILED`` fails it
  with the response's ``Reason``, and the stack rolls back. No response in
  time fails it with CloudFormation's own message.
- An update whose response names a new ``PhysicalResourceId`` is a
  replacement: the old one gets a Delete request in the cleanup phase.
- A rollback is one more update, back to the old properties, while the stack
  reads ``UPDATE_ROLLBACK_IN_PROGRESS``.
- Lambda retries an asynchronous invocation whose function failed twice,
  after about one and two minutes.

The response URL is the emulator's ``/moto-api/llmgw/cfn-response/<id>`` in
place of a pre-signed S3 URL, which nothing here could serve.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

from .request_lock import SERVER_LOCK

__all__ = ["CustomResource", "CustomResourceFailedError", "install", "is_custom"]

_DEFAULT_TIMEOUT = 3600
_RETRY_DELAYS = (60.0, 120.0)
# "The total combined size of the response body cannot exceed 4096 bytes."
_MAX_RESPONSE = 4096
_PENDING: dict[str, _Request] = {}
_LIVE: dict[str, CustomResource] = {}
_LOCK = threading.Lock()
_INSTALLED = False


class CustomResourceFailedError(Exception):
    """The custom resource answered FAILED, answered wrongly, or did not answer."""


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


@dataclass
class _Request:
    event: dict[str, Any]
    answered: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)  # the invocation that answered has ended
    response: dict[str, Any] | None = None
    problem: str | None = None


def _as_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _function(account_id: str, region: str, token: str) -> Any:
    from moto.awslambda.models import lambda_backends

    if ":lambda:" not in token:
        raise CustomResourceFailedError(
            f"the emulator runs custom resources backed by Lambda functions only, not ServiceToken {token}"
        )
    try:
        return lambda_backends[account_id][region].get_function(token)
    except Exception:
        raise CustomResourceFailedError(f"ServiceToken {token}: no such Lambda function") from None


def _invoke_with_retries(function: Any, request: _Request) -> None:
    from . import lambda_service

    for delay in (0.0, *_RETRY_DELAYS):
        if request.answered.wait(delay):
            return
        try:
            with SERVER_LOCK.held():
                result = lambda_service.invoke(function, request.event)
        except Exception:
            continue  # throttled or not runnable: Lambda retries it
        finally:
            if request.answered.is_set():
                request.finished.set()
        if not result.function_error:
            return


def _send(account_id: str, region: str, request_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    """One request to the function and its response; raises CustomResourceFailedError on FAILED or no answer."""
    from . import lambda_service

    properties = resource["properties"]
    function = _function(account_id, region, str(properties.get("ServiceToken", "")))
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{lambda_service._ENDPOINT['url']}/moto-api/llmgw/cfn-response/{request_id}",
        "StackId": resource["stack_id"],
        "RequestId": request_id,
        "ResourceType": resource["type"],
        "LogicalResourceId": resource["logical_id"],
        "ResourceProperties": _as_strings(properties),
    }
    if "physical_id" in resource:
        event["PhysicalResourceId"] = resource["physical_id"]
    if "old_properties" in resource:
        event["OldResourceProperties"] = _as_strings(resource["old_properties"])
    request = _Request(event)
    with _LOCK:
        _PENDING[request_id] = request
    timeout = int(properties.get("ServiceTimeout", _DEFAULT_TIMEOUT))
    threading.Thread(target=_invoke_with_retries, args=(function, request), daemon=True).start()
    try:
        with SERVER_LOCK.released():
            answered = request.answered.wait(timeout)
            # On AWS the stack goes on once the answer arrives and the function ends a moment later;
            # here the function's log lines are written when it ends, so wait for that moment, or a
            # stack delete would remove its log group before they land and Lambda would make it again.
            if answered:
                request.finished.wait(60)
    finally:
        with _LOCK:
            _PENDING.pop(request_id, None)
    if not answered:
        raise CustomResourceFailedError(
            "CloudFormation did not receive a response from your Custom Resource. "
            f"Please check your logs for requestId [{request_id}]. If you are using the Python cfn-response "
            "module, you may need to update your Lambda function code so that CloudFormation can attach the "
            "updated version."
        )
    if request.problem:
        raise CustomResourceFailedError(request.problem)
    response = request.response or {}
    if response.get("Status") != "SUCCESS":
        raise CustomResourceFailedError(
            f"Received response status [FAILED] from custom resource. Message returned: "
            f"{response.get('Reason') or 'See the details in CloudWatch Log Stream'} (RequestId: {request_id})"
        )
    return response


def response_api(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """``PUT /moto-api/llmgw/cfn-response/<request id>``: a custom resource's response."""
    request_id = full_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    with _LOCK:
        pending = _PENDING.get(request_id)
    if pending is None or request.method != "PUT":
        return 403, {}, "AccessDenied: the request has expired or names no pending custom-resource request"
    body = request.data if hasattr(request, "data") else request.body
    raw = body if isinstance(body, bytes) else str(body or "").encode()
    try:
        response = json.loads(raw)
        if not isinstance(response, dict):
            raise ValueError
    except ValueError:
        pending.problem = "Invalid response object: the response body is not a JSON object"
    else:
        missing = [
            k
            for k in ("Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId")
            if not response.get(k)
        ]
        if len(raw) > _MAX_RESPONSE:
            pending.problem = "Response object is too long."
        elif missing or response.get("Status") not in ("SUCCESS", "FAILED"):
            pending.problem = f"Invalid response object: {', '.join(missing) or 'Status'} is missing or invalid"
        elif response["RequestId"] != request_id or response["StackId"] != pending.event["StackId"]:
            pending.problem = "Invalid response object: RequestId or StackId does not match the request"
        pending.response = response
    pending.answered.set()
    return 200, {}, ""


class CustomResource(CloudFormationModel):
    """``AWS::CloudFormation::CustomResource`` and ``Custom::*``: the function decides, CloudFormation waits."""

    def __init__(self, resource: dict[str, Any], response: dict[str, Any]):
        self.resource = resource
        self.logical_resource_id = resource["logical_id"]
        self.physical_resource_id_value = str(response["PhysicalResourceId"])
        self.data = dict(response.get("Data") or {})

    @property
    def physical_resource_id(self) -> str:
        return self.physical_resource_id_value

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::CustomResource"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # whatever the function's Data holds; checked when read

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.data:
            raise UnformattedGetAttTemplateException()
        return self.data[attribute_name]

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CustomResource:
        resource = {
            "account_id": account_id,
            "region": region_name,
            "stack_id": kwargs["StackId"],
            "logical_id": kwargs["LogicalId"],
            "type": kwargs.get("ResourceType") or cloudformation_json["Type"],
            "properties": dict(cloudformation_json.get("Properties") or {}),
        }
        created = cls(resource, _send(account_id, region_name, "Create", resource))
        with _LOCK:
            _LIVE[created.physical_resource_id] = created
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: CustomResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CustomResource:
        from . import cfn_engine

        old = original_resource.resource
        properties = dict(cloudformation_json.get("Properties") or {})
        if properties.get("ServiceToken") != old["properties"].get("ServiceToken"):
            raise CustomResourceFailedError("Modifying service token is not allowed.")
        if properties == old["properties"]:
            return original_resource  # CloudFormation sends no request for a resource whose properties hold
        resource = {**old, "properties": properties}
        request = {
            **resource,
            "physical_id": original_resource.physical_resource_id,
            "old_properties": old["properties"],
        }
        updated = cls(resource, _send(account_id, region_name, "Update", request))
        with _LOCK:
            _LIVE[updated.physical_resource_id] = updated
        if updated.physical_resource_id != original_resource.physical_resource_id:
            # A new physical id is a replacement: the old one goes in the cleanup phase.
            cfn_engine.defer_until_the_update_completes(lambda: original_resource._delete())
        return updated

    def _delete(self) -> None:
        request = {**self.resource, "physical_id": self.physical_resource_id}
        _send(self.resource["account_id"], self.resource["region"], "Delete", request)
        with _LOCK:
            if _LIVE.get(self.physical_resource_id) is self:
                _LIVE.pop(self.physical_resource_id)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        with _LOCK:
            live = _LIVE.get(resource_name)
        if live is not None:
            live._delete()


def install() -> None:
    """Serve the response URL. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/llmgw/cfn-response/(?P<request_id>[^/]+)"] = response_api
    _INSTALLED = True
