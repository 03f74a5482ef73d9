#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: s3_bucket_lifecycles
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep the lifecycle rules of a list of S3 buckets in one call
description:
  - Makes sure each listed bucket's lifecycle configuration has the given rules, each with
    exactly the given filter prefix and actions (expiry, expiry of noncurrent versions, abort of
    incomplete multipart uploads).
  - One call for the whole list, where M(community.aws.s3_lifecycle) takes one per rule and bucket.
    A bucket's configuration is read once and written only when it differs.
options:
  buckets:
    description: The buckets. Names are unique in the list.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the bucket, which must exist.
        type: str
        required: true
      rules:
        description:
          - The bucket's rules; IDs are unique per bucket. Each rule needs at least one action.
          - An empty list with O(purge_rules=true) removes the bucket's lifecycle configuration.
        type: list
        elements: dict
        required: true
        suboptions:
          id:
            description: ID of the rule.
            type: str
            required: true
          status:
            description: Whether the rule applies.
            type: str
            choices: [enabled, disabled]
            default: enabled
          prefix:
            description: Objects whose key starts with this; every object when empty.
            type: str
            default: ""
          expiration_days:
            description: Days after creation when objects (current versions) expire.
            type: int
          noncurrent_version_expiration_days:
            description: Days after which noncurrent versions are deleted (versioned buckets).
            type: int
          abort_incomplete_multipart_upload_days:
            description: Days after which incomplete multipart uploads are aborted.
            type: int
  purge_rules:
    description:
      - Remove the rules a bucket has and O(buckets[].rules) does not list.
      - With V(false), rules of other IDs are kept as they are.
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
    description: Shows the rules of each bucket whose rules change, before and after.
notes:
  - Every option is checked before the first call; the days must be 1 or more.
  - Calls are retried with backoff on throttling and transient errors.
"""

EXAMPLES = r"""
- name: Expire backups after 30 days, and abort stale uploads to the assets bucket
  onlywave.infra.s3_bucket_lifecycles:
    buckets:
      - name: onlywave-prod-backups
        rules:
          - id: expire-after-30-days
            expiration_days: 30
            noncurrent_version_expiration_days: 30
            abort_incomplete_multipart_upload_days: 7
      - name: onlywave-prod-assets
        rules:
          - id: abort-incomplete-uploads
            abort_incomplete_multipart_upload_days: 7
"""

RETURN = r"""
buckets:
  description: The rules of each listed bucket after the change, as S3's API gives them.
  returned: always
  type: dict
  sample:
    onlywave-prod-assets:
      - ID: abort-incomplete-uploads
        Status: Enabled
        Filter: {Prefix: ""}
        AbortIncompleteMultipartUpload: {DaysAfterInitiation: 7}
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.onlywave.infra.plugins.module_utils._aws import retrying_client
from ansible_collections.onlywave.infra.plugins.module_utils._lists import repeated

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

# Option of a rule -> (API key, key of the number in it).
ACTIONS = {
    "expiration_days": ("Expiration", "Days"),
    "noncurrent_version_expiration_days": ("NoncurrentVersionExpiration", "NoncurrentDays"),
    "abort_incomplete_multipart_upload_days": ("AbortIncompleteMultipartUpload", "DaysAfterInitiation"),
}


def argument_errors(buckets):
    """Every problem with the listed buckets and rules, before any call."""
    errors = []
    names = [bucket["name"] for bucket in buckets]
    errors += [f"bucket {name} is listed twice" for name in repeated(names)]
    for bucket in buckets:
        ids = [rule["id"] for rule in bucket["rules"]]
        errors += [f"bucket {bucket['name']}: rule {i} is listed twice" for i in repeated(ids)]
        for rule in bucket["rules"]:
            where = f"bucket {bucket['name']}, rule {rule['id']}"
            given = {option: rule[option] for option in ACTIONS if rule[option] is not None}
            if not given:
                errors.append(f"{where}: needs at least one of {', '.join(ACTIONS)}")
            errors += [f"{where}: {option} must be 1 or more; got {days}" for option, days in given.items() if days < 1]
    return errors


def api_rule(rule):
    """A rule as S3's API takes and gives it."""
    result = {"ID": rule["id"], "Status": rule["status"].title(), "Filter": {"Prefix": rule["prefix"]}}
    for option, (key, number) in ACTIONS.items():
        if rule[option] is not None:
            result[key] = {number: rule[option]}
    return result


def canonical(rule):
    """A rule S3 gave, in api_rule's form: the older top-level Prefix and an empty filter mean a prefix filter."""
    result = {key: value for key, value in rule.items() if value not in (None, {}, [])}
    if "Prefix" in result:
        result["Filter"] = {"Prefix": result.pop("Prefix")}
    result.setdefault("Filter", {"Prefix": ""})
    return result


def current_rules(s3, name):
    try:
        found = s3.get_bucket_lifecycle_configuration(Bucket=name, aws_retry=True)["Rules"]
    except is_boto3_error_code("NoSuchLifecycleConfiguration"):
        return []
    return [canonical(rule) for rule in found]


def wanted_rules(current, listed, purge):
    """The bucket's rules after the change: the listed ones, in place of those of the same ID."""
    listed_ids = {rule["ID"] for rule in listed}
    kept = [] if purge else [rule for rule in current if rule["ID"] not in listed_ids]
    return kept + listed


def keep_bucket(module, s3, bucket):
    """(changed, before, after) for one bucket."""
    before = current_rules(s3, bucket["name"])
    after = wanted_rules(before, [api_rule(rule) for rule in bucket["rules"]], module.params["purge_rules"])
    changed = sorted(before, key=lambda rule: rule["ID"]) != sorted(after, key=lambda rule: rule["ID"])
    if changed and not module.check_mode:
        if after:
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket["name"], LifecycleConfiguration={"Rules": after}, aws_retry=True
            )
        else:
            s3.delete_bucket_lifecycle(Bucket=bucket["name"], aws_retry=True)
    return changed, before, after


def main():
    rule_spec = dict(
        id=dict(type="str", required=True),
        status=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
        prefix=dict(type="str", default=""),
        **{option: dict(type="int") for option in ACTIONS},
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            buckets=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    rules=dict(type="list", elements="dict", required=True, options=rule_spec),
                ),
            ),
            purge_rules=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    errors = argument_errors(module.params["buckets"])
    if errors:
        module.fail_json(msg="; ".join(errors))
    s3 = retrying_client(module, "s3")
    changed, results, before, after = False, {}, {}, {}
    for bucket in module.params["buckets"]:
        name = bucket["name"]
        try:
            bucket_changed, bucket_before, results[name] = keep_bucket(module, s3, bucket)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Could not keep the lifecycle rules of bucket {name}")
        if bucket_changed:
            changed = True
            before[name], after[name] = bucket_before, results[name]
    module.exit_json(changed=changed, buckets=results, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
