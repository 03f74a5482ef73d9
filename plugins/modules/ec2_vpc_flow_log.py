#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ec2_vpc_flow_log
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Manage a VPC flow log
description:
  - Makes sure a VPC, subnet or network interface has a flow log to the given destination, or
    has none there. Neither amazon.aws nor community.aws has a module for flow logs.
  - A flow log is identified by its resource and its destination (a CloudWatch Logs group or an
    S3 bucket ARN). Flow logs cannot be modified, so when the traffic type, the aggregation
    interval, the delivery role or the log format differ, it is replaced.
options:
  resource_id:
    description:
      - ID of the VPC, subnet or network interface.
      - This or O(vpc_name) is required.
    type: str
  vpc_name:
    description:
      - Name (tag C(Name)) of the VPC, instead of O(resource_id), with O(resource_type=VPC). The module
        finds the VPC (DescribeVpcs), and fails unless exactly one VPC has that name.
      - Saves a playbook the separate lookup of a VPC that another play or host created.
    type: str
  resource_type:
    description: Kind of resource.
    type: str
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
  traffic_type:
    description: Which traffic to log.
    type: str
    choices: [ALL, ACCEPT, REJECT]
    default: ALL
  log_destination_type:
    description: Where the records go.
    type: str
    choices: [cloud-watch-logs, s3]
    default: cloud-watch-logs
  log_group_name:
    description: CloudWatch Logs group. Required with O(log_destination_type=cloud-watch-logs).
    type: str
  deliver_logs_permission_arn:
    description:
      - ARN of the IAM role that lets the flow logs service write to the log group.
      - Required with O(log_destination_type=cloud-watch-logs) and O(state=present).
    type: str
  log_destination:
    description: ARN of the S3 bucket (or bucket and prefix). Required with O(log_destination_type=s3).
    type: str
  max_aggregation_interval:
    description: Seconds over which packets are aggregated into a record.
    type: int
    choices: [60, 600]
    default: 600
  log_format:
    description: Custom record format; the default AWS format when omitted.
    type: str
  state:
    description: Whether the flow log exists.
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
    description: Shows the flow log's settings and tags before and after.
notes:
  - Calls are retried with backoff on throttling and transient errors.
"""

EXAMPLES = r"""
- name: Log all of the VPC's traffic to CloudWatch Logs
  onlywave.infra.ec2_vpc_flow_log:
    resource_id: "{{ vpc.vpc.id }}"
    log_group_name: /onlywave/dev/vpc-flow-logs
    deliver_logs_permission_arn: "{{ flow_logs_role.iam_role.arn }}"
    tags:
      Name: onlywave-dev-vpc

- name: Log rejected traffic to S3
  onlywave.infra.ec2_vpc_flow_log:
    resource_id: "{{ vpc.vpc.id }}"
    traffic_type: REJECT
    log_destination_type: s3
    log_destination: arn:aws:s3:::onlywave-dev-logs/flow-logs/
"""

RETURN = r"""
flow_log_id:
  description: ID of the flow log; empty when absent (or not yet created, in check mode).
  returned: always
  type: str
  sample: fl-0123456789abcdef0
