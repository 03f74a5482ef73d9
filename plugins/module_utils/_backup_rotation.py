# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which backups a retention policy keeps: the planning half of backup_rotate.

A backup is every entry whose name shares the same stem: the name up to and
including its timestamp (``db-20261129T020000Z.dump`` and its ``.sha256``
are one backup). Calendar periods are taken in the policy's time zone:
hourly (local date and hour), daily (local date), weekly (ISO year and week),
monthly, yearly. For each calendar rule with count N, the newest backup of each
of the N latest periods that have a backup is kept; a period is its key (the local
date and hour, for hourly), so an hour that a clock change runs twice is one hour. max_age_days keeps every
backup no older than that. A backup is kept if any rule keeps it; the newest
backup is always kept. Ties on time are broken by the stem's name.
"""

import gc
import re
from bisect import bisect_right
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - Python < 3.9 has no zoneinfo
    ZoneInfo = None

DEFAULT_NAME_FORMAT = "%Y%m%dT%H%M%SZ"
CALENDAR_RULES = ("hourly", "daily", "weekly", "monthly", "yearly")

# strftime directives a name format may use, as regex groups.
_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})",
    "m": r"(?P<m>\d{2})",
    "d": r"(?P<d>\d{2})",
    "H": r"(?P<H>\d{2})",
    "M": r"(?P<M>\d{2})",
    "S": r"(?P<S>\d{2})",
    "z": r"(?P<z>Z|[+-]\d{2}:?\d{2})",
}


class PolicyError(ValueError):
    """A policy or name format that cannot be used."""


def name_regex(name_format):
    """The regex that finds a timestamp written with name_format (Y, m, d required)."""
    parts = []
    i = 0
    while i < len(name_format):
        char = name_format[i]
        if char == "%":
            directive = name_format[i + 1 : i + 2]
            if directive == "%":
                parts.append("%")
            elif directive in _DIRECTIVES:
                if f"(?P<{directive}>" in "".join(parts):
                    raise PolicyError(f"name_format repeats %{directive}")
                parts.append(_DIRECTIVES[directive])
            else:
                raise PolicyError(f"name_format may only use %Y %m %d %H %M %S %z and %%; it has %{directive}")
            i += 2
        else:
            parts.append(re.escape(char))
            i += 1
    pattern = "".join(parts)
    for needed in ("Y", "m", "d"):
        if f"(?P<{needed}>" not in pattern:
            raise PolicyError("name_format must contain %Y, %m and %d")
    return re.compile(pattern)


def time_zone(name):
    """The tzinfo for an IANA zone name (UTC without zoneinfo)."""
    if name in ("UTC", "Etc/UTC"):
        return timezone.utc
    if ZoneInfo is None:
        raise PolicyError("time zones other than UTC need Python 3.9+ (zoneinfo)")
    try:
        return ZoneInfo(name)
    except Exception:
        raise PolicyError(f"unknown time zone {name!r}") from None


def _offset(text):
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


class NameParser:
    """Finds the timestamp in names written with name_format.

    A timestamp without an offset is wall-clock time in zone."""

    def __init__(self, name_format, zone):
        self.regex = name_regex(name_format)
        self.zone = zone
        # datetime()'s fields that the format writes, by position; the others are 0.
        self._positions = [(field, "YmdHMS".index(field)) for field in "YmdHMS" if field in self.regex.groupindex]
        self._offset = "z" in self.regex.groupindex
        # Where Python's ISO 8601 parser reads this format exactly (the default does,
        # on Python 3.11+), it is used: ten times faster than building the datetime here.
        self._iso = self._iso_reads(name_format)

    def parse(self, name):
        """(stem, aware datetime) for a name, or None when it has no valid timestamp."""
        match = self.regex.search(name)
        when = None if match is None else self.time(match)
        return None if when is None else (name[: match.end()], when)

    def time(self, match):
        """The aware datetime of a match of self.regex, or None for an impossible date."""
        if self._iso:
            try:
                when = datetime.fromisoformat(match.group(0))
            except ValueError:
                return None
            if self._offset or when.tzinfo is self.zone:
                return when
            return when.replace(tzinfo=self.zone)
        return self._fields_time(match)

    def _fields_time(self, match):
        values = [1, 1, 1, 0, 0, 0]
        for field, position in self._positions:
            values[position] = int(match.group(field))
        tzinfo = _offset(match.group("z")) if self._offset else self.zone
        try:
            return datetime(*values, tzinfo=tzinfo)
        except ValueError:
            return None

    def _iso_reads(self, name_format):
        """Whether time() through fromisoformat gives what _fields_time gives, on samples."""
        self._iso = True
        offset = timezone(timedelta(hours=-9, minutes=-30))
        for sample in (datetime(2024, 2, 29, 13, 45, 59, tzinfo=offset), datetime(1999, 12, 31, tzinfo=offset)):
            match = self.regex.search(sample.strftime(name_format))
            if match is None:
                return False
            fast, slow = self.time(match), self._fields_time(match)
            if fast is None or fast != slow or fast.utcoffset() != slow.utcoffset():
                return False
        return True


def period_key(rule, local):
    """The calendar period of a local (zone-converted) datetime, for one rule."""
    if rule == "hourly":
        return (local.year, local.month, local.day, local.hour)
    if rule == "daily":
        return (local.year, local.month, local.day)
    if rule == "weekly":
        iso = local.isocalendar()
        return (iso[0], iso[1])
    if rule == "monthly":
        return (local.year, local.month)
    return (local.year,)


def oldest_first(stamps):
    """Stems by (time, name), from {stem: POSIX timestamp}: sorting floats, not aware datetimes."""
    order = sorted(stamps)
    order.sort(key=stamps.__getitem__)
    return order


# Every zone's UTC offsets lie within a span shorter than this (about 31 hours, counting
# the local mean times of the 19th century): a backup this much older than another one
# shows an earlier local time, so its period key is no later.
_OFFSET_SPAN = 2 * 86400


def _period_bounds(rule, local):
    """A local datetime's period, as naive wall-clock times [start, end)."""
    if rule == "hourly":
        start = datetime(local.year, local.month, local.day, local.hour)
        return start, start + timedelta(hours=1)
    if rule == "daily":
        start = datetime(local.year, local.month, local.day)
        return start, start + timedelta(days=1)
    if rule == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        start = datetime(monday.year, monday.month, monday.day)
        return start, start + timedelta(days=7)
    if rule == "monthly":
        return datetime(local.year, local.month, 1), datetime(local.year + local.month // 12, local.month % 12 + 1, 1)
    return datetime(local.year, 1, 1), datetime(local.year + 1, 1, 1)


def _single_instant(wall, zone):
    """The POSIX time at which the zone's clock shows wall, or None when it shows it
    twice (clocks went back) or never (clocks went forward)."""
    first = wall.replace(tzinfo=zone).timestamp()
    return first if wall.replace(tzinfo=zone, fold=1).timestamp() == first else None


def _run_start(rule, local, zone):
    """The first instant of local's period when the period is one unbroken run of time,
    that is, when the clock shows its start and its end exactly once; else None.

    A period is broken where a clock change crosses one of its bounds: in
    Pacific/Chatham, local 02:45 to 03:45 repeats, so hour 03 runs twice with a
    slice of hour 02 between."""
    try:
        start, end = _period_bounds(rule, local)
    except (OverflowError, ValueError):  # the last period of year 9999
        return None
    first = _single_instant(start, zone)
    return first if first is not None and _single_instant(end, zone) is not None else None


def _newest_of_newest_periods(rule, count, newest_first, negated, backups, zone):
    """The newest backup of each of the count latest periods (by period key) that have one.

    Walks the backups newest first. From a period's newest backup it jumps (bisect)
    to the first backup before the period's start when the period is one unbroken run
    of time; otherwise it steps to the next backup. Periods are grouped by key, so a
    period that a clock change splits in two is one period. Once count periods are
    found it goes on for _OFFSET_SPAN, the only stretch where an older backup can
    still show a later local time."""
    found = {}
    stop_before = None
    i = 0
    while i < len(newest_first):
        stamp = -negated[i]
        if stop_before is not None and stamp < stop_before:
            break
        stem = newest_first[i]
        local = backups[stem].astimezone(zone)
        key = period_key(rule, local)
        if key not in found:
            found[key] = stem
            if stop_before is None and len(found) >= count:
                stop_before = stamp - _OFFSET_SPAN
        start = _run_start(rule, local, zone)
        i = i + 1 if start is None else max(i + 1, bisect_right(negated, -start))
    return [(key, found[key]) for key in sorted(found, reverse=True)[:count]]


def plan(backups, policy, now, zone):
    """Which backups to keep: {stem: [reasons]} (see plan_in_order)."""
    return plan_in_order(backups, policy, now, zone)[0]


def plan_in_order(backups, policy, now, zone):
    """Which backups to keep, and why.

    backups: {stem: aware datetime}; policy: {hourly, daily, weekly, monthly,
    yearly: count, max_age_days: days or None}; now: aware datetime.
    Returns ({stem: [reasons]} for the kept ones, all stems newest first); the
    others are to be deleted.

    Backups are sorted newest first once; each rule then visits one backup per
    period (see _newest_of_newest_periods), so its cost grows with the periods it
    keeps, not with the backups."""
    if not backups:
        return {}, []
    stamps = {stem: when.timestamp() for stem, when in backups.items()}
    newest_first = oldest_first(stamps)[::-1]
    negated = [-stamps[stem] for stem in newest_first]  # ascending, for bisect
    kept = {newest_first[0]: ["newest"]}
    for rule in CALENDAR_RULES:
        count = policy.get(rule) or 0
        if count > 0:
            for key, stem in _newest_of_newest_periods(rule, count, newest_first, negated, backups, zone):
                kept.setdefault(stem, []).append(f"{rule} {'-'.join(f'{k:02d}' for k in key)}")
    max_age = policy.get("max_age_days")
    if max_age is not None:
        young = bisect_right(negated, -(now - timedelta(days=max_age)).timestamp())
        for stem in newest_first[:young]:
            kept.setdefault(stem, []).append(f"max_age_days {max_age}")
    return kept, newest_first


def parse_now(value):
    """The reference time: an ISO 8601 string with an offset, or now."""
    if not value:
        return datetime.now(timezone.utc)
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise PolicyError(f"now must carry an offset, for example 2026-11-29T03:00:00+00:00; got {value}")
    return when


def rotation_plan(entries, options):
    """backup_rotate's planning step: (kept, deleted, unparsed) for a listing.

    entries: [(name, modification time)], in listing order; options: the
    module's (time_source, name_format, name_timezone, timezone, now, the rule
    counts, max_age_days). kept: dicts, newest first; deleted: names, oldest first;
    unparsed: names. A backup's entries keep their listing order."""
    zone = time_zone(options["timezone"])
    name_zone = time_zone(options["name_timezone"])
    now = parse_now(options["now"])
    backups, unparsed = {}, []
    # The loops allocate a tuple or two per entry; the cyclic collector would
    # scan them again and again over a million names, and none of them forms a cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if options["time_source"] == "mtime":
            backups = {name: (when, [name]) for name, when in entries}
        else:
            parser = NameParser(options["name_format"], name_zone)
            search = parser.regex.search
            for name, _mtime in entries:
                match = search(name)
                if match is None:
                    unparsed.append(name)
                    continue
                stem = name[: match.end()]
                backup = backups.get(stem)
                if backup is None:
                    when = parser.time(match)
                    if when is None:
                        unparsed.append(name)
                        continue
                    backup = backups[stem] = (when, [])
                backup[1].append(name)
        policy = {rule: options[rule] for rule in CALENDAR_RULES}
        policy["max_age_days"] = options["max_age_days"]
        keep, newest_first = plan_in_order({stem: when for stem, (when, _names) in backups.items()}, policy, now, zone)
        kept = [
            {"name": stem, "time": backups[stem][0].isoformat(), "reasons": keep[stem], "entries": backups[stem][1]}
            for stem in newest_first
            if stem in keep
        ]
        deleted = [name for stem in reversed(newest_first) if stem not in keep for name in backups[stem][1]]
    finally:
        if collecting:
            gc.enable()
    return kept, deleted, sorted(unparsed)
