"""The retention planner: exact calendar cases, and property tests against a
reference model written the other way round (a per-backup rule, quadratic)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from ansible_collections.onlywave.infra.plugins.module_utils._backup_rotation import (
    CALENDAR_RULES,
    NameParser,
    PolicyError,
    name_regex,
    period_key,
    plan,
)
from hypothesis import given, settings
from hypothesis import strategies as st

LISBON = ZoneInfo("Europe/Lisbon")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def at(*fields, tz=UTC):
    return datetime(*fields, tzinfo=tz)


def named(times):
    """{stem: time} with stems that sort like their times."""
    return {f"db-{t.astimezone(UTC):%Y%m%dT%H%M%S}-{i}": t for i, t in enumerate(times)}


def kept_times(backups, policy, zone=UTC, now=NOW):
    return sorted(backups[stem] for stem in plan(backups, policy, now, zone))


# --- exact calendar cases -------------------------------------------------------------


def test_iso_weeks_cross_the_year_boundary():
    # 2020-12-28 (Mon) .. 2021-01-03 (Sun) is ISO week 2020-W53: one week, one backup kept.
    days = [at(2020, 12, 28) + timedelta(days=n) for n in range(7)] + [at(2021, 1, 4)]
    kept = kept_times(named(days), {"weekly": 2}, now=at(2021, 1, 5))
    assert kept == [at(2021, 1, 3), at(2021, 1, 4)]
    assert period_key("weekly", at(2020, 12, 31)) == period_key("weekly", at(2021, 1, 3)) == (2020, 53)
    assert period_key("weekly", at(2024, 12, 30)) == (2025, 1)


def test_month_ends_and_leap_days():
    times = [at(2024, 1, 31, 23), at(2024, 2, 28), at(2024, 2, 29, 12), at(2024, 3, 1), at(2024, 3, 31, 23, 59)]
    assert kept_times(named(times), {"monthly": 3}, now=at(2024, 4, 1)) == [
        at(2024, 1, 31, 23),
        at(2024, 2, 29, 12),
        at(2024, 3, 31, 23, 59),
    ]
    assert period_key("daily", at(2024, 2, 29)) == (2024, 2, 29)


def test_periods_follow_the_configured_zone():
    # 23:30 UTC on 31 July is 00:30 on 1 August in Lisbon (UTC+1 in summer).
    times = [at(2026, 7, 31, 12), at(2026, 7, 31, 23, 30)]
    assert kept_times(named(times), {"monthly": 2}, zone=UTC) == times[1:]
    assert kept_times(named(times), {"monthly": 2}, zone=LISBON) == times
    assert kept_times(named(times), {"daily": 2}, zone=UTC) == times[1:]
    assert kept_times(named(times), {"daily": 2}, zone=LISBON) == times


def test_the_repeated_hour_at_a_dst_change_is_one_hour_of_wall_clock():
    # New York falls back on 2026-11-01: 01:00-01:59 happens twice (05:xx and 06:xx UTC).
    first, second = at(2026, 11, 1, 5, 30), at(2026, 11, 1, 6, 10)
    assert first.astimezone(NEW_YORK).hour == second.astimezone(NEW_YORK).hour == 1
    assert kept_times(named([first, second]), {"hourly": 5}, zone=NEW_YORK) == [second]


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Chatham goes back from 03:45 to 02:45 at 14:00Z: 13:59Z is 03:44, 14:04Z is 02:49.
        ("Pacific/Chatham", at(2025, 4, 5, 13, 59), at(2025, 4, 5, 14, 4)),
        # Troll goes back two hours, from 03:00 to 01:00, at 01:00Z: 00:59Z is 02:59, 01:04Z is 01:04.
        ("Antarctica/Troll", at(2025, 10, 26, 0, 59), at(2025, 10, 26, 1, 4)),
    ],
)
def test_clock_changes_off_the_hour_keep_each_local_hour(zone, before, after):
    zone = ZoneInfo(zone)
    assert before.astimezone(zone).hour != after.astimezone(zone).hour
    kept = kept_times(named([before, after]), {"hourly": 2}, zone=zone, now=after + timedelta(hours=10))
    assert kept == [before, after]


def test_max_age_keeps_thirty_days_and_the_newest_always_stays():
    daily = [NOW - timedelta(days=n) for n in range(60)]
    kept = kept_times(named(daily), {"max_age_days": 30})
    assert kept == sorted(daily[:31])
    old = [NOW - timedelta(days=400)]
    assert kept_times(named(old), {"max_age_days": 30}) == old


def test_each_rule_is_named_for_what_it_keeps():
    backups = named([at(2026, 11, 28, 2), at(2026, 11, 29, 2)])
    reasons = plan(backups, {"daily": 2, "max_age_days": 30}, NOW, UTC)
    assert sorted(reasons.values()) == [
        ["daily 2026-11-28", "max_age_days 30"],
        ["newest", "daily 2026-11-29", "max_age_days 30"],
    ]


def test_an_empty_listing_keeps_and_deletes_nothing():
    assert plan({}, {"daily": 7}, NOW, UTC) == {}


def test_names_parse_with_the_default_and_other_formats():
    default = NameParser("%Y%m%dT%H%M%SZ", UTC)
    assert default.parse("onlywave-prod-postgresql-20261129T020000Z.dump.sha256") == (
        "onlywave-prod-postgresql-20261129T020000Z",
        at(2026, 11, 29, 2),
    )
    assert default.parse("db-20260230T020000Z.dump") is None  # 30 February
    assert default.parse("db-20260230T020000Z.dump.sha256") is None  # the same, from the cache
    assert default.parse("README") is None
    stem, when = NameParser("%Y-%m-%d_%H%M%z", UTC).parse("logs-2026-03-29_0130+0100.tar")
    assert stem == "logs-2026-03-29_0130+0100" and when == at(2026, 3, 29, 0, 30)
    local = NameParser("%Y-%m-%d_%H%M", LISBON).parse("x-2026-07-31_2330.tar")[1]
    assert local == at(2026, 7, 31, 22, 30)


@pytest.mark.parametrize("fmt", ["%H%M", "%Y%m", "%Y%m%d%j", "%Y%Y%m%d"])
def test_a_name_format_without_a_date_or_with_unknown_directives_is_refused(fmt):
    with pytest.raises(PolicyError):
        name_regex(fmt)


# --- properties against a reference model ---------------------------------------------


def reference(backups, policy, now, zone):
    """Kept stems, decided backup by backup: the newest overall; the newest of its period
    when fewer than N periods with backups are newer than its own; or young enough."""
    order = {stem: (when, stem) for stem, when in backups.items()}
    kept = set()
    if backups:
        kept.add(max(backups, key=order.get))
    for rule in CALENDAR_RULES:
        count = policy.get(rule) or 0
        keys = {stem: period_key(rule, when.astimezone(zone)) for stem, when in backups.items()}
        for stem in backups:
            mine = keys[stem]
            newest_of_period = all(order[stem] >= order[o] for o in backups if keys[o] == mine)
            newer_periods = {keys[o] for o in backups if keys[o] > mine}
            if newest_of_period and len(newer_periods) < count:
                kept.add(stem)
    if policy.get("max_age_days") is not None:
        kept |= {s for s, when in backups.items() if now - when <= timedelta(days=policy["max_age_days"])}
    return kept


zones = st.sampled_from([UTC, LISBON, NEW_YORK, ZoneInfo("Australia/Lord_Howe")])
policies = st.fixed_dictionaries(
    {rule: st.integers(0, 6) for rule in CALENDAR_RULES}, optional={"max_age_days": st.integers(0, 60)}
)
# Times near year ends, leap days and DST changes, minute resolution.
instants = st.datetimes(min_value=datetime(2019, 12, 20), max_value=datetime(2021, 1, 10), timezones=st.just(UTC)).map(
    lambda t: t.replace(second=0, microsecond=0)
)


@st.composite
def backup_sets(draw):
    """Random times, with duplicates, plus runs of daily or hourly backups with gaps."""
    times = draw(st.lists(instants, max_size=40))
    times += draw(st.lists(st.sampled_from(times), max_size=5)) if times else []
    for _run in range(draw(st.integers(0, 2))):
        start, step = draw(instants), draw(st.sampled_from([timedelta(hours=1), timedelta(days=1)]))
        length = draw(st.integers(1, 120))
        gaps = draw(st.sets(st.integers(0, length), max_size=10))
        times += [start + n * step for n in range(length) if n not in gaps]
    return named(times)


@settings(max_examples=300, deadline=None)
@given(backups=backup_sets(), policy=policies, zone=zones, now=instants)
def test_the_kept_set_is_exactly_what_the_policy_says(backups, policy, zone, now):
    kept = plan(backups, policy, now, zone)
    assert set(kept) == reference(backups, policy, now, zone)
    if backups:
        assert max(backups, key=lambda s: (backups[s], s)) in kept


@settings(max_examples=12, deadline=None)
@given(start=instants, years=st.integers(1, 2), policy=policies, zone=zones)
def test_years_of_daily_backups(start, years, policy, zone):
    backups = named([start + timedelta(days=n) for n in range(365 * years)])
    now = start + timedelta(days=365 * years)
    kept = plan(backups, policy, now, zone)
    assert set(kept) == reference(backups, policy, now, zone)
    calendar_total = sum(policy[rule] for rule in CALENDAR_RULES)
    ages = policy.get("max_age_days", -1) + 1
    assert len(kept) <= 1 + calendar_total + max(ages, 0)


# --- every zone in zoneinfo, around its own clock changes -----------------------------


def newest_per_latest_periods(backups, policy, zone):
    """The reference the other way round: every backup's period key, grouped, the latest
    keys' newest backups (linear, no walking, no jumps)."""
    order = {stem: (when, stem) for stem, when in backups.items()}
    kept = {max(backups, key=order.get)}
    for rule in CALENDAR_RULES:
        newest = {}
        for stem, when in backups.items():
            key = period_key(rule, when.astimezone(zone))
            if key not in newest or order[stem] > order[newest[key]]:
                newest[key] = stem
        kept |= {newest[key] for key in sorted(newest, reverse=True)[: policy.get(rule, 0)]}
    return kept