resource_id:
  description: ID of the logged resource (the VPC's, when found by O(vpc_name)).
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
"""

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

# Settings that cannot change on an existing flow log.
FIXED = ("traffic_type", "max_aggregation_interval", "deliver_logs_permission_arn", "log_format")


def destination(params):
    if params["log_destination_type"] == "s3":
        return params["log_destination"]
    return params["log_group_name"]


def describe(flow_log):
    return {
        "flow_log_id": flow_log["FlowLogId"],
        "destination": flow_log.get("LogDestination") or flow_log.get("LogGroupName"),
        "traffic_type": flow_log["TrafficType"],
        "max_aggregation_interval": flow_log.get("MaxAggregationInterval", 600),
        "deliver_logs_permission_arn": flow_log.get("DeliverLogsPermissionArn"),
        "log_format": flow_log.get("LogFormat"),
        "tags": boto3_tag_list_to_ansible_dict(flow_log.get("Tags", [])),
    }


def find(ec2, params):
    found = ec2.describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [params["resource_id"]]}], aws_retry=True
    )["FlowLogs"]
    wanted = destination(params)
    for flow_log in found:
        current = describe(flow_log)
        # An S3 destination is reported as the bucket ARN, with or without the prefix given.
        if current["destination"] == wanted or (current["destination"] or "").rstrip("/") == wanted.rstrip("/"):
            return current
    return None


def create(ec2, params):
    args = dict(
        ResourceIds=[params["resource_id"]],
        ResourceType=params["resource_type"],
        TrafficType=params["traffic_type"],
        LogDestinationType=params["log_destination_type"],
        MaxAggregationInterval=params["max_aggregation_interval"],
    )
    if params["log_destination_type"] == "s3":
        args["LogDestination"] = params["log_destination"]
    else:
        args["LogGroupName"] = params["log_group_name"]
        args["DeliverLogsPermissionArn"] = params["deliver_logs_permission_arn"]
    if params["log_format"]:
        args["LogFormat"] = params["log_format"]
    if params["tags"]:
        args["TagSpecifications"] = [
            {"ResourceType": "vpc-flow-log", "Tags": ansible_dict_to_boto3_tag_list(params["tags"])}
        ]
    result = ec2.create_flow_logs(aws_retry=True, **args)
    if result.get("Unsuccessful"):
        raise ValueError(result["Unsuccessful"][0]["Error"]["Message"])
    return result["FlowLogIds"][0]


def wanted_state(params, flow_log_id, current_tags):
    to_set, to_remove = tag_changes(current_tags, params["tags"], params["purge_tags"])
    return (
        {
            "flow_log_id": flow_log_id,
            "destination": destination(params),
            "traffic_type": params["traffic_type"],
            "max_aggregation_interval": params["max_aggregation_interval"],
            "deliver_logs_permission_arn": params["deliver_logs_permission_arn"],
            "log_format": params["log_format"],
            "tags": apply_tags(current_tags, to_set, to_remove),
        },
        to_set,
        to_remove,
    )


def ensure_present(module, ec2, current):
    params = module.params
    replace = current is not None and any(params[key] is not None and params[key] != current[key] for key in FIXED)
    if current is None or replace:
        after, _set, _remove = wanted_state(params, "", params["tags"] or {})
        if not module.check_mode:
            if replace:
                ec2.delete_flow_logs(FlowLogIds=[current["flow_log_id"]], aws_retry=True)
            after["flow_log_id"] = create(ec2, params)
        return True, after
    after, to_set, to_remove = wanted_state(params, current["flow_log_id"], current["tags"])
    changed = bool(to_set or to_remove)
    if changed and not module.check_mode:
        if to_set:
            ec2.create_tags(
                Resources=[current["flow_log_id"]], Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True
            )
        if to_remove:
            ec2.delete_tags(Resources=[current["flow_log_id"]], Tags=[{"Key": k} for k in to_remove], aws_retry=True)
    return changed, after


def vpc_named(module, ec2, name):
    """ID of the one VPC with that Name tag; fails the module otherwise."""
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}], aws_retry=True)["Vpcs"]
    if len(found) != 1:
        module.fail_json(msg=f"Expected one VPC named {name}; found {len(found)}")
    return found[0]["VpcId"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resource_id=dict(type="str"),
            vpc_name=dict(type="str"),
            resource_type=dict(type="str", choices=["VPC", "Subnet", "NetworkInterface"], default="VPC"),
            traffic_type=dict(type="str", choices=["ALL", "ACCEPT", "REJECT"], default="ALL"),
            log_destination_type=dict(type="str", choices=["cloud-watch-logs", "s3"], default="cloud-watch-logs"),
            log_group_name=dict(type="str"),
            deliver_logs_permission_arn=dict(type="str"),
            log_destination=dict(type="str"),
            max_aggregation_interval=dict(type="int", choices=[60, 600], default=600),
            log_format=dict(type="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("resource_id", "vpc_name")],
        required_one_of=[("resource_id", "vpc_name")],
        required_if=[
            ("log_destination_type", "cloud-watch-logs", ["log_group_name"]),
            ("log_destination_type", "s3", ["log_destination"]),
        ],
        supports_check_mode=True,
    )
    params = module.params
    to_logs = params["state"] == "present" and params["log_destination_type"] == "cloud-watch-logs"
    if to_logs and not params["deliver_logs_permission_arn"]:
        module.fail_json(msg="deliver_logs_permission_arn is required to log to CloudWatch Logs")
    if params["vpc_name"] and params["resource_type"] != "VPC":
        module.fail_json(msg=f"vpc_name needs resource_type VPC; got {params['resource_type']}")
    ec2 = retrying_client(module, "ec2")
    try:
        if params["vpc_name"]:
            params["resource_id"] = vpc_named(module, ec2, params["vpc_name"])
        current = find(ec2, module.params)
        if module.params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                ec2.delete_flow_logs(FlowLogIds=[current["flow_log_id"]], aws_retry=True)
            module.exit_json(
                changed=changed,
                flow_log_id="",
                resource_id=params["resource_id"],
                diff={"before": current or {}, "after": {}},
            )
        changed, after = ensure_present(module, ec2, current)
    except ValueError as e:
        module.fail_json(msg=f"Could not create the flow log of {params['resource_id']}: {e}")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not manage the flow log of {params['resource_id'] or params['vpc_name']}")
    module.exit_json(
        changed=changed,
        flow_log_id=after["flow_log_id"],
        resource_id=params["resource_id"],
        diff={"before": current or {}, "after": after},
    )


if __name__ == "__main__":
    main()
