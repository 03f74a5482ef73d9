#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: s3_buckets
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep a list of private, encrypted S3 buckets in one call
description:
  - Makes sure each listed bucket exists in the connection's region with the given public access
    block, object ownership, default encryption, versioning, policy and tags.
  - One call for the whole list, where M(amazon.aws.s3_bucket) takes one per bucket. A bucket's
    settings are read with one call each and written only where they differ. Settings this module
    has no option for (ACLs, requester pays, object lock, transfer acceleration, inventory) are
    neither read nor changed.
  - Buckets that are not listed are left as they are; this module deletes no bucket.
  - M(onlywave.infra.s3_bucket_lifecycles) keeps the buckets' lifecycle rules.
options:
  buckets:
    description: The buckets. Names are unique in the list.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the bucket. A bucket of that name that another account owns is an error.
        type: str
        required: true
      block_public_access:
        description:
          - V(true) turns on all four settings of the bucket's public access block; V(false) removes the block.
        type: bool
        default: true
      object_ownership:
        description: Who owns objects that other accounts upload; V(BucketOwnerEnforced) also turns ACLs off.
        type: str
        choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
        default: BucketOwnerEnforced
      encryption:
        description: Default server-side encryption.
        type: str
        choices: [AES256, "aws:kms"]
        default: AES256
      encryption_key_id:
        description:
          - KMS key for O(buckets[].encryption=aws:kms); AWS's own S3 key when omitted. Only with V(aws:kms).
        type: str
      versioning:
        description: Whether versioning is on. Turning it off suspends it. Left as it is when omitted.
        type: bool
      policy:
        description: The bucket policy, a JSON document or a dict. Left as it is when omitted.
        type: json
      tags:
        description: Tags of the bucket; left as they are when omitted.
        type: dict
  purge_tags:
    description: Remove the tags a bucket has and O(buckets[].tags) does not list (when given).
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
    description: Shows each bucket that is created or whose settings change, before and after.
notes:
  - Policies are compared as M(amazon.aws.s3_bucket) compares them, so that the order of statements
    or of values in a list does not count as a change.
  - Calls are retried with backoff on throttling, transient errors and C(NoSuchBucket) (a bucket
    that was just created).
  - S3 Bucket Keys are not set. Where this module writes a bucket's default encryption, the
    bucket's C(BucketKeyEnabled) goes back to false.
"""

EXAMPLES = r"""
- name: Two private buckets, one versioned, both TLS-only
  onlywave.infra.s3_buckets:
    buckets:
      - name: example-assets
        tags: {Purpose: assets}
        policy:
          Version: "2012-10-17"
          Statement:
            - Sid: TlsOnly
              Effect: Deny
              Principal: "*"
              Action: s3:*
              Resource: ["arn:aws:s3:::example-assets", "arn:aws:s3:::example-assets/*"]
              Condition: {Bool: {"aws:SecureTransport": "false"}}
      - name: example-backups
        versioning: true
        encryption: aws:kms
        tags: {Purpose: backups}
"""

RETURN = r"""
buckets:
  description: The listed buckets, in the order of O(buckets), with their settings after the change.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the bucket.
      type: str
    block_public_access:
      description: Whether all four settings of its public access block are on.
      type: bool
    object_ownership:
      description: Its object ownership setting; V(null) when it has none.
      type: str
    encryption:
      description: Its default encryption, C(algorithm) and C(key_id); V(null) when it has none.
      type: dict
    versioning:
      description: Whether versioning is on.
      type: bool
    policy:
      description: Its policy; V(null) when it has none.
      type: dict
    tags:
      description: Its tags.
      type: dict
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
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

PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def input_problems(buckets):
    """Every problem with the listed buckets, before any call. Parses, in place, each policy given as JSON text."""
    problems = [f"bucket {name} is listed twice" for name in repeated([b["name"] for b in buckets])]
    for bucket in buckets:
        if bucket["encryption_key_id"] and bucket["encryption"] != "aws:kms":
            problems.append(f"bucket {bucket['name']}: encryption_key_id needs encryption aws:kms")
        if isinstance(bucket["policy"], str):
            try:
                bucket["policy"] = json.loads(bucket["policy"])
            except ValueError as e:
                problems.append(f"bucket {bucket['name']}: the policy is not JSON ({e})")
    return problems


def optional(call, missing_code, **kwargs):
    """The call's result, or None when S3 answers that the bucket has no such setting."""
    try:
        return call(aws_retry=True, **kwargs)
    except is_boto3_error_code(missing_code):
        return None


