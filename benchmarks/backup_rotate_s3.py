#!/usr/bin/env python3
"""backup_rotate over 10,000 S3 objects in the local emulator (make aws): the
time of a check-mode run and of the real rotation through Ansible, and the S3
API calls each used (listing pages, DeleteObjects batches).

Policy: the design's 30 days plus 12 monthly, over hourly backups.
Usage: .venv/bin/python benchmarks/backup_rotate_s3.py [objects]   (needs: make aws)
"""

import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    url = subprocess.run([ROOT / "scripts/aws.sh", "url"], capture_output=True, text=True, check=True).stdout.strip()
    keys = {"endpoint_url": url, "region": "eu-west-1", "access_key": "emulator", "secret_key": "emulator"}
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="emulator", aws_secret_access_key="emulator"
    )
    bucket = f"onlywave-rotate-bench-{uuid.uuid4().hex[:8]}"
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    start = time.monotonic()
    names = [f"db/onlywave-bench-postgresql-{now - timedelta(hours=n):%Y%m%dT%H%M%SZ}.dump" for n in range(count)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), names))
    print(f"uploaded {count} objects in {time.monotonic() - start:.1f} s")

    args = {"bucket": bucket, "prefix": "db/", "max_age_days": 30, "monthly": 12, "now": now.isoformat(), **keys}
    for label, extra in (("check mode", ["--check"]), ("rotation", []), ("second run", [])):
        start = time.monotonic()
        out = subprocess.run(
            ["ansible", "localhost", "-o", "-m", "onlywave.infra.backup_rotate", "-a", json.dumps(args), *extra],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        result = json.loads(out.split(" => ", 1)[1])
        print(
            f"{label}: {time.monotonic() - start:.1f} s, {result['api_calls']} S3 calls, "
            f"{len(result['kept'])} kept, {len(result['deleted'])} deleted"
        )

    left = [{"Key": item["Key"]} for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    if left:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": left})
    s3.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    main()
