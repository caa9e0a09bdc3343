"""The RDS roots the rotation function and the gateway verify the database against: image/rds-ca/<region>.pem.

A region without its root makes every connection fail verification, so a
launch there stops at packaging with one line, before the database stack is
touched.
"""

from __future__ import annotations

import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography import x509

from llmgw.lambda_package import CA_BUNDLE_VARIABLE, LambdaPackageError, check_trust
from llmgw_common.gateway_secrets import database_url
from tools.rds_ca_bundle import TARGET
from tools.render import ROOT

DOCKERFILE = (ROOT / "image" / "Dockerfile").read_text()


def test_roots__one_unexpired_rsa2048_g1_root_per_region_named_for_it():
    files = sorted(TARGET.glob("*.pem"))
    now = datetime.datetime.now(datetime.timezone.utc)

    assert len(files) >= 27 and {"us-east-1.pem", "eu-west-1.pem"} <= {f.name for f in files}
    for path in files:
        (root,) = x509.load_pem_x509_certificates(path.read_bytes())
        assert root.subject.rfc4514_string().startswith(f"L=Seattle,CN=Amazon RDS {path.stem} Root CA RSA2048 G1,")
        assert root.subject == root.issuer and root.not_valid_after_utc > now


def test_roots__are_what_the_rotation_function_packs():
    assert (ROOT / "lambdas" / "db_rotation" / "rds-ca").resolve() == TARGET.resolve()


def test_packaging__a_region_without_its_root__fails_in_one_line(monkeypatch):
    monkeypatch.delenv(CA_BUNDLE_VARIABLE, raising=False)
    check_trust(ROOT, "db_rotation", "us-east-1")
    check_trust(ROOT, "master_key_rotation", "mars-1")  # no database, no roots

    with pytest.raises(LambdaPackageError, match=r"^image/rds-ca/ has no Amazon RDS root CA for mx-central-1: run"):
        check_trust(ROOT, "db_rotation", "mx-central-1")


def test_packaging__a_certificate_named_by_the_environment__is_trusted_for_every_region(monkeypatch):
    monkeypatch.setenv(CA_BUNDLE_VARIABLE, str(TARGET / "us-east-1.pem"))
    check_trust(ROOT, "db_rotation", "mx-central-1")


def test_database_url__names_a_file_of_one_root_the_regions_ca_for_the_pinned_rds_ca(deployed):
    """Prisma loads only the first certificate of sslcert (native-tls's Certificate::from_pem), so a bundle will not do.

    The file DATABASE_URL names must hold exactly the root that signs the
    instance's certificate: the region's RSA2048 G1, for the CA the template pins.
    The rehearsal cannot show this (Prisma does not run here, and the emulator
    has one CA), so it is checked on the artifacts.
    """
    for env in ("dev", "prod"):
        assert deployed[env]["database"].props("DBInstance")["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        fields = {"username": "u", "password": "p", "host": "h", "port": 5432, "dbname": "litellm"}
        sslcert = dict(parse_qsl(urlsplit(database_url(fields, region)).query))["sslcert"]
        (copy,) = [line.split() for line in DOCKERFILE.splitlines() if line.startswith("COPY") and "rds-ca" in line]
        source, target = copy[-2].rstrip("/"), copy[-1].rstrip("/")
        assert sslcert.startswith(target + "/"), (sslcert, copy)
        certificates = x509.load_pem_x509_certificates(
            (ROOT / "image" / source / sslcert[len(target) + 1 :]).read_bytes()
        )
        (root,) = certificates
        assert root.subject.rfc4514_string().startswith(f"L=Seattle,CN=Amazon RDS {region} Root CA RSA2048 G1,")
