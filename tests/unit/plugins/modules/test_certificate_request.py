import datetime
import grp
import os
import pwd
import stat

import pytest
from ansible_collections.onlywave.infra.plugins.modules import certificate_request as mod
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.UTC)
USER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name


def make_ca(name="Test CA"):
    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def sign(ca, csr_pem, days=365, start=None, extra=()):
    """What an own-CA signer does with the request: its subject and extensions, both identifiers."""
    ca_key, ca_certificate = ca
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    start = start or NOW - datetime.timedelta(minutes=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_certificate.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
    )
    for extension in list(csr.extensions) + list(extra):
        builder = builder.add_extension(extension.value, critical=extension.critical)
    ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    return pem(builder.sign(ca_key, hashes.SHA256()))


@pytest.fixture
def ca():
    return make_ca()


@pytest.fixture
def run(run_module, tmp_path, ca):
    def run_request(check_mode=False, **overrides):
        args = {
            "key_path": str(tmp_path / "host.key"),
            "key_owner": USER,
            "key_group": GROUP,
            "certificate_path": str(tmp_path / "host.crt"),
            "ca_certificate": pem(ca[1]),
            "common_name": "db1",
            "dns_names": ["db1", "db1.internal"],
            "ip_addresses": ["10.30.2.20"],
            "extended_key_usage": ["serverAuth", "clientAuth"],
            "renew_days_ahead": 121,
        }
        args.update(overrides)
        return run_module(mod.main, args, check_mode=check_mode)

    return run_request


def install(tmp_path, certificate_pem, ca):
    (tmp_path / "host.crt").write_text(certificate_pem + pem(ca[1]))


def test_a_new_host_gets_a_key_only_its_group_reads_and_a_request_for_its_names(run, tmp_path):
    result = run()
    assert result["changed"] and not result["current"]
    assert result["reasons"] == ["there is no certificate"]
    key_file = tmp_path / "host.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o640
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key.curve, ec.SECP256R1)
    csr = x509.load_pem_x509_csr(result["csr"].encode())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=db1"
    names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not names.critical
    assert [str(n.value) for n in names.value] == ["db1", "db1.internal", "10.30.2.20"]
    usages = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert [os.path.basename(p) for p in tmp_path.iterdir()] == ["host.key"]  # no temporary file left


def test_a_certificate_signed_for_the_request_holds_and_the_key_is_kept(run, tmp_path, ca):
    leaf = sign(ca, run()["csr"])
    install(tmp_path, leaf, ca)
    key_before = (tmp_path / "host.key").read_bytes()
    second = run()
    assert second == {**second, "changed": False, "current": True, "reasons": [], "csr": ""}
    assert second["certificate"] == leaf.strip()  # the leaf alone, not the CA's after it
    assert (tmp_path / "host.key").read_bytes() == key_before


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"dns_names": ["db1"]}, "its names or usages differ"),
        ({"ip_addresses": []}, "its names or usages differ"),
        ({"extended_key_usage": ["serverAuth"]}, "its names or usages differ"),
        ({"common_name": "db2"}, "its subject is CN=db1"),
        ({"renew_days_ahead": 400}, "it is not valid 400 days from now"),
    ],
)
def test_a_certificate_that_no_longer_matches_the_inputs_does_not_hold(run, tmp_path, ca, change, reason):
    install(tmp_path, sign(ca, run()["csr"]), ca)
    result = run(**change)
    assert not result["changed"] and not result["current"]
    assert result["reasons"] == [reason]
    assert result["csr"]


def test_a_certificate_of_another_ca_or_key_does_not_hold(run, tmp_path, ca):
    csr = run()["csr"]
    install(tmp_path, sign(make_ca("Other CA"), csr), ca)
    assert run()["reasons"] == ["the CA did not sign it", "its authority key identifier is not the CA's"]
    (tmp_path / "host.key").unlink()
    install(tmp_path, sign(ca, csr), ca)
    result = run()
    assert result["changed"]
    assert result["reasons"] == ["it is for another key"]


def test_an_extra_or_critical_extension_does_not_hold(run, tmp_path, ca):
    csr = run()["csr"]
    extra = x509.Extension(x509.OID_KEY_USAGE, True, x509.KeyUsage(True, *[False] * 8))
    install(tmp_path, sign(ca, csr, extra=[extra]), ca)
    assert run()["reasons"] == ["its names or usages differ"]


def test_not_yet_valid_then_is_not_valid(run, tmp_path, ca):
    install(tmp_path, sign(ca, run()["csr"], start=NOW + datetime.timedelta(days=200)), ca)
    assert run()["reasons"] == ["it is not valid 121 days from now"]


def test_a_key_of_another_kind_is_replaced(run, tmp_path):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "host.key").write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    result = run()
    assert result["changed"]
    key = serialization.load_pem_private_key((tmp_path / "host.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)


def test_a_mode_change_alone_is_a_change_and_keeps_the_key(run, tmp_path):
    run()
    before = (tmp_path / "host.key").read_bytes()
    os.chmod(tmp_path / "host.key", 0o644)
    assert run()["changed"]
    assert stat.S_IMODE(os.stat(tmp_path / "host.key").st_mode) == 0o640
    assert (tmp_path / "host.key").read_bytes() == before


def test_check_mode_reports_the_new_key_and_writes_nothing(run, tmp_path):
    result = run(check_mode=True)
    assert result["changed"] and not result["current"]
    assert result["reasons"] == ["the key is still to be made"] and result["csr"] == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key_mode": "640a"}, "key_mode must be octal"),
        ({"key_path": "host.key"}, "key_path must be an absolute path"),
        ({"dns_names": [], "ip_addresses": []}, "dns_names and ip_addresses must not both be empty"),
        ({"ip_addresses": ["10.30.2"]}, "ip_addresses: '10.30.2' is not an IP address"),
        ({"renew_days_ahead": -1}, "renew_days_ahead must be 0 or more"),
        ({"ca_certificate": "not a certificate"}, "ca_certificate holds no PEM certificate"),
    ],
)
def test_bad_options_fail_before_any_file_is_read_or_written(run, tmp_path, change, message):
    result = run(**change)
    assert result["failed"] and message in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_a_certificate_that_cannot_be_read_does_not_hold(run, tmp_path):
    run()
    (tmp_path / "host.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    result = run()
    assert result["reasons"] == ["the certificate cannot be read"] and result["csr"]
