"""registry_manifest_info: every option checked before any request, a missing manifest
reported (or failed on, with fail_if_missing), registry errors failing with their kind."""

import pytest
from ansible_collections.onlywave.infra.plugins.module_utils._registry import RegistryError
from ansible_collections.onlywave.infra.plugins.modules import registry_manifest_info as mod

ARGS = {"registry": "registry.example:5000", "repository": "onlywave/api", "reference": "1.4.0"}
DIGEST = "sha256:" + "ab" * 32


class FakeRegistry:
    def __init__(self, manifests=None, error=None):
        self.manifests, self.error, self.asked = manifests or {}, error, []

    def get_manifest(self, repository, reference):
        self.asked.append((repository, reference))
        if self.error:
            raise self.error
        return self.manifests.get((repository, reference))


@pytest.fixture
def registry(monkeypatch):
    fake = FakeRegistry({("onlywave/api", "1.4.0"): (b"{}", "application/vnd.oci.image.manifest.v1+json", DIGEST)})
    monkeypatch.setattr(mod, "connect", lambda module, params: fake)
    return fake


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"registry": "registry.example:99999"}, "registry: the port must be 1 to 65535"),
        ({"repository": "OnlyWave/API"}, "repository must be lower-case path components"),
        ({"reference": "sha256:xyz"}, "reference must be a tag or a sha256 digest"),
        ({"reference": ".hidden"}, "reference must be a tag or a sha256 digest"),
        ({"timeout": 0}, "timeout must be at least 1"),
    ],
)
def test_a_bad_option_fails_naming_it_before_any_request(run_module, registry, bad, message):
    result = run_module(mod.main, {**ARGS, **bad})
    assert result["failed"] and result["error"] == "invalid_option" and message in result["msg"]
    assert registry.asked == []


def test_an_existing_manifest_is_found_with_its_digest(run_module, registry):
    result = run_module(mod.main, ARGS, check_mode=True)
    assert result["exists"] and result["digest"] == DIGEST and not result["changed"]
    assert result["media_type"] == "application/vnd.oci.image.manifest.v1+json"


def test_a_missing_manifest_is_reported_or_failed_on(run_module, registry):
    missing = {**ARGS, "reference": DIGEST}
    found = run_module(mod.main, missing)
    assert not found.get("failed") and not found["exists"] and found["digest"] == ""
    failed = run_module(mod.main, {**missing, "fail_if_missing": True})
    assert failed["failed"] and failed["error"] == "not_found"
    assert f"does not hold registry.example:5000/onlywave/api@{DIGEST}" in failed["msg"]


def test_a_registry_error_fails_with_its_kind(run_module, registry):
    registry.error = RegistryError("auth", "registry registry.example:5000 refused authentication as ci")
    result = run_module(mod.main, ARGS)
    assert result["failed"] and result["error"] == "auth" and "refused authentication" in result["msg"]
