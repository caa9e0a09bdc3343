"""Lambda in the emulator: functions keep every property their template sets, and their code runs.

moto 5.2 stores a function but runs it only in Docker, which these machines
lack, and its CloudFormation model drops ``Architectures``, ``KmsKeyArn``
and ``LoggingConfig``. Here a function's deployed zip runs in
:mod:`lambda_runtime`, its logs go to its log group, and its ``Invocations``,
``Errors``, ``Throttles`` and ``Duration`` reach CloudWatch, as on Lambda.
Reserved concurrency counts against the account's limit (:mod:`account`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import LambdaBackend, LambdaFunction, lambda_backends
from moto.core.common_models import CloudFormationModel

from . import account, lambda_runtime
from .request_lock import SERVER_LOCK

__all__ = ["Function", "install", "invoke", "set_endpoint"]

_ENDPOINT = {"url": "http://127.0.0.1:4566"}
_IN_FLIGHT: dict[str, int] = {}
_IN_FLIGHT_LOCK = threading.Lock()
_INSTALLED = False


class TooManyRequestsError(Exception):
    """Lambda throttled the invocation (HTTP 429, TooManyRequestsException)."""


def set_endpoint(url: str) -> None:
    """The emulator's own address, handed to functions as ``AWS_ENDPOINT_URL``."""
    _ENDPOINT["url"] = url


def _log_group(function: LambdaFunction) -> str:
    configured = getattr(function, "logging_config", None) or {}
    return configured.get("LogGroup") or f"/aws/lambda/{function.function_name}"


def _spec(function: LambdaFunction) -> lambda_runtime.FunctionSpec:
    return lambda_runtime.FunctionSpec(
        name=function.function_name,
        arn=function.function_arn,
        runtime=function.run_time or "",
        handler=function.handler or "",
        code=function.code_bytes,
        timeout=int(function.timeout),
        memory_size=int(function.memory_size),
        architecture=function.architectures[0],
        environment={k: str(v) for k, v in (function.environment_vars or {}).items()},
        region=function.region,
        log_group=_log_group(function),
    )


def _record(function: LambdaFunction, result: lambda_runtime.Invocation | None, throttled: bool = False) -> None:
    """Logs and metrics, as Lambda writes them after an invocation."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.logs.models import logs_backends

    dimensions = [{"Name": "FunctionName", "Value": function.function_name}]
    data = [("Throttles", 1.0, "Count")] if throttled else [("Invocations", 1.0, "Count")]
    if result is not None:
        data += [("Errors", 1.0 if result.function_error else 0.0, "Count"),
                 ("Duration", result.duration_ms, "Milliseconds")]  # fmt: skip
        logs = logs_backends[function.account_id][function.region]
        group = _log_group(function)
        if group not in logs.groups:
            logs.create_log_group(group, {})
        logs.create_log_stream(group, result.log_stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in result.log.splitlines() if line.strip()]
        logs.put_log_events(group, result.log_stream, events)
    cloudwatch = cloudwatch_backends[function.account_id][function.region]
    cloudwatch.put_metric_data(
        "AWS/Lambda",
        [{"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dimensions} for name, value, unit in data],
    )


def invoke(function: LambdaFunction, event: Any) -> lambda_runtime.Invocation:
    """Run ``function`` once, synchronously, releasing the server lock while it runs.

    Raises:
        TooManyRequestsError: its reserved concurrency is in use.
        lambda_runtime.LambdaRuntimeError: the emulator cannot run it at all.
    """
    limit = function.reserved_concurrency
    with _IN_FLIGHT_LOCK:
        running = _IN_FLIGHT.get(function.function_arn, 0)
        if limit is not None and running >= int(limit):
            _record(function, None, throttled=True)
            raise TooManyRequestsError("Rate Exceeded.")
        _IN_FLIGHT[function.function_arn] = running + 1
    spec = _spec(function)
    try:
        with SERVER_LOCK.released():
            result = lambda_runtime.run(spec, event, _ENDPOINT["url"])
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT[function.function_arn] -= 1
    _record(function, result)
    return result


def _invoke_api(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
    """moto's Invoke entry point: RequestResponse waits, Event runs in the background, DryRun runs nothing."""
    import base64

    from moto.core.exceptions import JsonRESTError

    event = json.loads(body) if body else {}
    kind = request_headers.get("x-amz-invocation-type") or request_headers.get("X-Amz-Invocation-Type")
    kind = kind or "RequestResponse"
    if kind == "DryRun":
        return b""
    if kind == "Event":
        threading.Thread(target=_invoke_in_background, args=(self, event), daemon=True).start()
        return b""
    try:
        result = invoke(self, event)
    except TooManyRequestsError as err:
        raise JsonRESTError("TooManyRequestsException", str(err)) from None
    except lambda_runtime.LambdaRuntimeError as err:
        raise JsonRESTError("ServiceException", f"the local emulator cannot run this function: {err}") from None
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    tail = result.log.encode()[-4096:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return result.payload


def _invoke_in_background(function: LambdaFunction, event: Any) -> None:
    # An asynchronous invocation's failure shows in the function's metrics and logs only.
    with SERVER_LOCK.held(), contextlib.suppress(TooManyRequestsError, lambda_runtime.LambdaRuntimeError):
        invoke(function, event)


def _put_function_concurrency(self: LambdaBackend, function_name: str, reserved_concurrency: str) -> str:
    """Reserve concurrency within the account's limit, keeping Lambda's minimum unreserved pool.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    """
    limits = account.current()
    function = self.get_function(function_name)
    reserved_elsewhere = sum(
        int(f.reserved_concurrency)
        for f in self.list_functions()
        if f.reserved_concurrency is not None and f.function_name != function.function_name
    )
    unreserved = limits.lambda_concurrency_limit - reserved_elsewhere - int(reserved_concurrency)
    if unreserved < limits.lambda_minimum_unreserved:
        raise InvalidParameterValueException(
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{limits.lambda_minimum_unreserved}]."
        )
    function.reserved_concurrency = int(reserved_concurrency)
    return function.reserved_concurrency


