#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: iam_roles
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep a list of IAM roles, their inline policies and instance profiles in one call
description:
  - Makes sure each listed IAM role exists with the given trust policy, description, maximum
    session, tags and exactly the given inline policies, with no managed policy attached, and,
    when asked, an instance profile of the same name that holds it.
  - One call for the whole list, where M(amazon.aws.iam_role), M(amazon.aws.iam_policy) and
    M(amazon.aws.iam_instance_profile) take one each per role. Policies are compared as
    M(amazon.aws.iam_policy) does (order and single-item lists do not count), and only what
    differs is written.
  - Roles that are not listed are left as they are.
options:
  roles:
    description: The roles. Names are unique in the list.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the role (and of its instance profile).
        type: str
        required: true
      description:
        description: Description of the role.
        type: str
        default: ""
      assume_role_policy:
        description: The trust policy, as a dictionary.
        type: dict
        required: true
      max_session_duration:
        description: Longest session, in seconds.
        type: int
        default: 3600
      tags:
        description: Tags of the role and of its instance profile; left as they are when omitted.
        type: dict
      policies:
        description: Every inline policy of the role, by name, each a policy document. Others are deleted.
        type: dict
        default: {}
      instance_profile:
        description:
          - Whether an instance profile of the same name holds the role (and only it).
          - With V(false), an instance profile is neither created nor removed.
        type: bool
        default: false
  purge_tags:
    description: Remove the tags a role or profile has and O(roles[].tags) does not list (when given).
    type: bool
    default: true
extends_documentation_fragment:
  - onlywave.infra.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  diff_mode:
    support: full
    description: Shows each role whose settings, policies, tags or instance profile change, before and after.
notes:
  - Managed policies attached to a listed role are detached, since every permission is in O(roles[].policies).
  - Writes right after a role is created are retried on NoSuchEntity, while IAM makes the new role
    visible; other calls are retried on throttling and transient errors.
