"""ElastiCache for Valkey (or Redis OSS) replication groups served by a real local Redis server, TLS and AUTH only.

A replication group created in the emulator gets a ``redis-server`` (Debian's
``redis-server`` package, 7.0, which speaks the protocol Valkey 7.2 and 8
speak) that accepts only TLS on the group's port and only clients that send
its AUTH token, as ElastiCache does with ``TransitEncryptionEnabled`` and
``AuthToken``. What ElastiCache refuses at create, this refuses too, naming it:
an AUTH token without in-transit encryption, a KMS key without at-rest
encryption, Multi-AZ without automatic failover or without a replica, a token
ElastiCache would not take. The commands ElastiCache restricts are disabled.
https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/RestrictedCommands.html

Where the emulator must differ from ElastiCache, and why:

- The endpoint is a loopback address of its own (``127.P.P.(200+N)``), not a
  ``*.cache.amazonaws.com`` name, because nothing here resolves those.
- Its certificate is issued by the emulator's CA, which tasks trust through
  ``SSL_CERT_FILE`` (``trust_bundle``), as a task on AWS trusts the public CA
  that signs ElastiCache's certificates through its image's store.
- One server plays the primary. A replica is recorded (it is a member cluster
  in the API) but not run, so a failover cannot be rehearsed.
- The engine is Redis 7.0 whatever Valkey or Redis version the group names.
- Data lives as long as the emulator; there are no snapshots.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.elasticache.models import CacheCluster, elasticache_backends

from . import rds_postgres
from .cfn.base import ReplacedOnUpdate

__all__ = ["LocalCacheError", "ReplicationGroup", "SubnetGroup", "stop_all", "trust_bundle"]

REDIS_SERVER = os.environ.get("LLMGW_REDIS_SERVER", "/usr/bin/redis-server")
# ElastiCache turns these off for every customer; a client that needs one fails on AWS.
RESTRICTED_COMMANDS = (
    "BGREWRITEAOF", "BGSAVE", "CONFIG", "DEBUG", "MIGRATE", "PSYNC", "REPLICAOF", "SAVE", "SLAVEOF", "SHUTDOWN", "SYNC",
)  # fmt: skip
ENGINE_VERSIONS = {"valkey": ("7.2", "8.0", "8.1"), "redis": ("6.2", "7.0", "7.1")}
ENDPOINT_ATTRIBUTES = (
    "PrimaryEndPoint.Address",
    "PrimaryEndPoint.Port",
    "ReaderEndPoint.Address",
    "ReaderEndPoint.Port",
)
_SERVERS: dict[str, LocalCache] = {}


class LocalCacheError(Exception):
    """ElastiCache would refuse this replication group, or the emulator cannot serve it; the message says which."""


@dataclass
class LocalCache:
    group_id: str
    address: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def trust_bundle() -> Path:
    """The machine's public CAs plus the emulator's: what a task's TLS clients trust (SSL_CERT_FILE)."""
    _, _, ca = rds_postgres.certificate_authority()
    bundle = rds_postgres.state_dir() / "trust-bundle.pem"
    if not bundle.exists():
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        bundle.write_text((system.read_text() if system.exists() else "") + ca.read_text())
        os.chmod(bundle, 0o644)
    return bundle


def _address(number: int) -> str:
    port = int(rds_postgres._STATE["port"])
    return f"127.{(port >> 8) & 255}.{port & 255}.{200 + number}"


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


def _validate(group_id: str, p: dict[str, Any]) -> None:
    """What CreateReplicationGroup refuses, in its words where it has them."""
    engine = str(p.get("Engine", "redis")).lower()
    version = str(p.get("EngineVersion", ""))
    if engine not in ENGINE_VERSIONS:
        raise LocalCacheError(f"{group_id}: Engine {engine} is not served by the emulator (valkey or redis)")
    if version and version not in ENGINE_VERSIONS[engine]:
        raise LocalCacheError(f"{group_id}: Cannot find version {version} for {engine}")
    token = p.get("AuthToken")
    if token is not None:
        if not _flag(p.get("TransitEncryptionEnabled", False)):
            raise LocalCacheError(f"{group_id}: The AUTH token is only supported when encryption in-transit is enabled")
        token = str(token)
        if not 16 <= len(token) <= 128 or any(c in token for c in '/"@') or not token.isprintable():
            raise LocalCacheError(
                f'{group_id}: Invalid AuthToken: 16 to 128 printable characters, none of / " or @'
            )  # the token itself is never named
    if p.get("KmsKeyId") and not _flag(p.get("AtRestEncryptionEnabled", False)):
        raise LocalCacheError(f"{group_id}: KmsKeyId is only allowed when AtRestEncryptionEnabled is true")
    clusters = int(p.get("NumCacheClusters", 1))
    if _flag(p.get("MultiAZEnabled", False)):
        if not _flag(p.get("AutomaticFailoverEnabled", False)):
            raise LocalCacheError(f"{group_id}: Multi-AZ is only supported with automatic failover enabled")
        if clusters < 2:
            raise LocalCacheError(f"{group_id}: Multi-AZ needs at least one replica (NumCacheClusters 2 or more)")
    if _flag(p.get("AutomaticFailoverEnabled", False)) and clusters < 2:
        raise LocalCacheError(f"{group_id}: Automatic failover needs NumCacheClusters 2 or more")


