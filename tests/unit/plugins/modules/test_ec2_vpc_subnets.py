import pytest
from ansible_collections.onlywave.infra.plugins.modules import ec2_vpc_subnets as mod


def subnets(app_tags=None):
    return [
        {"cidr": "10.9.0.0/24", "az": "eu-west-1a", "map_public": True, "tags": {"Name": "public-a", "Tier": "public"}},
        {"cidr": "10.9.16.0/20", "az": "eu-west-1b", "tags": app_tags or {"Name": "app-b", "Tier": "app"}},
    ]


def described(ec2, vpc_id):
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return {
        s["CidrBlock"]: (
            s["AvailabilityZone"],
            s["MapPublicIpOnLaunch"],
            {t["Key"]: t["Value"] for t in s.get("Tags", [])},
        )
        for s in found
    }


def test_creates_then_changes_nothing(run_module, vpc):
    ec2, vpc_id = vpc
    first = run_module(mod.main, {"vpc_id": vpc_id, "subnets": subnets()})
    assert first["changed"] is True
    assert [s["cidr"] for s in first["subnets"]] == ["10.9.0.0/24", "10.9.16.0/20"]
    assert all(s["id"].startswith("subnet-") for s in first["subnets"])
    assert described(ec2, vpc_id) == {
        "10.9.0.0/24": ("eu-west-1a", True, {"Name": "public-a", "Tier": "public"}),
        "10.9.16.0/20": ("eu-west-1b", False, {"Name": "app-b", "Tier": "app"}),
    }
    again = run_module(mod.main, {"vpc_id": vpc_id, "subnets": subnets()})
    assert again["changed"] is False and again["subnets"] == first["subnets"]


def test_check_mode_creates_nothing(run_module, vpc):
    ec2, vpc_id = vpc
    result = run_module(mod.main, {"vpc_id": vpc_id, "subnets": subnets()}, check_mode=True)
    assert result["changed"] is True and [s["id"] for s in result["subnets"]] == ["", ""]
    assert result["diff"]["after"]["10.9.0.0/24"]["map_public"] is True
    assert described(ec2, vpc_id) == {}


def test_tags_and_public_ips_are_corrected_in_place(run_module, vpc):
    ec2, vpc_id = vpc
    ids = [s["id"] for s in run_module(mod.main, {"vpc_id": vpc_id, "subnets": subnets()})["subnets"]]
    ec2.modify_subnet_attribute(SubnetId=ids[0], MapPublicIpOnLaunch={"Value": False})
    result = run_module(mod.main, {"vpc_id": vpc_id, "subnets": subnets(app_tags={"Name": "app-b"})})
    assert result["changed"] is True and [s["id"] for s in result["subnets"]] == ids
    assert result["diff"]["before"]["10.9.0.0/24"]["map_public"] is False
    assert result["diff"]["after"]["10.9.16.0/20"]["tags"] == {"Name": "app-b"}
    assert described(ec2, vpc_id)["10.9.0.0/24"][1] is True
    assert described(ec2, vpc_id)["10.9.16.0/20"][2] == {"Name": "app-b"}


def test_a_subnet_in_another_zone_fails(run_module, vpc):
    ec2, vpc_id = vpc
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.9.0.0/24", AvailabilityZone="eu-west-1c")
    result = run_module(mod.main, {"vpc_id": vpc_id, "subnets": subnets()})
    assert result["failed"] is True and "is in eu-west-1c, not eu-west-1a" in result["msg"]


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (["10.9.0.0/33"], "'10.9.0.0/33' is not an IPv4 network"),
        (["10.9.0.1/24"], "'10.9.0.1/24' is not an IPv4 network"),
        (["10.9.0.0/24", "10.9.0.0/24"], "subnets[1]: 10.9.0.0/24 is listed more than once"),
    ],
)
def test_bad_subnets_fail_before_any_call(run_module, cidrs, message):
    # No AWS mock here: a call would fail on credentials, not with this message.
    result = run_module(mod.main, {"vpc_id": "vpc-1", "subnets": [{"cidr": c, "az": "eu-west-1a"} for c in cidrs]})
    assert result["failed"] is True and message in result["msg"]
