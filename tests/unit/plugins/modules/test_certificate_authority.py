import datetime
import os
import stat

import pytest
from ansible_collections.onlywave.infra.plugins.modules import certificate_authority as mod
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture
def run(run_module, tmp_path):
    def run_ca(check_mode=False, **overrides):
        args = {"path": str(tmp_path / "pki"), "common_name": "OnlyWave test CA", **overrides}
        return run_module(mod.main, args, check_mode=check_mode)

    return run_ca


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def load(tmp_path):
    return x509.load_pem_x509_certificate((tmp_path / "pki" / "ca.crt").read_bytes())


def test_makes_a_ca_that_signs_certificates_then_keeps_it(run, tmp_path):
    first = run()
    assert first["changed"]
    assert first["reasons"] == ["there is no directory", "there is no ECC P-384 key", "there is no certificate"]
    assert mode_of(tmp_path / "pki") == 0o700
    assert mode_of(tmp_path / "pki" / "ca.key") == 0o600
    assert mode_of(tmp_path / "pki" / "ca.crt") == 0o644
    ca = load(tmp_path)
    assert ca.subject.rfc4514_string() == "CN=OnlyWave test CA" and ca.issuer == ca.subject
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert 3649 <= (ca.not_valid_after_utc - ca.not_valid_before_utc).days <= 3650
    assert first["certificate"] == (tmp_path / "pki" / "ca.crt").read_text().strip()
    second = run()
    assert not second["changed"] and second["reasons"] == []
    assert second["certificate"] == first["certificate"]
    assert sorted(os.listdir(tmp_path / "pki")) == ["ca.crt", "ca.key"]  # no temporary file left


def test_a_certificate_for_another_name_or_key_is_made_again(run, tmp_path):
    first = run()
    renamed = run(common_name="OnlyWave other CA")
    assert renamed["changed"] and renamed["certificate"] != first["certificate"]
    assert "the certificate's subject is CN=OnlyWave test CA" in renamed["reasons"]
    (tmp_path / "pki" / "ca.key").unlink()
    rekeyed = run(common_name="OnlyWave other CA")
    assert rekeyed["reasons"] == ["there is no ECC P-384 key", "the certificate is not this key's"]


def test_a_certificate_with_other_extensions_is_made_again(run, tmp_path):
    run()
    key = serialization.load_pem_private_key((tmp_path / "pki" / "ca.key").read_bytes(), password=None)
    subject = load(tmp_path).subject
    leaf_like = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "pki" / "ca.crt").write_bytes(leaf_like.public_bytes(serialization.Encoding.PEM))
    result = run()
    assert result["reasons"] == ["the certificate's extensions differ"]
    assert load(tmp_path).extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_key_of_another_curve_is_replaced_with_its_certificate(run, tmp_path):
    run()
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "pki" / "ca.key").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    result = run()
    assert result["reasons"] == ["there is no ECC P-384 key", "the certificate is not this key's"]
    key = serialization.load_pem_private_key((tmp_path / "pki" / "ca.key").read_bytes(), password=None)
    assert isinstance(key.curve, ec.SECP384R1)


def test_modes_are_put_back_and_the_ca_kept(run, tmp_path):
    first = run()
    os.chmod(tmp_path / "pki", 0o755)
    os.chmod(tmp_path / "pki" / "ca.key", 0o644)
    result = run()
    assert result["changed"] and result["certificate"] == first["certificate"]
    assert result["reasons"] == ["the directory's mode differs", "the key's mode differs"]
    assert mode_of(tmp_path / "pki") == 0o700 and mode_of(tmp_path / "pki" / "ca.key") == 0o600


def test_check_mode_reports_a_new_ca_and_writes_nothing(run, tmp_path):
    result = run(check_mode=True)
    assert result["changed"] and result["certificate"] == ""
    assert not (tmp_path / "pki").exists()
    run()
    (tmp_path / "pki" / "ca.crt").unlink()
    again = run(check_mode=True)
    assert again["changed"] and again["reasons"] == ["there is no certificate"]
    assert not (tmp_path / "pki" / "ca.crt").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "pki"}, "path must be an absolute path"),
        ({"days": 0}, "days must be 1 or more"),
        ({"common_name": ""}, "common_name must not be empty"),
    ],
)
def test_bad_options_fail_before_anything_is_made(run, tmp_path, change, message):
    result = run(**change)
    assert result["failed"] and message in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_a_certificate_that_cannot_be_read_is_made_again(run, tmp_path):
    run()
    (tmp_path / "pki" / "ca.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    result = run()
    assert result["changed"] and result["reasons"] == ["there is no certificate"]
    assert load(tmp_path).subject.rfc4514_string() == "CN=OnlyWave test CA"
