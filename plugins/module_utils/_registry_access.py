# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every module that talks to a registry shares: its options (documented in the
doc fragment onlywave.infra.registry), their checks against the distribution spec's
grammar before any network call, and the credentials (given, from a Docker config
file, or from ECR).

Private to this collection: not a public API.
"""

import base64
import json
import re

from ansible_collections.onlywave.infra.plugins.module_utils._registry import Registry, RegistryError

# The distribution spec's grammar: a repository is path components joined by "/".
REPOSITORY_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
REGISTRY = re.compile(r"(?P<host>\[[^\]]*\]|[^:/\[\]]*)(?::(?P<port>[^:/]*))?")
HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\]"
)


# --- options ----------------------------------------------------------------------------------


def credential_options():
    """How to authenticate to one registry (the module's own, or a source's)."""
    return dict(
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        docker_config=dict(type="path"),
        ecr=dict(type="bool", default=False),
        ca_path=dict(type="path"),
        allow_insecure_http=dict(type="bool", default=False),
    )


def request_options():
    """How requests are retried and how long they may take."""
    return dict(
        retries=dict(type="int", default=5),
        retry_delay=dict(type="float", default=0.5),
        timeout=dict(type="int", default=60),
    )


# --- checking the options before any network call ----------------------------------------------


def registry_problem(name, value):
    """Why `value` is not a registry host[:port], naming the option; None when it is one."""
    match = REGISTRY.fullmatch(value)
    if not match or not HOST.fullmatch(match["host"]):
        return f"{name} must be a registry host, optionally with :port (e.g. registry.example:5000); it is '{value}'"
    port = match["port"]
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"{name}: the port must be 1 to 65535; it is '{port}'"
    return None


def repository_problem(name, value):
    if len(value) > 255 or not all(REPOSITORY_COMPONENT.fullmatch(part) for part in value.split("/")):
        return (
            f"{name} must be lower-case path components joined by '/' (each [a-z0-9] with '.', '_', '__' "
            f"or '-' inside), at most 255 characters; it is '{value}'"
        )
    return None


def reference_problem(name, value):
    if TAG.fullmatch(value) or DIGEST.fullmatch(value):
        return None
    return f"{name} must be a tag or a sha256 digest (sha256:<64 hex>); it is '{value}'"


def request_problems(params):
    problems = [
        f"{name} must be at least {least}; it is {params[name]}"
        for name, least in (("retries", 0), ("timeout", 1))
        if params[name] < least
    ]
    if params["retry_delay"] < 0:
        problems.append(f"retry_delay must not be negative; it is {params['retry_delay']}")
    return problems


# --- credentials ----------------------------------------------------------------------------


def docker_config_credentials(path, registry):
    """(username, password) for registry from a Docker config file's auths, or (None, None)."""
    with open(path) as f:
        auths = json.load(f).get("auths", {})
    for key in (registry, "https://" + registry, "http://" + registry):
        entry = auths.get(key)
        if entry and entry.get("auth"):
            username, _colon, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return username, password
    return None, None


def ecr_credentials(registry):
    """(AWS, token) from ECR's GetAuthorizationToken for <account>.dkr.ecr.<region>.amazonaws.com."""
    import boto3  # only for ECR

    parts = registry.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"]:
        raise RegistryError("protocol", f"{registry} is not an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com)")
    data = boto3.client("ecr", region_name=parts[3]).get_authorization_token(registryIds=[parts[0]])
    token = base64.b64decode(data["authorizationData"][0]["authorizationToken"]).decode()
    username, _colon, password = token.partition(":")
    return username, password


def connect(module, options):
    """A Registry for the registry described by options (the module's or a source's)."""
    username, password = options.get("username"), options.get("password")
    if options.get("ecr"):
        username, password = ecr_credentials(options["registry"])
    elif options.get("docker_config") and username is None:
        username, password = docker_config_credentials(options["docker_config"], options["registry"])
    if password:
        module.no_log_values.add(password)
    return Registry(
        options["registry"],
        username=username,
        password=password,
        ca_path=options.get("ca_path"),
        insecure_http=options.get("allow_insecure_http", False),
        retries=module.params["retries"],
        delay=module.params["retry_delay"],
        timeout=module.params["timeout"],
    )
