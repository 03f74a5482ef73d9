#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: backup_rotate
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Keep the backups a retention policy asks for (a directory or an S3 prefix), delete the rest
description:
  - Lists the backups in O(path) (a local directory) or under O(prefix) in O(bucket) (S3 or an
    S3-compatible endpoint), decides which ones the policy keeps, and deletes the others.
  - The policy - the newest backup of each of the newest O(hourly), O(daily), O(weekly) (ISO
    weeks), O(monthly) and O(yearly) calendar periods that have one, and every backup no older
    than O(max_age_days). A backup is kept if any rule keeps it. The newest backup is always kept.
  - Calendar periods are taken in O(timezone) - a backup at 23:30 UTC is on the next day in
    Europe/Lisbon in summer. ISO weeks cross year boundaries (2020-12-31 and 2021-01-03 are both
    in 2020-W53).
  - A backup is every entry whose name shares the same stem - the name up to and including its
    timestamp - so C(db-20261129T020000Z.dump) and C(db-20261129T020000Z.dump.sha256) are kept or
    deleted together.
  - Entries whose names have no valid timestamp are never deleted; they are returned in RV(unparsed).
    When nothing parses, or the listing is empty, nothing is deleted.
  - In check mode, returns the exact plan - each kept backup with the rules that keep it, and the
    entries that would be deleted.
