"""List what exists in an AWS account (or the local emulator), service by service.

Used after ``sceptre delete`` to show exactly what is left: only what the
design retains should be. Read-only; every call is a Describe or List.

    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python -m tools.inventory
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _client(session: Any, service: str) -> Any:
    return session.client(service)


def inventory(session: Any) -> dict[str, list[str]]:
    """Every resource kind this project creates, mapped to the identifiers that exist now."""
    ec2 = _client(session, "ec2")
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    in_vpcs = [{"Name": "vpc-id", "Values": vpcs}] if vpcs else None

    def ec2_list(call: str, key: str, ident: str, **kwargs: Any) -> list[str]:
        if not vpcs and "Filters" in kwargs:
            return []
        return [item[ident] for item in getattr(ec2, call)(**kwargs)[key]]

    ecs = _client(session, "ecs")
    clusters = [
        c["clusterArn"]
        for c in ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"] or ["none"])["clusters"]
        if c["status"] == "ACTIVE"
    ]
    elbv2 = _client(session, "elbv2")
    kms = _client(session, "kms")
    rds = _client(session, "rds")
    secrets = _client(session, "secretsmanager")
    autoscaling = _client(session, "application-autoscaling")
    wafv2 = _client(session, "wafv2")
    logs = _client(session, "logs")
    return {
        "vpcs": vpcs,
        "subnets": ec2_list("describe_subnets", "Subnets", "SubnetId", Filters=in_vpcs),
        "security_groups": [
            g["GroupId"]
            for g in (ec2.describe_security_groups(Filters=in_vpcs)["SecurityGroups"] if vpcs else [])
            if g["GroupName"] != "default"
        ],
        "network_interfaces": ec2_list(
            "describe_network_interfaces", "NetworkInterfaces", "NetworkInterfaceId", Filters=in_vpcs
        ),
        "nat_gateways": [
            n["NatGatewayId"]
            for n in ec2.describe_nat_gateways()["NatGateways"]
            if n["State"] not in ("deleted", "deleting")
        ],
        "vpc_endpoints": [
            e["VpcEndpointId"]
            for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
            if e["State"].lower() not in ("deleted", "deleting")
        ],
        "elastic_ips": [a.get("AllocationId", a["PublicIp"]) for a in ec2.describe_addresses()["Addresses"]],
        "internet_gateways": [
            i["InternetGatewayId"] for i in ec2.describe_internet_gateways()["InternetGateways"] if i.get("Attachments")
        ],
        "flow_logs": [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]],
        "load_balancers": [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]],
        "target_groups": [tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]],
        "ecs_clusters": clusters,
        "ecs_services": [s for c in clusters for s in ecs.list_services(cluster=c)["serviceArns"]],
        "task_definitions": ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"],
        "ecr_repositories": [
            r["repositoryName"] for r in _client(session, "ecr").describe_repositories()["repositories"]
        ],
        "db_instances": [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]],
        "db_snapshots": [
            s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        ],
        "secrets": [s["Name"] for s in secrets.list_secrets()["SecretList"]],
        "kms_keys": [
            k["KeyId"]
            for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] not in ("PendingDeletion", "Deleted")
        ],
        "kms_aliases": [
            a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")
        ],
        "sns_topics": [t["TopicArn"] for t in _client(session, "sns").list_topics()["Topics"]],
        "alarms": [a["AlarmName"] for a in _client(session, "cloudwatch").describe_alarms()["MetricAlarms"]],
        "log_groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
        "iam_roles": [r["RoleName"] for r in _client(session, "iam").list_roles()["Roles"]],
        "scalable_targets": [
            t["ResourceId"] for t in autoscaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        ],
        "scaling_policies": [
            p["PolicyName"] for p in autoscaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
        ],
        "web_acls": [a["Name"] for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]],
        "certificates": [
            c["CertificateArn"] for c in _client(session, "acm").list_certificates()["CertificateSummaryList"]
        ],
    }


def main() -> int:
    import boto3

    found = {kind: items for kind, items in inventory(boto3.session.Session()).items() if items}
    print(json.dumps(found, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
