#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: wafv2_logging_configuration
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Send a WAFv2 web ACL's request logs to a destination
description:
  - Makes sure a web ACL logs its requests to the given CloudWatch Logs group, S3 bucket or
    Kinesis Data Firehose stream, with the given headers redacted; or that it does not log.
    Neither amazon.aws nor community.aws manages WAFv2 logging.
  - The destination's name must start with C(aws-waf-logs-), as AWS requires.
options:
  web_acl_arn:
    description: ARN of the web ACL.
    type: str
    required: true
  log_destination:
    description: ARN of the destination. Required when O(state=present).
    type: str
  redacted_headers:
    description: Request headers whose values are replaced by C(REDACTED) in the logs.
    type: list
    elements: str
    default: []
  state:
    description: Whether the web ACL logs.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - onlywave.infra.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  diff_mode:
    support: full
    description: Shows the destination and redacted headers before and after.
notes:
  - Calls are retried with backoff on throttling and transient errors.
"""

EXAMPLES = r"""
- name: Log the edge web ACL to CloudWatch Logs, without credentials
  onlywave.infra.wafv2_logging_configuration:
    web_acl_arn: "{{ web_acl.arn }}"
    log_destination: "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-onlywave-prod"
    redacted_headers: [authorization, cookie]
"""

RETURN = r"""
log_destination:
  description: The destination after the change; empty when the web ACL does not log.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.onlywave.infra.plugins.module_utils._aws import retrying_client

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library


def current_configuration(waf, web_acl_arn):
    try:
        config = waf.get_logging_configuration(ResourceArn=web_acl_arn, aws_retry=True)["LoggingConfiguration"]
    except is_boto3_error_code("WAFNonexistentItemException"):
        return {}
    return {
        "log_destination": (config.get("LogDestinationConfigs") or [""])[0],
        "redacted_headers": sorted(
            f["SingleHeader"]["Name"].lower() for f in config.get("RedactedFields", []) if "SingleHeader" in f
        ),
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            web_acl_arn=dict(type="str", required=True),
            log_destination=dict(type="str"),
            redacted_headers=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["log_destination"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present" and ":aws-waf-logs-" not in params["log_destination"].replace("/", ":"):
        module.fail_json(msg=f"log_destination must be named aws-waf-logs-*; got {params['log_destination']}")
    waf = retrying_client(module, "wafv2")
    try:
        before = current_configuration(waf, params["web_acl_arn"])
        after = {}
        if params["state"] == "present":
            after = {
                "log_destination": params["log_destination"],
                "redacted_headers": sorted({h.lower() for h in params["redacted_headers"]}),
            }
        changed = before != after
        if changed and not module.check_mode:
            if after:
                waf.put_logging_configuration(
                    LoggingConfiguration={
                        "ResourceArn": params["web_acl_arn"],
                        "LogDestinationConfigs": [after["log_destination"]],
                        "RedactedFields": [{"SingleHeader": {"Name": h}} for h in after["redacted_headers"]],
                    },
                    aws_retry=True,
                )
            else:
                waf.delete_logging_configuration(ResourceArn=params["web_acl_arn"], aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not manage the logging of {params['web_acl_arn']}")
    module.exit_json(
        changed=changed, log_destination=after.get("log_destination", ""), diff={"before": before, "after": after}
    )


if __name__ == "__main__":
    main()
