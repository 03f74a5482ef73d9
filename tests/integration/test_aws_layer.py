"""The AWS layer against the local emulator (make aws): the security baseline of dev, check mode,
staging's layout and aws_ec2 inventory, and a destroy that leaves nothing (prod's: test_rehearsal.py).

Every run starts from a freshly reset emulator.
"""

import json
import os
import time
from collections import Counter
from urllib.request import Request, urlopen

import pytest
from conftest import EMULATOR_URL as URL
from conftest import aws_leftovers, inventory_args, run
from conftest import emulator_client as client

EMULATOR_VARS = ["-e", "@tests/integration/aws-emulator.yml", "-e", f"aws_endpoint_url={URL}"]
TIMINGS = {}


def reset_emulator():
    urlopen(Request(f"{URL}/moto-api/reset", method="POST"), timeout=10).read()


def flt(name, *values):
    """An EC2 API filter."""
    return {"Name": name, "Values": list(values)}


def instances(*filters):
    """The running or starting instances that match the filters."""
    reservations = client("ec2").describe_instances(
        Filters=[*filters, flt("instance-state-name", "running", "pending")]
    )
    return [i for r in reservations["Reservations"] for i in r["Instances"]]


def tag(resource, key):
    return next(t["Value"] for t in resource.get("Tags", []) if t["Key"] == key)


def aws_playbook(playbook, env, *extra, check=True, label=None):
    args = ["ansible-playbook", playbook, *inventory_args(env)]
    # dev's inventory names the default emulator; make integration runs this test on another.
    args += EMULATOR_VARS if env != "dev" else ["-e", f"aws_endpoint_url={URL}"]
    start = time.monotonic()
    result = run(*args, *extra, check=check)
    if label:
        TIMINGS[label] = time.monotonic() - start
        print(f"\n{label}: {TIMINGS[label]:.1f} s")
    return result


def changed_count(result):
    """Changes in the recap of playbooks/aws.yml: localhost's and its controller-side workers' (aws_*)."""
    recap = result.stdout[result.stdout.rfind("PLAY RECAP") :].splitlines()
    counts = {line.split()[0]: int(line.split("changed=")[1].split()[0]) for line in recap if "changed=" in line}
    assert "localhost" in counts and {"aws_vpc", "aws_waf"} <= counts.keys(), result.stdout[-2000:]
    return sum(counts.values())


# --- Bad inventory values fail in preflight, before any API call -----------------------------

OVERLAPPING = {"public": ["10.30.0.0/24"], "app": ["10.30.0.128/25"], "data": ["10.30.2.0/24"]}
OUTSIDE = {"public": ["10.99.0.0/24"], "app": ["10.30.1.0/24"], "data": ["10.30.2.0/24"]}
BAD_VALUES = [
    ({"aws_vpc_subnets": OVERLAPPING}, "aws_vpc_subnets overlap: 10.30.0.0/24 and 10.30.0.128/25"),
    ({"aws_vpc_subnets": OUTSIDE}, "are not inside aws_vpc_cidr"),
    ({"aws_vpc_availability_zones": ["eu-west-1a", "eu-west-1b"]}, "each tier needs one subnet per zone"),
    ({"aws_vpc_cidr": "10.0.0.0/8"}, "aws_vpc_cidr must be between a /16 and a /28"),
    ({"aws_waf_rate_limit": 5}, "aws_waf_rate_limit must be 10"),
    (
        {"aws_waf_managed_rule_groups": ["AWSManagedRulesEverything"]},
        "aws_waf_managed_rule_groups ['AWSManagedRulesEverything']",
    ),
    ({"aws_s3_backups_bucket": "Not_A_Bucket"}, "must be valid S3 bucket names"),
    ({"aws_ec2_tiers": ["web"]}, "aws_ec2_tiers ['web']: not a tier of aws_ec2_hosts"),
]


@pytest.mark.parametrize(("extra_vars", "message"), BAD_VALUES, ids=[next(iter(v[0])) for v in BAD_VALUES])
def test_a_bad_value_fails_before_any_api_call(extra_vars, message):
    reset_emulator()
    result = aws_playbook("playbooks/aws.yml", "dev", "-e", json.dumps(extra_vars), check=False)
    assert result.returncode != 0
    assert message in result.stdout
    assert [v for v in client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    assert client("iam").list_roles()["Roles"] == []


# --- dev: apply, then the security baseline ----------------------------------------------------


@pytest.fixture(scope="module")
def dev():
    reset_emulator()
    result = aws_playbook("playbooks/aws.yml", "dev", label="dev apply (fresh emulator)")
    assert changed_count(result) > 0
    return result


def test_default_security_group_has_no_rules(dev):
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["onlywave-dev"]}])["Vpcs"][0]
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    assert default["IpPermissions"] == []
    assert default["IpPermissionsEgress"] == []


