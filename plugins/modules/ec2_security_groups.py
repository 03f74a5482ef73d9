#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ec2_security_groups
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep a set of security groups of one VPC, and exactly their rules, in one call
description:
  - Makes sure each listed security group exists in the VPC with exactly the listed ingress and
    egress rules (any other rule is revoked, the default allow-all egress of a new group too) and,
    when given, exactly the listed tags.
  - One call for the whole set, where M(amazon.aws.ec2_security_group) takes one per group and,
    for groups that refer to each other, one more to create them all first. It reads every group
    of the VPC with one DescribeSecurityGroups call, creates the missing groups, then authorizes,
    revokes and re-describes only the rules that differ. A rule whose description alone differs
    keeps its access (UpdateSecurityGroupRuleDescriptions*), it is never revoked and added again.
  - Rules may refer to any group of the set, including those this call creates, and to groups of
    the VPC outside the set, by name.
  - A group's name and description cannot change in AWS. An existing group whose description
    differs is kept, with a warning.
options:
  vpc_id:
    description: ID of the VPC that holds the groups.
    type: str
    required: true
  groups:
    description:
      - The security groups. Names are unique in the list.
      - The VPC's V(default) group may be listed (usually with no rules, to close it); it is never created.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the group.
        type: str
        required: true
      description:
        description: Description of a new group.
        type: str
        required: true
      tags:
        description: Tags of the group; left as they are when omitted. V(Name) is not implied.
        type: dict
      ingress:
        description: Every inbound rule of the group. An empty list closes it.
        type: list
        elements: dict
        default: []
        suboptions: &rule
          proto:
            description: Protocol. V(all) allows every protocol and port.
            type: str
            choices: [tcp, udp, all]
            default: tcp
          ports:
            description:
              - Ports, each a number or a range V(from-to). Required for V(tcp) and V(udp); not
                allowed with V(all).
            type: list
            elements: raw
            default: []
          cidr_ip:
            description:
              - IPv4 networks, in CIDR form.
              - A rule has exactly one kind of peer, O(groups[].ingress[].cidr_ip),
                O(groups[].ingress[].group_name) or O(groups[].ingress[].group_id).
            type: list
            elements: str
          group_name:
            description: Name of a group of the set or of the VPC.
            type: str
          group_id:
            description: ID of a security group.
            type: str
          rule_desc:
            description: Description of the rule.
            type: str
            default: ""
      egress:
        description: Every outbound rule of the group, in the form of O(groups[].ingress). An empty list closes it.
        type: list
        elements: dict
        default: []
        suboptions: *rule
  purge_tags:
    description: Remove the tags a group has and O(groups[].tags) does not list (when given).
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
    description:
      - Shows each group whose rules or tags change, before and after.
      - A rule reads as protocol, ports, peer and description.
notes:
  - Only IPv4 networks and security groups are rule peers here. Any other rule a group has (IPv6
    ranges, prefix lists) is revoked, since the list is every rule of the group.
  - Calls are retried with backoff on throttling, transient errors and InvalidGroup.NotFound (a
    group that was just created).
"""

EXAMPLES = r"""
- name: Keep the load balancer's and the API's groups, which refer to each other
  onlywave.infra.ec2_security_groups:
    vpc_id: "{{ vpc.vpc.id }}"
    groups:
      - name: default
        description: default VPC security group
      - name: prod-alb
        description: Internet-facing load balancer
        tags: {Name: prod-alb, Environment: prod}
        ingress:
          - {ports: [80, 443], cidr_ip: [0.0.0.0/0], rule_desc: HTTP and HTTPS from the internet}
        egress:
          - {ports: [8000], group_name: prod-api, rule_desc: to the API}
      - name: prod-api
        description: API servers
        ingress:
          - {ports: [8000], group_name: prod-alb, rule_desc: from the ALB}
        egress:
          - {ports: [443], cidr_ip: [0.0.0.0/0], rule_desc: HTTPS out}
          - {ports: ["1024-65535"], proto: udp, cidr_ip: [10.0.0.0/16]}
  register: groups

- name: The API group's ID
  ansible.builtin.debug:
    msg: "{{ groups.group_ids['prod-api'] }}"
"""

RETURN = r"""
group_ids:
  description: ID of each group of the set, by name. A group that check mode would create has none.
  returned: always
  type: dict
  sample: {prod-alb: sg-0123456789abcdef0, prod-api: sg-0fedcba9876543210}
created:
  description: Names of the groups created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import ipaddress

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    boto3_tag_specifications,
)
from ansible_collections.onlywave.infra.plugins.module_utils._aws import (
    apply_tags,
    retrying_client,
    tag_changes,
    write_ec2_tags,
)
from ansible_collections.onlywave.infra.plugins.module_utils._lists import repeated

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

