# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keys and certificates for the pki modules (certificate_authority, certificate_request)."""

import os
import re
import tempfile
import traceback

from ansible.module_utils.basic import missing_required_lib

# The modules import cryptography's names from here; without it they are None, and
# fail_without_cryptography() stops a module before it uses any.
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    CRYPTOGRAPHY_ERROR = traceback.format_exc()
    x509 = hashes = serialization = ec = padding = rsa = ExtendedKeyUsageOID = NameOID = None
    InvalidSignature = UnsupportedAlgorithm = Exception
else:
    CRYPTOGRAPHY_ERROR = None

PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def fail_without_cryptography(module):
    if CRYPTOGRAPHY_ERROR:
        module.fail_json(msg=missing_required_lib("cryptography (python3-cryptography)"), exception=CRYPTOGRAPHY_ERROR)


def subject_named(common_name):
    """A subject that is a common name alone."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def signed_pem(builder, key):
    """Sign a certificate or request builder with key (SHA-256); the result in PEM, as text."""
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode().strip()


def extended_key_usage(names):
    """The extension for usages named as openssl names them (serverAuth, clientAuth)."""
    oids = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
    return x509.ExtendedKeyUsage([oids[name] for name in names])


def read_ec_key(path, curve):
    """The EC private key at path if it is on that curve (a class, such as ec.SECP256R1), else None."""
    try:
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, curve):
        return key
    return None


def new_ec_key_pem(curve):
    """A new key on that curve (an instance, such as ec.SECP256R1()), and its PEM, as openssl writes EC keys."""
    key = ec.generate_private_key(curve)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return key, pem


def write_atomically(path, data, set_attributes):
    """Write data to a 0600 temporary file beside path, give it its attributes, then rename it over path.

    set_attributes(temporary_path) sets owner, group and mode, so that the file is never readable
    by others, not even for a moment, and a reader sees the old file or the new one.
    """
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        set_attributes(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def first_certificate(path):
    """(PEM bytes, certificate) of the first certificate in the file.

    (None, None) when there is no file or no certificate in it; (PEM bytes, None) when it cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            found = PEM_CERTIFICATE.search(handle.read())
    except FileNotFoundError:
        return None, None
    if not found:
        return None, None
    try:
        return found.group(0), x509.load_pem_x509_certificate(found.group(0))
    except ValueError:
        return found.group(0), None


def public_der(key):
    """A public (or private) key's public half, comparable as bytes."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def signed_by(certificate, public_key):
    """Whether public_key's private half made the certificate's signature (ECDSA, or RSA PKCS#1 v1.5)."""
    try:
        algorithm = certificate.signature_hash_algorithm
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def other_extensions_are(certificate, wanted):
    """Whether the certificate's extensions, but for its key identifiers, are exactly wanted.

    wanted is a list of (extension value, critical). The identifiers are the signer's to add.
    """
    identifiers = (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)
    present = [(e.value, e.critical) for e in certificate.extensions if not isinstance(e.value, identifiers)]
    return len(present) == len(wanted) and all(entry in wanted for entry in present)


def has_own_key_identifier(certificate):
    """Whether the certificate's subject key identifier is that of its public key."""
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return False
    return ski.digest == x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