options:
  path:
    description:
      - A local directory whose entries (files and directories) are the backups.
      - Mutually exclusive with O(bucket); one of them is required.
    type: path
  bucket:
    description:
      - An S3 bucket; the objects under O(prefix) are the backups.
      - The connection comes from the usual AWS options (O(endpoint_url) for an S3-compatible store).
    type: str
  prefix:
    description:
      - With O(bucket), the key prefix of the backups (for example C(postgresql/)). Names are the keys
        without it.
    type: str
    default: ""
  match:
    description:
      - A regular expression; only entries whose names it finds are considered (the others are
        ignored, not reported). Use it to rotate one kind of backup in a shared place.
    type: str
  time_source:
    description:
      - Where a backup's time comes from - its name (O(name_format)), or the file's or object's
        modification time (each entry then is its own backup).
    type: str
    choices: [name, mtime]
    default: name
  name_format:
    description:
      - How a name writes its timestamp, with C(%Y %m %d) (required) and C(%H %M %S %z) (optional)
        and literal text; found anywhere in the name.
      - A timestamp with no C(%z) offset is read in O(name_timezone).
    type: str
    default: "%Y%m%dT%H%M%SZ"
  name_timezone:
    description:
      - The IANA time zone that names without an offset are written in (the collection's own
        names are UTC).
    type: str
    default: UTC
  timezone:
    description:
      - The IANA time zone of the calendar periods - which day, week, month or year a backup is in.
    type: str
    default: UTC
  hourly:
    description: How many of the newest hours with a backup keep their newest backup.
    type: int
    default: 0
  daily:
    description: How many of the newest days with a backup keep their newest backup.
    type: int
    default: 0
  weekly:
    description: How many of the newest ISO weeks with a backup keep their newest backup.
    type: int
    default: 0
  monthly:
    description: How many of the newest months with a backup keep their newest backup.
    type: int
    default: 0
  yearly:
    description: How many of the newest years with a backup keep their newest backup.
    type: int
    default: 0
  max_age_days:
    description:
      - Keep every backup no older than this many days (the design's retention is 30).
    type: int
  now:
    description:
      - The time ages are measured from (ISO 8601 with an offset); default the current time.
        Set it to make a plan reproducible.
    type: str
  versions:
    description:
      - In a versioned bucket, what deleting a backup does - C(delete_marker) hides it behind a
        delete marker (the bucket's lifecycle rule expires the old version later);
        C(all_versions) deletes every version and delete marker of the key, for good.
    type: str
    choices: [delete_marker, all_versions]
    default: delete_marker
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: Returns the keep and delete plan and deletes nothing.
  diff_mode:
    support: full
    description: Shows the backups' names before and after.
  idempotent:
    support: full
    description: >-
      With the same O(now), a second run deletes nothing. As time passes, the same policy may delete
      backups that fall out of it: that is the module's purpose.
notes:
  - S3 deletions are batched, 1000 keys per DeleteObjects call; every call is retried with backoff
    on throttling and transient errors. RV(api_calls) counts the calls.
  - A policy must keep something - at least one count above 0 or O(max_age_days).
seealso:
  - name: The backup role
    description: Runs this module after every backup with the environment's policy.
    link: https://github.com/onlywave/onlywave-infra/tree/main/roles/backup
"""

EXAMPLES = r"""
- name: The design's policy for PostgreSQL dumps - 30 days, plus 12 monthly
  onlywave.infra.backup_rotate:
    bucket: onlywave-prod-backups
    prefix: postgresql/
    max_age_days: 30
    monthly: 12

- name: Local dumps - 7 daily and 4 weekly, in Lisbon's calendar
  onlywave.infra.backup_rotate:
    path: /var/backups/postgresql
    match: '\.dump'
    daily: 7
    weekly: 4
    timezone: Europe/Lisbon

- name: See what would go, without deleting (check mode)
  onlywave.infra.backup_rotate:
    path: /var/backups/logs
    time_source: mtime
    monthly: 3
  check_mode: true
  register: plan
"""

RETURN = r"""
kept:
  description: The backups kept, newest first, with the rules that keep each.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The backup's stem (with O(time_source=mtime), the entry's name).
      type: str
      sample: onlywave-prod-postgresql-20261129T020000Z
    time:
      description: Its time, ISO 8601.
      type: str
      sample: "2026-11-29T02:00:00+00:00"
    reasons:
      description: The rules that keep it.
      type: list
      elements: str
      sample: [newest, daily 2026-11-29, max_age_days 30]
    entries:
      description: The names (files or keys without the prefix) that belong to it.
      type: list
      elements: str
      sample: [onlywave-prod-postgresql-20261129T020000Z.dump, onlywave-prod-postgresql-20261129T020000Z.dump.sha256]
deleted:
  description: The entries deleted (in check mode, that would be deleted), oldest first.
  returned: always
  type: list
  elements: str
  sample: [onlywave-prod-postgresql-20261001T020000Z.dump]
unparsed:
  description: Entries whose names have no valid timestamp; they are left alone.
  returned: always
  type: list
  elements: str
  sample: [README]
api_calls:
  description: S3 API calls made (listing and deleting); 0 for a directory.
  returned: always
  type: int
  sample: 12
"""

import os
import re
import shutil
from datetime import datetime, timezone

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.onlywave.infra.plugins.module_utils._aws import retrying_client
from ansible_collections.onlywave.infra.plugins.module_utils._backup_rotation import (
    CALENDAR_RULES,
    DEFAULT_NAME_FORMAT,
    PolicyError,
    rotation_plan,
)

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

S3_DELETE_BATCH = 1000


class S3Store:
    """The objects under a prefix; counts its API calls."""

    def __init__(self, module, bucket, prefix, versions):
        self.client = retrying_client(module, "s3")
        self.bucket, self.prefix, self.versions = bucket, prefix, versions
        self.calls = 0

    def list(self):
        """[(name, mtime)] of the objects under the prefix."""
        entries = []
        for page in self._pages("list_objects_v2", "Contents"):
            for item in page:
                entries.append((item["Key"][len(self.prefix) :], item["LastModified"]))
        return entries

    def _pages(self, operation, field, **extra):
        paginator = self.client.get_paginator(operation)
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, **extra):
            self.calls += 1
            yield page.get(field, [])

    def delete(self, names):
        if self.versions == "all_versions":
            keys = self._all_versions(set(self.prefix + name for name in names))
        else:
            keys = [{"Key": self.prefix + name} for name in names]
        errors = []
        for start in range(0, len(keys), S3_DELETE_BATCH):
            batch = keys[start : start + S3_DELETE_BATCH]
            self.calls += 1
            result = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}, aws_retry=True
            )
            errors.extend(result.get("Errors", []))
        return ["{}: {}".format(e.get("Key"), e.get("Message", e.get("Code"))) for e in errors]

    def _all_versions(self, wanted):
        versions = []
        for field in ("Versions", "DeleteMarkers"):
            for page in self._pages("list_object_versions", field):
                versions.extend({"Key": v["Key"], "VersionId": v["VersionId"]} for v in page if v["Key"] in wanted)
        return versions


class DirectoryStore:
    """The entries of a local directory."""

    calls = 0

    def __init__(self, path):
        self.path = path

    def list(self):
        entries = []
        with os.scandir(self.path) as listing:
            for entry in listing:
                mtime = entry.stat(follow_symlinks=False).st_mtime
                entries.append((entry.name, datetime.fromtimestamp(mtime, timezone.utc)))
        return sorted(entries)

    def delete(self, names):
        errors = []
        for name in names:
            target = os.path.join(self.path, name)
            try:
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                else:
                    os.unlink(target)
            except OSError as error:
                errors.append(f"{name}: {error}")
        return errors


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            path=dict(type="path"),
            bucket=dict(type="str"),
            prefix=dict(type="str", default=""),
            match=dict(type="str"),
            time_source=dict(type="str", choices=["name", "mtime"], default="name"),
            name_format=dict(type="str", default=DEFAULT_NAME_FORMAT),
            name_timezone=dict(type="str", default="UTC"),
            timezone=dict(type="str", default="UTC"),
            hourly=dict(type="int", default=0),
            daily=dict(type="int", default=0),
            weekly=dict(type="int", default=0),
            monthly=dict(type="int", default=0),
            yearly=dict(type="int", default=0),
            max_age_days=dict(type="int"),
            now=dict(type="str"),
            versions=dict(type="str", choices=["delete_marker", "all_versions"], default="delete_marker"),
        ),
        mutually_exclusive=[("path", "bucket")],
        required_one_of=[("path", "bucket")],
        supports_check_mode=True,
    )
    params = module.params
    counts = [params[rule] for rule in CALENDAR_RULES] + [params["max_age_days"]]
    if any(count is not None and count < 0 for count in counts):
        module.fail_json(msg="hourly, daily, weekly, monthly, yearly and max_age_days must not be negative")
    if not any(counts[:-1]) and params["max_age_days"] is None:
        module.fail_json(msg="the policy keeps nothing: set hourly, daily, weekly, monthly, yearly or max_age_days")
    if params["path"] and not os.path.isdir(params["path"]):
        module.fail_json(msg="path {} is not a directory".format(params["path"]))

    if params["bucket"]:
        store = S3Store(module, params["bucket"], params["prefix"], params["versions"])
    else:
        store = DirectoryStore(params["path"])
    try:
        entries = store.list()
        if params["match"]:
            finder = re.compile(params["match"])
            entries = [(name, when) for name, when in entries if finder.search(name)]
        kept, deleted, unparsed = rotation_plan(entries, params)
    except PolicyError as error:
        module.fail_json(msg=str(error))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Unable to list s3://{}/{}".format(params["bucket"], params["prefix"]))

    errors = []
    if deleted and not module.check_mode:
        try:
            errors = store.delete(deleted)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            module.fail_json_aws(
                error, msg="Unable to delete from s3://{}/{}".format(params["bucket"], params["prefix"])
            )
    result = dict(
        changed=bool(deleted),
        kept=kept,
        deleted=deleted,
        unparsed=unparsed,
        api_calls=store.calls,
    )
    if module._diff:
        kept_names = sorted(name for backup in kept for name in backup["entries"])
        result["diff"] = dict(
            before="\n".join(sorted(kept_names + deleted)) + "\n",
            after="\n".join(kept_names) + "\n",
        )
    if errors:
        module.fail_json(msg=f"{len(errors)} entries could not be deleted: {'; '.join(errors[:20])}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
