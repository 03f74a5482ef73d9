"""The parts of registry_push that need no registry: export parsing, compression, credentials,
and the client's retries and error classification against a scripted session."""

import base64
import gzip
import io
import json
import tarfile

import pytest
from ansible_collections.onlywave.infra.plugins.module_utils import _image_export, _registry
from ansible_collections.onlywave.infra.plugins.module_utils import _registry_access as access
from ansible_collections.onlywave.infra.plugins.module_utils._registry import Registry, RegistryError
from ansible_collections.onlywave.infra.plugins.modules import registry_push as mod


def tar_bytes(files):
    """A tar archive (bytes) of {name: bytes}."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


class FakeEngineImage:
    def __init__(self, export):
        self.export = export

    def save(self, named=False):
        return (self.export[i : i + 7000] for i in range(0, len(self.export), 7000))


# Over 1 MiB, so that it streams (smaller blobs wait for the manifest).
LAYER = tar_bytes({"etc/hello": b"hello" * 300_000})
CONFIG = json.dumps({"rootfs": {"type": "layers"}}).encode()


# Docker before 25: <id>/layer.tar, <id>.json, and manifest.json last.
LEGACY_EXPORT = {
    "abc/VERSION": b"1.0",
    "abc/json": b"{}",
    "abc/layer.tar": LAYER,
    "cfg.json": CONFIG,
    "manifest.json": json.dumps([{"Config": "cfg.json", "Layers": ["abc/layer.tar"]}]).encode(),
}
# Docker 25 and later: an OCI layout with blobs/sha256/<digest>.
OCI_EXPORT = {
    "blobs/sha256/aaa": LAYER,
    "blobs/sha256/ccc": CONFIG,
    "index.json": b"{}",
    "manifest.json": json.dumps([{"Config": "blobs/sha256/ccc", "Layers": ["blobs/sha256/aaa"]}]).encode(),
}


@pytest.mark.parametrize("export", [LEGACY_EXPORT, OCI_EXPORT], ids=["legacy", "oci-layout"])
def test_export_sends_gzipped_layers_and_returns_the_config(tmp_path, export):
    sent = []

    def send(path, digest, size):
        with open(path, "rb") as f:
            sent.append((f.read(), digest, size))
        return "uploaded"

    config, layers = _image_export.export_layers(FakeEngineImage(tar_bytes(export)), tmp_path, 6, send)
    assert config == CONFIG
    [(data, digest, size)] = sent
    assert gzip.decompress(data) == LAYER
    assert digest == _registry.sha256_digest(data) and size == len(data)
    assert layers == [(digest, size, "uploaded")]
    assert list(tmp_path.iterdir()) == []


def test_small_layers_are_sent_once_the_manifest_names_them(tmp_path):
    tiny = tar_bytes({"etc/motd": b"hi"})
    export = {
        "blobs/sha256/aaa": LAYER,
        "blobs/sha256/bbb": tiny,
        "blobs/sha256/ccc": CONFIG,
        "manifest.json": json.dumps(
            [{"Config": "blobs/sha256/ccc", "Layers": ["blobs/sha256/aaa", "blobs/sha256/bbb"]}]
        ).encode(),
    }
    sizes = []
    _config, layers = _image_export.export_layers(
        FakeEngineImage(tar_bytes(export)), tmp_path, 1, lambda p, d, s: sizes.append(s) or "skipped"
    )
    assert [how for _d, _s, how in layers] == ["skipped", "skipped"]
    assert len(sizes) == 2


def test_compression_is_deterministic(tmp_path):
    first = _image_export.compress(io.BytesIO(LAYER), tmp_path, 6)
    second = _image_export.compress(io.BytesIO(LAYER), tmp_path, 6)
    assert first[1] == second[1]


def test_docker_config_credentials(tmp_path):
    path = tmp_path / "config.json"
    auth = base64.b64encode(b"ci:s3cret:with:colons").decode()
    path.write_text(json.dumps({"auths": {"https://registry.example:5000": {"auth": auth}}}))
    assert access.docker_config_credentials(str(path), "registry.example:5000") == ("ci", "s3cret:with:colons")
    assert access.docker_config_credentials(str(path), "other.example") == (None, None)


def test_ecr_registry_names_are_checked():
    with pytest.raises(RegistryError, match="not an ECR registry"):
        access.ecr_credentials("registry.example:5000")


def test_www_authenticate_parsing():
    assert _registry.parse_www_authenticate('Bearer realm="https://auth/token",service="reg"') == (
        "bearer",
        {"realm": "https://auth/token", "service": "reg"},
    )
    assert _registry.parse_www_authenticate('Basic realm="r"') == ("basic", {"realm": "r"})


class Response:
    def __init__(self, status, body=None, headers=None):
        self.status_code, self.headers = status, headers or {}
        self.content = json.dumps(body).encode() if body is not None else b""
        self.text = self.content.decode()

    def json(self):
        return json.loads(self.content)


class ScriptedSession:
    """Answers requests from a script of responses (or exceptions); records them."""

    def __init__(self, script):
        self.script, self.calls = list(script), []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs.get("headers", {})))
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(_registry.time, "sleep", lambda _seconds: None)

    def make(script, **kwargs):
        client = Registry("reg.example:5000", username="ci", password="pw", retries=3, **kwargs)
        client.session = ScriptedSession(script)
        return client

    return make


def test_retries_connection_errors_and_5xx_then_succeeds(registry):
    eof = _registry.requests.exceptions.SSLError("EOF occurred in violation of protocol")
    client = registry([eof, Response(503), Response(429), Response(200)])
    client.ping()
    assert client.attempts == 4


def test_gives_up_after_the_retries_with_a_clear_error(registry):
    client = registry([_registry.requests.ConnectionError("refused")] * 4)
    with pytest.raises(RegistryError, match=r"cannot reach registry reg\.example:5000 after 4 attempts") as failure:
        client.ping()
    assert failure.value.kind == "unreachable"


def test_an_untrusted_certificate_fails_at_once(registry):
    client = registry([_registry.requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")])
    with pytest.raises(RegistryError, match="TLS certificate is not trusted") as failure:
        client.ping()
    assert failure.value.kind == "tls" and client.attempts == 1


def test_basic_auth_is_answered_once_and_a_refusal_is_an_auth_error(registry):
    challenge = Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
    client = registry([challenge, Response(200)])
    client.ping()
    assert client.session.calls[1][2]["Authorization"] == "Basic " + base64.b64encode(b"ci:pw").decode()
    refused = registry([challenge, challenge])
    with pytest.raises(RegistryError, match="refused authentication as ci") as failure:
        refused.ping()
    assert failure.value.kind == "auth"


def test_bearer_tokens_come_from_the_token_service(registry):
    challenge = Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/token",service="reg"'})
    client = registry([challenge, Response(200, {"token": "t0k3n"}), Response(200)])
    client.ping()
    token_call, retried = client.session.calls[1], client.session.calls[2]
    assert token_call[1] == "https://auth.example/token"
    assert retried[2]["Authorization"] == "Bearer t0k3n"


def test_an_immutable_tag_refusal_is_recognised(registry):
    message = "The image tag 'v1' already exists and cannot be overwritten because the repository is immutable."
    errors = {"errors": [{"code": "TAG_INVALID", "message": message}]}
    client = registry([Response(400, errors)])
    with pytest.raises(RegistryError, match="refuses to overwrite the tag") as failure:
        client.put_manifest("onlywave/api", "v1", b"{}", mod.SCHEMA2)
    assert failure.value.kind == "immutable"


def test_a_missing_manifest_is_none_and_a_present_one_has_its_digest(registry):
    client = registry(
        [
            Response(404),
            Response(200, {"config": {}}, {"Content-Type": mod.SCHEMA2, "Docker-Content-Digest": "sha256:d"}),
        ]
    )
    assert client.get_manifest("onlywave/api", "v9") is None
    _body, media_type, digest = client.get_manifest("onlywave/api", "v1")
    assert (media_type, digest) == (mod.SCHEMA2, "sha256:d")


def test_holds_image_compares_the_config_digest():
    manifest = (json.dumps({"config": {"digest": "sha256:img"}}).encode(), mod.SCHEMA2, "sha256:m")
    assert mod.holds_image(manifest, "sha256:img")
    assert not mod.holds_image(manifest, "sha256:other")
    assert not mod.holds_image(None, "sha256:img")
    assert not mod.holds_image((b"{}", _registry.LIST_TYPES[0], "sha256:l"), "sha256:img")


def params(**overrides):
    """The module's options as AnsibleModule would give them (defaults filled in)."""
    base = dict(
        registry="10.30.1.5:5000", repository="onlywave/api", tags=["2.0.1-broken", "abc123"],
        retries=5, retry_delay=0.5, timeout=60, source=None,
    )  # fmt: skip
    base.update(overrides)
    return base