DIRECTIONS = ("ingress", "egress")
RULE = dict(
    proto=dict(type="str", choices=["tcp", "udp", "all"], default="tcp"),
    ports=dict(type="list", elements="raw", default=[]),
    cidr_ip=dict(type="list", elements="str"),
    group_name=dict(type="str"),
    group_id=dict(type="str"),
    rule_desc=dict(type="str", default=""),
)
RULE_OPTIONS = dict(
    type="list",
    elements="dict",
    default=[],
    options=RULE,
    mutually_exclusive=[("cidr_ip", "group_name", "group_id")],
    required_one_of=[("cidr_ip", "group_name", "group_id")],
)
# Where IpPermissions keeps each kind of rule peer: (list, field of its entries).
PEERS = {
    "cidr": ("IpRanges", "CidrIp"),
    "cidr6": ("Ipv6Ranges", "CidrIpv6"),
    "group": ("UserIdGroupPairs", "GroupId"),
    "prefix": ("PrefixListIds", "PrefixListId"),
}
# A new VPC security group comes with this egress rule (allow all).
DEFAULT_EGRESS = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def port_range(value):
    """(from, to) of a port or of a "from-to" range; ValueError when it is not one."""
    text = str(value).strip()
    low, sep, high = text.partition("-")
    first, last = int(low), int(high if sep else low)
    if not 0 <= first <= last <= 65535:
        raise ValueError(text)
    return first, last


def rule_problems(where, rule):
    """What is wrong with one rule, before any call."""
    problems = []
    if rule["proto"] == "all" and rule["ports"]:
        problems.append(f"{where}: ports are not allowed with proto all")
    if rule["proto"] != "all" and not rule["ports"]:
        problems.append(f"{where}: proto {rule['proto']} needs ports")
    for port in rule["ports"]:
        try:
            port_range(port)
        except ValueError:
            problems.append(f"{where}: {port!r} is not a port (0-65535) or a range from-to")
    for cidr in rule["cidr_ip"] or []:
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            problems.append(f"{where}: {cidr!r} is not an IPv4 network in CIDR form")
    return problems


def input_problems(groups):
    problems = []
    names = [group["name"] for group in groups]
    problems += [f"group {name!r} is listed more than once" for name in repeated(names)]
    for group in groups:
        for direction in DIRECTIONS:
            for index, rule in enumerate(group[direction]):
                problems += rule_problems(f"{group['name']} {direction}[{index}]", rule)
    return problems


def wanted_rules(rules, group_id_of):
    """{(proto, from, to, kind, peer): description} of a group's rules in one direction."""
    wanted = {}
    for rule in rules:
        proto = "-1" if rule["proto"] == "all" else rule["proto"]
        ranges = [port_range(port) for port in rule["ports"]] or [(None, None)]
        if rule["cidr_ip"]:
            peers = [("cidr", str(ipaddress.IPv4Network(cidr))) for cidr in rule["cidr_ip"]]
        else:
            peers = [("group", rule["group_id"] or group_id_of(rule["group_name"]))]
        for first, last in ranges:
            for kind, peer in peers:
                wanted[(proto, first, last, kind, peer)] = rule["rule_desc"]
    return wanted


def current_rules(permissions):
    """The same form, from a group's IpPermissions or IpPermissionsEgress."""
    current = {}
    for perm in permissions:
        proto = perm["IpProtocol"]
        first, last = (None, None) if proto == "-1" else (perm.get("FromPort"), perm.get("ToPort"))
        for kind, (key, field) in PEERS.items():
            for peer in perm.get(key, []):
                current[(proto, first, last, kind, peer[field])] = peer.get("Description", "")
    return current


def permission(rule, description=None):
    """One IpPermission for a rule in the form above."""
    proto, first, last, kind, peer = rule
    perm = {"IpProtocol": proto}
    if first is not None:
        perm.update(FromPort=first, ToPort=last)
    key, field = PEERS[kind]
    entry = {field: peer}
    if description:
        entry["Description"] = description
    perm[key] = [entry]
    return perm


def rule_text(rule, description, name_of):
    proto, first, last, kind, peer = rule
    ports = "" if first is None else f" {first}" if first == last else f" {first}-{last}"
    peer = name_of.get(peer, peer) if kind == "group" else peer
    return f"{'all' if proto == '-1' else proto}{ports} {peer}" + (f" ({description})" if description else "")


