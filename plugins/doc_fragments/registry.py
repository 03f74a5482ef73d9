# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The options of every module that talks to a registry (module_utils/_registry_access.py).
    DOCUMENTATION = r"""
options:
  username:
    description: User for the registry (basic auth or a token service).
    type: str
  password:
    description: Password for the registry, from vault. Never logged.
    type: str
  docker_config:
    description: A Docker C(config.json) whose C(auths) entry for the registry holds its credentials.
    type: path
  ecr:
    description:
      - The registry is ECR (C(<account>.dkr.ecr.<region>.amazonaws.com)); a fresh token comes from
        ECR's GetAuthorizationToken with the usual AWS credential chain. Never logged.
    type: bool
    default: false
  ca_path:
    description: CA bundle that signs the registry's certificate.
    type: path
  allow_insecure_http:
    description: Speak plain HTTP to the registry. Only for registries that cannot do TLS.
    type: bool
    default: false
  retries:
    description: Retries of a request after a connection error, 408, 429 or 5xx, with exponential backoff; 0 or more.
    type: int
    default: 5
  retry_delay:
    description: Seconds before the first retry; doubled for each next one; not negative.
    type: float
    default: 0.5
  timeout:
    description: Seconds a request may wait for the registry; at least 1.
    type: int
    default: 60
"""
