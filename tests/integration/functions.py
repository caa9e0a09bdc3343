"""Deploy a rotation function's zip into the local emulator, as the database stack does."""

from __future__ import annotations

import json
from pathlib import Path

from llmgw.lambda_package import RUNTIME_PYTHON


def deploy(emulator, zip_path: Path, name: str, environment: dict[str, str], secret_arn: str) -> str:
    """Upload the zip and create the function from S3 as the database stack does; let Secrets Manager invoke it."""
    s3, iam, functions = emulator.client("s3"), emulator.client("iam"), emulator.client("lambda")
    s3.create_bucket(Bucket=f"{name}-artifacts")
    s3.upload_file(str(zip_path), f"{name}-artifacts", zip_path.name)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    arn = functions.create_function(
        FunctionName=name,
        Runtime=f"python{RUNTIME_PYTHON}",
        Architectures=["x86_64"],
        Role=role,
        Handler="handler.lambda_handler",
        Code={"S3Bucket": f"{name}-artifacts", "S3Key": zip_path.name},
        Timeout=60,
        Environment={"Variables": environment},
    )["FunctionArn"]
    functions.add_permission(FunctionName=name, StatementId="secretsmanager", Action="lambda:InvokeFunction",
                             Principal="secretsmanager.amazonaws.com", SourceArn=secret_arn)  # fmt: skip
    return arn
