import boto3
from ansible_collections.onlywave.infra.plugins.modules import ec2_vpc_flow_log as mod


def args(vpc_id, **extra):
    return {
        "resource_id": vpc_id,
        "log_group_name": "/onlywave/test/flow",
        "deliver_logs_permission_arn": "arn:aws:iam::123456789012:role/flow",
        "tags": {"Name": "test"},
        **extra,
    }


def flow_logs(ec2):
    return ec2.describe_flow_logs()["FlowLogs"]


def test_creates_once_then_changes_nothing(run_module, vpc):
    ec2, vpc_id = vpc
    first = run_module(mod.main, args(vpc_id))
    assert first["changed"] is True and first["flow_log_id"].startswith("fl-")
    again = run_module(mod.main, args(vpc_id))
    assert again["changed"] is False and again["flow_log_id"] == first["flow_log_id"]
    assert [(f["TrafficType"], f["LogGroupName"]) for f in flow_logs(ec2)] == [("ALL", "/onlywave/test/flow")]


def test_check_mode_creates_nothing(run_module, vpc):
    ec2, vpc_id = vpc
    assert run_module(mod.main, args(vpc_id), check_mode=True)["changed"] is True
    assert flow_logs(ec2) == []


def test_a_fixed_setting_replaces_the_flow_log(run_module, vpc):
    ec2, vpc_id = vpc
    first = run_module(mod.main, args(vpc_id))
    changed = run_module(mod.main, args(vpc_id, traffic_type="REJECT"))
    assert changed["changed"] is True and changed["flow_log_id"] != first["flow_log_id"]
    assert [f["TrafficType"] for f in flow_logs(ec2)] == ["REJECT"]


def test_tags_change_in_place(run_module, vpc):
    ec2, vpc_id = vpc
    first = run_module(mod.main, args(vpc_id))
    result = run_module(mod.main, args(vpc_id, tags={"Name": "test", "Environment": "dev"}))
    assert result["changed"] is True and result["flow_log_id"] == first["flow_log_id"]
    assert {t["Key"]: t["Value"] for t in flow_logs(ec2)[0]["Tags"]} == {"Name": "test", "Environment": "dev"}


def test_s3_destination(run_module, vpc):
    ec2, vpc_id = vpc
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="flow-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3_args = {"resource_id": vpc_id, "log_destination_type": "s3", "log_destination": "arn:aws:s3:::flow-logs"}
    assert run_module(mod.main, s3_args)["changed"] is True
    assert run_module(mod.main, s3_args)["changed"] is False
    assert flow_logs(ec2)[0]["LogDestination"] == "arn:aws:s3:::flow-logs"


def test_absent_deletes_then_changes_nothing(run_module, vpc):
    ec2, vpc_id = vpc
    run_module(mod.main, args(vpc_id))
    absent = {"resource_id": vpc_id, "log_group_name": "/onlywave/test/flow", "state": "absent"}
    assert run_module(mod.main, absent)["changed"] is True
    assert flow_logs(ec2) == []
    assert run_module(mod.main, absent)["changed"] is False


def test_cloudwatch_without_a_delivery_role_fails_clearly(run_module, vpc):
    _ec2, vpc_id = vpc
    result = run_module(mod.main, {"resource_id": vpc_id, "log_group_name": "/x"})
    assert result["failed"] and "deliver_logs_permission_arn is required" in result["msg"]


def test_a_vpc_found_by_name(run_module, vpc):
    ec2, vpc_id = vpc
    by_name = dict(args(None), vpc_name="onlywave-test")
    del by_name["resource_id"]
    missing = run_module(mod.main, by_name)
    assert missing["failed"] is True and missing["msg"] == "Expected one VPC named onlywave-test; found 0"
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "onlywave-test"}])
    first = run_module(mod.main, by_name)
    assert first["changed"] is True and first["resource_id"] == vpc_id
    assert [f["ResourceId"] for f in flow_logs(ec2)] == [vpc_id]
    assert run_module(mod.main, by_name)["changed"] is False
    subnet = run_module(mod.main, dict(by_name, resource_type="Subnet"))
    assert subnet["failed"] is True and subnet["msg"] == "vpc_name needs resource_type VPC; got Subnet"
