"""s3_buckets against moto's S3."""

import json

import boto3
import pytest
from ansible_collections.onlywave.infra.plugins.modules import s3_buckets as mod
from moto import mock_aws


def tls_only(name):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def args(**backups):
    return {
        "buckets": [
            {"name": "assets", "policy": tls_only("assets"), "tags": {"Purpose": "assets"}},
            dict({"name": "backups", "versioning": True, "tags": {"Purpose": "backups"}}, **backups),
        ]
    }


@pytest.fixture
def s3():
    with mock_aws():
        yield boto3.client("s3", region_name="eu-west-1")


def settings(s3, name):
    """(public access block, ownership, encryption by default, versioning, policy, tags) of a bucket."""
    return (
        s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
        s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0][
            "ApplyServerSideEncryptionByDefault"
        ],
        s3.get_bucket_versioning(Bucket=name).get("Status"),
        json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) if name == "assets" else None,
        {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]},
    )


BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
# The assets bucket's settings, as settings() reads them, after a run with args().
ASSETS = (BLOCKED, "BucketOwnerEnforced", {"SSEAlgorithm": "AES256"}, None, tls_only("assets"), {"Purpose": "assets"})


def test_creates_then_changes_nothing(run_module, s3):
    first = run_module(mod.main, args())
    assert first["changed"] is True and sorted(first["diff"]["after"]) == ["assets", "backups"]
    assert s3.get_bucket_location(Bucket="assets")["LocationConstraint"] == "eu-west-1"
    assert settings(s3, "assets") == ASSETS
    assert settings(s3, "backups")[3] == "Enabled"
    again = run_module(mod.main, args())
    assert again["changed"] is False and again["buckets"] == first["buckets"]
    assert again["buckets"][1]["versioning"] is True and again["buckets"][0]["block_public_access"] is True


def test_check_mode_creates_nothing(run_module, s3):
    result = run_module(mod.main, args(), check_mode=True)
    assert result["changed"] is True and result["diff"]["before"]["assets"] == {}
    assert result["diff"]["after"]["backups"]["versioning"] is True
    assert s3.list_buckets()["Buckets"] == []


def test_drift_is_corrected_in_place(run_module, s3):
    run_module(mod.main, args())
    s3.delete_public_access_block(Bucket="assets")
    s3.put_bucket_ownership_controls(
        Bucket="assets", OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.delete_bucket_policy(Bucket="assets")
    s3.put_bucket_versioning(Bucket="backups", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(Bucket="backups", Tagging={"TagSet": [{"Key": "Stray", "Value": "x"}]})
    result = run_module(mod.main, args())
    assert result["changed"] is True
    assert result["diff"]["before"]["assets"]["block_public_access"] is False
    assert result["diff"]["before"]["assets"]["policy"] is None
    assert result["diff"]["before"]["backups"]["tags"] == {"Stray": "x"}
    assert settings(s3, "assets") == ASSETS
    assert settings(s3, "backups")[3] == "Enabled" and settings(s3, "backups")[5] == {"Purpose": "backups"}
    assert run_module(mod.main, args())["changed"] is False


def test_a_policy_in_another_order_is_the_same(run_module, s3):
    run_module(mod.main, args())
    reordered = args()
    statement = reordered["buckets"][0]["policy"]["Statement"][0]
    statement["Resource"] = list(reversed(statement["Resource"]))
    assert run_module(mod.main, reordered)["changed"] is False


def test_kms_encryption_and_omitted_settings(run_module, s3):
    run_module(mod.main, args())
    kms = args(encryption="aws:kms", encryption_key_id="alias/backups", versioning=None, tags=None)
    result = run_module(mod.main, kms)
    assert result["changed"] is True and list(result["diff"]["after"]) == ["backups"]
    encryption = settings(s3, "backups")[2]
    assert encryption == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/backups"}
    # Versioning and tags were omitted: left as they were.
    assert settings(s3, "backups")[3] == "Enabled" and settings(s3, "backups")[5] == {"Purpose": "backups"}
    assert run_module(mod.main, kms)["changed"] is False


def test_public_access_block_can_be_removed(run_module, s3):
    run_module(mod.main, args())
    result = run_module(mod.main, args(block_public_access=False))
    assert result["changed"] is True and result["buckets"][1]["block_public_access"] is False
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchPublicAccessBlockConfiguration"):
        s3.get_public_access_block(Bucket="backups")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "assets"}, "bucket assets is listed twice"),
        ({"encryption_key_id": "alias/x"}, "bucket backups: encryption_key_id needs encryption aws:kms"),
        ({"policy": "{not json"}, "bucket backups: the policy is not JSON"),
    ],
)
def test_bad_buckets_fail_before_any_call(run_module, change, message):
    # No AWS mock here: a call would fail on credentials, not with this message.
    result = run_module(mod.main, args(**change))
    assert result["failed"] is True and message in result["msg"]