class SecurityGroups:
    """The VPC's groups as read once, and the changes that make the listed ones as wanted."""

    def __init__(self, module, ec2):
        self.module, self.ec2 = module, ec2
        self.vpc_id = module.params["vpc_id"]
        self.by_name = {group["GroupName"]: group for group in self.describe([("vpc-id", [self.vpc_id])])}
        self.created, self.changed, self.diff = [], False, {"before": {}, "after": {}}

    def describe(self, filters):
        paginator = self.ec2.get_paginator("describe_security_groups")
        request = {"Filters": [{"Name": name, "Values": values} for name, values in filters]}
        return paginator.paginate(**request).build_full_result()["SecurityGroups"]

    def group_id_of(self, name):
        return self.by_name[name]["GroupId"]

    def create_missing(self, groups):
        """Create the listed groups that do not exist (all before any rule: rules refer to them)."""
        known = set(self.by_name) | {group["name"] for group in groups}
        unknown = sorted(
            {rule["group_name"] for group in groups for direction in DIRECTIONS for rule in group[direction]}
            - known
            - {None}
        )
        if unknown:
            self.module.fail_json(
                msg=f"Rules refer to security groups neither listed nor in VPC {self.vpc_id}: {', '.join(unknown)}"
            )
        for group in groups:
            if group["name"] in self.by_name:
                if group["description"] != self.by_name[group["name"]]["Description"] and group["name"] != "default":
                    self.module.warn(f"Security group {group['name']} keeps its description: AWS cannot change it")
                continue
            self.created.append(group["name"])
            # What AWS makes (read again below, once created; check mode keeps this).
            new = {
                "GroupName": group["name"],
                "GroupId": f"(new {group['name']})",
                "Description": group["description"],
                "IpPermissions": [],
                "IpPermissionsEgress": DEFAULT_EGRESS,
                "Tags": ansible_dict_to_boto3_tag_list(group["tags"] or {}),
            }
            if not self.module.check_mode:
                request = {"GroupName": group["name"], "Description": group["description"], "VpcId": self.vpc_id}
                tags = boto3_tag_specifications(group["tags"], ["security-group"])
                if tags:
                    request["TagSpecifications"] = tags
                new["GroupId"] = self.ec2.create_security_group(aws_retry=True, **request)["GroupId"]
            self.by_name[group["name"]] = new
        if self.created and not self.module.check_mode:
            ids = [self.by_name[name]["GroupId"] for name in self.created]
            for group in self.describe([("group-id", ids)]):
                self.by_name[group["GroupName"]] = group

    def keep(self, group):
        """Write one group's rules and tags; note its diff."""
        found = self.by_name[group["name"]]
        group_id = found["GroupId"]
        name_of = {g["GroupId"]: name for name, g in self.by_name.items()}
        before, after = {}, {}
        for direction, field in zip(DIRECTIONS, ("IpPermissions", "IpPermissionsEgress"), strict=True):
            current = current_rules(found[field])
            wanted = wanted_rules(group[direction], self.group_id_of)
            if current != wanted:
                self.write_rules(group_id, direction, current, wanted)
                before[direction] = sorted(rule_text(r, d, name_of) for r, d in current.items())
                after[direction] = sorted(rule_text(r, d, name_of) for r, d in wanted.items())
        current_tags = boto3_tag_list_to_ansible_dict(found.get("Tags", []))
        to_set, to_remove = tag_changes(current_tags, group["tags"], self.module.params["purge_tags"])
        if to_set or to_remove:
            if not self.module.check_mode:
                write_ec2_tags(self.ec2, group_id, to_set, to_remove)
            before["tags"], after["tags"] = current_tags, apply_tags(current_tags, to_set, to_remove)
        if group["name"] in self.created:
            before, after["created"] = {}, True
        if after:
            self.changed = True
            self.diff["before"][group["name"]], self.diff["after"][group["name"]] = before, after

    def write_rules(self, group_id, direction, current, wanted):
        if self.module.check_mode:
            return
        added = [permission(rule, wanted[rule]) for rule in wanted if rule not in current]
        relabelled = [
            permission(rule, wanted[rule]) for rule in wanted if rule in current and current[rule] != wanted[rule]
        ]
        revoked = [permission(rule) for rule in current if rule not in wanted]
        # Added first, revoked last: a rule that only moves never leaves a gap.
        for call, perms in (
            (f"authorize_security_group_{direction}", added),
            (f"update_security_group_rule_descriptions_{direction}", relabelled),
            (f"revoke_security_group_{direction}", revoked),
        ):
            if perms:
                getattr(self.ec2, call)(GroupId=group_id, IpPermissions=perms, aws_retry=True)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            groups=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    description=dict(type="str", required=True),
                    tags=dict(type="dict"),
                    ingress=RULE_OPTIONS,
                    egress=RULE_OPTIONS,
                ),
            ),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    groups = module.params["groups"]
    problems = input_problems(groups)
    if problems:
        module.fail_json(msg="Invalid security groups: " + "; ".join(problems), problems=problems)
    ec2 = retrying_client(module, "ec2", extra_error_codes=["InvalidGroup.NotFound"])
    try:
        state = SecurityGroups(module, ec2)
        state.create_missing(groups)
        for group in groups:
            state.keep(group)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not keep the security groups of {module.params['vpc_id']}")
    module.exit_json(
        changed=state.changed,
        created=state.created,
        group_ids={
            group["name"]: state.by_name[group["name"]]["GroupId"]
            for group in groups
            if group["name"] not in state.created or not module.check_mode
        },
        diff=state.diff,
    )


if __name__ == "__main__":
    main()
