"""Empty an S3 bucket of every object version, so CloudFormation can delete it."""

from __future__ import annotations

from typing import Any


def empty_bucket(manager: Any, bucket: str) -> int:
    """Delete every object version and delete marker in ``bucket``; the number removed.

    ``manager`` is anything with Sceptre's ``ConnectionManager.call(service, command, kwargs)`` shape.

    Raises:
        botocore.exceptions.ClientError: S3 refused a call (``NoSuchBucket``, ``AccessDenied``).
    """
    removed = 0
    while True:  # DeleteObjects takes at most 1,000 keys; ListObjectVersions returns at most 1,000
        listing = manager.call(service="s3", command="list_object_versions", kwargs={"Bucket": bucket})
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
        ][:1000]
        if not objects:
            return removed
        manager.call(service="s3", command="delete_objects", kwargs={"Bucket": bucket, "Delete": {"Objects": objects}})
        removed += len(objects)
