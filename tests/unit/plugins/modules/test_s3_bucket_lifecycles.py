"""s3_bucket_lifecycles against moto's S3."""

import boto3
import pytest
from ansible_collections.onlywave.infra.plugins.modules import s3_bucket_lifecycles as mod
from moto import mock_aws

EXPIRE = {
    "id": "expire-after-30-days",
    "expiration_days": 30,
    "noncurrent_version_expiration_days": 30,
    "abort_incomplete_multipart_upload_days": 7,
}
ABORT = {"id": "abort-incomplete-uploads", "abort_incomplete_multipart_upload_days": 7}
ARGS = {"buckets": [{"name": "backups", "rules": [EXPIRE]}, {"name": "assets", "rules": [ABORT]}]}


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for name in ("backups", "assets"):
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def rules(s3, bucket):
    return {rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}


def test_keeps_every_bucket_once_then_changes_nothing(run_module, s3):
    first = run_module(mod.main, ARGS)
    assert first["changed"] is True and sorted(first["diff"]["after"]) == ["assets", "backups"]
    backups = rules(s3, "backups")["expire-after-30-days"]
    assert backups["Expiration"] == {"Days": 30}
    assert backups["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert backups["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert backups["Status"] == "Enabled"
    assert "Expiration" not in rules(s3, "assets")["abort-incomplete-uploads"]
    again = run_module(mod.main, ARGS)
    assert again["changed"] is False and again["diff"] == {"before": {}, "after": {}}
    assert again["buckets"]["assets"][0]["ID"] == "abort-incomplete-uploads"


def test_check_mode_writes_nothing(run_module, s3):
    result = run_module(mod.main, ARGS, check_mode=True)
    assert result["changed"] is True
    assert result["buckets"]["backups"][0]["Expiration"] == {"Days": 30}
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchLifecycleConfiguration"):
        s3.get_bucket_lifecycle_configuration(Bucket="backups")


def test_a_changed_rule_is_rewritten_and_only_its_bucket(run_module, s3):
    run_module(mod.main, ARGS)
    shorter = {"buckets": [{"name": "backups", "rules": [dict(EXPIRE, expiration_days=14)]}, ARGS["buckets"][1]]}
    result = run_module(mod.main, shorter)
    assert result["changed"] is True and list(result["diff"]["after"]) == ["backups"]
    assert result["diff"]["before"]["backups"][0]["Expiration"] == {"Days": 30}
    assert rules(s3, "backups")["expire-after-30-days"]["Expiration"] == {"Days": 14}


def test_other_rules_are_removed_or_kept(run_module, s3):
    s3.put_bucket_lifecycle_configuration(
        Bucket="assets",
        LifecycleConfiguration={
            "Rules": [{"ID": "by-hand", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]
        },
    )
    kept = run_module(mod.main, dict(ARGS, purge_rules=False))
    assert kept["changed"] is True and sorted(rules(s3, "assets")) == ["abort-incomplete-uploads", "by-hand"]
    assert run_module(mod.main, dict(ARGS, purge_rules=False))["changed"] is False
    purged = run_module(mod.main, ARGS)
    assert purged["changed"] is True and sorted(rules(s3, "assets")) == ["abort-incomplete-uploads"]


def test_no_rules_removes_the_configuration(run_module, s3):
    run_module(mod.main, ARGS)
    result = run_module(mod.main, {"buckets": [{"name": "assets", "rules": []}]})
    assert result["changed"] is True and result["buckets"] == {"assets": []}
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchLifecycleConfiguration"):
        s3.get_bucket_lifecycle_configuration(Bucket="assets")
    assert run_module(mod.main, {"buckets": [{"name": "assets", "rules": []}]})["changed"] is False


@pytest.mark.parametrize(
    ("buckets", "message"),
    [
        ([{"name": "assets", "rules": [{"id": "nothing"}]}], "bucket assets, rule nothing: needs at least one of"),
        ([{"name": "assets", "rules": [dict(ABORT, abort_incomplete_multipart_upload_days=0)]}], "must be 1 or more"),
        ([{"name": "assets", "rules": [ABORT, ABORT]}], "bucket assets: rule abort-incomplete-uploads is listed twice"),
        ([{"name": "assets", "rules": [ABORT]}] * 2, "bucket assets is listed twice"),
    ],
)
def test_bad_arguments_fail_before_any_call(run_module, monkeypatch, buckets, message):
    # No moto here: a call to AWS would fail with another message.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    result = run_module(mod.main, {"buckets": buckets})
    assert result["failed"] is True and message in result["msg"]


def test_a_missing_bucket_fails_clearly(run_module, s3):
    result = run_module(mod.main, {"buckets": [{"name": "nowhere", "rules": [ABORT]}]})
    assert result["failed"] is True and result["msg"].startswith("Could not keep the lifecycle rules of bucket nowhere")