def test_only_the_alb_takes_traffic_from_anywhere_and_only_http_s(dev):
    groups = client("ec2").describe_security_groups(Filters=[{"Name": "tag:Environment", "Values": ["dev"]}])
    open_ingress = [
        (g["GroupName"], p.get("FromPort"))
        for g in groups["SecurityGroups"]
        for p in g["IpPermissions"]
        if any(r["CidrIp"] == "0.0.0.0/0" for r in p.get("IpRanges", []))
    ]
    assert sorted(open_ingress) == [("onlywave-dev-alb", 80), ("onlywave-dev-alb", 443)]
    for group in groups["SecurityGroups"]:
        for permission in group["IpPermissions"]:
            assert permission.get("UserIdGroupPairs") or permission.get("IpRanges"), group["GroupName"]


def test_flow_logs_record_all_traffic_for_30_days(dev):
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["onlywave-dev"]}])["Vpcs"][0]
    logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]
    assert [(f["TrafficType"], f["LogGroupName"]) for f in logs] == [("ALL", "/onlywave/dev/vpc-flow-logs")]
    group = client("logs").describe_log_groups(logGroupNamePrefix="/onlywave/dev/vpc-flow-logs")["logGroups"][0]
    assert group["retentionInDays"] == 30


def test_s3_gateway_endpoint_serves_the_private_subnets(dev):
    endpoints = client("ec2").describe_vpc_endpoints(
        Filters=[{"Name": "service-name", "Values": ["com.amazonaws.eu-west-1.s3"]}]
    )["VpcEndpoints"]
    live = [e for e in endpoints if e["State"] not in ("deleted", "deleting")]
    assert len(live) == 1 and live[0]["VpcEndpointType"] == "Gateway" and live[0]["RouteTableIds"]


