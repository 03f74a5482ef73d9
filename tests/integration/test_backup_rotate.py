"""backup_rotate through Ansible against the S3 emulator (make aws): 10,000 hourly
backups, the design's policy, check mode first, then real deletions, then a
second run that deletes nothing. The emulator is not reset: the test uses a
bucket of its own and removes it."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from conftest import EMULATOR_URL, emulator_client, run

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
COUNT = 10_000
# 30 days of hourly backups (721, both ends included) and the newest of 12 months:
# November and October 2026 are within the 30 days, the 10 months before add one each.
EXPECTED_KEPT = 721 + 10


def listing(bucket):
    pages = emulator_client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


@pytest.fixture(scope="module")
def bucket():
    name = f"onlywave-rotate-test-{uuid.uuid4().hex[:8]}"
    client = emulator_client("s3")
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    keys = [f"postgresql/onlywave-test-postgresql-{NOW - timedelta(hours=n):%Y%m%dT%H%M%SZ}.dump" for n in range(COUNT)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=name, Key=key, Body=b"dump"), keys))
    client.put_object(Bucket=name, Key="postgresql/README", Body=b"not a backup")
    yield name
    left = sorted(listing(name))
    for start in range(0, len(left), 1000):
        client.delete_objects(Bucket=name, Delete={"Objects": [{"Key": key} for key in left[start : start + 1000]]})
    client.delete_bucket(Bucket=name)


def rotate(bucket, *extra):
    args = {
        "bucket": bucket, "prefix": "postgresql/", "max_age_days": 30, "monthly": 12, "now": NOW.isoformat(),
        "endpoint_url": EMULATOR_URL, "region": "eu-west-1", "access_key": "emulator", "secret_key": "emulator",
    }  # fmt: skip
    result = run("ansible", "localhost", "-o", "-m", "onlywave.infra.backup_rotate", "-a", json.dumps(args), *extra)
    return json.loads(result.stdout.split(" => ", 1)[1])


@pytest.fixture(scope="module")
def plan(bucket):
    """The check-mode run, before anything is deleted."""
    return rotate(bucket, "--check")


def test_check_mode_plans_exactly_and_deletes_nothing(bucket, plan):
    print(f"backup_rotate check mode over {COUNT + 1} objects: {plan['api_calls']} S3 calls")
    assert plan["changed"] is True
    assert len(plan["kept"]) == EXPECTED_KEPT and len(plan["deleted"]) == COUNT - EXPECTED_KEPT
    assert plan["unparsed"] == ["README"]
    assert plan["api_calls"] == 11  # 11 listing pages, no deletion
    assert len(listing(bucket)) == COUNT + 1


def test_rotation_deletes_the_plan_and_a_second_run_nothing(bucket, plan):
    result = rotate(bucket)
    print(f"backup_rotate over {COUNT + 1} objects: {result['api_calls']} S3 calls")
    assert result["deleted"] == plan["deleted"]
    assert result["api_calls"] == 11 + 10  # listing, then 10 DeleteObjects of up to 1000 keys
    kept = {f"postgresql/{name}" for backup in plan["kept"] for name in backup["entries"]}
    assert listing(bucket) == kept | {"postgresql/README"}
    again = rotate(bucket)
    assert again["changed"] is False and again["deleted"] == []
