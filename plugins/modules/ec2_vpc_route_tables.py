#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ec2_vpc_route_tables
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep the route tables and gateway endpoints of one VPC in one call
description:
  - Makes sure each listed route table exists in the VPC, known by its C(Name) tag, with exactly
    the listed subnets associated, exactly the listed IPv4 routes, and the given tags.
  - Makes sure each listed gateway endpoint (such as S3's) exists in the VPC and is routed through
    exactly the listed tables.
  - One call for the whole list, where M(amazon.aws.ec2_vpc_route_table) takes one per table and
    M(amazon.aws.ec2_vpc_endpoint_info) and M(amazon.aws.ec2_vpc_endpoint) more for an endpoint.
    It reads with one DescribeRouteTables and one DescribeVpcEndpoints call and writes only what
    differs.
  - Route tables of the VPC that are not listed are left as they are, except that a subnet listed
    here is moved from them.
  - Routes it never touches, in a listed table, are the local route, routes propagated from a
    virtual private gateway, routes to prefix lists (gateway endpoints add those) and IPv6 routes.
options:
  vpc_id:
    description: ID of the VPC.
    type: str
    required: true
  route_tables:
    description: The route tables. Names are unique in the list, and a subnet is in one table only.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Value of the table's C(Name) tag, by which it is found. Two tables of the VPC with this name are an error.
        type: str
        required: true
      subnets:
        description:
          - IDs of the subnets associated with the table. A subnet associated with another table
            is moved; a subnet associated with this one and not listed goes back to the VPC's main table.
        type: list
        elements: str
        default: []
      routes:
        description:
          - The table's IPv4 routes besides the local one. A route to another destination is
            deleted, and a route to a listed destination through another target is replaced.
        type: list
        elements: dict
        default: []
        suboptions:
          dest:
            description: Destination, an IPv4 CIDR block.
            type: str
            required: true
          gateway_id:
            description:
              - ID of an internet or virtual private gateway.
              - One of O(route_tables[].routes[].gateway_id) and O(route_tables[].routes[].nat_gateway_id).
            type: str
          nat_gateway_id:
            description: ID of a NAT gateway.
            type: str
      tags:
        description:
          - Tags of the table besides C(Name), which is O(route_tables[].name).
          - When omitted, only C(Name) is set and other tags are left as they are.
        type: dict
  gateway_endpoints:
    description: Gateway VPC endpoints, one per service.
    type: list
    elements: dict
    default: []
    suboptions:
      service:
        description:
          - Service name, such as V(com.amazonaws.eu-west-1.s3).
          - Two pending or available gateway endpoints of the VPC for it are an error.
        type: str
        required: true
      route_tables:
        description: Names of the tables, from O(route_tables), that route to the endpoint.
        type: list
        elements: str
        required: true
      tags:
        description: Tags of the endpoint; left as they are when omitted.
        type: dict
  purge_tags:
    description: Remove the tags a table or endpoint has and its C(tags) option does not list (when given).
    type: bool
    default: true
  wait:
    description: Wait until new gateway endpoints are available.
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
    description: Shows each table and endpoint that is created or changes (subnets, routes, tags), before and after.
notes:
  - Calls are retried with backoff on throttling, transient errors, and C(InvalidRouteTableID.NotFound)
    (a table that was just created).
"""

EXAMPLES = r"""
- name: Public subnets to the internet gateway, private ones to a NAT gateway and S3 through its endpoint
  onlywave.infra.ec2_vpc_route_tables:
    vpc_id: "{{ vpc.vpc.id }}"
    route_tables:
      - name: onlywave-prod-public
        subnets: "{{ public_subnet_ids }}"
        routes: [{dest: 0.0.0.0/0, gateway_id: "{{ igw.gateway_id }}"}]
        tags: {Environment: prod}
      - name: onlywave-prod-private-a
        subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]
        routes: [{dest: 0.0.0.0/0, nat_gateway_id: nat-0123456789abcdef0}]
        tags: {Environment: prod}
    gateway_endpoints:
      - service: com.amazonaws.eu-west-1.s3
        route_tables: [onlywave-prod-private-a]
        tags: {Name: onlywave-prod-s3, Environment: prod}
"""

RETURN = r"""
route_tables:
  description:
    - The listed tables, in the order of O(route_tables).
    - A table that check mode would create has an empty V(id).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Route table ID.
      type: str
      sample: rtb-0123456789abcdef0
    name:
      description: Its C(Name) tag.
      type: str
    subnets:
      description: IDs of the subnets associated with it, sorted.
      type: list
      elements: str
    routes:
      description:
        - Its IPv4 routes besides the local one and propagated ones, sorted by destination, each
          with V(dest) and its target (V(gateway_id), V(nat_gateway_id), or another C(*_id) key).
      type: list
      elements: dict
    tags:
      description: Tags, after the change.
      type: dict
