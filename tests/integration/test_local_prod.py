"""`sceptre launch prod` against the local AWS emulator, with the hosted zone prod needs.

Prod turns on what dev leaves off: HTTPS with a DNS-validated certificate,
the Route 53 alias, the WAF, Multi-AZ and deletion protection. Each is
checked through the emulator's service APIs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from llmgw.stacks import STACKS
from tools.render import ROOT

DOMAIN = "llm.example.test"


@pytest.fixture(scope="module")
def emulator(pinned_emulator):
    return pinned_emulator


@pytest.fixture(scope="module")
def prod(emulator):
    zone = emulator.client("route53").create_hosted_zone(Name="example.test.", CallerReference=str(time.time()))
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    started = time.monotonic()
    result = emulator.sceptre(
        "--var", f"domain_name={DOMAIN}", "--var", f"hosted_zone_id={zone_id}", "launch", "-y", "prod"
    )
    print(f"\nsceptre launch -y prod against the emulator: {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = {"HostedZoneId": zone_id}
    for stack in STACKS:
        outputs.update(emulator.outputs(f"litellm-prod-{stack}"))
    return outputs


def test_launch_prod__all_five_stacks_are_create_complete(emulator, prod):
    statuses = {s["StackName"]: s["StackStatus"] for s in emulator.client("cloudformation").describe_stacks()["Stacks"]}
    assert statuses == {f"litellm-prod-{stack}": "CREATE_COMPLETE" for stack in STACKS}


def test_launch_prod__serves_https_with_an_issued_dns_validated_certificate(emulator, prod):
    elbv2 = emulator.client("elbv2")
    listeners = {
        listener["Port"]: listener
        for listener in elbv2.describe_listeners(LoadBalancerArn=prod["LoadBalancerArn"])["Listeners"]
    }
    # No listener on 80 (item 16): a client configured with http:// is refused before it sends its key.
    assert set(listeners) == {443}
    https = listeners[443]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    (certificate,) = https["Certificates"]
    described = emulator.client("acm").describe_certificate(CertificateArn=certificate["CertificateArn"])["Certificate"]
    assert described["DomainName"] == DOMAIN
    assert described["Status"] == "ISSUED"
    validation = described["DomainValidationOptions"][0]["ResourceRecord"]["Name"]
    records = emulator.client("route53").list_resource_record_sets(HostedZoneId=prod["HostedZoneId"])[
        "ResourceRecordSets"
    ]
    assert validation in {r["Name"] for r in records if r["Type"] == "CNAME"}
    alias = next(r for r in records if r["Type"] == "A" and r["Name"].rstrip(".") == DOMAIN)
    assert alias["AliasTarget"]["DNSName"].rstrip(".").lower() == prod["LoadBalancerDnsName"].lower()
    assert prod["ServiceUrl"] == f"https://{DOMAIN}"


def test_launch_prod__plain_http_is_refused_by_the_load_balancers_group(emulator, prod):
    (group,) = emulator.client("ec2").describe_security_groups(GroupIds=[prod["AlbSecurityGroupId"]])["SecurityGroups"]
    assert {(r["FromPort"], r["IpRanges"][0]["CidrIp"]) for r in group["IpPermissions"]} == {(443, "0.0.0.0/0")}


def test_launch_prod__https_answers_tell_browsers_to_use_https_only(emulator, prod):
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=str(emulator.rds_ca_bundle))
    url = emulator.listener_url("prod-litellm-alb", 443)
    with urllib.request.urlopen(url + "/health/liveliness", timeout=30, context=context) as response:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def _status_from(source: str, url: str, method: str, path: str, context) -> tuple[int, bytes]:
    """One request to the listener from the local address ``source`` (any of 127.0.0.0/8 reaches it)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30, context=context,
                                             source_address=(source, 0))  # fmt: skip
    try:
        connection.request(method, path, body=b"username=admin&password=x" if method == "POST" else None,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_launch_prod__the_admin_ui_and_its_logins_answer_only_admin_ui_cidr(emulator, prod):
    import ssl

    from tools.local import LOCAL_CLIENT_CIDR
    from tools.ops import ADMIN_UI_REFUSAL

    assert LOCAL_CLIENT_CIDR == "127.0.0.1/32"  # the launch's admin_ui_cidr: 127.0.0.2 is outside it
    context = ssl.create_default_context(cafile=str(emulator.rds_ca_bundle))
    url = emulator.listener_url("prod-litellm-alb", 443)
    for method, path in (("GET", "/ui/"), ("POST", "/login"), ("POST", "/v2/login"), ("GET", "/sso/key/generate"),
                         ("GET", "/onboarding/get_token?invite_link=x")):  # fmt: skip
        assert _status_from("127.0.0.2", url, method, path, context) == (403, ADMIN_UI_REFUSAL.encode()), path
        status, body = _status_from("127.0.0.1", url, method, path, context)
        assert body != ADMIN_UI_REFUSAL.encode(), f"{path} from inside AdminUiCidr was refused ({status})"
    # the API is not the admin UI: it answers everyone the listener does
    assert _status_from("127.0.0.2", url, "GET", "/health/liveliness", context)[0] == 200


def test_launch_prod__waf_protects_the_load_balancer(emulator, prod):
    from tools.local import LOCAL_CLIENT_CIDR

    wafv2 = emulator.client("wafv2")
    acl = wafv2.get_web_acl_for_resource(ResourceArn=prod["LoadBalancerArn"])["WebACL"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert set(rules) == {"rate-limit-per-ip", "aws-common-rules", "aws-known-bad-inputs", "body-rules-outside-the-api",
                          "admin-ui-from-admins-only"}  # fmt: skip
    overrides = rules["aws-common-rules"]["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert {o["Name"] for o in overrides} == {
        "SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY", "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"
    }  # fmt: skip
    assert rules["body-rules-outside-the-api"]["Action"] == {"Block": {}}
    # the admin UI's rule exempts exactly the IP set that holds AdminUiCidr
    admins = rules["admin-ui-from-admins-only"]["Statement"]["AndStatement"]["Statements"][0]
    arn = admins["NotStatement"]["Statement"]["IPSetReferenceStatement"]["ARN"]
    (ip_set,) = [s for s in wafv2.list_ip_sets(Scope="REGIONAL")["IPSets"] if s["ARN"] == arn]
    held = wafv2.get_ip_set(Name=ip_set["Name"], Id=ip_set["Id"], Scope="REGIONAL")["IPSet"]["Addresses"]
    assert held == [LOCAL_CLIENT_CIDR]  # the launch's admin_ui_cidr


def test_launch_prod__waf_logs_blocked_and_counted_requests_without_api_keys(emulator, prod):
    wafv2 = emulator.client("wafv2")
    acl = wafv2.get_web_acl_for_resource(ResourceArn=prod["LoadBalancerArn"])["WebACL"]
    logging = wafv2.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    (destination,) = logging["LogDestinationConfigs"]
    assert destination.endswith(":log-group:aws-waf-logs-prod-litellm")
    redacted = {field["SingleHeader"]["Name"] for field in logging["RedactedFields"] if "SingleHeader" in field}
    assert {"authorization", "x-api-key", "api-key", "x-litellm-api-key", "x-goog-api-key"} <= redacted
    assert {"QueryString": {}} in logging["RedactedFields"]  # a key pasted into a URL
    (group,) = emulator.client("logs").describe_log_groups(logGroupNamePrefix="aws-waf-logs-prod-litellm")["logGroups"]
    assert group["kmsKeyId"] == prod["KmsKeyArn"]
    assert group["retentionInDays"] == 90


def test_launch_prod__database_is_multi_az_protected_and_not_micro(emulator, prod):
    (db,) = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=prod["DBInstanceIdentifier"])[
        "DBInstances"
    ]
    assert db["MultiAZ"] is True
    assert db["DeletionProtection"] is True
    assert db["DBInstanceClass"] == "db.t3.small"


def _cache(emulator, prod, password: str | None, ssl: bool = True):
    import redis

    return redis.Redis(
        host=prod["CacheEndpoint"], port=6379, password=password, ssl=ssl,
        ssl_ca_certs=str(emulator.rds_ca_bundle), socket_connect_timeout=5, socket_timeout=5,
    )  # fmt: skip


def _cache_token(emulator, prod) -> str:
    value = emulator.client("secretsmanager").get_secret_value(SecretId=prod["CacheAuthSecretArn"])["SecretString"]
    return json.loads(value)["REDIS_PASSWORD"]


def test_launch_prod__cache_is_replicated_and_encrypted_with_the_gateway_key(emulator, prod):
    (group,) = emulator.client("elasticache").describe_replication_groups(ReplicationGroupId="prod-litellm-cache")[
        "ReplicationGroups"
    ]
    assert (group["TransitEncryptionEnabled"], group["AtRestEncryptionEnabled"], group["AuthTokenEnabled"]) == (
        True, True, True,
    )  # fmt: skip
    assert group["KmsKeyId"] == prod["KmsKeyArn"]
    assert (group["MultiAZ"], group["AutomaticFailover"], len(group["MemberClusters"])) == ("enabled", "enabled", 2)
    clusters = emulator.client("elasticache").describe_cache_clusters()["CacheClusters"]
    groups = {g["SecurityGroupId"] for c in clusters for g in c.get("SecurityGroups", [])}
    assert groups == {prod["CacheSecurityGroupId"]}


def test_launch_prod__cache_answers_only_tls_clients_with_the_token_from_secrets_manager(emulator, prod):
    import redis

    assert _cache(emulator, prod, _cache_token(emulator, prod)).ping() is True
    with pytest.raises(redis.exceptions.AuthenticationError):
        _cache(emulator, prod, "not-the-token-0123456789").ping()
    with pytest.raises(redis.exceptions.ConnectionError):
        _cache(emulator, prod, _cache_token(emulator, prod), ssl=False).ping()


def test_launch_prod__gateway_tasks_keep_their_routing_state_in_the_cache(emulator, prod):
    # A completion through the HTTPS listener: the task that serves it counts the deployment's
    # usage in the cache, where every other task reads it (test_litellm_shared_state.py shows what for).
    import ssl
    import urllib.request

    key = json.loads(
        emulator.client("secretsmanager").get_secret_value(SecretId=prod["MasterKeySecretArn"])["SecretString"]
    )["LITELLM_MASTER_KEY"]
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}).encode()
    request = urllib.request.Request(
        emulator.listener_url("prod-litellm-alb", 443) + "/v1/chat/completions",
        data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(emulator.rds_ca_bundle))
    for _ in range(4):  # both tasks, whichever the listener picks
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            assert response.status == 200
    cache = _cache(emulator, prod, _cache_token(emulator, prod))
    # LiteLLM's rate limiter counts the key's requests in the cache every task reads.
    assert [k for k in cache.scan_iter(match="{api_key:*}:tokens")], sorted(cache.scan_iter())[:20]


