#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: certificate_request
short_description: A host's TLS key, whether its certificate still holds, and a signing request when it does not
version_added: 0.1.0
author: OnlyWave platform team (@onlywave)
description:
  - In one module run on the host, keeps the host's private key (an ECC P-256 key, made where there
    is none or where the file holds no such key), reads the certificate installed at
    O(certificate_path), and says whether it still holds.
  - A certificate holds when every one of these is true; these are the checks by which
    M(community.crypto.x509_certificate_pipe) (its C(ownca) provider, defaults) keeps a certificate
    it is given, and a validity window.
  - It is for this key; its subject is O(common_name) alone.
  - Its extensions, apart from the subject and authority key identifiers, are exactly the subject
    alternative names (O(dns_names) then O(ip_addresses)) and, if O(extended_key_usage) is not empty,
    those usages, none of them critical.
  - Its subject key identifier is that of its public key.
  - It is signed by the key of O(ca_certificate), its issuer is that CA's subject, and its authority
    key identifier is that CA's.
  - It is valid O(renew_days_ahead) days from now (it started before then and ends after then).
  - When it does not hold (or there is none), the module returns a signing request for this key with
    exactly that subject and those extensions, for the caller to have signed by the CA, on the
    controller, where the CA's key stays. The host's key never leaves the host.
  - Where M(community.crypto.openssl_privatekey), M(community.crypto.openssl_csr_pipe) and
    M(ansible.builtin.slurp) cost three module runs, and the signing module a fourth, a certificate
    that holds costs this one run.
options:
  key_path:
    description: The private key's path. Its directory must exist.
    type: path
    required: true
  key_owner:
    description: The key file's owning user, a name or a numeric ID.
    type: str
    default: root
  key_group:
    description: The key file's group, a name or a numeric ID (the service's group, which reads it).
    type: str
    default: root
  key_mode:
    description: The key file's octal permissions.
    type: str
    default: "0640"
  certificate_path:
    description:
      - Where the certificate is installed. The first certificate in the file is the host's (a chain
        follows it). A missing file, or one without a certificate, does not hold.
    type: path
    required: true
  ca_certificate:
    description: The CA's certificate, in PEM.
    type: str
    required: true
  common_name:
    description: The subject's common name.
    type: str
    required: true
  dns_names:
    description: DNS names, in order, as subject alternative names.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP addresses, in order, as subject alternative names after the DNS names.
    type: list
    elements: str
    default: []
  extended_key_usage:
    description: What the certificate may prove, in order.
    type: list
    elements: str
    choices: [serverAuth, clientAuth]
    default: [serverAuth]
  renew_days_ahead:
    description:
      - The certificate holds only if it is valid this many days from now; the caller renews it
        before then.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description:
      Reports whether the key would be made, replaced or given its owner, group and mode, and changes
      nothing. A key that does not exist yet has no certificate and no signing request.
  diff_mode:
    support: none
    description: The key is a secret and the request is returned; neither is shown as a diff.
  idempotent:
    support: full
    description: A key that is an ECC P-256 key with the given owner, group and mode is left alone.
requirements:
  - python3-cryptography on the host (version 3.1 or later).
notes:
  - The key is written with mode 0600 to a temporary file in its directory, given its owner, group
    and mode, then renamed over the old one, so that it is never readable by others.
  - The module's change is the key's alone; a certificate that does not hold is reported in
    RV(current), and the caller's signing and installing steps report their own changes.
"""

EXAMPLES = r"""
- name: Keep the host's key; check its certificate (a signing request when it no longer holds)
  onlywave.infra.certificate_request:
    key_path: /etc/ssl/private/onlywave-postgresql.key
    key_group: postgres
    certificate_path: /etc/ssl/certs/onlywave-postgresql.crt
    ca_certificate: "{{ lookup('ansible.builtin.file', pki_ca_dir ~ '/ca.crt') }}"
    common_name: db1
    dns_names: [db1, db1.internal]
    ip_addresses: [10.30.2.20]
    extended_key_usage: [serverAuth, clientAuth]
    renew_days_ahead: 121
  register: _request

- name: Sign it on the controller only when it no longer holds
  community.crypto.x509_certificate_pipe:
    csr_content: "{{ _request.csr }}"
    provider: ownca
    ownca_path: "{{ pki_ca_dir }}/ca.crt"
    ownca_privatekey_path: "{{ pki_ca_dir }}/ca.key"
    ownca_not_after: +365d
  delegate_to: localhost
  when: not _request.current and _request.csr | length > 0
"""

RETURN = r"""
current:
  description: Whether the installed certificate holds (see the description).
  type: bool
  returned: always
  sample: true
reasons:
  description: Why it does not hold; empty when it does.
  type: list
  elements: str
  returned: always
  sample: ["it is not valid 121 days from now"]
certificate:
  description: The installed host certificate, in PEM (the first in the file); empty if there is none.
  type: str
  returned: always
csr:
  description:
    - A signing request for this key, in PEM, when the certificate does not hold; empty when it holds,
      or when the key does not exist yet (check mode).
  type: str
  returned: always
