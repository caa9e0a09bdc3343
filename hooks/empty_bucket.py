"""Sceptre hook: empty a stack's bucket before the stack is deleted, so the delete can finish."""

from __future__ import annotations

from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError, SceptreException
from sceptre.hooks import Hook


class BucketNotEmptiedError(SceptreException):
    """The bucket could not be emptied, so the stack's delete would fail on it."""


class EmptyBucket(Hook):
    """Deletes every object version in the bucket named by the stack's output.

    CloudFormation cannot delete a bucket that holds objects. Use it only
    where the bucket holds rebuildable artifacts, as dev's artifact bucket
    does (prod retains its bucket)::

        hooks:
          before_delete:
            - !empty_bucket ArtifactBucketName
    """

    def run(self) -> None:
        """Empty the bucket, if the stack and the bucket still exist.

        Raises:
            InvalidHookArgumentTypeError: the argument is not an output name.
            InvalidHookArgumentValueError: the stack has outputs, but not the one named.
            BucketNotEmptiedError: S3 or CloudFormation refused a call (AccessDenied included), in one line.
        """
        if not isinstance(self.argument, str) or not self.argument.strip():
            raise InvalidHookArgumentTypeError(
                f"!empty_bucket needs the name of the stack output that holds the bucket; got {self.argument!r}"
            )
        from botocore.exceptions import ClientError

        from llmgw.aws_errors import error_code, error_line
        from llmgw.buckets import empty_bucket
        from llmgw.stacks import stack_outputs

        manager = self.stack.connection_manager
        try:
            outputs = stack_outputs(manager, self.stack.external_name)
        except ClientError as err:
            if error_code(err) == "ValidationError" and "does not exist" in str(err):
                return  # no stack, nothing to empty
            raise BucketNotEmptiedError(f"{self.stack.name}: {error_line(err)}") from None
        if not outputs:
            self.logger.info("no outputs yet (the stack never finished creating): no bucket to empty")
            return
        bucket = outputs.get(self.argument)
        if bucket is None:
            raise InvalidHookArgumentValueError(
                f"!empty_bucket {self.argument}: {self.stack.name} has no such output"
                f" (it has {', '.join(sorted(outputs))})"
            )
        try:
            removed = empty_bucket(manager, bucket)
        except ClientError as err:
            if error_code(err) == "NoSuchBucket":
                return  # deleted already
            raise BucketNotEmptiedError(f"{self.stack.name}: s3://{bucket}: {error_line(err)}") from None
        self.logger.info("emptied s3://%s (%d object versions)", bucket, removed)