"""

EXAMPLES = r"""
- name: An instance role for the API hosts, and a role for deploys
  onlywave.infra.iam_roles:
    roles:
      - name: prod-api
        description: Instance role of the API hosts
        assume_role_policy:
          Version: "2012-10-17"
          Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]
        policies:
          api:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::prod-assets/*"}]
        instance_profile: true
        tags: {Environment: prod, Tier: api}
      - name: prod-deploy
        assume_role_policy: "{{ deploy_trust }}"
        max_session_duration: 3600
"""

RETURN = r"""
roles:
  description: The listed roles, by name. A role that check mode would create has empty ARNs.
  returned: always
  type: dict
  sample:
    prod-api:
      arn: "arn:aws:iam::123456789012:role/prod-api"
      instance_profile_arn: "arn:aws:iam::123456789012:instance-profile/prod-api"
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.onlywave.infra.plugins.module_utils._aws import apply_tags, retrying_client, tag_changes
from ansible_collections.onlywave.infra.plugins.module_utils._lists import repeated

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library


def found_or_none(call, key, **request):
    """call(**request)[key], or None when IAM has no such entity."""
    try:
        return call(aws_retry=True, **request)[key]
    except botocore.exceptions.ClientError as e:
        if e.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise


class Role:
    """One listed role: read with few calls, written only where it differs."""

    def __init__(self, module, iam, iam_new, spec):
        self.module, self.iam, self.iam_new, self.spec = module, iam, iam_new, spec
        self.before, self.after = {}, {}

    def note(self, key, before, after):
        self.before[key], self.after[key] = before, after

    def apply(self):
        spec, name, check = self.spec, self.spec["name"], self.module.check_mode
        found = found_or_none(self.iam.get_role, "Role", RoleName=name)
        if found is None:
            self.note("created", False, True)
            arn = ""
            if not check:
                request = {
                    "RoleName": name,
                    "AssumeRolePolicyDocument": json.dumps(spec["assume_role_policy"]),
                    "Description": spec["description"],
                    "MaxSessionDuration": spec["max_session_duration"],
                }
                if spec["tags"]:
                    request["Tags"] = ansible_dict_to_boto3_tag_list(spec["tags"])
                arn = self.iam.create_role(aws_retry=True, **request)["Role"]["Arn"]
            policies, attached = {}, []
        else:
            arn = found["Arn"]
            self.keep_role(found)
            policies = {
                policy: self.iam.get_role_policy(RoleName=name, PolicyName=policy, aws_retry=True)["PolicyDocument"]
                for policy in self.iam.list_role_policies(RoleName=name, aws_retry=True)["PolicyNames"]
            }
            attached = [
                p["PolicyArn"]
                for p in self.iam.list_attached_role_policies(RoleName=name, aws_retry=True)["AttachedPolicies"]
            ]
        self.keep_policies(policies, attached)
        profile_arn = self.keep_profile() if spec["instance_profile"] else ""
        return {"arn": arn, "instance_profile_arn": profile_arn}

    def keep_role(self, found):
        spec, name, check = self.spec, self.spec["name"], self.module.check_mode
        trust = found.get("AssumeRolePolicyDocument", {})
        if compare_policies(trust, spec["assume_role_policy"]):
            self.note("assume_role_policy", trust, spec["assume_role_policy"])
            if not check:
                self.iam.update_assume_role_policy(
                    RoleName=name, PolicyDocument=json.dumps(spec["assume_role_policy"]), aws_retry=True
                )
        settings = {
            "description": found.get("Description", ""),
            "max_session_duration": found.get("MaxSessionDuration", 3600),
        }
        wanted = {key: spec[key] for key in settings}
        if settings != wanted:
            self.note("settings", settings, wanted)
            if not check:
                self.iam.update_role(
                    RoleName=name,
                    Description=wanted["description"],
                    MaxSessionDuration=wanted["max_session_duration"],
                    aws_retry=True,
                )
        self.keep_tags(
            "role",
            boto3_tag_list_to_ansible_dict(found.get("Tags", [])),
            self.iam.tag_role,
            self.iam.untag_role,
            RoleName=name,
        )

    def keep_tags(self, kind, current, tag, untag, **resource):
        to_set, to_remove = tag_changes(current, self.spec["tags"], self.module.params["purge_tags"])
        if not (to_set or to_remove):
            return
        self.note(f"{kind}_tags", current, apply_tags(current, to_set, to_remove))
        if not self.module.check_mode:
            if to_remove:
                untag(TagKeys=to_remove, aws_retry=True, **resource)
            if to_set:
                tag(Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True, **resource)

    def keep_policies(self, current, attached):
        name, wanted = self.spec["name"], self.spec["policies"]
        changed = {
            policy: doc
            for policy, doc in wanted.items()
            if policy not in current or compare_policies(current[policy], doc)
        }
        extra = sorted(set(current) - set(wanted))
        if changed or extra:
            self.note("policies", current, wanted)
        if attached:
            self.note("managed_policies", attached, [])
        if self.module.check_mode:
            return
        for policy, doc in changed.items():
            self.iam_new.put_role_policy(
                RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(doc), aws_retry=True
            )
        for policy in extra:
            self.iam.delete_role_policy(RoleName=name, PolicyName=policy, aws_retry=True)
        for policy_arn in attached:
            self.iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn, aws_retry=True)

    def keep_profile(self):
        name, check = self.spec["name"], self.module.check_mode
        profile = found_or_none(self.iam.get_instance_profile, "InstanceProfile", InstanceProfileName=name)
        if profile is None:
            self.note("instance_profile", [], [name])
            if check:
                return ""
            request = {"InstanceProfileName": name}
            if self.spec["tags"]:
                request["Tags"] = ansible_dict_to_boto3_tag_list(self.spec["tags"])
            profile = self.iam.create_instance_profile(aws_retry=True, **request)["InstanceProfile"]
            profile["Roles"] = []
        else:
            current = boto3_tag_list_to_ansible_dict(profile.get("Tags", []))
            self.keep_tags(
                "instance_profile",
                current,
                self.iam.tag_instance_profile,
                self.iam.untag_instance_profile,
                InstanceProfileName=name,
            )
        held = [role["RoleName"] for role in profile.get("Roles", [])]
        if held != [name]:
            self.note("instance_profile_roles", held, [name])
            if not check:
                for other in held:
                    if other != name:
                        self.iam.remove_role_from_instance_profile(
                            InstanceProfileName=name, RoleName=other, aws_retry=True
                        )
                if name not in held:
                    self.iam_new.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name, aws_retry=True)
        return profile["Arn"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            roles=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    description=dict(type="str", default=""),
                    assume_role_policy=dict(type="dict", required=True),
                    max_session_duration=dict(type="int", default=3600),
                    tags=dict(type="dict"),
                    policies=dict(type="dict", default={}),
                    instance_profile=dict(type="bool", default=False),
                ),
            ),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    roles = module.params["roles"]
    names = [role["name"] for role in roles]
    problems = [f"role {name!r} is listed more than once" for name in repeated(names)]
    problems += [
        f"role {role['name']!r}: max_session_duration {role['max_session_duration']} is not between 3600 and 43200"
        for role in roles
        if not 3600 <= role["max_session_duration"] <= 43200
    ]
    problems += [
        f"role {role['name']!r}: policy {policy!r} is not a dictionary"
        for role in roles
        for policy, doc in role["policies"].items()
        if not isinstance(doc, dict)
    ]
    if problems:
        module.fail_json(msg="Invalid roles: " + "; ".join(problems), problems=problems)
    iam = retrying_client(module, "iam")
    # Writes to a role or profile created a moment ago: IAM may not show it yet.
    iam_new = retrying_client(module, "iam", extra_error_codes=["NoSuchEntity"])
    results, diff = {}, {"before": {}, "after": {}}
    try:
        for spec in roles:
            role = Role(module, iam, iam_new, spec)
            results[spec["name"]] = role.apply()
            if role.after:
                diff["before"][spec["name"]], diff["after"][spec["name"]] = role.before, role.after
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not keep the IAM roles")
    module.exit_json(changed=bool(diff["after"]), roles=results, diff=diff)


if __name__ == "__main__":
    main()