def test_launch_prod__runs_two_to_four_tasks(emulator, prod):
    (target,) = emulator.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)


def test_relaunch_prod__changes_nothing(emulator, prod):
    result = emulator.sceptre(
        "--var", f"domain_name={DOMAIN}", "--var", f"hosted_zone_id={prod['HostedZoneId']}", "launch", "-y", "prod"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count("No updates to perform") == len(STACKS)


def test_launch_prod__turns_on_termination_protection_and_the_stack_policy(emulator, prod):
    cloudformation = emulator.client("cloudformation")
    for stack in STACKS:
        name = f"litellm-prod-{stack}"
        (described,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        assert described["EnableTerminationProtection"] is True, name
        policy = json.loads(cloudformation.get_stack_policy(StackName=name)["StackPolicyBody"])
        denied = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
        assert "AWS::RDS::DBInstance" in denied["Condition"]["StringEquals"]["ResourceType"]


def test_delete_prod__is_refused_and_every_stack_and_the_database_remain(emulator, prod):
    result = emulator.sceptre(
        "--var", f"domain_name={DOMAIN}", "--var", f"hosted_zone_id={prod['HostedZoneId']}", "delete", "-y", "prod"
    )

    assert result.returncode != 0
    assert "TerminationProtection is enabled" in result.stdout + result.stderr
    statuses = {s["StackName"]: s["StackStatus"] for s in emulator.client("cloudformation").describe_stacks()["Stacks"]}
    assert statuses == {f"litellm-prod-{stack}": "CREATE_COMPLETE" for stack in STACKS}
    (db,) = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=prod["DBInstanceIdentifier"])[
        "DBInstances"
    ]
    assert db["DBInstanceStatus"] == "available"


def protection(emulator, prod) -> dict[str, bool]:
    """Termination protection of each prod stack, and deletion protection of the database and balancer."""
    cloudformation = emulator.client("cloudformation")
    found = {
        stack: cloudformation.describe_stacks(StackName=f"litellm-prod-{stack}")["Stacks"][0][
            "EnableTerminationProtection"
        ]
        for stack in STACKS
    }
    (db,) = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=prod["DBInstanceIdentifier"])[
        "DBInstances"
    ]
    found["db-instance"] = db["DeletionProtection"]
    attributes = emulator.client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=prod["LoadBalancerArn"])
    found["load-balancer"] = {"Key": "deletion_protection.enabled", "Value": "true"} in attributes["Attributes"]
    return found


