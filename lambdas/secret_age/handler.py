"""Publishes the age of a hand-rotated secret's current value, so an alarm can say it is too old.

Secrets Manager publishes no age, and the UI password rotates by hand (docs/operations.md). Once a day
(an EventBridge schedule) this puts one data point: days since the AWSCURRENT version was created,
which a new value (PutSecretValue) resets and a description or tag change does not.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from llmgw_common import aws_clients

NAMESPACE = "LiteLLMGateway"


def current_version_age_days(versions: list[dict[str, Any]], now: datetime) -> float:
    """Days since the version staged AWSCURRENT was created.

    Raises:
        ValueError: no version is AWSCURRENT, which Secrets Manager never leaves a secret without.
    """
    for version in versions:
        if "AWSCURRENT" in version.get("VersionStages", []):
            return (now - version["CreatedDate"]).total_seconds() / 86400
    raise ValueError("no version of the secret is staged AWSCURRENT")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, float]:
    secret, metric = os.environ["SECRET_ARN"], os.environ["METRIC_NAME"]
    secrets = aws_clients.client("secretsmanager")
    versions: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:  # boto3 has no paginator for this call
        page = secrets.list_secret_version_ids(SecretId=secret, **token)
        versions += page["Versions"]
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    days = round(current_version_age_days(versions, datetime.now(timezone.utc)), 2)
    aws_clients.client("cloudwatch").put_metric_data(
        Namespace=NAMESPACE, MetricData=[{"MetricName": metric, "Value": days, "Unit": "None"}]
    )
    print(f"secret-age: {metric} = {days} days")  # the secret's name and age, never its value
    return {"ageDays": days}