class Function(CloudFormationModel):
    """AWS::Lambda::Function with every property it sets readable back through GetFunction.

    Returns moto's own function object, so Ref and GetAtt behave as before.
    """

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
        return "AWS::Lambda::Function"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "FunctionName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @staticmethod
    def _spec(name: str, p: dict[str, Any]) -> dict[str, Any]:
        copied = ("Code", "Handler", "Role", "Runtime", "Description", "MemorySize", "Timeout", "VpcConfig",
                  "Environment", "Architectures")  # fmt: skip
        spec = {key: p[key] for key in copied if key in p}
        spec["FunctionName"] = name
        if "KmsKeyArn" in p:
            spec["KMSKeyArn"] = p["KmsKeyArn"]  # the API's spelling
        if "Tags" in p:
            spec["Tags"] = {t["Key"]: t["Value"] for t in p["Tags"]}
        for number in ("MemorySize", "Timeout"):
            if number in spec:
                spec[number] = int(spec[number])
        return spec

    @staticmethod
    def _finish(function: LambdaFunction, p: dict[str, Any], backend: LambdaBackend) -> LambdaFunction:
        logging_config = p.get("LoggingConfig")
        function.logging_config = {"LogFormat": "Text", **logging_config} if logging_config else None
        if "ReservedConcurrentExecutions" in p:
            backend.put_function_concurrency(function.function_name, p["ReservedConcurrentExecutions"])
        elif function.reserved_concurrency is not None:
            backend.delete_function_concurrency(function.function_name)
        return function

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaFunction:
        p = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        spec = cls._spec(p.get("FunctionName", resource_name), p)
        # A function Lambda cannot start must fail here, as CreateFunction would on AWS.
        spec.pop("ReservedConcurrentExecutions", None)
        function = backend.create_function(spec)
        try:
            return cls._finish(function, p, backend)
        except Exception:
            backend.delete_function(function.function_name)
            raise

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: LambdaFunction,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaFunction:
        p = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        spec = cls._spec(original_resource.function_name, p)
        original_resource.update_configuration(spec)
        original_resource.update_function_code(p["Code"])
        return cls._finish(original_resource, p, backend)


def _configuration_with_logging(original: Any) -> Any:
    def get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        configuration = original(self, on_create)
        configuration["LoggingConfig"] = getattr(self, "logging_config", None) or {
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{self.function_name}",
        }
        return configuration

    return get_configuration


def install() -> None:
    """Run functions here instead of in Docker, and enforce the account's concurrency. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    LambdaFunction.invoke = _invoke_api  # type: ignore[method-assign]
    LambdaFunction.get_configuration = _configuration_with_logging(LambdaFunction.get_configuration)  # type: ignore[method-assign]
    LambdaBackend.put_function_concurrency = _put_function_concurrency  # type: ignore[method-assign]
    _INSTALLED = True
