"""wafv2_web_acl_association and wafv2_logging_configuration against moto's WAFv2."""

import boto3
import pytest
from ansible_collections.onlywave.infra.plugins.modules import wafv2_logging_configuration as logging_mod
from ansible_collections.onlywave.infra.plugins.modules import wafv2_web_acl_association as association_mod
from moto import mock_aws

VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"}


@pytest.fixture
def edge():
    """A web ACL and an ALB in moto."""
    with mock_aws():
        waf = boto3.client("wafv2", region_name="eu-west-1")
        ec2 = boto3.client("ec2", region_name="eu-west-1")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"eu-west-1{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in enumerate("ab")
        ]
        alb = boto3.client("elbv2", region_name="eu-west-1").create_load_balancer(Name="edge", Subnets=subnets)
        acls = [
            waf.create_web_acl(
                Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY, Rules=[]
            )["Summary"]["ARN"]
            for name in ("first", "second")
        ]
        yield waf, alb["LoadBalancers"][0]["LoadBalancerArn"], acls


def associated(waf, resource):
    return (waf.get_web_acl_for_resource(ResourceArn=resource).get("WebACL") or {}).get("ARN", "")


def test_associates_once_then_changes_nothing(run_module, edge):
    waf, alb, (first, _second) = edge
    result = run_module(association_mod.main, {"resource_arn": alb, "web_acl_arn": first})
    assert result["changed"] is True and result["web_acl_arn"] == first
    assert associated(waf, alb) == first
    assert run_module(association_mod.main, {"resource_arn": alb, "web_acl_arn": first})["changed"] is False


def test_check_mode_associates_nothing(run_module, edge):
    waf, alb, (first, _second) = edge
    assert run_module(association_mod.main, {"resource_arn": alb, "web_acl_arn": first}, check_mode=True)["changed"]
    assert associated(waf, alb) == ""


def test_another_web_acl_replaces_the_first(run_module, edge):
    waf, alb, (first, second) = edge
    run_module(association_mod.main, {"resource_arn": alb, "web_acl_arn": first})
    result = run_module(association_mod.main, {"resource_arn": alb, "web_acl_arn": second})
    assert result["changed"] is True
    assert result["diff"] == {"before": {"web_acl_arn": first}, "after": {"web_acl_arn": second}}
    assert associated(waf, alb) == second


def test_absent_removes_only_the_named_web_acl(run_module, edge):
    waf, alb, (first, second) = edge
    run_module(association_mod.main, {"resource_arn": alb, "web_acl_arn": first})
    other = {"resource_arn": alb, "web_acl_arn": second, "state": "absent"}
    assert run_module(association_mod.main, other)["changed"] is False
    assert associated(waf, alb) == first
    assert run_module(association_mod.main, {"resource_arn": alb, "state": "absent"})["changed"] is True
    assert associated(waf, alb) == ""


def test_a_web_acl_found_by_name(run_module, edge):
    waf, alb, (_first, second) = edge
    result = run_module(association_mod.main, {"resource_arn": alb, "web_acl_name": "second"})
    assert result["changed"] is True and result["web_acl_arn"] == second and associated(waf, alb) == second
    assert run_module(association_mod.main, {"resource_arn": alb, "web_acl_name": "second"})["changed"] is False
    missing = run_module(association_mod.main, {"resource_arn": alb, "web_acl_name": "third"})
    assert missing["failed"] is True and missing["msg"] == "There is no regional web ACL named third"
    assert associated(waf, alb) == second


def test_a_load_balancer_found_by_name(run_module, edge):
    waf, alb, (first, _second) = edge
    args = {"load_balancer_name": "edge", "web_acl_arn": first}
    result = run_module(association_mod.main, args)
    assert result["changed"] is True and result["resource_arn"] == alb and associated(waf, alb) == first
    assert run_module(association_mod.main, args)["changed"] is False
    missing = run_module(association_mod.main, dict(args, load_balancer_name="nowhere"))
    assert missing["failed"] is True and missing["msg"] == "There is no load balancer named nowhere"
    both = run_module(association_mod.main, dict(args, resource_arn=alb))
    assert both["failed"] is True and "mutually exclusive" in both["msg"]


LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-onlywave-test"


def test_logging_is_configured_once_then_changes_nothing(run_module, edge):
    waf, _alb, (acl, _second) = edge
    args = {"web_acl_arn": acl, "log_destination": LOG_GROUP, "redacted_headers": ["Authorization", "cookie"]}
    first = run_module(logging_mod.main, args)
    assert first["changed"] is True and first["log_destination"] == LOG_GROUP
    config = waf.get_logging_configuration(ResourceArn=acl)["LoggingConfiguration"]
    assert config["LogDestinationConfigs"] == [LOG_GROUP]
    assert run_module(logging_mod.main, args)["changed"] is False


def test_logging_check_mode_and_absent(run_module, edge):
    waf, _alb, (acl, _second) = edge
    args = {"web_acl_arn": acl, "log_destination": LOG_GROUP}
    assert run_module(logging_mod.main, args, check_mode=True)["changed"] is True
    with pytest.raises(waf.exceptions.WAFNonexistentItemException):
        waf.get_logging_configuration(ResourceArn=acl)
    run_module(logging_mod.main, args)
    assert run_module(logging_mod.main, {"web_acl_arn": acl, "state": "absent"})["changed"] is True
    assert run_module(logging_mod.main, {"web_acl_arn": acl, "state": "absent"})["changed"] is False


def test_logging_refuses_a_destination_aws_would_refuse(run_module, edge):
    _waf, _alb, (acl, _second) = edge
    result = run_module(
        logging_mod.main, {"web_acl_arn": acl, "log_destination": "arn:aws:logs:eu-west-1:1:log-group:x"}
    )
    assert result["failed"] and "aws-waf-logs-" in result["msg"]