def read(s3, name):
    """The bucket's settings, in this module's terms; None if there is no such bucket."""
    try:
        s3.head_bucket(Bucket=name, aws_retry=True)
    except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
        return None
    block = optional(s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration", Bucket=name)
    ownership = optional(s3.get_bucket_ownership_controls, "OwnershipControlsNotFoundError", Bucket=name)
    encryption = optional(s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError", Bucket=name)
    policy = optional(s3.get_bucket_policy, "NoSuchBucketPolicy", Bucket=name)
    tags = optional(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=name)
    if encryption:
        by_default = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        encryption = {"algorithm": by_default["SSEAlgorithm"], "key_id": by_default.get("KMSMasterKeyID")}
    return {
        "name": name,
        "block_public_access": bool(block) and all(block["PublicAccessBlockConfiguration"].values()),
        "object_ownership": ownership["OwnershipControls"]["Rules"][0]["ObjectOwnership"] if ownership else None,
        "encryption": encryption,
        "versioning": s3.get_bucket_versioning(Bucket=name, aws_retry=True).get("Status") == "Enabled",
        "policy": json.loads(policy["Policy"]) if policy else None,
        "tags": boto3_tag_list_to_ansible_dict(tags["TagSet"]) if tags else {},
    }


def created(bucket):
    """A bucket's settings right after create(), as far as this module counts on them: the ownership asked for."""
    return {
        "name": bucket["name"],
        "block_public_access": False,
        "object_ownership": bucket["object_ownership"],
        "encryption": None,
        "versioning": False,
        "policy": None,
        "tags": {},
    }


def wanted_state(bucket, current, purge_tags):
    """The bucket's settings after the change, from its current ones (None: a new bucket)."""
    current = current or created(bucket)
    wanted = {
        "name": bucket["name"],
        "block_public_access": bucket["block_public_access"],
        "object_ownership": bucket["object_ownership"],
        "encryption": {"algorithm": bucket["encryption"], "key_id": bucket["encryption_key_id"]},
        "versioning": current["versioning"] if bucket["versioning"] is None else bucket["versioning"],
        "policy": current["policy"],
        "tags": current["tags"],
    }
    if bucket["policy"] is not None and (
        current["policy"] is None or compare_policies(current["policy"], bucket["policy"])
    ):
        wanted["policy"] = bucket["policy"]
    to_set, to_remove = tag_changes(current["tags"], bucket["tags"], purge_tags)
    wanted["tags"] = apply_tags(current["tags"], to_set, to_remove)
    return wanted


def create(module, s3, bucket):
    request = {"Bucket": bucket["name"], "ObjectOwnership": bucket["object_ownership"]}
    if module.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": module.region}
    try:
        s3.create_bucket(aws_retry=True, **request)
    except is_boto3_error_code("BucketAlreadyOwnedByYou"):
        pass  # created since it was read: kept like any other
    s3.get_waiter("bucket_exists").wait(Bucket=bucket["name"])


def write(s3, before, after):
    """Apply the settings of after that differ from before."""
    name = after["name"]
    if after["block_public_access"] != before["block_public_access"]:
        if after["block_public_access"]:
            block = dict.fromkeys(PUBLIC_ACCESS_BLOCK, True)
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block, aws_retry=True)
        else:
            s3.delete_public_access_block(Bucket=name, aws_retry=True)
    if after["object_ownership"] != before["object_ownership"]:
        rules = [{"ObjectOwnership": after["object_ownership"]}]
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": rules}, aws_retry=True)
    if after["encryption"] != before["encryption"]:
        by_default = {"SSEAlgorithm": after["encryption"]["algorithm"]}
        if after["encryption"]["key_id"]:
            by_default["KMSMasterKeyID"] = after["encryption"]["key_id"]
        configuration = {"Rules": [{"ApplyServerSideEncryptionByDefault": by_default}]}
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=configuration, aws_retry=True)
    if after["versioning"] != before["versioning"]:
        status = "Enabled" if after["versioning"] else "Suspended"
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status}, aws_retry=True)
    if after["policy"] != before["policy"]:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(after["policy"]), aws_retry=True)
    if after["tags"] != before["tags"]:
        if after["tags"]:
            tag_set = ansible_dict_to_boto3_tag_list(after["tags"])
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_set}, aws_retry=True)
        else:
            s3.delete_bucket_tagging(Bucket=name, aws_retry=True)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            buckets=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    block_public_access=dict(type="bool", default=True),
                    object_ownership=dict(
                        type="str",
                        choices=["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"],
                        default="BucketOwnerEnforced",
                    ),
                    encryption=dict(type="str", choices=["AES256", "aws:kms"], default="AES256"),
                    encryption_key_id=dict(type="str"),
                    versioning=dict(type="bool"),
                    policy=dict(type="json"),
                    tags=dict(type="dict"),
                ),
            ),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    buckets = module.params["buckets"]
    problems = input_problems(buckets)
    if problems:
        module.fail_json(msg="Invalid buckets: " + "; ".join(problems), problems=problems)
    s3 = retrying_client(module, "s3", extra_error_codes=["NoSuchBucket"])
    results, diff = [], {"before": {}, "after": {}}
    for bucket in buckets:
        try:
            before = read(s3, bucket["name"])
            after = wanted_state(bucket, before, module.params["purge_tags"])
            if before != after and not module.check_mode:
                if before is None:
                    create(module, s3, bucket)
                write(s3, before or created(bucket), after)
        except (
            botocore.exceptions.ClientError,
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.WaiterError,
        ) as e:
            module.fail_json_aws(e, msg=f"Could not keep bucket {bucket['name']}")
        results.append(after)
        if before != after:
            diff["before"][bucket["name"]], diff["after"][bucket["name"]] = before or {}, after
    module.exit_json(changed=bool(diff["after"]), buckets=results, diff=diff)


if __name__ == "__main__":
    main()
