"""Sceptre hook: empty a stack's bucket before the stack is deleted, so the delete can finish."""

from __future__ import annotations

from sceptre.hooks import Hook


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
        """Empty the bucket, if the stack and the bucket still exist."""
        from botocore.exceptions import ClientError

        manager = self.stack.connection_manager
        try:
            response = manager.call(
                service="cloudformation", command="describe_stacks", kwargs={"StackName": self.stack.external_name}
            )
        except ClientError:
            return  # no stack, nothing to empty
        outputs = {o["OutputKey"]: o["OutputValue"] for o in response["Stacks"][0].get("Outputs", [])}
        bucket = outputs.get(str(self.argument))
        if not bucket:
            return
        removed = 0
        while True:
            listing = manager.call(service="s3", command="list_object_versions", kwargs={"Bucket": bucket})
            objects = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
            ]
            if not objects:
                break
            manager.call(
                service="s3", command="delete_objects", kwargs={"Bucket": bucket, "Delete": {"Objects": objects[:1000]}}
            )
            removed += len(objects[:1000])
        self.logger.info("emptied s3://%s (%d object versions)", bucket, removed)