def last_clock_changes(zone):
    """The zone's last change back and last change forward before 2031 (UTC instants)."""
    changes = {}
    month = datetime(2031, 1, 1, tzinfo=UTC)
    later = month.astimezone(zone).utcoffset()
    while month.year > 1850 and len(changes) < 2:
        earlier_month = month - timedelta(days=31)
        earlier = earlier_month.astimezone(zone).utcoffset()
        if earlier != later:
            low, high = earlier_month, month
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if middle.astimezone(zone).utcoffset() == earlier else (low, middle)
            changes.setdefault("back" if later < earlier else "forward", high)
        month, later = earlier_month, earlier
    return list(changes.values())


ALL_ZONES = sorted(available_timezones())
POLICY_AROUND_A_CHANGE = {"hourly": 40, "daily": 3, "weekly": 2, "monthly": 2, "yearly": 2}


def test_every_zone_keeps_the_newest_of_each_latest_period_around_its_clock_changes():
    """For each zone in zoneinfo, backups every 7 minutes for 30 hours either side of its
    last change back and last change forward (or of now, for zones that never change)."""
    assert len(ALL_ZONES) > 400
    checked = 0
    for name in ALL_ZONES:
        zone = ZoneInfo(name)
        for change in last_clock_changes(zone) or [NOW]:
            times = [change + timedelta(minutes=7 * n) for n in range(-257, 258)]
            backups = named(times)
            kept = plan(backups, POLICY_AROUND_A_CHANGE, times[-1], zone)
            assert set(kept) == newest_per_latest_periods(backups, POLICY_AROUND_A_CHANGE, zone), (name, change)
            checked += 1
    assert checked > len(ALL_ZONES)