@pytest.mark.parametrize("purpose", ["assets", "backups", "logs"])
def test_buckets_are_private_encrypted_and_tls_only(dev, purpose):
    s3, bucket = client("s3"), f"onlywave-dev-{purpose}"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny[0]["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}


def test_backups_are_versioned_and_expire_after_30_days(dev):
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket="onlywave-dev-backups")["Status"] == "Enabled"
    for bucket in ("onlywave-dev-backups", "onlywave-dev-logs"):
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert [r["Expiration"]["Days"] for r in rules if r["Status"] == "Enabled"] == [30], bucket
    backups = s3.get_bucket_lifecycle_configuration(Bucket="onlywave-dev-backups")["Rules"][0]
    assert backups["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30


def test_alb_redirects_http_drops_invalid_headers_and_has_the_web_acl(dev):
    elb = client("elbv2")
    alb = elb.describe_load_balancers(Names=["onlywave-dev"])["LoadBalancers"][0]
    described = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])
    listeners = {listener["Port"]: listener for listener in described["Listeners"]}
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert listeners[443]["Protocol"] == "HTTPS" and listeners[443]["DefaultActions"][0]["Type"] == "forward"
    described = elb.describe_load_balancer_attributes(LoadBalancerArn=alb["LoadBalancerArn"])
    attributes = {a["Key"]: a["Value"] for a in described["Attributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == "onlywave-dev-logs"
    web_acl = client("wafv2").get_web_acl_for_resource(ResourceArn=alb["LoadBalancerArn"])["WebACL"]
    assert web_acl["Name"] == "onlywave-dev"


def test_target_group_checks_readiness_and_drains(dev):
    elb = client("elbv2")
    group = elb.describe_target_groups(Names=["onlywave-dev-api"])["TargetGroups"][0]
    assert group["HealthCheckPath"] == "/health"
    described = elb.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])
    attributes = {a["Key"]: a["Value"] for a in described["Attributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"


def test_waf_has_the_managed_groups_the_rate_rule_and_logging(dev):
    waf = client("wafv2")
    summary = next(a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == "onlywave-dev")
    acl = waf.get_web_acl(Name="onlywave-dev", Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    statements = [r["Statement"] for r in acl["Rules"]]
    managed = [s["ManagedRuleGroupStatement"]["Name"] for s in statements if "ManagedRuleGroupStatement" in s]
    assert managed == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
    ]
    rate = [s["RateBasedStatement"] for s in statements if "RateBasedStatement" in s]
    assert [(r["Limit"], r["AggregateKeyType"]) for r in rate] == [(2000, "IP")]
    logging = waf.get_logging_configuration(ResourceArn=summary["ARN"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"][0].endswith(":log-group:aws-waf-logs-onlywave-dev")


def test_oidc_trust_pins_audience_and_subject(dev):
    iam = client("iam")
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"].split("/", 1)[1] for p in providers] == ["token.actions.githubusercontent.com"]
    trust = iam.get_role(RoleName="onlywave-dev-deploy")["Role"]["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    statement = trust["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:onlywave/onlywave-api:environment:dev",
    }


def test_instance_roles_have_least_privilege_and_no_user_has_a_key(dev):
    iam = client("iam")
    api = iam.get_role_policy(RoleName="onlywave-dev-api", PolicyName="api")["PolicyDocument"]
    actions = {a for s in api["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }
    objects = next(s for s in api["Statement"] if s["Sid"] == "AssetsObjects")
    assert objects["Resource"] == "arn:aws:s3:::onlywave-dev-assets/api/*"
    assert iam.list_role_policies(RoleName="onlywave-dev-cache")["PolicyNames"] == []
    for role in ("onlywave-dev-api", "onlywave-dev-database", "onlywave-dev-cache", "onlywave-dev-deploy"):
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    for user in iam.list_users()["Users"]:
        assert iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"] == []


def test_ecr_repository_is_immutable_scanned_and_pruned(dev):
    ecr = client("ecr")
    repo = ecr.describe_repositories(repositoryNames=["onlywave/dev/api"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    policy = json.loads(ecr.get_lifecycle_policy(repositoryName="onlywave/dev/api")["lifecyclePolicyText"])
    assert {r["selection"]["tagStatus"] for r in policy["rules"]} == {"untagged", "any"}


def test_hosts_are_private_imdsv2_and_tagged_by_tier(dev):
    hosts = instances(flt("tag:Environment", "dev"))
    assert sorted(tag(i, "tier") for i in hosts) == ["api", "cache", "database", "logging", "monitoring"]
    for instance in hosts:
        assert "PublicIpAddress" not in instance
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert instance["IamInstanceProfile"]["Arn"].endswith("onlywave-dev-" + tag(instance, "tier"))


# dev's re-apply changing nothing is the dev environment test's second site.yml
# run (the recap lines of the AWS layer's workers included): it is not repeated here.


def test_dev_check_mode_changes_nothing(dev):
    result = aws_playbook("playbooks/aws.yml", "dev", "--check", label="dev apply --check")
    assert changed_count(result) == 0


# --- staging: its own layout ----------------------------------------------------------------------
# prod's layout, its aws_ec2 inventory, its destroy and the refusal of that
# destroy without confirmation are tested by the prod rehearsal
# (test_rehearsal.py), which applies prod's AWS layer from an empty emulator.


def test_staging_applies_with_its_own_layout(dev):
    aws_playbook("playbooks/aws.yml", "staging", label="staging apply")
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["onlywave-staging"]}])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.10.0.0/16"
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    assert len(subnets) == 3 * 2
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    nats = [n for n in ec2.describe_nat_gateways(Filter=in_vpc)["NatGateways"] if n["State"] == "available"]
    assert len(nats) == 1
    per_zone = Counter(i["Placement"]["AvailabilityZone"] for i in instances(*in_vpc, flt("tag:tier", "api")))
    assert sorted(per_zone.values()) == [1, 1]


def test_the_aws_ec2_inventory_groups_staging_hosts_by_tier(dev):
    env = dict(os.environ, AWS_URL=URL, AWS_ACCESS_KEY_ID="emulator", AWS_SECRET_ACCESS_KEY="emulator")
    vault = "staging@tests/vault/staging.vault-pass"
    result = run("ansible-inventory", "-i", "inventories/staging", "--vault-id", vault, "--list", env=env)
    groups = json.loads(result.stdout)
    sizes = {
        tier: len(groups.get(tier, {}).get("hosts", []))
        for tier in ("api", "database", "cache", "monitoring", "logging")
    }
    assert sizes == {"api": 2, "database": 1, "cache": 1, "monitoring": 1, "logging": 1}


def test_destroy_leaves_nothing(dev):
    for env in ("dev", "staging"):
        aws_playbook("playbooks/aws_destroy.yml", env, label=f"{env} destroy")
    left = aws_leftovers(client)
    assert {kind: found for kind, found in left.items() if found} == {}