def source(**overrides):
    base = dict(registry="registry.dev.internal:5000", repository="onlywave/api", reference="1.0.0")
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    "options",
    [
        params(),
        params(registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com", repository="onlywave/staging/api"),
        params(registry="localhost", repository="a.b_c__d-e--f/x9"),
        params(registry="[::1]:5000", tags=["_x", "v1.2.3"]),
        params(source=source()),
        params(source=source(reference="sha256:" + "a" * 64)),
        # A digest given a new tag in its own repository is a tag, not a promotion onto itself.
        params(registry="registry.dev.internal:5000", source=source(reference="sha256:" + "b" * 64)),
    ],
)
def test_valid_options_pass(options):
    assert mod.option_problems(options) == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (params(registry="registry.example:99999"), "registry: the port must be 1 to 65535; it is '99999'"),
        (params(registry="registry.example:0"), "registry: the port must be 1 to 65535"),
        (params(registry="https://registry.example"), "registry must be a registry host"),
        (params(registry="bad_host:5000"), "registry must be a registry host"),
        (params(repository="OnlyWave/api"), "repository must be lower-case path components"),
        (params(repository="onlywave//api"), "repository must be lower-case path components"),
        (params(repository="onlywave/api-"), "repository must be lower-case path components"),
        (params(repository="a" * 256), "repository must be lower-case path components"),
        (params(tags=["-leading-dash"]), "tags: '-leading-dash' is not a tag"),
        (params(tags=["x" * 129]), "is not a tag"),
        (params(tags=["has space"]), "tags: 'has space' is not a tag"),
        (params(tags=["dev", "dev"]), "tags lists a tag twice"),
        (params(retries=-1), "retries must be at least 0"),
        (params(timeout=0), "timeout must be at least 1"),
        (params(retry_delay=-0.5), "retry_delay must not be negative"),
        (params(source=source(registry="registry.example:70000")), "source.registry: the port must be 1 to 65535"),
        (params(source=source(repository="Bad")), "source.repository must be lower-case"),
        (params(source=source(reference="sha256:xyz")), "source.reference must be a tag or a sha256 digest"),
        (
            params(registry="registry.dev.internal:5000", tags=["1.0.0"], source=source()),
            "promotes the image onto itself",
        ),
    ],
)
def test_each_invalid_option_is_named(options, named):
    problems = mod.option_problems(options)
    assert any(named in problem for problem in problems), problems


def test_every_invalid_option_is_reported_at_once():
    problems = mod.option_problems(params(registry="r:99999", repository="Bad", tags=["-x"], timeout=0))
    assert len(problems) == 4, problems
