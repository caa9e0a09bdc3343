"""Sceptre hook: put the rotation functions' zips in the artifact bucket before the stack that runs them."""

from __future__ import annotations

from pathlib import Path

from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook


class LambdaUploadError(SceptreException):
    """A function's zip could not be built or uploaded."""


class UploadLambdas(Hook):
    """Uploads each named function's zip to ``ArtifactBucketName`` unless its key is already there.

    The key is content-addressed (``!lambda_code_key`` gives the template the
    same one), so an unchanged function is neither rebuilt nor uploaded, and a
    changed one gets a new key, which updates the function::

        parameters:
          ArtifactBucketName: !stack_output dev/security.yaml::ArtifactBucketName
          DbRotationCodeKey: !lambda_code_key db_rotation
        hooks:
          before_launch:
            - !upload_lambdas [master_key_rotation, db_rotation]
    """

    def run(self) -> None:
        """Build and upload what is missing.

        Raises:
            InvalidHookArgumentTypeError: the argument is not a folder name or a list of them.
            InvalidHookArgumentValueError: a folder is missing, or the stack has no ArtifactBucketName.
            LambdaUploadError: a zip could not be built or the upload failed.
        """
        from botocore.exceptions import ClientError

        from llmgw.aws_errors import error_code
        from llmgw.lambda_package import LambdaPackageError, build_zip, check_trust, code_key

        project = Path(self.stack.stack_group_config.get("project_path", "."))
        names = self.argument if isinstance(self.argument, list) else [self.argument]
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise InvalidHookArgumentTypeError(
                f"!upload_lambdas takes a function's folder under lambdas/, or a list of them; got {self.argument!r}"
            )
        missing = [n for n in names if not (project / "lambdas" / n).is_dir()]
        if missing:
            raise InvalidHookArgumentValueError(f"!upload_lambdas: no folder lambdas/{missing[0]} in the project")
        bucket = self.stack.parameters.get("ArtifactBucketName")
        if not bucket:
            raise InvalidHookArgumentValueError(
                f"{self.stack.name}: !upload_lambdas needs the stack parameter ArtifactBucketName"
            )
        manager = self.stack.connection_manager
        for name in names:
            try:
                check_trust(project, str(name), self.stack.region)
                key = code_key(project, str(name))
                try:
                    manager.call(service="s3", command="head_object", kwargs={"Bucket": bucket, "Key": key})
                    self.logger.info("lambda %s: s3://%s/%s is already there", name, bucket, key)
                    continue
                except ClientError as err:
                    if error_code(err) not in ("404", "NoSuchKey", "NotFound"):
                        raise
                archive = build_zip(project, str(name), project / "build" / "lambdas")
                manager.call(
                    service="s3",
                    command="put_object",
                    kwargs={"Bucket": bucket, "Key": key, "Body": archive.read_bytes()},
                )
                self.logger.info("lambda %s: uploaded s3://%s/%s", name, bucket, key)
            except (LambdaPackageError, ClientError) as err:
                raise LambdaUploadError(f"{self.stack.name}: lambda {name}: {err}") from err
