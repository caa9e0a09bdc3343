"""The secret-age function: days since the current value was created, published for the UI password's alarm."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from tools.render import ROOT

sys.path.insert(0, str(ROOT / "lambdas" / "common"))  # the shared package every function's zip carries
spec = importlib.util.spec_from_file_location("secret_age_handler", ROOT / "lambdas" / "secret_age" / "handler.py")
handler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)

NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)


def test_age__counts_from_the_current_versions_creation_not_the_previous_ones():
    versions = [
        {"VersionStages": ["AWSPREVIOUS"], "CreatedDate": NOW - timedelta(days=200)},
        {"VersionStages": ["AWSCURRENT"], "CreatedDate": NOW - timedelta(days=91, hours=12)},
    ]
    assert handler.current_version_age_days(versions, NOW) == pytest.approx(91.5)


def test_age__a_secret_without_a_current_version__is_an_error_naming_it():
    with pytest.raises(ValueError, match="no version of the secret is staged AWSCURRENT"):
        handler.current_version_age_days([{"VersionStages": ["AWSPENDING"], "CreatedDate": NOW}], NOW)


def test_handler__publishes_the_age_under_its_metric_name_and_never_reads_the_value(monkeypatch, capsys):
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="dev-litellm/ui-password", SecretString='{"UI_PASSWORD": "hunter2-hunter2"}')[
            "ARN"
        ]
        monkeypatch.setenv("SECRET_ARN", arn)
        monkeypatch.setenv("METRIC_NAME", "dev-litellm-UiPasswordAgeDays")

        answer = handler.lambda_handler({}, None)

        assert 0 <= answer["ageDays"] < 0.01
        (metric,) = boto3.client("cloudwatch").list_metrics(Namespace="LiteLLMGateway")["Metrics"]
        assert metric["MetricName"] == "dev-litellm-UiPasswordAgeDays"
    assert "hunter2" not in capsys.readouterr().out
