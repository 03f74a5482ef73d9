#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: iam_oidc_provider
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Manage an IAM OpenID Connect identity provider
description:
  - Creates, updates or deletes an IAM OIDC identity provider, such as GitHub Actions'
    C(https://token.actions.githubusercontent.com), which lets workflows assume roles without
    long-lived keys. Neither amazon.aws nor community.aws has a module for it.
  - The provider is found by its URL; an account has at most one provider per URL.
  - Client IDs (audiences), thumbprints and tags are brought to the given values.
options:
  url:
    description:
      - The issuer URL, with C(https://).
    type: str
    required: true
  client_ids:
    description:
      - The audiences allowed to use the provider, for example C(sts.amazonaws.com).
      - Required when O(state=present).
    type: list
    elements: str
  thumbprints:
    description:
      - SHA-1 thumbprints (40 hexadecimal characters) of the issuer's certificate chain.
      - AWS no longer checks them for some well-known issuers, GitHub's among them, but the API needs one.
      - Required when O(state=present).
    type: list
    elements: str
  state:
    description: Whether the provider exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - onlywave.infra.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
attributes:
  diff_mode:
    support: full
    description: Shows the client IDs, thumbprints and tags before and after.
notes:
  - Calls are retried with backoff on throttling and transient errors.
"""

EXAMPLES = r"""
- name: GitHub Actions can assume roles through OIDC
  onlywave.infra.iam_oidc_provider:
    url: https://token.actions.githubusercontent.com
    client_ids: [sts.amazonaws.com]
    thumbprints: [6938fd4d98bab03faadb97b34396831e3780aea1]
    tags:
      Project: onlywave

- name: Remove it
  onlywave.infra.iam_oidc_provider:
    url: https://token.actions.githubusercontent.com
    state: absent
"""

RETURN = r"""
arn:
  description: The provider's ARN; in check mode, before it exists, the ARN it would get in the caller's account.
  returned: when state is present
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com
client_ids:
  description: The provider's client IDs after the change.
  returned: when state is present
  type: list
  elements: str
thumbprints:
  description: The provider's thumbprints after the change.
  returned: when state is present
  type: list
  elements: str
tags:
  description: The provider's tags after the change.
  returned: when state is present
  type: dict
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.onlywave.infra.plugins.module_utils._aws import apply_tags, retrying_client, tag_changes

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

THUMBPRINT = re.compile(r"^[0-9a-fA-F]{40}$")


def provider_host(url):
    """IAM names providers by the URL without its scheme."""
    return re.sub(r"^https://", "", url).rstrip("/")


def find_provider(iam, url):
    wanted = provider_host(url)
    for entry in iam.list_open_id_connect_providers(aws_retry=True)["OpenIDConnectProviderList"]:
        if entry["Arn"].split(":oidc-provider/", 1)[-1] == wanted:
            current = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=entry["Arn"], aws_retry=True)
            return {
                "arn": entry["Arn"],
                "client_ids": sorted(current.get("ClientIDList", [])),
                "thumbprints": sorted(t.lower() for t in current.get("ThumbprintList", [])),
                "tags": boto3_tag_list_to_ansible_dict(current.get("Tags", [])),
            }
    return None


def planned_arn(module, url):
    """The ARN IAM gives a new provider: the caller's partition and account, then the host."""
    identity = retrying_client(module, "sts").get_caller_identity(aws_retry=True)
    partition = identity["Arn"].split(":")[1]
    return f"arn:{partition}:iam::{identity['Account']}:oidc-provider/{provider_host(url)}"


def ensure_present(module, iam, current):
    params = module.params
    wanted_ids = sorted(set(params["client_ids"]))
    wanted_prints = sorted({t.lower() for t in params["thumbprints"]})
    if current is None:
        after = {"arn": None, "client_ids": wanted_ids, "thumbprints": wanted_prints, "tags": params["tags"] or {}}
        if module.check_mode:
            after["arn"] = planned_arn(module, params["url"])
        else:
            created = iam.create_open_id_connect_provider(
                Url=params["url"],
                ClientIDList=wanted_ids,
                ThumbprintList=wanted_prints,
                Tags=ansible_dict_to_boto3_tag_list(params["tags"] or {}),
                aws_retry=True,
            )
            after["arn"] = created["OpenIDConnectProviderArn"]
        return True, after

    arn = current["arn"]
    to_set, to_remove = tag_changes(current["tags"], params["tags"], params["purge_tags"])
    added_ids = [c for c in wanted_ids if c not in current["client_ids"]]
    removed_ids = [c for c in current["client_ids"] if c not in wanted_ids]
    prints_differ = wanted_prints != current["thumbprints"]
    changed = bool(added_ids or removed_ids or prints_differ or to_set or to_remove)
    if changed and not module.check_mode:
        for client_id in added_ids:
            iam.add_client_id_to_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, ClientID=client_id, aws_retry=True
            )
        for client_id in removed_ids:
            iam.remove_client_id_from_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, ClientID=client_id, aws_retry=True
            )
        if prints_differ:
            iam.update_open_id_connect_provider_thumbprint(
                OpenIDConnectProviderArn=arn, ThumbprintList=wanted_prints, aws_retry=True
            )
        if to_set:
            iam.tag_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True
            )
        if to_remove:
            iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=to_remove, aws_retry=True)
    after = {
        "arn": arn,
        "client_ids": wanted_ids,
        "thumbprints": wanted_prints,
        "tags": apply_tags(current["tags"], to_set, to_remove),
    }
    return changed, after


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            client_ids=dict(type="list", elements="str"),
            thumbprints=dict(type="list", elements="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["client_ids", "thumbprints"])],
        supports_check_mode=True,
    )
    params = module.params
    if not params["url"].startswith("https://"):
        module.fail_json(msg=f"url must start with https://; got {params['url']}")
    if params["state"] == "present":
        bad = [t for t in params["thumbprints"] if not THUMBPRINT.match(t)]
        if bad or not params["thumbprints"]:
            module.fail_json(msg=f"thumbprints must be 40 hexadecimal characters each; got {params['thumbprints']}")
        if not params["client_ids"]:
            module.fail_json(msg="client_ids must name at least one audience")

    iam = retrying_client(module, "iam")
    try:
        current = find_provider(iam, params["url"])
        if params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                try:
                    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=current["arn"], aws_retry=True)
                except is_boto3_error_code("NoSuchEntity"):
                    pass
            module.exit_json(changed=changed, diff={"before": current or {}, "after": {}})
        changed, after = ensure_present(module, iam, current)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not manage the OIDC provider {params['url']}")
    module.exit_json(changed=changed, diff={"before": current or {}, "after": after}, **after)


if __name__ == "__main__":
    main()
