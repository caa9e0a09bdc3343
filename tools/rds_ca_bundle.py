"""Refresh image/rds-ca-bundle.pem from the bundle AWS publishes, keeping only unexpired roots.

    python -m tools.rds_ca_bundle [--source URL-or-file]

The rotation function and the gateway image verify the database against this
file. RDS adds a region's roots when the region opens; refresh then, and
review the diff like any other change to what the gateway trusts.
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
"""

from __future__ import annotations

import argparse
import datetime
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "image" / "rds-ca-bundle.pem"
SOURCE = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
REGIONS_LINE = "Regions:"  # read by hooks/lambda_package.py: a launch in a region without a root stops there


def unexpired(pem: bytes, now: datetime.datetime) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    certificates = x509.load_pem_x509_certificates(pem)
    return [c.public_bytes(Encoding.PEM) for c in certificates if c.not_valid_after_utc > now]


def regions(pem: list[bytes]) -> list[str]:
    """The regions with a root in the bundle, from names like "Amazon RDS eu-west-1 Root CA RSA2048 G1"."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    found = set()
    for certificate in x509.load_pem_x509_certificates(b"".join(pem)):
        words = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.split()
        if words[:2] == ["Amazon", "RDS"] and len(words) > 3 and words[3] == "Root":
            found.add(words[2])
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=SOURCE, help=f"URL or file of PEM certificates (default {SOURCE})")
    args = parser.parse_args(argv)
    if Path(args.source).is_file():
        pem = Path(args.source).read_bytes()
    else:
        with urllib.request.urlopen(args.source, timeout=30) as response:
            pem = response.read()
    kept = unexpired(pem, datetime.datetime.now(datetime.timezone.utc))
    if not kept:
        print(f"rds-ca-bundle: {args.source} holds no unexpired certificate; {TARGET} left as it is", file=sys.stderr)
        return 1
    header = [line for line in TARGET.read_text().split("-----BEGIN CERTIFICATE-----", 1)[0].splitlines()]
    header = [line for line in header if line and not line.startswith(REGIONS_LINE)]
    header.append(f"{REGIONS_LINE} {' '.join(regions(kept))}")
    TARGET.write_bytes(("\n".join(header) + "\n\n").encode() + b"".join(kept))
    print(f"rds-ca-bundle: {len(kept)} certificates from {args.source} into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
