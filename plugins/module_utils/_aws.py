# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the collection's AWS modules: a retrying client and tag arithmetic.

Private to this collection: not a public API.
"""

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list, compare_aws_tags


def retrying_client(module, service, extra_error_codes=None):
    """A boto3 client for the module's connection parameters that retries throttling and
    transient errors (and extra_error_codes) with jittered exponential backoff.
    Every call must pass aws_retry=True to be retried."""
    retry = AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=20, catch_extra_error_codes=extra_error_codes)
    return module.client(service, retry_decorator=retry)


def tag_changes(current, wanted, purge):
    """Return (tags_to_set, keys_to_remove); nothing changes when wanted is None."""
    if wanted is None:
        return {}, []
    return compare_aws_tags(current or {}, wanted, purge_tags=purge)


def apply_tags(current, to_set, to_remove):
    """The tags after a change."""
    tags = {k: v for k, v in (current or {}).items() if k not in to_remove}
    tags.update(to_set)
    return tags


def write_ec2_tags(ec2, resource_id, to_set, to_remove):
    """Apply tag_changes' result to an EC2 resource (a retrying client's calls)."""
    if to_remove:
        ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": key} for key in to_remove], aws_retry=True)
    if to_set:
        ec2.create_tags(Resources=[resource_id], Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)
