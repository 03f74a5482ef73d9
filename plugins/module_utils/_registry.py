# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small client of the Docker Registry HTTP API v2, for onlywave.infra.registry_push.

Private to this collection: not a public API.

It speaks the parts of the API a push and a promotion need: authentication
(basic, and bearer tokens from a token service), manifests by tag or digest,
blob existence, cross-repository mounts and monolithic uploads. Requests are
retried with exponential backoff on connection errors, 408, 429 and 5xx.
"""

import base64
import hashlib
import json
import re
import threading
import time

try:
    import requests
except ImportError:
    requests = None

MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
]
LIST_TYPES = MANIFEST_TYPES[2:]
RETRYABLE = {408, 429}


class RegistryError(Exception):
    """A failure, with its kind: auth, unreachable, tls, not_found, immutable or protocol."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_www_authenticate(header):
    """'Bearer realm="x",service="y"' -> ('bearer', {'realm': 'x', 'service': 'y'})."""
    scheme, _space, rest = (header or "").partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


class Registry:
    """One registry, as one user. Counts the bytes it uploads. Safe to share between threads."""

    def __init__(
        self, host, username=None, password=None, ca_path=None, insecure_http=False, retries=5, delay=0.5, timeout=60
    ):
        self.host = host
        self.base = ("http" if insecure_http else "https") + "://" + host
        self.username, self.password = username, password
        self.retries, self.delay, self.timeout = retries, delay, timeout
        self.session = requests.Session()
        # Given with every request: a session-level verify loses to REQUESTS_CA_BUNDLE.
        self.verify = ca_path or True
        self.tokens = {}
        self.basic = False
        self.bytes_uploaded = 0
        self.attempts = 0
        self._counting = threading.Lock()

    # --- transport ------------------------------------------------------------------------

    def _credentials(self):
        if self.username is None:
            return None
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def _authorization(self, scope):
        if scope in self.tokens:
            return {"Authorization": "Bearer " + self.tokens[scope]}
        if self.basic and self._credentials():
            return {"Authorization": "Basic " + self._credentials()}
        return {}

    def _authenticate(self, response, scope):
        """Answer a 401: basic credentials, or a token from the token service."""
        scheme, params = parse_www_authenticate(response.headers.get("WWW-Authenticate"))
        if scheme == "basic":
            if self.basic or not self._credentials():
                raise self._auth_error()
            self.basic = True
            return
        if scheme == "bearer" and "realm" in params:
            query = {"service": params.get("service", "")}
            if scope:
                query["scope"] = scope
            headers = {"Authorization": "Basic " + self._credentials()} if self._credentials() else {}
            token_response = self._send("GET", params["realm"], headers=headers, params=query)
            if token_response.status_code != 200:
                raise self._auth_error()
            body = token_response.json()
            self.tokens[scope] = body.get("token") or body.get("access_token")
            return
        raise self._auth_error()

    def _auth_error(self):
        who = f"as {self.username}" if self.username else "without credentials"
        return RegistryError("auth", f"registry {self.host} refused authentication {who}")

    def _send(self, method, url, body=None, **kwargs):
        """One request with retries on connection errors, 408, 429 and 5xx.

        body is a callable returning a fresh request body for each attempt.
        """
        for attempt in range(self.retries + 1):
            self.attempts += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    data=body() if body else None,
                    timeout=self.timeout,
                    verify=self.verify,
                    allow_redirects=True,
                    **kwargs,
                )
            except (requests.ConnectionError, requests.Timeout) as e:
                # A certificate that is not trusted will not become trusted: no retry. Other
                # TLS errors (a connection closed during the handshake) are transient.
                if "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise RegistryError(
                        "tls", f"registry {self.host}'s TLS certificate is not trusted (ca_path?): {e}"
                    ) from e
                if attempt == self.retries:
                    raise RegistryError(
                        "unreachable", f"cannot reach registry {self.host} after {attempt + 1} attempts: {e}"
                    ) from e
            else:
                if response.status_code not in RETRYABLE and response.status_code < 500:
                    return response
                if attempt == self.retries:
                    return response
            time.sleep(self.delay * 2**attempt)
        raise AssertionError("unreachable code")

    def request(self, method, path, scope, expected, headers=None, body=None, **kwargs):
        """A request to the registry's API, authenticated for scope; fails unless the status is expected."""
        url = path if path.startswith("http") else self.base + path
        for _round in range(2):
            response = self._send(
                method, url, body=body, headers={**self._authorization(scope), **(headers or {})}, **kwargs
            )
            if response.status_code != 401:
                break
            self._authenticate(response, scope)
        if response.status_code == 401:
            raise self._auth_error()
        if response.status_code not in expected:
            raise self._error(method, path, response)
        return response

    def _error(self, method, path, response):
        try:
            errors = response.json().get("errors") or []
        except ValueError:
            errors = []
        codes = {e.get("code") for e in errors}
        text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.text[:300]
        if "TAG_INVALID" in codes or "immutable" in text.lower():
            return RegistryError("immutable", f"registry {self.host} refuses to overwrite the tag: {text}")
        if response.status_code == 404:
            return RegistryError("not_found", f"{path} not found on registry {self.host}: {text}")
        return RegistryError(
            "protocol", f"{method} {path} on registry {self.host}: HTTP {response.status_code}: {text}"
        )

    # --- the API ----------------------------------------------------------------------------

    def ping(self):
        self.request("GET", "/v2/", scope="", expected=(200,))

    @staticmethod
    def scope(repository, actions="pull"):
        return f"repository:{repository}:{actions}"

    def get_manifest(self, repository, reference):
        """(bytes, media type, digest) of a manifest, or None when the tag or digest does not exist."""
        response = self.request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            self.scope(repository),
            expected=(200, 404),
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if response.status_code == 404:
            return None
        body = response.content
        media_type = response.headers.get("Content-Type", "").split(";")[0] or json.loads(body).get("mediaType")
        return body, media_type, response.headers.get("Docker-Content-Digest") or sha256_digest(body)

    def manifest_digest(self, repository, reference):
        """The digest a tag points to, or None."""
        found = self.get_manifest(repository, reference)
        return found[2] if found else None

    def put_manifest(self, repository, reference, body, media_type):
        response = self.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            self.scope(repository, "pull,push"),
            expected=(201,),
            headers={"Content-Type": media_type},
            body=lambda: body,
        )
        return response.headers.get("Docker-Content-Digest") or sha256_digest(body)

    def has_blob(self, repository, digest):
        response = self.request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", self.scope(repository, "pull,push"), expected=(200, 404)
        )
        return response.status_code == 200

    def mount_blob(self, repository, digest, source_repository):
        """Mount a blob from another repository of this registry; True when mounted (no data sent)."""
        response = self.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            f"{self.scope(repository, 'pull,push')} {self.scope(source_repository)}",
            expected=(201, 202),
            params={"mount": digest, "from": source_repository},
        )
        if response.status_code == 201:
            return True
        self._cancel(repository, response)
        return False

    def _cancel(self, repository, started):
        location = started.headers.get("Location")
        if location:
            self.request("DELETE", location, self.scope(repository, "pull,push"), expected=(204, 404))

    def upload_blob(self, repository, digest, size, open_body):
        """Upload a blob in one PUT; open_body() returns a fresh file-like body for each attempt."""
        scope = self.scope(repository, "pull,push")
        started = self.request("POST", f"/v2/{repository}/blobs/uploads/", scope, expected=(202,))
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.base + location
        separator = "&" if "?" in location else "?"
        self.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            scope,
            expected=(201,),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            body=open_body,
        )
        with self._counting:
            self.bytes_uploaded += size

    def get_blob(self, repository, digest):
        """A streaming response with the blob's content."""
        return self.request(
            "GET", f"/v2/{repository}/blobs/{digest}", self.scope(repository), expected=(200,), stream=True
        )