"""

import datetime
import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onlywave.infra.plugins.module_utils._tls import (
    PEM_CERTIFICATE,
    ec,
    extended_key_usage,
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

MODE = re.compile(r"^0?[0-7]{3,4}$")


def problems_of(params):
    """What is wrong with the options, each message naming one; checked before anything is read."""
    problems = []
    if not MODE.match(params["key_mode"]):
        problems.append(f"key_mode must be octal, such as '0640'; it is '{params['key_mode']}'")
    for name in ("key_path", "certificate_path"):
        if not os.path.isabs(params[name]):
            problems.append(f"{name} must be an absolute path; it is '{params[name]}'")
    if not params["common_name"]:
        problems.append("common_name must not be empty")
    if not params["dns_names"] and not params["ip_addresses"]:
        problems.append("dns_names and ip_addresses must not both be empty")
    for address in params["ip_addresses"]:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            problems.append(f"ip_addresses: '{address}' is not an IP address")
    if params["renew_days_ahead"] < 0:
        problems.append(f"renew_days_ahead must be 0 or more; it is {params['renew_days_ahead']}")
    if not PEM_CERTIFICATE.search(params["ca_certificate"].encode()):
        problems.append("ca_certificate holds no PEM certificate")
    return problems


def wanted_extensions(params):
    """The extensions the certificate must carry (and the request asks for), none of them critical."""
    names = [x509.DNSName(name) for name in params["dns_names"]]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in params["ip_addresses"]]
    extensions = [x509.SubjectAlternativeName(names)]
    if params["extended_key_usage"]:
        extensions.append(extended_key_usage(params["extended_key_usage"]))
    return extensions


def set_key_attributes(module, path):
    """Give the key file its owner, group and mode; whether any differed (in check mode: would)."""
    params = module.params
    changed = module.set_owner_if_different(path, params["key_owner"], False)
    changed = module.set_group_if_different(path, params["key_group"], changed)
    return module.set_mode_if_different(path, params["key_mode"], changed)


def authority_key_identifier(ca):
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def validity(certificate):
    """(not before, not after), naive UTC, on any version of cryptography."""
    if hasattr(certificate, "not_valid_before_utc"):
        return (
            certificate.not_valid_before_utc.replace(tzinfo=None),
            certificate.not_valid_after_utc.replace(tzinfo=None),
        )
    return certificate.not_valid_before, certificate.not_valid_after


def reasons_against(certificate, key, ca, params, subject, extensions):
    """Why the certificate does not hold; an empty list when it does."""
    reasons = []
    if public_der(certificate.public_key()) != public_der(key):
        reasons.append("it is for another key")
    if certificate.subject != subject:
        reasons.append(f"its subject is {certificate.subject.rfc4514_string()}")
    if not other_extensions_are(certificate, [(extension, False) for extension in extensions]):
        reasons.append("its names or usages differ")
    if not has_own_key_identifier(certificate):
        reasons.append("its subject key identifier is missing or not its key's")
    if not signed_by(certificate, ca.public_key()) or certificate.issuer != ca.subject:
        reasons.append("the CA did not sign it")
    try:
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        if aki != authority_key_identifier(ca):
            reasons.append("its authority key identifier is not the CA's")
    except x509.ExtensionNotFound:
        reasons.append("it has no authority key identifier")
    not_before, not_after = validity(certificate)
    then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    then += datetime.timedelta(days=params["renew_days_ahead"])
    if not not_before <= then <= not_after:
        reasons.append(f"it is not valid {params['renew_days_ahead']} days from now")
    return reasons


def signing_request(key, subject, extensions):
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return signed_pem(builder, key)


def main():
    module = AnsibleModule(
        argument_spec={
            "key_path": {"type": "path", "required": True},
            "key_owner": {"type": "str", "default": "root", "no_log": False},
            "key_group": {"type": "str", "default": "root", "no_log": False},
            "key_mode": {"type": "str", "default": "0640", "no_log": False},
            "certificate_path": {"type": "path", "required": True},
            "ca_certificate": {"type": "str", "required": True},
            "common_name": {"type": "str", "required": True},
            "dns_names": {"type": "list", "elements": "str", "default": []},
            "ip_addresses": {"type": "list", "elements": "str", "default": []},
            "extended_key_usage": {
                "type": "list",
                "elements": "str",
                "choices": ["serverAuth", "clientAuth"],
                "default": ["serverAuth"],
            },
            "renew_days_ahead": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    params = module.params
    fail_without_cryptography(module)
    problems = problems_of(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not os.path.isdir(os.path.dirname(params["key_path"])):
        module.fail_json(msg=f"key_path: the directory {os.path.dirname(params['key_path'])} does not exist")
    ca = x509.load_pem_x509_certificate(PEM_CERTIFICATE.search(params["ca_certificate"].encode()).group(0))

    key = read_ec_key(params["key_path"], ec.SECP256R1)
    changed = key is None
    if key is None and not module.check_mode:
        key, pem = new_ec_key_pem(ec.SECP256R1())
        write_atomically(params["key_path"], pem, lambda path: set_key_attributes(module, path))
    elif key is not None:
        changed = set_key_attributes(module, params["key_path"])

    subject = subject_named(params["common_name"])
    extensions = wanted_extensions(params)
    installed, certificate = first_certificate(params["certificate_path"])
    if key is None:
        reasons = ["the key is still to be made"]
    elif installed is None:
        reasons = ["there is no certificate"]
    elif certificate is None:
        reasons = ["the certificate cannot be read"]
    else:
        reasons = reasons_against(certificate, key, ca, params, subject, extensions)
    module.exit_json(
        changed=changed,
        current=not reasons,
        reasons=reasons,
        certificate=installed.decode() if installed else "",
        csr=signing_request(key, subject, extensions) if reasons and key is not None else "",
    )


if __name__ == "__main__":
    main()
