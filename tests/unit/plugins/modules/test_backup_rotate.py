"""backup_rotate on a real directory and on moto's S3: check mode, deletion,
idempotence, batching, versioned buckets, and the refusals."""

import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from ansible_collections.onlywave.infra.plugins.modules import backup_rotate as mod
from moto import mock_aws

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def dump_names(days):
    """A daily dump and its checksum, for each of the last `days` days."""
    names = []
    for n in range(days):
        stamp = f"{NOW - timedelta(days=n, hours=1):%Y%m%dT%H%M%SZ}"
        names += [f"onlywave-prod-postgresql-{stamp}.dump", f"onlywave-prod-postgresql-{stamp}.dump.sha256"]
    return names


@pytest.fixture
def backups(tmp_path):
    for name in [*dump_names(60), "README"]:
        (tmp_path / name).write_text(name)
    (tmp_path / "logs-20260101T000000Z").mkdir()
    return tmp_path


def test_check_mode_plans_and_deletes_nothing(run_module, backups):
    before = sorted(os.listdir(backups))
    result = run_module(mod.main, {"path": str(backups), "max_age_days": 30, "now": NOW.isoformat()}, check_mode=True)
    assert result["changed"] is True
    assert len(result["kept"]) == 30 and len(result["deleted"]) == 2 * 30 + 1
    assert result["kept"][0]["reasons"] == ["newest", "max_age_days 30"]
    assert result["kept"][0]["entries"] == dump_names(1)
    assert result["unparsed"] == ["README"]
    assert sorted(os.listdir(backups)) == before
    assert result["diff"]["before"].count("\n") == len(before) - 1 and result["diff"]["after"].count("\n") == 60


def test_deletes_what_the_policy_drops_then_nothing(run_module, backups):
    # 30 days of dumps (October's newest among them), and the newest of a third month: the directory.
    args = {"path": str(backups), "max_age_days": 30, "monthly": 3, "now": NOW.isoformat()}
    result = run_module(mod.main, args)
    left = set(os.listdir(backups))
    assert result["changed"] is True
    assert left == set(dump_names(30)) | {"logs-20260101T000000Z", "README"}
    assert not left & set(result["deleted"])
    assert run_module(mod.main, args)["changed"] is False


def test_nothing_is_deleted_when_nothing_parses_or_the_listing_is_empty(run_module, tmp_path):
    assert run_module(mod.main, {"path": str(tmp_path), "daily": 1})["changed"] is False
    (tmp_path / "notes.txt").write_text("x")
    result = run_module(mod.main, {"path": str(tmp_path), "daily": 1})
    assert result["changed"] is False and result["unparsed"] == ["notes.txt"]


def test_mtime_and_match(run_module, tmp_path):
    for n in range(5):
        path = tmp_path / f"app-{n}.log.gz"
        path.write_text("x")
        stamp = (NOW - timedelta(days=40 * n)).timestamp()
        os.utime(path, (stamp, stamp))
    (tmp_path / "other.txt").write_text("x")
    args = {"path": str(tmp_path), "time_source": "mtime", "match": r"\.log\.gz$", "max_age_days": 50}
    result = run_module(mod.main, dict(args, now=NOW.isoformat()))
    assert result["deleted"] == ["app-4.log.gz", "app-3.log.gz", "app-2.log.gz"]
    assert sorted(os.listdir(tmp_path)) == ["app-0.log.gz", "app-1.log.gz", "other.txt"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "the policy keeps nothing"),
        ({"daily": -1}, "must not be negative"),
        ({"daily": 1, "name_format": "%H%M"}, "name_format must contain"),
        ({"daily": 1, "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"daily": 1, "now": "2026-11-29T03:00:00"}, "now must carry an offset"),
    ],
)
def test_bad_options_are_refused_before_anything_is_deleted(run_module, backups, args, message):
    result = run_module(mod.main, dict(args, path=str(backups)))
    assert result["failed"] is True and message in result["msg"]
    assert len(os.listdir(backups)) == 2 * 60 + 2


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="backups", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def keys(s3, prefix=""):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="backups", Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_s3_deletes_in_batches_of_1000(run_module, s3):
    names = [f"onlywave-prod-logs-{NOW - timedelta(hours=n):%Y%m%dT%H%M%SZ}.tar.gz" for n in range(2600)]
    for name in names:
        s3.put_object(Bucket="backups", Key=f"logs/{name}", Body=b"x")
    s3.put_object(Bucket="backups", Key="other/keep-me", Body=b"x")
    args = {"bucket": "backups", "prefix": "logs/", "daily": 3, "now": NOW.isoformat()}
    plan = run_module(mod.main, args, check_mode=True)
    assert len(plan["kept"]) == 3 and len(plan["deleted"]) == 2597
    assert len(keys(s3)) == 2601
    result = run_module(mod.main, args)
    assert keys(s3) == {"other/keep-me"} | {f"logs/{b['name']}.tar.gz" for b in plan["kept"]}
    # 3 listing pages, 3 DeleteObjects calls.
    assert result["api_calls"] == 6


@pytest.mark.parametrize(("versions", "left"), [("delete_marker", 2), ("all_versions", 0)])
def test_versioned_buckets(run_module, s3, versions, left):
    s3.put_bucket_versioning(Bucket="backups", VersioningConfiguration={"Status": "Enabled"})
    for n in range(3):
        for body in (b"first", b"second"):
            s3.put_object(Bucket="backups", Key=f"pg/db-{NOW - timedelta(days=n):%Y%m%dT%H%M%SZ}.dump", Body=body)
    args = {"bucket": "backups", "prefix": "pg/", "daily": 1, "now": NOW.isoformat(), "versions": versions}
    result = run_module(mod.main, args)
    assert len(result["deleted"]) == 2
    listing = s3.list_object_versions(Bucket="backups", Prefix="pg/")
    gone = {f"pg/{name}" for name in result["deleted"]}
    assert len([v for v in listing.get("Versions", []) if v["Key"] in gone]) == 2 * left
    assert len([m for m in listing.get("DeleteMarkers", []) if m["Key"] in gone]) == left // 2 * 2
    assert len(keys(s3, "pg/")) == 1