gateway_endpoints:
  description:
    - The listed gateway endpoints, in the order of O(gateway_endpoints).
    - One that check mode would create has an empty V(id).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: VPC endpoint ID.
      type: str
      sample: vpce-0123456789abcdef0
    service:
      description: Service name.
      type: str
    route_table_ids:
      description: IDs of the tables that route to it, sorted.
      type: list
      elements: str
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
from ansible_collections.onlywave.infra.plugins.module_utils._lists import repeated

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

# A route's target, as DescribeRouteTables gives it and as this module returns it; the first one present.
TARGETS = {
    "NatGatewayId": "nat_gateway_id",
    "GatewayId": "gateway_id",
    "TransitGatewayId": "transit_gateway_id",
    "VpcPeeringConnectionId": "vpc_peering_connection_id",
    "InstanceId": "instance_id",
    "NetworkInterfaceId": "network_interface_id",
    "CarrierGatewayId": "carrier_gateway_id",
    "LocalGatewayId": "local_gateway_id",
    "EgressOnlyInternetGatewayId": "egress_only_internet_gateway_id",
    "CoreNetworkArn": "core_network_arn",
}
LIVE_ENDPOINT = ("pending", "available")
LIVE_ASSOCIATION = ("associated", "associating")


def input_problems(tables, endpoints):
    """Every problem with the listed tables and endpoints, before any call."""
    names = [table["name"] for table in tables]
    problems = [f"route table {name!r} is listed twice" for name in repeated(names)]
    subnets = [subnet for table in tables for subnet in table["subnets"]]
    problems += [f"subnet {subnet} is listed in more than one table" for subnet in repeated(subnets)]
    for table in tables:
        where, dests = f"route table {table['name']!r}", []
        for route in table["routes"]:
            try:
                dests.append(str(ipaddress.IPv4Network(route["dest"])))
            except ValueError:
                problems.append(f"{where}: {route['dest']!r} is not an IPv4 network in CIDR form")
        problems += [f"{where}: a route to {dest} is listed twice" for dest in repeated(dests)]
    services = [endpoint["service"] for endpoint in endpoints]
    problems += [f"gateway endpoint {service} is listed twice" for service in repeated(services)]
    for endpoint in endpoints:
        problems += [
            f"gateway endpoint {endpoint['service']}: {name!r} is not a name in route_tables"
            for name in endpoint["route_tables"]
            if name not in names
        ]
    return problems


def wanted_routes(table):
    """The listed routes as this module returns them, with normalised destinations, sorted."""
    routes = []
    for route in table["routes"]:
        key = "nat_gateway_id" if route["nat_gateway_id"] else "gateway_id"
        routes.append({"dest": str(ipaddress.IPv4Network(route["dest"])), key: route[key]})
    return sorted(routes, key=lambda r: r["dest"])


def managed_routes(found):
    """The IPv4 routes of a described table that this module keeps: created ones, not the local one."""
    routes = []
    for route in found["Routes"]:
        if route.get("Origin") != "CreateRoute" or "DestinationCidrBlock" not in route:
            continue
        target = next(((name, route[key]) for key, name in TARGETS.items() if route.get(key)), ("gateway_id", ""))
        routes.append({"dest": route["DestinationCidrBlock"], target[0]: target[1]})
    return sorted(routes, key=lambda r: r["dest"])


def subnet_associations(found):
    """{subnet ID: association ID} of a described table's explicit subnet associations."""
    return {
        a["SubnetId"]: a["RouteTableAssociationId"]
        for a in found.get("Associations", [])
        if a.get("SubnetId") and a.get("AssociationState", {}).get("State", "associated") in LIVE_ASSOCIATION
    }


def table_state(found, name):
    return {
        "id": found["RouteTableId"],
        "name": name,
        "subnets": sorted(subnet_associations(found)),
        "routes": managed_routes(found),
        "tags": boto3_tag_list_to_ansible_dict(found.get("Tags", [])),
    }


def route_request(route):
    request = {"DestinationCidrBlock": route["dest"]}
    if "nat_gateway_id" in route:
        request["NatGatewayId"] = route["nat_gateway_id"]
    else:
        request["GatewayId"] = route["gateway_id"]
    return request


