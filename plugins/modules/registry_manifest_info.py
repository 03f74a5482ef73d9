#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: registry_manifest_info
short_description: Whether a registry holds an image, by tag or digest, and its digest
version_added: 0.2.0
author: OnlyWave platform team (@onlywave)
description:
  - Looks a manifest up in a registry (Docker Registry HTTP API v2, ECR included) and returns
    whether it exists, its digest and its media type. Nothing is pulled.
  - Made for a deploy's first step - a release that cannot be pulled must fail before any host
    leaves the load balancer's rotation (C(playbooks/deploy.yml)).
  - Every option is checked before any network call (registry host and port 1-65535, the
    distribution spec's grammar for the repository, a tag or a sha256 digest as the reference);
    the message names each option at fault.
  - A missing manifest is not an error; O(fail_if_missing=true) makes it one. Authentication,
    TLS and connection failures always are.
options:
  registry:
    description: The registry's host and optional port (1-65535), for example C(registry.dev.internal:5000).
    type: str
    required: true
  repository:
    description: The repository, for example C(onlywave/api) (the distribution spec's grammar).
    type: str
    required: true
  reference:
    description: A tag, or a digest (C(sha256:) and 64 hex digits).
    type: str
    required: true
  fail_if_missing:
    description: Fail, naming the image, when the registry does not hold it.
    type: bool
    default: false
extends_documentation_fragment:
  - onlywave.infra.registry
requirements:
  - requests
  - boto3, for O(ecr)
attributes:
  check_mode:
    support: full
    description: Reads the registry the same way in check mode; it never writes.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Only reads.
"""

EXAMPLES = r"""
- name: Make sure the release can be pulled before any host is drained
  onlywave.infra.registry_manifest_info:
    registry: registry.dev.internal:5000
    repository: onlywave/api
    reference: "{{ release_digest }}"
    username: deployer
    password: "{{ vault_registry_password }}"
    ca_path: /etc/docker/certs.d/registry.dev.internal:5000/ca.crt
    fail_if_missing: true

- name: What does the 1.4.0 tag point to in staging's ECR repository?
  onlywave.infra.registry_manifest_info:
    registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    repository: onlywave/api
    reference: 1.4.0
    ecr: true
  register: release
"""

RETURN = r"""
exists:
  description: Whether the registry holds a manifest under O(reference).
  returned: always
  type: bool
digest:
  description: The manifest's digest; empty when it does not exist.
  returned: always
  type: str
  sample: sha256:0c4e9a1b...
media_type:
  description: The manifest's media type (an image manifest or a multi-platform index); empty when it does not exist.
  returned: always
  type: str
  sample: application/vnd.docker.distribution.manifest.v2+json
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.onlywave.infra.plugins.module_utils._registry import RegistryError, requests
from ansible_collections.onlywave.infra.plugins.module_utils._registry_access import (
    DIGEST,
    connect,
    credential_options,
    reference_problem,
    registry_problem,
    repository_problem,
    request_options,
    request_problems,
)


def option_problems(params):
    """Every invalid option, each message naming it; [] when all are valid."""
    problems = [
        registry_problem("registry", params["registry"]),
        repository_problem("repository", params["repository"]),
        reference_problem("reference", params["reference"]),
        *request_problems(params),
    ]
    return [problem for problem in problems if problem]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            registry=dict(type="str", required=True),
            repository=dict(type="str", required=True),
            reference=dict(type="str", required=True),
            fail_if_missing=dict(type="bool", default=False),
            **credential_options(),
            **request_options(),
        ),
        supports_check_mode=True,
    )
    if requests is None:
        module.fail_json(msg=missing_required_lib("requests"))
    problems = option_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems), error="invalid_option")

    params = module.params
    separator = "@" if DIGEST.fullmatch(params["reference"]) else ":"
    image = f"{params['registry']}/{params['repository']}{separator}{params['reference']}"
    try:
        found = connect(module, params).get_manifest(params["repository"], params["reference"])
    except RegistryError as e:
        module.fail_json(msg=f"{image}: {e}", error=e.kind)
    if found is None and params["fail_if_missing"]:
        module.fail_json(msg=f"the registry does not hold {image}", error="not_found", exists=False, digest="")
    _body, media_type, digest = found or (b"", "", "")
    module.exit_json(changed=False, exists=found is not None, digest=digest, media_type=media_type)


if __name__ == "__main__":
    main()