def start(group_id: str, port: int, token: str | None, tls: bool) -> LocalCache:
    if not Path(REDIS_SERVER).exists():
        raise LocalCacheError(
            f"ElastiCache is served by a local redis-server, which is not installed (no {REDIS_SERVER}): "
            "apt-get install redis-server"
        )
    address = _address(len(_SERVERS) + 1)
    directory = rds_postgres.state_dir() / f"cache-{group_id}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    lines = [f"bind {address}", "protected-mode no", 'save ""', "appendonly no", f"dir {directory}",
             f"logfile {directory / 'redis.log'}", "daemonize no"]  # fmt: skip
    if tls:
        key, certificate = rds_postgres._server_certificate(directory, address, f"{group_id}.local-emulator")
        ca = rds_postgres.certificate_authority()[2]
        lines += ["port 0", f"tls-port {port}", f"tls-cert-file {certificate}", f"tls-key-file {key}",
                  f"tls-ca-cert-file {ca}", "tls-auth-clients no"]  # fmt: skip
    else:
        lines += [f"port {port}"]
    if token:
        lines.append(f'requirepass "{token}"')
    lines += [f'rename-command {command} ""' for command in RESTRICTED_COMMANDS]
    # The configuration, AUTH token included, goes through stdin: never on a command line.
    process = subprocess.Popen(
        [REDIS_SERVER, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(("\n".join(lines) + "\n").encode())
    process.stdin.close()
    server = LocalCache(group_id, address, port, directory, process)
    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
            break
        if process.poll() is not None or time.monotonic() > deadline:
            logged = directory / "redis.log"
            log = logged.read_text(errors="replace").strip().splitlines() if logged.exists() else ["no log"]
            server.stop()
            raise LocalCacheError(f"the local redis-server for {group_id} did not start: {log[-1]}")
        time.sleep(0.1)
    _SERVERS[group_id] = server
    return server


def stop(group_id: str) -> None:
    server = _SERVERS.pop(group_id, None)
    if server is not None:
        server.stop()


def stop_all() -> None:
    for group_id in list(_SERVERS):
        stop(group_id)


class SubnetGroup(ReplacedOnUpdate, CloudFormationModel):
    """AWS::ElastiCache::SubnetGroup through moto's ElastiCache, which has no CloudFormation model of its own."""

    def __init__(self, name: str):
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def delete(self, account_id: str, region_name: str) -> None:
        elasticache_backends[account_id][region_name].cache_subnet_groups.pop(self.name, None)

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticache-subnetgroup.html
        return "AWS::ElastiCache::SubnetGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "CacheSubnetGroupName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        group = elasticache_backends[account_id][region_name].create_cache_subnet_group(
            cache_subnet_group_name=str(p.get("CacheSubnetGroupName", resource_name)).lower(),
            cache_subnet_group_description=p["Description"],
            subnet_ids=list(p["SubnetIds"]),
            tags=p.get("Tags", []),
        )
        return cls(group.cache_subnet_group_name)


class ReplicationGroup(CloudFormationModel):
    """AWS::ElastiCache::ReplicationGroup, cluster mode disabled, served by a local redis-server.

    moto's ElastiCache records the group (DescribeReplicationGroups) and, here,
    its member clusters (DescribeCacheClusters), which carry what ElastiCache
    reports per node: security groups, subnet group, engine version. An update
    that changes any property is refused, naming them: ModifyReplicationGroup
    is not modelled.
    """

    def __init__(self, group_id: str, members: list[str], address: str, port: int, properties: dict[str, Any]):
        self.group_id, self.members, self.address, self.port = group_id, members, address, port
        self.properties = properties

    @property
    def physical_resource_id(self) -> str:
        return self.group_id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in ("PrimaryEndPoint.Address", "ReaderEndPoint.Address"):
            return self.address
        if attribute_name in ("PrimaryEndPoint.Port", "ReaderEndPoint.Port"):
            return str(self.port)
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    def delete(self, account_id: str, region_name: str) -> None:
        backend = elasticache_backends[account_id][region_name]
        stop(self.group_id)
        for member in self.members:
            backend.cache_clusters.pop(member, None)
        backend.replication_groups.pop(self.group_id, None)

    @staticmethod
    def cloudformation_type() -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticache-replicationgroup.html
        return "AWS::ElastiCache::ReplicationGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ReplicationGroupId"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ENDPOINT_ATTRIBUTES

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        group_id = str(p.get("ReplicationGroupId", resource_name)).lower()
        _validate(group_id, p)
        backend = elasticache_backends[account_id][region_name]
        port = int(p.get("Port", 6379))
        clusters = int(p.get("NumCacheClusters", 1))
        group = backend.create_replication_group(
            replication_group_id=group_id,
            replication_group_description=p["ReplicationGroupDescription"],
            global_replication_group_id=None, primary_cluster_id=None,
            automatic_failover_enabled=_flag(p.get("AutomaticFailoverEnabled", False)),
            multi_az_enabled=_flag(p.get("MultiAZEnabled", False)),
            num_cache_clusters=clusters, preferred_cache_cluster_azs=[], num_node_groups=1,
            replicas_per_node_group=clusters - 1, node_group_configuration=[],
            cache_node_type=p["CacheNodeType"], engine=str(p.get("Engine", "redis")).lower(),
            engine_version=str(p.get("EngineVersion", "")) or None, cache_parameter_group_name=None,
            cache_subnet_group_name=p.get("CacheSubnetGroupName"), cache_security_group_names=[],
            security_group_ids=list(p.get("SecurityGroupIds", [])), tags=p.get("Tags", []),
            snapshot_arns=[], snapshot_name=None,
            preferred_maintenance_window=p.get("PreferredMaintenanceWindow"), port=port,
            notification_topic_arn=None, auto_minor_version_upgrade=_flag(p.get("AutoMinorVersionUpgrade", True)),
            snapshot_retention_limit=int(p.get("SnapshotRetentionLimit", 0)), snapshot_window=None,
            auth_token=p.get("AuthToken"),
            transit_encryption_enabled=_flag(p.get("TransitEncryptionEnabled", False)),
            at_rest_encryption_enabled=_flag(p.get("AtRestEncryptionEnabled", False)),
            kms_key_id=p.get("KmsKeyId"), user_group_ids=[], log_delivery_configurations=[],
            data_tiering_enabled=False, network_type=None, ip_discovery=None,
            # ElastiCache's default when in-transit encryption is on at create: clients must use TLS.
            transit_encryption_mode="required" if _flag(p.get("TransitEncryptionEnabled", False)) else None,
            cluster_mode=None, serverless_cache_snapshot_name=None,
        )  # fmt: skip
        try:
            server = start(group_id, port, p.get("AuthToken"), _flag(p.get("TransitEncryptionEnabled", False)))
        except LocalCacheError:
            backend.replication_groups.pop(group_id, None)
            raise
        for node_group in group.node_groups:
            node_group["primary_endpoint_address"] = node_group["reader_endpoint_address"] = server.address
            node_group["primary_endpoint"] = {"address": server.address, "port": port}
        for member in group.member_clusters:
            backend.cache_clusters[member] = CacheCluster(
                account_id=account_id, region_name=region_name, cache_cluster_id=member,
                cache_node_type=p["CacheNodeType"], replication_group_id=group_id, az_mode=None,
                preferred_availability_zone=None, num_cache_nodes=1, engine=group.engine,
                engine_version=group.engine_version, cache_parameter_group_name=None,
                cache_subnet_group_name=p.get("CacheSubnetGroupName"),
                transit_encryption_enabled=group.transit_encryption_enabled, network_type=None, ip_discovery=None,
                snapshot_name=None, preferred_maintenance_window=p.get("PreferredMaintenanceWindow"), port=port,
                notification_topic_arn=None, auto_minor_version_upgrade=group.auto_minor_version_upgrade,
                snapshot_retention_limit=group.snapshot_retention_limit, snapshot_window=None,
                auth_token=None, outpost_mode=None, preferred_outpost_arn=None,
                preferred_availability_zones=None, cache_security_group_names=None,
                security_group_ids=list(p.get("SecurityGroupIds", [])), tags=None, snapshot_arns=None,
                preferred_outpost_arns=None, log_delivery_configurations=[], cache_node_ids_to_remove=None,
                cache_node_ids_to_reboot=None,
            )  # fmt: skip
            cluster = backend.cache_clusters[member]
            cluster.auth_token_enabled = group.auth_token_enabled
            # DescribeCacheClusters' shape, which moto's serialiser reads from this attribute.
            groups = p.get("SecurityGroupIds", [])
            cluster.security_groups = [{"SecurityGroupId": g, "Status": "active"} for g in groups]
        return cls(group_id, list(group.member_clusters), server.address, port, dict(p))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Any:  # fmt: skip
        new = cloudformation_json["Properties"]
        changed = sorted(k for k in set(new) | set(original_resource.properties)
                         if new.get(k) != original_resource.properties.get(k))  # fmt: skip
        if changed:
            raise LocalCacheError(
                f"{original_resource.group_id}: the emulator does not model ModifyReplicationGroup; "
                f"changed: {', '.join(k if k != 'AuthToken' else 'AuthToken (value not shown)' for k in changed)}"
            )
        return original_resource
