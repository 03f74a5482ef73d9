import pytest
from ansible_collections.onlywave.infra.plugins.modules import ec2_vpc_route_tables as mod

S3 = "com.amazonaws.eu-west-1.s3"


@pytest.fixture
def network(vpc):
    """The mock VPC with an internet gateway, a NAT gateway and three subnets: (EC2 client, VPC ID, IDs)."""
    ec2, vpc_id = vpc
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
        for i in range(3)
    ]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    return ec2, vpc_id, {"igw": igw, "nat": nat, "public": subnets[0], "app": subnets[1], "data": subnets[2]}


def args(vpc_id, ids, private_subnets=None, endpoint=True, tags=None):
    tables = [
        {
            "name": "public",
            "subnets": [ids["public"]],
            "routes": [{"dest": "0.0.0.0/0", "gateway_id": ids["igw"]}],
            "tags": tags or {"Environment": "test"},
        },
        {
            "name": "private-a",
            "subnets": private_subnets if private_subnets is not None else [ids["app"], ids["data"]],
            "routes": [{"dest": "0.0.0.0/0", "nat_gateway_id": ids["nat"]}],
            "tags": tags or {"Environment": "test"},
        },
    ]
    endpoints = [{"service": S3, "route_tables": ["private-a"], "tags": {"Name": "s3"}}] if endpoint else []
    return {"vpc_id": vpc_id, "route_tables": tables, "gateway_endpoints": endpoints}


def tables_of(ec2, vpc_id):
    """{Name tag: (sorted subnet IDs, {IPv4 destination: target}, tags)} of the VPC's named tables."""
    found = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    tables = {}
    for table in found:
        tags = {t["Key"]: t["Value"] for t in table.get("Tags", [])}
        if "Name" not in tags:
            continue
        subnets = sorted(a["SubnetId"] for a in table["Associations"] if a.get("SubnetId"))
        routes = {
            r["DestinationCidrBlock"]: r.get("NatGatewayId") or r.get("GatewayId")
            for r in table["Routes"]
            if r.get("DestinationCidrBlock") and r["Origin"] == "CreateRoute"
        }
        tables[tags["Name"]] = (subnets, routes, tags)
    return tables


def as_listed(ids):
    """tables_of() once the tables are as args() lists them."""
    tags = {"Environment": "test"}
    return {
        "public": ([ids["public"]], {"0.0.0.0/0": ids["igw"]}, dict(tags, Name="public")),
        "private-a": (sorted([ids["app"], ids["data"]]), {"0.0.0.0/0": ids["nat"]}, dict(tags, Name="private-a")),
    }


def endpoints_of(ec2, vpc_id):
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return [(e["ServiceName"], sorted(e["RouteTableIds"])) for e in found if e["State"].lower() == "available"]


def test_creates_then_changes_nothing(run_module, network):
    ec2, vpc_id, ids = network
    first = run_module(mod.main, args(vpc_id, ids))
    assert first["changed"] is True
    public, private = first["route_tables"]
    assert public["id"].startswith("rtb-") and private["id"].startswith("rtb-")
    assert tables_of(ec2, vpc_id) == as_listed(ids)
    assert endpoints_of(ec2, vpc_id) == [(S3, [private["id"]])]
    assert first["gateway_endpoints"][0]["route_table_ids"] == [private["id"]]
    local = [
        (t["RouteTableId"], r["DestinationCidrBlock"])
        for t in ec2.describe_route_tables(RouteTableIds=[public["id"], private["id"]])["RouteTables"]
        for r in t["Routes"]
        if r.get("GatewayId") == "local"
    ]
    assert sorted(local) == sorted([(public["id"], "10.9.0.0/16"), (private["id"], "10.9.0.0/16")])
    again = run_module(mod.main, args(vpc_id, ids))
    assert again["changed"] is False and again["route_tables"] == first["route_tables"]
    assert again["gateway_endpoints"] == first["gateway_endpoints"]


def test_check_mode_creates_nothing(run_module, network):
    ec2, vpc_id, ids = network
    result = run_module(mod.main, args(vpc_id, ids), check_mode=True)
    assert result["changed"] is True and [t["id"] for t in result["route_tables"]] == ["", ""]
    assert result["diff"]["after"]["private-a"]["routes"] == [{"dest": "0.0.0.0/0", "nat_gateway_id": ids["nat"]}]
    assert result["diff"]["after"][S3]["route_table_ids"] == [""]
    assert tables_of(ec2, vpc_id) == {} and endpoints_of(ec2, vpc_id) == []


def test_routes_subnets_and_tags_are_corrected_in_place(run_module, network):
    ec2, vpc_id, ids = network
    first = run_module(mod.main, args(vpc_id, ids))
    public, private = (t["id"] for t in first["route_tables"])
    # Drift: the default route through the NAT instead of the gateway, a stray route,
    # the data subnet moved to the public table, a tag changed.
    ec2.replace_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=ids["nat"])
    ec2.create_route(RouteTableId=private, DestinationCidrBlock="192.0.2.0/24", GatewayId=ids["igw"])
    association = next(
        a["RouteTableAssociationId"]
        for t in ec2.describe_route_tables(RouteTableIds=[private])["RouteTables"]
        for a in t["Associations"]
        if a.get("SubnetId") == ids["data"]
    )
    ec2.replace_route_table_association(AssociationId=association, RouteTableId=public)
    ec2.create_tags(Resources=[private], Tags=[{"Key": "Environment", "Value": "other"}])
    result = run_module(mod.main, args(vpc_id, ids))
    assert result["changed"] is True and [t["id"] for t in result["route_tables"]] == [public, private]
    assert result["diff"]["before"]["public"]["routes"] == [{"dest": "0.0.0.0/0", "nat_gateway_id": ids["nat"]}]
    assert result["diff"]["before"]["private-a"]["subnets"] == [ids["app"]]
    assert tables_of(ec2, vpc_id) == as_listed(ids)
    assert run_module(mod.main, args(vpc_id, ids))["changed"] is False


