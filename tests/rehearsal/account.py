"""What the rehearsal's account holds before site.yml runs, as a real account would.

An operator issues the environment's HTTPS certificate in ACM before the first run, and the
inventory names it by ARN (aws_alb_certificate_arn). The emulator starts empty, so this imports a
self-signed certificate at exactly that ARN (the emulator runs with ONLYWAVE_EMULATOR_ACM_AT_ARN=1,
scripts/emulator/moto_server.py). Test harness only.
"""

import argparse
import datetime

import boto3
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(domain):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    args = parser.parse_args()
    with open(f"inventories/{args.env}/group_vars/all/aws.yml", encoding="utf-8") as f:
        aws = yaml.safe_load(f)
    arn = aws["aws_alb_certificate_arn"]
    cert, key = self_signed(f"api.onlywave-{args.env}.example")
    boto3.client("acm", region_name=aws["aws_region"]).import_certificate(
        CertificateArn=arn, Certificate=cert, PrivateKey=key
    )
    print(f"account: ACM certificate {arn} issued")


if __name__ == "__main__":
    main()
