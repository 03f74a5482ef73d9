#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ec2_vpc_subnets
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep a list of subnets of one VPC in one call
description:
  - Makes sure each listed subnet exists in the VPC, in its availability zone, with the given
    public-IP setting and tags. A subnet is known by its CIDR block.
  - One call for the whole list, where M(amazon.aws.ec2_vpc_subnet) takes one per subnet. It
    reads the VPC's subnets with one DescribeSubnets call and writes only what differs.
  - Subnets of the VPC that are not listed are left as they are.
options:
  vpc_id:
    description: ID of the VPC.
    type: str
    required: true
  subnets:
    description: The subnets. CIDR blocks are unique in the list.
    type: list
    elements: dict
    required: true
    suboptions:
      cidr:
        description: IPv4 CIDR block of the subnet, inside the VPC's.
        type: str
        required: true
      az:
        description:
          - Availability zone. A subnet cannot move, so an existing subnet in another zone is an error.
        type: str
        required: true
      map_public:
        description: Whether instances launched in the subnet get a public IPv4 address.
        type: bool
        default: false
      tags:
        description: Tags of the subnet; left as they are when omitted.
        type: dict
  purge_tags:
    description: Remove the tags a subnet has and O(subnets[].tags) does not list (when given).
    type: bool
    default: true
  wait:
    description: Wait until new subnets are available.
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
    description: Shows each subnet that is created or whose public-IP setting or tags change, before and after.
notes:
  - Calls are retried with backoff on throttling, transient errors and InvalidSubnetID.NotFound
    (a subnet that was just created).
"""

EXAMPLES = r"""
- name: A public and a private subnet in each of two zones
  onlywave.infra.ec2_vpc_subnets:
    vpc_id: "{{ vpc.vpc.id }}"
    subnets:
      - {cidr: 10.10.0.0/24, az: eu-west-1a, map_public: true, tags: {Name: public-a, Tier: public}}
      - {cidr: 10.10.1.0/24, az: eu-west-1b, map_public: true, tags: {Name: public-b, Tier: public}}
      - {cidr: 10.10.16.0/20, az: eu-west-1a, tags: {Name: app-a, Tier: app}}
      - {cidr: 10.10.32.0/20, az: eu-west-1b, tags: {Name: app-b, Tier: app}}
  register: subnets

- name: The public subnets' IDs
  ansible.builtin.debug:
    msg: "{{ subnets.subnets | selectattr('tags.Tier', 'eq', 'public') | map(attribute='id') }}"
"""

RETURN = r"""
subnets:
  description: The listed subnets, in the order of O(subnets). A subnet that check mode would create has an empty V(id).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Subnet ID.
      type: str
      sample: subnet-0123456789abcdef0
    cidr:
      description: CIDR block.
      type: str
    az:
      description: Availability zone.
      type: str
    map_public:
      description: Whether instances get a public IPv4 address.
      type: bool
    tags:
      description: Tags, after the change.
      type: dict
"""

import ipaddress

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    boto3_tag_list_to_ansible_dict,
    boto3_tag_specifications,
)
from ansible_collections.onlywave.infra.plugins.module_utils._aws import (
    apply_tags,
    retrying_client,
    tag_changes,
    write_ec2_tags,
)

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library


def input_problems(subnets):
    problems, seen = [], set()
    for index, subnet in enumerate(subnets):
        try:
            cidr = str(ipaddress.IPv4Network(subnet["cidr"]))
        except ValueError:
            problems.append(f"subnets[{index}]: {subnet['cidr']!r} is not an IPv4 network in CIDR form")
            continue
        if cidr in seen:
            problems.append(f"subnets[{index}]: {cidr} is listed more than once")
        seen.add(cidr)
    return problems


def state_of(found):
    return {
        "id": found["SubnetId"],
        "cidr": found["CidrBlock"],
        "az": found["AvailabilityZone"],
        "map_public": found.get("MapPublicIpOnLaunch", False),
        "tags": boto3_tag_list_to_ansible_dict(found.get("Tags", [])),
    }


def keep(module, ec2, subnet, found):
    """Create or correct one subnet; return (before, after) states (before is None if created)."""
    wanted_tags = subnet["tags"]
    if found is None:
        after = {"id": "", "cidr": subnet["cidr"], "az": subnet["az"], "map_public": False, "tags": wanted_tags or {}}
        if not module.check_mode:
            request = {"VpcId": module.params["vpc_id"], "CidrBlock": subnet["cidr"], "AvailabilityZone": subnet["az"]}
            tags = boto3_tag_specifications(wanted_tags, ["subnet"])
            if tags:
                request["TagSpecifications"] = tags
            after["id"] = ec2.create_subnet(aws_retry=True, **request)["Subnet"]["SubnetId"]
        before = None
    else:
        before = state_of(found)
        if before["az"] != subnet["az"]:
            module.fail_json(
                msg=f"Subnet {subnet['cidr']} ({before['id']}) is in {before['az']}, not {subnet['az']}:"
                " a subnet cannot move; delete it first"
            )
        after = dict(before)
        to_set, to_remove = tag_changes(before["tags"], wanted_tags, module.params["purge_tags"])
        if not module.check_mode:
            write_ec2_tags(ec2, before["id"], to_set, to_remove)
        after["tags"] = apply_tags(before["tags"], to_set, to_remove)
    if after["map_public"] != subnet["map_public"]:
        if not module.check_mode:
            ec2.modify_subnet_attribute(
                SubnetId=after["id"], MapPublicIpOnLaunch={"Value": subnet["map_public"]}, aws_retry=True
            )
        after["map_public"] = subnet["map_public"]
    return before, after


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            subnets=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    cidr=dict(type="str", required=True),
                    az=dict(type="str", required=True),
                    map_public=dict(type="bool", default=False),
                    tags=dict(type="dict"),
                ),
            ),
            purge_tags=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    subnets = module.params["subnets"]
    problems = input_problems(subnets)
    if problems:
        module.fail_json(msg="Invalid subnets: " + "; ".join(problems), problems=problems)
    for subnet in subnets:
        subnet["cidr"] = str(ipaddress.IPv4Network(subnet["cidr"]))
    ec2 = retrying_client(module, "ec2", extra_error_codes=["InvalidSubnetID.NotFound"])
    results, created, diff = [], [], {"before": {}, "after": {}}
    try:
        paginator = ec2.get_paginator("describe_subnets")
        filters = [{"Name": "vpc-id", "Values": [module.params["vpc_id"]]}]
        existing = {s["CidrBlock"]: s for s in paginator.paginate(Filters=filters).build_full_result()["Subnets"]}
        for subnet in subnets:
            before, after = keep(module, ec2, subnet, existing.get(subnet["cidr"]))
            results.append(after)
            if before is None and after["id"]:
                created.append(after["id"])
            if before != after:
                diff["before"][subnet["cidr"]], diff["after"][subnet["cidr"]] = before or {}, after
        if created and module.params["wait"]:
            ec2.get_waiter("subnet_available").wait(SubnetIds=created)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, botocore.exceptions.WaiterError) as e:
        module.fail_json_aws(e, msg=f"Could not keep the subnets of {module.params['vpc_id']}")
    module.exit_json(changed=bool(diff["after"]), subnets=results, diff=diff)


if __name__ == "__main__":
    main()