class RouteTables:
    """The VPC's route tables, read once, and the writes that make the listed ones as wanted."""

    def __init__(self, module, ec2):
        self.module, self.ec2 = module, ec2
        self.check_mode = module.check_mode
        paginator = ec2.get_paginator("describe_route_tables")
        filters = [{"Name": "vpc-id", "Values": [module.params["vpc_id"]]}]
        found = paginator.paginate(Filters=filters).build_full_result()["RouteTables"]
        # The tables by their Name tag: {name: [table]}.
        self.by_name = {}
        for table in found:
            name = boto3_tag_list_to_ansible_dict(table.get("Tags", [])).get("Name")
            self.by_name.setdefault(name, []).append(table)
        # Where each subnet is explicitly associated now: {subnet ID: (table ID, association ID)}.
        self.owner = {
            subnet: (table["RouteTableId"], association)
            for table in found
            for subnet, association in subnet_associations(table).items()
        }

    def named(self, name):
        matches = self.by_name.get(name, [])
        if len(matches) > 1:
            ids = ", ".join(t["RouteTableId"] for t in matches)
            self.module.fail_json(
                msg=f"More than one route table of {self.module.params['vpc_id']} is named {name}: {ids}"
            )
        return matches[0] if matches else None

    def keep(self, table):
        """Create or correct one table; return (before, after) states (before is None if created)."""
        found = self.named(table["name"])
        wanted_tags = dict(table["tags"] or {}, Name=table["name"])
        purge = self.module.params["purge_tags"] and table["tags"] is not None
        if found is None:
            before = None
            current = {"id": "", "name": table["name"], "subnets": [], "routes": [], "tags": {}}
            if not self.check_mode:
                created = self.ec2.create_route_table(
                    VpcId=self.module.params["vpc_id"],
                    TagSpecifications=boto3_tag_specifications(wanted_tags, ["route-table"]),
                    aws_retry=True,
                )["RouteTable"]
                current = table_state(created, table["name"])
        else:
            before = current = table_state(found, table["name"])
        after = dict(current)
        to_set, to_remove = tag_changes(current["tags"], wanted_tags, purge)
        if not self.check_mode and current["id"]:
            write_ec2_tags(self.ec2, current["id"], to_set, to_remove)
        after["tags"] = apply_tags(current["tags"], to_set, to_remove)
        after["routes"] = self.keep_routes(current, wanted_routes(table))
        after["subnets"] = self.keep_subnets(current, sorted(table["subnets"]))
        return before, after

    def keep_routes(self, current, wanted):
        have = {route["dest"]: route for route in current["routes"]}
        for route in wanted:
            if have.get(route["dest"]) == route or self.check_mode:
                continue
            call = self.ec2.replace_route if route["dest"] in have else self.ec2.create_route
            call(RouteTableId=current["id"], aws_retry=True, **route_request(route))
        for dest in sorted(set(have) - {route["dest"] for route in wanted}):
            if not self.check_mode:
                self.ec2.delete_route(RouteTableId=current["id"], DestinationCidrBlock=dest, aws_retry=True)
        return wanted

    def keep_subnets(self, current, wanted):
        for subnet in wanted:
            owner = self.owner.get(subnet)
            if self.check_mode or (owner and owner[0] == current["id"]):
                continue
            if owner:
                association = self.ec2.replace_route_table_association(
                    AssociationId=owner[1], RouteTableId=current["id"], aws_retry=True
                )["NewAssociationId"]
            else:
                association = self.ec2.associate_route_table(
                    RouteTableId=current["id"], SubnetId=subnet, aws_retry=True
                )["AssociationId"]
            self.owner[subnet] = (current["id"], association)
        for subnet in sorted(set(current["subnets"]) - set(wanted)):
            # A listed table kept before this one may have taken the subnet already.
            owner = self.owner.get(subnet)
            if not self.check_mode and owner and owner[0] == current["id"]:
                self.ec2.disassociate_route_table(AssociationId=owner[1], aws_retry=True)
                del self.owner[subnet]
        return wanted


def endpoint_state(found):
    return {
        "id": found["VpcEndpointId"],
        "service": found["ServiceName"],
        "route_table_ids": sorted(found.get("RouteTableIds", [])),
        "tags": boto3_tag_list_to_ansible_dict(found.get("Tags", [])),
    }


