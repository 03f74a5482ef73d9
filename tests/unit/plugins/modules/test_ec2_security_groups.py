import pytest
from ansible_collections.onlywave.infra.plugins.modules import ec2_security_groups as mod


def groups(web_desc="HTTP(S)"):
    return [
        {"name": "default", "description": "default VPC security group"},
        {
            "name": "t-web",
            "description": "web",
            "tags": {"Name": "t-web", "Tier": "web"},
            "ingress": [{"ports": [80, "443"], "cidr_ip": ["0.0.0.0/0"], "rule_desc": web_desc}],
            "egress": [{"ports": ["8000"], "group_name": "t-api", "rule_desc": "to the API"}],
        },
        {
            "name": "t-api",
            "description": "api",
            "tags": {"Name": "t-api"},
            "ingress": [{"ports": [8000], "group_name": "t-web", "rule_desc": "from web"}],
            "egress": [{"proto": "udp", "ports": ["1000-2000"], "cidr_ip": ["10.0.0.0/8"]}],
        },
    ]


def described(ec2, vpc_id):
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return {g["GroupName"]: g for g in found}


def peers(perms):
    """(proto, from, to, peer, description) of every rule."""
    return sorted(
        (
            p["IpProtocol"],
            p.get("FromPort"),
            p.get("ToPort"),
            r.get("CidrIp") or r.get("GroupId"),
            r.get("Description", ""),
        )
        for p in perms
        for r in p.get("IpRanges", []) + p.get("UserIdGroupPairs", [])
    )


def test_creates_groups_that_refer_to_each_other_then_changes_nothing(run_module, vpc):
    ec2, vpc_id = vpc
    first = run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()})
    assert first["changed"] is True and sorted(first["created"]) == ["t-api", "t-web"]
    ids = first["group_ids"]
    found = described(ec2, vpc_id)
    assert peers(found["t-web"]["IpPermissions"]) == [
        ("tcp", 80, 80, "0.0.0.0/0", "HTTP(S)"),
        ("tcp", 443, 443, "0.0.0.0/0", "HTTP(S)"),
    ]
    # The default allow-all egress of a new group is gone: only the listed rule is left.
    assert peers(found["t-web"]["IpPermissionsEgress"]) == [("tcp", 8000, 8000, ids["t-api"], "to the API")]
    assert peers(found["t-api"]["IpPermissionsEgress"]) == [("udp", 1000, 2000, "10.0.0.0/8", "")]
    assert peers(found["default"]["IpPermissions"] + found["default"]["IpPermissionsEgress"]) == []
    assert {t["Key"]: t["Value"] for t in found["t-web"]["Tags"]} == {"Name": "t-web", "Tier": "web"}
    again = run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()})
    assert again["changed"] is False and again["created"] == [] and again["group_ids"] == ids


def test_check_mode_creates_nothing_and_reports_it(run_module, vpc):
    ec2, vpc_id = vpc
    result = run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()}, check_mode=True)
    assert result["changed"] is True and sorted(result["created"]) == ["t-api", "t-web"]
    assert sorted(described(ec2, vpc_id)) == ["default"]
    assert result["diff"]["after"]["t-web"]["egress"] == ["tcp 8000 t-api (to the API)"]


def test_a_new_description_keeps_the_rule(run_module, vpc):
    # A rule to a network: moto keeps the description of a rule to a group as it was (real AWS
    # updates both kinds with the same call).
    ec2, vpc_id = vpc
    run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()})
    result = run_module(mod.main, {"vpc_id": vpc_id, "groups": groups(web_desc="web traffic")})
    assert result["changed"] is True
    assert result["diff"]["before"]["t-web"]["ingress"] == ["tcp 443 0.0.0.0/0 (HTTP(S))", "tcp 80 0.0.0.0/0 (HTTP(S))"]
    assert result["diff"]["after"]["t-web"]["ingress"] == [
        "tcp 443 0.0.0.0/0 (web traffic)",
        "tcp 80 0.0.0.0/0 (web traffic)",
    ]
    ingress = described(ec2, vpc_id)["t-web"]["IpPermissions"]
    assert peers(ingress) == [
        ("tcp", 80, 80, "0.0.0.0/0", "web traffic"),
        ("tcp", 443, 443, "0.0.0.0/0", "web traffic"),
    ]
    assert run_module(mod.main, {"vpc_id": vpc_id, "groups": groups(web_desc="web traffic")})["changed"] is False


def test_rules_and_tags_added_by_hand_are_removed(run_module, vpc):
    ec2, vpc_id = vpc
    ids = run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()})["group_ids"]
    ec2.authorize_security_group_ingress(
        GroupId=ids["t-api"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}],
    )
    ec2.create_tags(Resources=[ids["t-api"]], Tags=[{"Key": "Owner", "Value": "someone"}])
    result = run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()})
    assert result["changed"] is True
    assert result["diff"]["before"]["t-api"]["ingress"] == ["tcp 22 1.2.3.4/32", "tcp 8000 t-web (from web)"]
    found = described(ec2, vpc_id)["t-api"]
    assert peers(found["IpPermissions"]) == [("tcp", 8000, 8000, ids["t-web"], "from web")]
    assert {t["Key"]: t["Value"] for t in found["Tags"]} == {"Name": "t-api"}
    assert run_module(mod.main, {"vpc_id": vpc_id, "groups": groups()})["changed"] is False


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"ports": [], "cidr_ip": ["0.0.0.0/0"]}, "proto tcp needs ports"),
        ({"proto": "all", "ports": [80], "cidr_ip": ["0.0.0.0/0"]}, "ports are not allowed with proto all"),
        ({"ports": ["70000"], "cidr_ip": ["0.0.0.0/0"]}, "'70000' is not a port"),
        ({"ports": ["90-80"], "cidr_ip": ["0.0.0.0/0"]}, "'90-80' is not a port"),
        ({"ports": [80], "cidr_ip": ["10.0.0.300/8"]}, "'10.0.0.300/8' is not an IPv4 network"),
    ],
)
def test_bad_rules_fail_before_any_call(run_module, rule, message):
    # No AWS mock here: a call would fail on credentials, not with this message.
    result = run_module(mod.main, {"vpc_id": "vpc-1", "groups": [{"name": "g", "description": "d", "ingress": [rule]}]})
    assert result["failed"] is True and message in result["msg"] and "g ingress[0]" in result["msg"]


def test_a_group_listed_twice_fails(run_module):
    twice = [{"name": "g", "description": "d"}, {"name": "g", "description": "d"}]
    result = run_module(mod.main, {"vpc_id": "vpc-1", "groups": twice})
    assert result["failed"] is True and "'g' is listed more than once" in result["msg"]


def test_an_unknown_group_name_fails_before_any_change(run_module, vpc):
    ec2, vpc_id = vpc
    bad = [{"name": "t-x", "description": "x", "ingress": [{"ports": [1], "group_name": "t-nowhere"}]}]
    result = run_module(mod.main, {"vpc_id": vpc_id, "groups": bad})
    assert result["failed"] is True and result["msg"].endswith(": t-nowhere")
    assert sorted(described(ec2, vpc_id)) == ["default"]
