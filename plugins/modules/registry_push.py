#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: registry_push
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Push a local image to a registry, or promote an image between repositories, by digest
description:
  - B(Push) (O(image)) - sends an image of the local Docker engine to O(registry)/O(repository)
    under every tag of O(tags), and returns the manifest's digest, the bytes uploaded and the
    layers the registry already had.
  - B(Promote) (O(source)) - copies an image that is already in a registry (for example dev's)
    to another repository or registry (staging's), by digest, without rebuilding or pulling it
    into an engine. Blobs are mounted across repositories of the same registry (no data sent),
    or streamed from the source otherwise. The destination's digest must equal the source's.
  - Idempotent. A tag that already holds the image is left alone; when every tag does, nothing
    is read from the engine and nothing is uploaded. A tag that is added to an image the
    repository already holds is written from the manifest alone, without uploading a layer.
  - Why the registry HTTP API v2 rather than C(docker push) - it gives the digest-level control
    this module needs (compare before uploading, add a tag without a push, mount blobs across
    repositories, copy between registries, verify the digest afterwards, retry precisely).
    The Docker SDK is used only to read the local image (the engine's image export); layers are
    gzip-compressed here, deterministically, so a layer compresses to the same digest every time.
  - After writing, the module reads every tag back and fails unless it points to the expected digest.
  - Every option is checked before any network call (registry host and port 1-65535, the
    distribution spec's grammar for repositories and tags, a digest or tag as the source's
    reference, a promotion of an image onto itself); the message names each option at fault.
options:
  image:
    description:
      - A local image, by name and tag or by ID, to push. Mutually exclusive with O(source).
    type: str
  source:
    description:
      - An image in a registry to promote. Mutually exclusive with O(image).
    type: dict
    suboptions:
      registry:
        description: The source registry's host and optional port (1-65535).
        type: str
        required: true
      repository:
        description: The source repository (same grammar as O(repository)).
        type: str
        required: true
      reference:
        description:
          - A tag or a digest (C(sha256:) and 64 hex digits); a digest pins exactly what is promoted.
          - In the destination's registry and repository, it may not also be one of O(tags) (the image onto itself).
        type: str
        required: true
      username:
        description: User for the source registry.
        type: str
      password:
        description: Password for the source registry.
        type: str
      docker_config:
        description: A Docker C(config.json) whose C(auths) entry for the source registry holds its credentials.
        type: path
      ecr:
        description: The source is an ECR registry; credentials come from ECR's GetAuthorizationToken (boto3).
        type: bool
        default: false
      ca_path:
        description: CA bundle that signs the source registry's certificate.
        type: path
      allow_insecure_http:
        description: Speak plain HTTP to the source registry. Only for registries that cannot do TLS.
        type: bool
        default: false
  registry:
    description: The destination registry's host and optional port (1-65535), for example C(registry.dev.internal:5000).
    type: str
    required: true
  repository:
    description:
      - The destination repository, for example C(onlywave/api).
      - Lower-case path components joined by C(/), each C([a-z0-9]+) with C(.), C(_), C(__) or C(-) between
        runs, at most 255 characters (the distribution spec).
    type: str
    required: true
  tags:
    description: Tags to write in the destination repository, each C([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), none twice.
    type: list
    elements: str
    required: true
  compression_level:
    description:
      - gzip level of pushed layers; 1 is fastest, 9 smallest.
      - On the images measured here, level 1 compressed three times faster than level 6 for a
        result under 2% larger (benchmarks/registry_push.sh).
    type: int
    default: 1
    choices: [1, 2, 3, 4, 5, 6, 7, 8, 9]
  docker_host:
    description: The Docker engine that holds O(image).
    type: str
    default: unix:///var/run/docker.sock
extends_documentation_fragment:
  - onlywave.infra.registry
requirements:
  - requests
  - docker (the Python SDK), for O(image)
  - boto3, for O(ecr) and O(source.ecr)
attributes:
  check_mode:
    support: full
    description: Reads the registries, reports which tags would change, and writes nothing.
  diff_mode:
    support: full
    description: Shows the digest of every tag before and after.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing and uploads nothing.
notes:
  - Manifest lists (multi-platform images) cannot be promoted by this module.
  - Credential helpers of Docker config files are not used; only their C(auths) entries.
"""

EXAMPLES = r"""
- name: Push the API image built for this commit
  onlywave.infra.registry_push:
    image: onlywave/api:{{ git_commit }}
    registry: registry.dev.internal:5000
    repository: onlywave/api
    tags: ["{{ git_commit }}", dev]
    username: ci
    password: "{{ vault_registry_ci_password }}"
    ca_path: /etc/docker/certs.d/registry.dev.internal:5000/ca.crt
  register: pushed

- name: Promote exactly that image to staging's ECR repository
  onlywave.infra.registry_push:
    source:
      registry: registry.dev.internal:5000
      repository: onlywave/api
      reference: "{{ pushed.digest }}"
      username: ci
      password: "{{ vault_registry_ci_password }}"
      ca_path: /etc/docker/certs.d/registry.dev.internal:5000/ca.crt
    registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    repository: onlywave/staging/api
    tags: ["{{ git_commit }}"]
    ecr: true
"""

RETURN = r"""
digest:
  description: The manifest's digest; empty in check mode when the image still has to be pushed.
  returned: always
  type: str
  sample: sha256:0c4e9a1b...
tags:
  description: The tags written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
bytes_uploaded:
  description: Bytes of blob data sent to the destination registry.
  returned: always
  type: int
layers_uploaded:
  description: Layers sent to the destination.
  returned: always
  type: int
layers_skipped:
  description: Layers the destination already had (nothing sent).
  returned: always
  type: int
layers_mounted:
  description: Layers mounted from the source repository of the same registry (nothing sent).
  returned: always
  type: int
"""

import hashlib
import json
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.onlywave.infra.plugins.module_utils._image_export import CHUNK, export_layers
from ansible_collections.onlywave.infra.plugins.module_utils._registry import (
    LIST_TYPES,
    RegistryError,
    requests,
    sha256_digest,
)
from ansible_collections.onlywave.infra.plugins.module_utils._registry_access import (
    TAG,
    connect,
    credential_options,
    reference_problem,
    registry_problem,
    repository_problem,
    request_options,
    request_problems,
)

try:
    import docker
except ImportError:
    docker = None

SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


# --- pushing a local image ------------------------------------------------------------------


def push_image(module, registry, engine_image, result):
    """Upload the image's config and the layers the registry lacks; return (manifest bytes, digest)."""
    repository = module.params["repository"]

    def send(path, digest, size):
        if registry.has_blob(repository, digest):
            return "skipped"
        registry.upload_blob(repository, digest, size, lambda: open(path, "rb"))  # noqa: SIM115
        return "uploaded"

    workdir = tempfile.mkdtemp(prefix="registry_push_")
    try:
        config, layers = export_layers(engine_image, workdir, module.params["compression_level"], send)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    config_digest = sha256_digest(config)
    if not registry.has_blob(repository, config_digest):
        registry.upload_blob(repository, config_digest, len(config), lambda: config)
    for _digest, _size, how in layers:
        result[f"layers_{how}"] += 1
    manifest = {
        "schemaVersion": 2,
        "mediaType": SCHEMA2,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": LAYER_TYPE, "size": size, "digest": digest} for digest, size, _how in layers],
    }
    body = json.dumps(manifest, indent=3).encode()
    return body, sha256_digest(body)


def holds_image(manifest, image_id):
    """Whether a manifest (bytes, media type, digest) is of the image whose config digest is image_id."""
    if not manifest or manifest[1] in LIST_TYPES:
        return False
    return json.loads(manifest[0]).get("config", {}).get("digest") == image_id


def run_push(module, registry, result):
    params = module.params
    if docker is None:
        module.fail_json(msg=missing_required_lib("docker"))
    try:
        engine_image = docker.DockerClient(base_url=params["docker_host"]).images.get(params["image"])
    except docker.errors.ImageNotFound:
        raise RegistryError("not_found", f"image {params['image']} is not in the local Docker engine") from None
    except docker.errors.DockerException as e:
        raise RegistryError("unreachable", f"cannot read image {params['image']} from the Docker engine: {e}") from None

    repository, tags = params["repository"], params["tags"]
    found = {tag: registry.get_manifest(repository, tag) for tag in tags}
    before = {tag: manifest[2] if manifest else None for tag, manifest in found.items()}
    holding = {tag: manifest for tag, manifest in found.items() if holds_image(manifest, engine_image.id)}
    missing = [tag for tag in tags if tag not in holding]
    existing = next(iter(holding.values()), None)
    if existing:
        result["layers_skipped"] = len(engine_image.attrs["RootFS"]["Layers"])
    if not missing or module.check_mode:
        return before, existing[2] if existing else ""
    if existing:
        body, media_type, digest = existing
    else:
        body, digest = push_image(module, registry, engine_image, result)
        media_type = SCHEMA2
    for tag in missing:
        registry.put_manifest(repository, tag, body, media_type)
    return before, digest


# --- promoting an image between repositories or registries -----------------------------------


def run_promote(module, registry, result):
    params, source_options = module.params, module.params["source"]
    source = connect(module, source_options)
    found = source.get_manifest(source_options["repository"], source_options["reference"])
    if found is None:
        image = f"{source_options['repository']}:{source_options['reference']}"
        raise RegistryError("not_found", f"{image} is not in registry {source_options['registry']}")
    body, media_type, digest = found
    if media_type in LIST_TYPES:
        raise RegistryError("protocol", "manifest lists (multi-platform images) cannot be promoted by this module")

    repository, tags = params["repository"], params["tags"]
    before = {tag: registry.manifest_digest(repository, tag) for tag in tags}
    missing = [tag for tag in tags if before[tag] != digest]
    if not missing or module.check_mode:
        return before, digest
    manifest = json.loads(body)
    copy_blob(source, source_options, registry, repository, manifest["config"])
    for layer in manifest["layers"]:
        how = copy_blob(source, source_options, registry, repository, layer)
        result[f"layers_{how}"] += 1
    for tag in missing:
        registry.put_manifest(repository, tag, body, media_type)
    return before, digest


def copy_blob(source, source_options, registry, repository, blob):
    """Make a blob of the source exist in the destination; return how: skipped, mounted or uploaded.

    A blob already there is skipped; in the same registry it is mounted from the
    source repository (no data sent); otherwise it is streamed from the source into
    a temporary file, checked against its digest, and uploaded.
    """
    digest, source_repository = blob["digest"], source_options["repository"]
    if registry.has_blob(repository, digest):
        return "skipped"
    same_registry = source_options["registry"] == registry.host
    if same_registry and registry.mount_blob(repository, digest, source_repository):
        return "mounted"
    with tempfile.TemporaryFile() as spool:
        hasher = hashlib.sha256()
        for chunk in source.get_blob(source_repository, digest).iter_content(CHUNK):
            hasher.update(chunk)
            spool.write(chunk)
        if "sha256:" + hasher.hexdigest() != digest:
            raise RegistryError("protocol", f"blob {digest} read from the source does not match its digest")

        def rewound():
            spool.seek(0)
            return spool

        registry.upload_blob(repository, digest, spool.tell(), rewound)
    return "uploaded"


# --- checking the options before any network call ----------------------------------------------


def option_problems(params):
    """Every invalid option, each message naming it; [] when all are valid."""
    problems = [
        registry_problem("registry", params["registry"]),
        repository_problem("repository", params["repository"]),
    ]
    problems += [
        f"tags: '{tag}' is not a tag ([A-Za-z0-9_] then up to 127 of [A-Za-z0-9_.-])"
        for tag in params["tags"]
        if not TAG.fullmatch(tag)
    ]
    if len(set(params["tags"])) != len(params["tags"]):
        problems.append(f"tags lists a tag twice: {params['tags']}")
    problems += request_problems(params)
    source = params.get("source")
    if source:
        problems += [
            registry_problem("source.registry", source["registry"]),
            repository_problem("source.repository", source["repository"]),
        ]
        reference = source["reference"]
        problems.append(reference_problem("source.reference", reference))
        same_place = source["registry"] == params["registry"] and source["repository"] == params["repository"]
        if same_place and reference in params["tags"]:
            problems.append(
                f"source and destination are both {params['registry']}/{params['repository']}:{reference}: "
                "that promotes the image onto itself; name another repository, registry or tag"
            )
    return [problem for problem in problems if problem]


# --- the module -------------------------------------------------------------------------------


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type="str"),
            source=dict(
                type="dict",
                options=dict(
                    registry=dict(type="str", required=True),
                    repository=dict(type="str", required=True),
                    reference=dict(type="str", required=True),
                    **credential_options(),
                ),
            ),
            registry=dict(type="str", required=True),
            repository=dict(type="str", required=True),
            tags=dict(type="list", elements="str", required=True),
            compression_level=dict(type="int", default=1, choices=list(range(1, 10))),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            **credential_options(),
            **request_options(),
        ),
        mutually_exclusive=[("image", "source")],
        required_one_of=[("image", "source")],
        supports_check_mode=True,
    )
    if requests is None:
        module.fail_json(msg=missing_required_lib("requests"))
    if not module.params["tags"]:
        module.fail_json(msg="tags must name at least one tag")
    problems = option_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems), error="invalid_option")

    result = dict(changed=False, bytes_uploaded=0, layers_uploaded=0, layers_skipped=0, layers_mounted=0)
    try:
        registry = connect(module, module.params)
        run = run_push if module.params["image"] else run_promote
        before, digest = run(module, registry, result)
        after = dict(before)
        changed_tags = [tag for tag, held in before.items() if held != digest or not digest]
        for tag in changed_tags:
            after[tag] = digest or "(pushed)"
        if changed_tags and not module.check_mode:
            verify(registry, module.params["repository"], changed_tags, digest)
    except RegistryError as e:
        module.fail_json(msg=str(e), error=e.kind, **result)

    result.update(
        changed=bool(changed_tags),
        digest=digest,
        tags=changed_tags,
        bytes_uploaded=registry.bytes_uploaded,
        diff=dict(before={"tags": before}, after={"tags": after}),
    )
    module.exit_json(**result)


def verify(registry, repository, tags, digest):
    """Read every written tag back: it must point to the expected digest."""
    for tag in tags:
        found = registry.manifest_digest(repository, tag)
        if found != digest:
            raise RegistryError("protocol", f"{repository}:{tag} points to {found} after the push, not to {digest}")


if __name__ == "__main__":
    main()
