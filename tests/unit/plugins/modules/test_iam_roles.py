import json

import boto3
import pytest
from ansible_collections.onlywave.infra.plugins.modules import iam_roles as mod
from moto import mock_aws

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}],
}


@pytest.fixture
def iam():
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def roles(policies=None, tags=None):
    return [
        {
            "name": "t-api",
            "description": "API hosts",
            "assume_role_policy": TRUST,
            "policies": {"api": READ} if policies is None else policies,
            "instance_profile": True,
            "tags": tags or {"Tier": "api"},
        },
        {"name": "t-deploy", "assume_role_policy": TRUST, "max_session_duration": 7200},
    ]


def test_creates_then_changes_nothing(run_module, iam):
    first = run_module(mod.main, {"roles": roles()})
    assert first["changed"] is True
    assert first["roles"]["t-api"]["instance_profile_arn"].endswith(":instance-profile/t-api")
    assert first["roles"]["t-deploy"] == {"arn": first["roles"]["t-deploy"]["arn"], "instance_profile_arn": ""}
    assert iam.get_role_policy(RoleName="t-api", PolicyName="api")["PolicyDocument"] == READ
    profile = iam.get_instance_profile(InstanceProfileName="t-api")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["t-api"]
    assert iam.get_role(RoleName="t-deploy")["Role"]["MaxSessionDuration"] == 7200
    again = run_module(mod.main, {"roles": roles()})
    assert again["changed"] is False and again["roles"] == first["roles"]


def test_check_mode_creates_nothing(run_module, iam):
    result = run_module(mod.main, {"roles": roles()}, check_mode=True)
    assert result["changed"] is True and result["diff"]["after"]["t-api"]["created"] is True
    assert iam.list_roles()["Roles"] == []


def test_policies_are_exactly_the_listed_ones(run_module, iam):
    run_module(mod.main, {"roles": roles()})
    iam.put_role_policy(RoleName="t-api", PolicyName="extra", PolicyDocument=json.dumps(READ))
    managed = iam.create_policy(PolicyName="m", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="t-api", PolicyArn=managed)
    write = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}],
    }
    result = run_module(mod.main, {"roles": roles(policies={"api": write})})
    assert result["changed"] is True and result["diff"]["before"]["t-api"]["managed_policies"] == [managed]
    assert iam.list_role_policies(RoleName="t-api")["PolicyNames"] == ["api"]
    assert iam.get_role_policy(RoleName="t-api", PolicyName="api")["PolicyDocument"] == write
    assert iam.list_attached_role_policies(RoleName="t-api")["AttachedPolicies"] == []
    assert run_module(mod.main, {"roles": roles(policies={"api": write})})["changed"] is False


def test_trust_settings_and_tags_are_corrected(run_module, iam):
    run_module(mod.main, {"roles": roles()})
    iam.update_role(RoleName="t-api", Description="changed by hand")
    iam.tag_role(RoleName="t-api", Tags=[{"Key": "Owner", "Value": "someone"}])
    iam.update_assume_role_policy(
        RoleName="t-api",
        PolicyDocument=json.dumps(
            {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": "lambda.amazonaws.com"}}]}
        ),
    )
    result = run_module(mod.main, {"roles": roles(tags={"Tier": "api", "Env": "t"})})
    assert result["changed"] is True
    assert sorted(result["diff"]["after"]["t-api"]) == [
        "assume_role_policy",
        "instance_profile_tags",
        "role_tags",
        "settings",
    ]
    role = iam.get_role(RoleName="t-api")["Role"]
    assert role["Description"] == "API hosts" and role["AssumeRolePolicyDocument"] == TRUST
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {"Tier": "api", "Env": "t"}
    assert run_module(mod.main, {"roles": roles(tags={"Tier": "api", "Env": "t"})})["changed"] is False


def test_bad_roles_fail_before_any_call(run_module):
    # No AWS mock here: a call would fail on credentials, not with this message.
    bad = [
        {"name": "r", "assume_role_policy": TRUST, "max_session_duration": 60},
        {"name": "r", "assume_role_policy": TRUST},
    ]
    result = run_module(mod.main, {"roles": bad})
    assert result["failed"] is True
    assert (
        "role 'r' is listed more than once" in result["msg"]
        and "max_session_duration 60 is not between" in result["msg"]
    )
