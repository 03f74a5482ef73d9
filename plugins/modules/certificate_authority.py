#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: certificate_authority
short_description: A private CA's directory, key and self-signed certificate, made or checked in one module run
version_added: 0.1.0
author: OnlyWave platform team (@onlywave)
description:
  - Keeps a private certificate authority in the directory O(path), in one module run (on the
    controller, where the CA's key stays), where M(ansible.builtin.file),
    M(community.crypto.openssl_privatekey), M(community.crypto.openssl_csr_pipe) and
    M(community.crypto.x509_certificate) cost four.
  - The directory is made if missing, with mode 0700 (and any missing parent, mode 0755).
  - C(ca.key), mode 0600, is an ECC P-384 key; it is made where there is none or where the file holds
    no such key (and then the certificate is made again).
  - C(ca.crt), mode 0644, is kept while it holds, that is while these are all true, the checks by
    which M(community.crypto.x509_certificate) (its C(selfsigned) provider, defaults) keeps a
    certificate. It is for this key and signed by it; its subject is O(common_name) alone; its
    extensions, apart from the key identifiers, are exactly the subject alternative name
    C(DNS:<common_name>), key usage C(keyCertSign) and C(cRLSign) (critical) and basic constraints
    C(CA:TRUE, pathlen:0) (critical); its subject key identifier is its key's. Its dates are not
    checked, as that module does not check them.
  - Otherwise a new certificate is made, valid O(days) days from now, and written over the old one.
options:
  path:
    description: The CA's directory, which holds C(ca.key) and C(ca.crt).
    type: path
    required: true
  common_name:
    description: The CA's common name.
    type: str
    required: true
  days:
    description: The days a new certificate is valid.
    type: int
    default: 3650
attributes:
  check_mode:
    support: full
    description: Reports whether the directory, the key or the certificate would be made or changed; changes nothing.
  diff_mode:
    support: none
    description: The key is a secret; the certificate is returned.
  idempotent:
    support: full
    description: A CA that holds, with its modes, is left alone.
requirements:
  - cryptography 3.1 or later.
notes:
  - The key and the certificate are each written to a temporary file with mode 0600 beside it, given
    its mode, then renamed over the old one.
"""

EXAMPLES = r"""
- name: Make or check the environment's CA on the controller
  onlywave.infra.certificate_authority:
    path: ~/.cache/onlywave-infra/prod/pki
    common_name: OnlyWave prod CA
  delegate_to: localhost
  run_once: true
  register: _ca
"""

RETURN = r"""
certificate:
  description: The CA's certificate, in PEM; empty in check mode when it would be made.
  type: str
  returned: always
reasons:
  description: Why the directory, key or certificate was (or would be) made or changed; empty when the CA holds.
  type: list
  elements: str
  returned: always
  sample: ["there is no ECC P-384 key", "the certificate is not this key's"]
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onlywave.infra.plugins.module_utils._tls import (
    ec,
    fail_without_cryptography,
    first_certificate,
    has_own_key_identifier,
    new_ec_key_pem,
    other_extensions_are,
    public_der,
    read_ec_key,
    signed_by,
    signed_pem,
    subject_named,
    write_atomically,
    x509,
)


def wanted_extensions(common_name):
    """(extension, critical) for every extension of the CA's certificate but its key identifier."""
    return [
        (x509.SubjectAlternativeName([x509.DNSName(common_name)]), False),
        (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
        (x509.BasicConstraints(ca=True, path_length=0), True),
    ]


def reasons_against(certificate, key, subject, common_name):
    """Why the existing certificate does not hold; an empty list when it does."""
    reasons = []
    if public_der(certificate.public_key()) != public_der(key) or not signed_by(certificate, key.public_key()):
        reasons.append("the certificate is not this key's")
    if certificate.subject != subject:
        reasons.append(f"the certificate's subject is {certificate.subject.rfc4514_string()}")
    if not other_extensions_are(certificate, wanted_extensions(common_name)):
        reasons.append("the certificate's extensions differ")
    if not has_own_key_identifier(certificate):
        reasons.append("the certificate's subject key identifier is missing or not its key's")
    return reasons


def self_signed(key, subject, common_name, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    for extension, critical in wanted_extensions(common_name):
        builder = builder.add_extension(extension, critical=critical)
    return signed_pem(builder, key)


def with_mode(module, mode):
    """What write_atomically calls to give the new file its attributes: this mode."""
    return lambda path: module.set_mode_if_different(path, mode, False)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "common_name": {"type": "str", "required": True},
            "days": {"type": "int", "default": 3650},
        },
        supports_check_mode=True,
    )
    params = module.params
    fail_without_cryptography(module)
    problems = []
    if not os.path.isabs(params["path"]):
        problems.append(f"path must be an absolute path; it is '{params['path']}'")
    if not params["common_name"]:
        problems.append("common_name must not be empty")
    if params["days"] < 1:
        problems.append(f"days must be 1 or more; it is {params['days']}")
    if problems:
        module.fail_json(msg="; ".join(problems))

    directory, check_mode = params["path"], module.check_mode
    key_path, certificate_path = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    reasons = []
    if not os.path.isdir(directory):
        reasons.append("there is no directory")
        if check_mode:
            reasons += ["there is no ECC P-384 key", "there is no certificate"]
            module.exit_json(changed=True, certificate="", reasons=reasons)
        os.makedirs(directory, mode=0o755, exist_ok=True)
    if module.set_mode_if_different(directory, "0700", False) and not reasons:
        reasons.append("the directory's mode differs")

    key = read_ec_key(key_path, ec.SECP384R1)
    if key is None:
        reasons.append("there is no ECC P-384 key")
        if check_mode:
            module.exit_json(changed=True, certificate="", reasons=[*reasons, "the certificate is not this key's"])
        key, pem = new_ec_key_pem(ec.SECP384R1())
        write_atomically(key_path, pem, with_mode(module, "0600"))
    elif module.set_mode_if_different(key_path, "0600", False):
        reasons.append("the key's mode differs")

    subject = subject_named(params["common_name"])
    existing, certificate = first_certificate(certificate_path)
    if certificate is None:
        against = ["there is no certificate"]
    else:
        against = reasons_against(certificate, key, subject, params["common_name"])
    if against:
        reasons += against
        if check_mode:
            module.exit_json(changed=True, certificate="", reasons=reasons)
        pem = self_signed(key, subject, params["common_name"], params["days"])
        write_atomically(certificate_path, f"{pem}\n".encode(), with_mode(module, "0644"))
        module.exit_json(changed=True, certificate=pem, reasons=reasons)
    if module.set_mode_if_different(certificate_path, "0644", False):
        reasons.append("the certificate's mode differs")
    module.exit_json(changed=bool(reasons), certificate=existing.decode(), reasons=reasons)


if __name__ == "__main__":
    main()