def keep_endpoint(module, ec2, endpoint, found, table_ids):
    """Create or correct one gateway endpoint; return (before, after) states (before is None if created)."""
    wanted_ids = sorted(table_ids[name] for name in endpoint["route_tables"])
    if found is None:
        after = {
            "id": "",
            "service": endpoint["service"],
            "route_table_ids": wanted_ids,
            "tags": endpoint["tags"] or {},
        }
        if not module.check_mode:
            request = {
                "VpcEndpointType": "Gateway",
                "VpcId": module.params["vpc_id"],
                "ServiceName": endpoint["service"],
                "RouteTableIds": wanted_ids,
            }
            if endpoint["tags"]:
                request["TagSpecifications"] = boto3_tag_specifications(endpoint["tags"], ["vpc-endpoint"])
            after["id"] = ec2.create_vpc_endpoint(aws_retry=True, **request)["VpcEndpoint"]["VpcEndpointId"]
        return None, after
    before = endpoint_state(found)
    after = dict(before, route_table_ids=wanted_ids)
    add = sorted(set(wanted_ids) - set(before["route_table_ids"]))
    remove = sorted(set(before["route_table_ids"]) - set(wanted_ids))
    if (add or remove) and not module.check_mode:
        ec2.modify_vpc_endpoint(
            VpcEndpointId=before["id"], AddRouteTableIds=add, RemoveRouteTableIds=remove, aws_retry=True
        )
    to_set, to_remove = tag_changes(before["tags"], endpoint["tags"], module.params["purge_tags"])
    if not module.check_mode:
        write_ec2_tags(ec2, before["id"], to_set, to_remove)
    after["tags"] = apply_tags(before["tags"], to_set, to_remove)
    return before, after


def live_gateway_endpoints(module, ec2):
    """{service name: [endpoint]} of the VPC's pending or available gateway endpoints."""
    filters = [
        {"Name": "vpc-id", "Values": [module.params["vpc_id"]]},
        {"Name": "vpc-endpoint-type", "Values": ["Gateway"]},
    ]
    paginator = ec2.get_paginator("describe_vpc_endpoints")
    found = {}
    for endpoint in paginator.paginate(Filters=filters).build_full_result()["VpcEndpoints"]:
        # Filtered here too: not every AWS-compatible endpoint applies every filter.
        if endpoint.get("VpcEndpointType") == "Gateway" and endpoint.get("State", "").lower() in LIVE_ENDPOINT:
            found.setdefault(endpoint["ServiceName"], []).append(endpoint)
    return found


def wait_for_endpoints(module, ec2, endpoint_ids):
    # Imported here: only a run that creates an endpoint needs the waiters.
    from ansible_collections.amazon.aws.plugins.module_utils.waiters import wait_for_resource_state

    wait_for_resource_state(ec2, module, "vpc_endpoint_exists", delay=5, max_attempts=60, VpcEndpointIds=endpoint_ids)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            route_tables=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    subnets=dict(type="list", elements="str", default=[]),
                    routes=dict(
                        type="list",
                        elements="dict",
                        default=[],
                        options=dict(
                            dest=dict(type="str", required=True),
                            gateway_id=dict(type="str"),
                            nat_gateway_id=dict(type="str"),
                        ),
                        mutually_exclusive=[("gateway_id", "nat_gateway_id")],
                        required_one_of=[("gateway_id", "nat_gateway_id")],
                    ),
                    tags=dict(type="dict"),
                ),
            ),
            gateway_endpoints=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    service=dict(type="str", required=True),
                    route_tables=dict(type="list", elements="str", required=True),
                    tags=dict(type="dict"),
                ),
            ),
            purge_tags=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    tables, endpoints = module.params["route_tables"], module.params["gateway_endpoints"]
    problems = input_problems(tables, endpoints)
    if problems:
        module.fail_json(msg="Invalid route tables: " + "; ".join(problems), problems=problems)
    ec2 = retrying_client(module, "ec2", extra_error_codes=["InvalidRouteTableID.NotFound"])
    table_results, endpoint_results, created = [], [], []
    diff = {"before": {}, "after": {}}
    try:
        route_tables = RouteTables(module, ec2)
        for table in tables:
            before, after = route_tables.keep(table)
            table_results.append(after)
            if before != after:
                diff["before"][table["name"]], diff["after"][table["name"]] = before or {}, after
        table_ids = {after["name"]: after["id"] for after in table_results}
        live = live_gateway_endpoints(module, ec2) if endpoints else {}
        for endpoint in endpoints:
            found = live.get(endpoint["service"], [])
            if len(found) > 1:
                ids = ", ".join(e["VpcEndpointId"] for e in found)
                module.fail_json(
                    msg=f"More than one gateway endpoint of {module.params['vpc_id']} for {endpoint['service']}: {ids}"
                )
            before, after = keep_endpoint(module, ec2, endpoint, found[0] if found else None, table_ids)
            endpoint_results.append(after)
            if before is None and after["id"]:
                created.append(after["id"])
            if before != after:
                diff["before"][endpoint["service"]], diff["after"][endpoint["service"]] = before or {}, after
        if created and module.params["wait"]:
            wait_for_endpoints(module, ec2, created)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not keep the route tables of {module.params['vpc_id']}")
    module.exit_json(
        changed=bool(diff["after"]), route_tables=table_results, gateway_endpoints=endpoint_results, diff=diff
    )


if __name__ == "__main__":
    main()
