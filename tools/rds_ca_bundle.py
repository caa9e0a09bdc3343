"""Refresh image/rds-ca/<region>.pem from the bundle AWS publishes: one region's RSA2048 G1 root per file.

    python -m tools.rds_ca_bundle [--source URL-or-file]

The database template pins ``CACertificateIdentifier: rds-ca-rsa2048-g1``, so
an instance's certificate chains to its region's "Amazon RDS <region> Root CA
RSA2048 G1". The file holds that root alone, because Prisma (LiteLLM's
database client) reads only the first certificate of its ``sslcert`` file.
The rotation function verifies with the same file. RDS adds a region's roots
when the region opens; refresh then, and review the diff like any other change
to what the gateway trusts.
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
"""

from __future__ import annotations

import argparse
import datetime
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "image" / "rds-ca"
SOURCE = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
CA_FAMILY = "RSA2048 G1"  # rds-ca-rsa2048-g1, the CA database.yaml.j2 pins


def regional_roots(pem: bytes, now: datetime.datetime) -> dict[str, bytes]:
    """Region -> PEM of its unexpired "Amazon RDS <region> Root CA RSA2048 G1"."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    found = {}
    for certificate in x509.load_pem_x509_certificates(pem):
        name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        words = name.split()
        regional = words[:2] == ["Amazon", "RDS"] and name.endswith(f"Root CA {CA_FAMILY}") and len(words) == 7
        if regional and certificate.not_valid_after_utc > now:
            found[words[2]] = certificate.public_bytes(Encoding.PEM)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=SOURCE, help=f"URL or file of PEM certificates (default {SOURCE})")
    args = parser.parse_args(argv)
    if Path(args.source).is_file():
        pem = Path(args.source).read_bytes()
    else:
        with urllib.request.urlopen(args.source, timeout=30) as response:
            pem = response.read()
    roots = regional_roots(pem, datetime.datetime.now(datetime.timezone.utc))
    if not roots:
        print(f"rds-ca: {args.source} holds no unexpired {CA_FAMILY} root; {TARGET} left as it is", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for stale in set(TARGET.glob("*.pem")) - {TARGET / f"{r}.pem" for r in roots}:
        stale.unlink()
    for region, root in sorted(roots.items()):
        (TARGET / f"{region}.pem").write_bytes(root)
    print(f"rds-ca: {len(roots)} regions' {CA_FAMILY} roots from {args.source} into {TARGET.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