def test_unprotect_one_stack__lifts_only_its_and_its_dependants_guards_and_protect_puts_them_back(emulator, prod):
    # The teardown pipelines' jobs: unprotect the stack they delete, protect it again if the delete fails.
    variables = ["--var", f"domain_name={DOMAIN}", "--var", f"hosted_zone_id={prod['HostedZoneId']}"]
    assert all(protection(emulator, prod).values())

    def ops(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "tools.ops", *variables, *args], cwd=ROOT, env=emulator.env, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr

    ops("unprotect", "prod/alb.yaml")

    lifted = {name for name, on in protection(emulator, prod).items() if not on}
    assert lifted == {"alb", "litellm", "load-balancer"}  # the database and the rest keep theirs

    ops("protect", "prod/alb.yaml")

    assert all(protection(emulator, prod).values())


def test_teardown_prod__after_unprotect__deletes_every_stack_and_leaves_a_final_snapshot(emulator, prod):
    # Runs last: the module's prod is gone afterwards.
    variables = ["--var", f"domain_name={DOMAIN}", "--var", f"hosted_zone_id={prod['HostedZoneId']}"]
    rds = emulator.client("rds")
    identifier = prod["DBInstanceIdentifier"]
    # The load balancer refuses on its own too: lifting only termination protection is not enough.
    balancer_attributes = emulator.client("elbv2").describe_load_balancer_attributes(
        LoadBalancerArn=prod["LoadBalancerArn"]
    )["Attributes"]
    assert {"Key": "deletion_protection.enabled", "Value": "true"} in balancer_attributes

    unprotect = subprocess.run(
        [sys.executable, "-m", "tools.ops", *variables, "unprotect", "prod"],
        cwd=ROOT,
        env=emulator.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unprotect.returncode == 0, unprotect.stdout + unprotect.stderr
    deleted = emulator.sceptre(*variables, "delete", "-y", "prod")

    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert emulator.client("cloudformation").describe_stacks()["Stacks"] == []
    assert rds.describe_db_instances()["DBInstances"] == []
    (snapshot,) = rds.describe_db_snapshots(DBInstanceIdentifier=identifier)["DBSnapshots"]
    assert snapshot["SnapshotType"] == "manual" and snapshot["DBSnapshotIdentifier"].startswith(f"{identifier}-final-")
    # Retained with the snapshot: the key that encrypts it, and the secrets.
    kms = emulator.client("kms")
    keys = {k["KeyArn"] for k in kms.list_keys()["Keys"]}
    assert prod["KmsKeyArn"] in keys, keys
    key = kms.describe_key(KeyId=prod["KmsKeyArn"].rsplit("/", 1)[1])["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    assert emulator.client("secretsmanager").describe_secret(SecretId=prod["MasterKeySecretArn"])["Name"]
    # And the record of who talked to what (item 32): the flow logs, readable with their retained key.
    (flow_logs,) = emulator.client("logs").describe_log_groups(logGroupNamePrefix="/vpc/prod-litellm-flow-logs")[
        "logGroups"
    ]
    assert kms.describe_key(KeyId=flow_logs["kmsKeyId"].rsplit("/", 1)[1])["KeyMetadata"]["KeyState"] == "Enabled"