def test_unlisted_subnets_go_back_to_the_main_table(run_module, network):
    ec2, vpc_id, ids = network
    run_module(mod.main, args(vpc_id, ids))
    result = run_module(mod.main, args(vpc_id, ids, private_subnets=[ids["app"]]))
    assert result["changed"] is True and result["route_tables"][1]["subnets"] == [ids["app"]]
    assert tables_of(ec2, vpc_id)["private-a"][0] == [ids["app"]]


def test_a_subnet_is_taken_from_an_unlisted_table(run_module, network):
    ec2, vpc_id, ids = network
    other = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=ids["data"])
    result = run_module(mod.main, args(vpc_id, ids))
    assert result["route_tables"][1]["subnets"] == sorted([ids["app"], ids["data"]])
    assert tables_of(ec2, vpc_id)["private-a"][0] == sorted([ids["app"], ids["data"]])
    assert ec2.describe_route_tables(RouteTableIds=[other])["RouteTables"][0]["Associations"] == []


def test_the_endpoint_follows_its_tables(run_module, network):
    ec2, vpc_id, ids = network
    first = run_module(mod.main, args(vpc_id, ids))
    public, private = (t["id"] for t in first["route_tables"])
    endpoint = first["gateway_endpoints"][0]["id"]
    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint, AddRouteTableIds=[public], RemoveRouteTableIds=[private])
    result = run_module(mod.main, args(vpc_id, ids))
    assert result["changed"] is True and result["gateway_endpoints"][0]["id"] == endpoint
    assert result["diff"]["before"][S3]["route_table_ids"] == [public]
    assert endpoints_of(ec2, vpc_id) == [(S3, [private])]


def test_routes_to_the_endpoint_and_unlisted_tables_are_left_alone(run_module, network):
    ec2, vpc_id, ids = network
    other = ec2.create_route_table(
        VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "other"}]}]
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=other, DestinationCidrBlock="0.0.0.0/0", GatewayId=ids["igw"])
    run_module(mod.main, args(vpc_id, ids))
    private = tables_of(ec2, vpc_id)["private-a"]
    prefix_routes = [
        r
        for t in ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": ["private-a"]}])["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationPrefixListId")
    ]
    assert len(prefix_routes) == 1 and private[1] == {"0.0.0.0/0": ids["nat"]}
    assert tables_of(ec2, vpc_id)["other"][1] == {"0.0.0.0/0": ids["igw"]}
    assert run_module(mod.main, args(vpc_id, ids))["changed"] is False


def test_two_tables_with_one_name_fail(run_module, network):
    ec2, vpc_id, ids = network
    named_public = [{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "public"}]}]
    ec2.create_route_table(VpcId=vpc_id, TagSpecifications=named_public)
    ec2.create_route_table(VpcId=vpc_id, TagSpecifications=named_public)
    result = run_module(mod.main, args(vpc_id, ids))
    assert result["failed"] is True and "More than one route table" in result["msg"] and "named public" in result["msg"]


def test_omitted_tags_leave_other_tags(run_module, network):
    ec2, vpc_id, ids = network
    run_module(mod.main, args(vpc_id, ids))
    untagged = args(vpc_id, ids)
    for table in untagged["route_tables"]:
        table["tags"] = None
    assert run_module(mod.main, untagged)["changed"] is False
    assert tables_of(ec2, vpc_id)["public"][2] == {"Name": "public", "Environment": "test"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a["route_tables"][1].update(name="public"), "route table 'public' is listed twice"),
        (
            lambda a: a["route_tables"][1]["subnets"].append("subnet-1"),
            "subnet subnet-1 is listed in more than one table",
        ),
        (lambda a: a["route_tables"][0]["routes"][0].update(dest="0.0.0.0/33"), "'0.0.0.0/33' is not an IPv4 network"),
        (
            lambda a: a["route_tables"][0]["routes"].append({"dest": "0.0.0.0/0", "gateway_id": "igw-2"}),
            "route table 'public': a route to 0.0.0.0/0 is listed twice",
        ),
        (
            lambda a: a["gateway_endpoints"][0].update(route_tables=["nowhere"]),
            f"gateway endpoint {S3}: 'nowhere' is not a name in route_tables",
        ),
    ],
)
def test_bad_tables_fail_before_any_call(run_module, change, message):
    # No AWS mock here: a call would fail on credentials, not with this message.
    bad = args("vpc-1", {"igw": "igw-1", "nat": "nat-1", "public": "subnet-1", "app": "subnet-2", "data": "subnet-3"})
    change(bad)
    result = run_module(mod.main, bad)
    assert result["failed"] is True and message in result["msg"]


def test_a_route_needs_one_target(run_module):
    bad = args("vpc-1", {"igw": "igw-1", "nat": "nat-1", "public": "subnet-1", "app": "subnet-2", "data": "subnet-3"})
    bad["route_tables"][0]["routes"][0]["nat_gateway_id"] = "nat-1"
    result = run_module(mod.main, bad)
    assert result["failed"] is True and "mutually exclusive" in result["msg"]
