#!/usr/bin/env python3
"""backup_rotate's planning step over 1,000,000 backup names (target: under 5 s).

Names are the collection's own (one dump and its checksum per backup, a backup
every minute for about 1.9 years), in listing order as S3 returns them and
the module sorts a directory's, or shuffled (--shuffled); the policy is the design's 30 days
plus 24 hourly, 7 daily, 8 weekly, 12 monthly and 3 yearly, in Europe/Lisbon.
Times the module's whole planning step (parse, group, plan, sort the result).

Usage: .venv/bin/python benchmarks/backup_rotate_plan.py [names] [--shuffled]
"""

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collections"))
from ansible_collections.onlywave.infra.plugins.module_utils import _backup_rotation as rotation

TARGET_SECONDS = 5.0


def main():
    arguments = [a for a in sys.argv[1:] if a != "--shuffled"]
    shuffled = "--shuffled" in sys.argv
    count = int(arguments[0]) if arguments else 1_000_000
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    names = []
    for n in range(count // 2):
        stamp = f"{now - timedelta(minutes=n):%Y%m%dT%H%M%SZ}"
        names += [f"onlywave-prod-postgresql-{stamp}.dump", f"onlywave-prod-postgresql-{stamp}.dump.sha256"]
    if shuffled:
        random.Random(7).shuffle(names)
    entries = [(name, None) for name in names]
    options = {
        "time_source": "name",
        "name_format": rotation.DEFAULT_NAME_FORMAT,
        "name_timezone": "UTC",
        "timezone": "Europe/Lisbon",
        "now": now.isoformat(),
        **{"hourly": 24, "daily": 7, "weekly": 8, "monthly": 12, "yearly": 3, "max_age_days": 30},
    }
    start = time.perf_counter()
    kept, deleted, unparsed = rotation.rotation_plan(entries, options)
    done = time.perf_counter()

    total = done - start
    print(f"names: {len(names)}; kept backups: {len(kept)}; deleted names: {len(deleted)}; unparsed: {len(unparsed)}")
    ratio = total / TARGET_SECONDS
    order = "shuffled" if shuffled else "listing order"
    print(f"planning step: {total:.2f} s for {len(names)} names, {order}")
    print(f"target {TARGET_SECONDS:.0f} s; ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
