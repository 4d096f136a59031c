"""Cron schedules: syntax, OR of day fields, DST in real zones, errors, descriptions, cost."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.triggers.cron import CronTrigger

from workscript_jupyter.errors import BadRequestError, InvalidCronError
from workscript_jupyter.scheduler.cron import CronSchedule

NY = ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)
Wall = Callable[[datetime], bool]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def local_day(day: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """(start, end) for ticks_between covering the whole local calendar day, once."""
    start = datetime.combine(day.date(), datetime.min.time(), zone)
    end = datetime.combine(day.date() + timedelta(days=1), datetime.min.time(), zone)
    return start - timedelta(microseconds=1), end - timedelta(microseconds=1)


# -- fields, seconds, ticks ---------------------------------------------------------------------


def test_parse_basics_and_to_dict() -> None:
    five = CronSchedule.parse("  */15 * * * *  ")
    assert (five.expression, five.timezone, five.has_seconds) == ("*/15 * * * *", "UTC", False)
    six = CronSchedule.parse("*/2 * * * * *", "Europe/Paris")
    assert six.has_seconds
    assert six.to_dict() == {
        "expression": "*/2 * * * * *",
        "timezone": "Europe/Paris",
        "hasSeconds": True,
        "description": "every 2 seconds (Europe/Paris)",
    }
    assert CronSchedule.parse("* * * * *", None).timezone == "UTC"
    assert CronSchedule.parse("* * * * *", " ").timezone == "UTC"


def test_value_semantics() -> None:
    a, b = CronSchedule.parse("0 9 * * 1-5"), CronSchedule.parse(" 0 9 * * 1-5 ", "")
    assert a == b and hash(a) == hash(b) and "_plan" not in repr(a)
    assert a != CronSchedule.parse("0 9 * * 1-5", "Europe/Paris")
    direct = CronSchedule("*/5 * * * * *")  # validated and compiled like parse()
    assert direct.has_seconds and direct.next_after(utc(2026, 1, 1, 0, 0, 1)) == utc(
        2026, 1, 1, 0, 0, 5
    )
    with pytest.raises(InvalidCronError):
        CronSchedule("61 * * * *")


def test_five_fields_fire_at_second_zero() -> None:
    s = CronSchedule.parse("* * * * *")
    ticks = s.ticks_between(utc(2026, 5, 1, 12, 0, 30), utc(2026, 5, 1, 12, 3, 0))
    assert ticks == [utc(2026, 5, 1, 12, 1), utc(2026, 5, 1, 12, 2), utc(2026, 5, 1, 12, 3)]


def test_six_fields_seconds_first_next_even_second() -> None:
    s = CronSchedule.parse("*/2 * * * * *")
    after = datetime(2026, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    nxt = s.next_after(after)
    assert nxt == utc(2026, 5, 1, 12, 0, 2)
    assert nxt is not None and nxt.tzinfo is UTC and nxt.microsecond == 0
    assert s.next_after(utc(2026, 5, 1, 12, 0, 1)) == utc(2026, 5, 1, 12, 0, 2)
    assert s.next_after(utc(2026, 5, 1, 12, 0, 2)) == utc(2026, 5, 1, 12, 0, 4)  # strictly after
    paris = datetime(2026, 5, 1, 14, 0, 3, tzinfo=ZoneInfo("Europe/Paris"))  # any aware input
    assert s.next_after(paris) == utc(2026, 5, 1, 12, 0, 4)


def test_ticks_between_a_minute_of_every_5_seconds() -> None:
    s = CronSchedule.parse("*/5 * * * * *")
    ticks = s.ticks_between(utc(2026, 5, 1, 12, 0, 0), utc(2026, 5, 1, 12, 1, 0))
    assert len(ticks) == 12
    assert ticks[0] == utc(2026, 5, 1, 12, 0, 5) and ticks[-1] == utc(2026, 5, 1, 12, 1, 0)
    assert all(t.tzinfo is UTC for t in ticks)
    assert s.ticks_between(utc(2026, 5, 1), utc(2026, 5, 2), limit=3) == [
        utc(2026, 5, 1, 0, 0, 5),
        utc(2026, 5, 1, 0, 0, 10),
        utc(2026, 5, 1, 0, 0, 15),
    ]
    assert s.ticks_between(utc(2026, 5, 1), utc(2026, 5, 1)) == []


def test_next_times() -> None:
    s = CronSchedule.parse("0 9 * * mon", "Europe/Paris")
    assert s.next_times(3, utc(2026, 3, 20)) == [
        utc(2026, 3, 23, 8),  # CET
        utc(2026, 3, 30, 7),  # CEST from 29 March
        utc(2026, 4, 6, 7),
    ]
    assert s.next_times(0, utc(2026, 3, 20)) == []


def test_no_fire_time_past_year_9999() -> None:
    for zone in ("UTC", "Europe/Paris"):
        s = CronSchedule.parse("* * * * *", zone)
        assert s.next_after(utc(9999, 12, 31, 23, 59, 59)) is None
        assert len(s.next_times(20, utc(9999, 12, 31, 23, 50))) <= 9  # ends, does not raise


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CronSchedule.parse("* * * * *").next_after(datetime(2026, 1, 1))


# Each expression against a plain predicate on the wall clock, minute by minute, for 2 months.
REFERENCE: list[tuple[str, Wall]] = [
    ("*/15 * * * *", lambda d: d.minute % 15 == 0),
    ("0-10/5,30 8-9 * * *", lambda d: d.hour in (8, 9) and d.minute in (0, 5, 10, 30)),
    ("0 9 * * 1-5", lambda d: (d.hour, d.minute) == (9, 0) and d.weekday() < 5),
    ("0 9 * * MON-fri", lambda d: (d.hour, d.minute) == (9, 0) and d.weekday() < 5),
    ("0 12 * * 0", lambda d: (d.hour, d.minute) == (12, 0) and d.weekday() == 6),
    ("0 12 * * 7", lambda d: (d.hour, d.minute) == (12, 0) and d.weekday() == 6),
    ("0 12 * * Sunday", lambda d: (d.hour, d.minute) == (12, 0) and d.weekday() == 6),
    ("0 0 * * fri-sun", lambda d: (d.hour, d.minute) == (0, 0) and d.weekday() >= 4),
    ("0 0 * * 5-7", lambda d: (d.hour, d.minute) == (0, 0) and d.weekday() >= 4),
    ("0 0 * * */2", lambda d: (d.hour, d.minute) == (0, 0) and d.weekday() in (6, 1, 3, 5)),
    ("0 0 * * 1-7/2", lambda d: (d.hour, d.minute) == (0, 0) and d.weekday() in (0, 2, 4, 6)),
    ("0 0 * * 0,6", lambda d: (d.hour, d.minute) == (0, 0) and d.weekday() >= 5),
    ("5 4 * jan,FEBRUARY *", lambda d: (d.hour, d.minute) == (4, 5) and d.month in (1, 2)),
    ("5 4 * 2-12/2 *", lambda d: (d.hour, d.minute) == (4, 5) and d.month % 2 == 0),
    ("30 6 10/10 * *", lambda d: (d.hour, d.minute) == (6, 30) and d.day in (10, 20, 30)),
    # both day fields restricted: cron ORs them (Friday OR the 13th)
    ("0 0 13 * 5", lambda d: (d.hour, d.minute) == (0, 0) and (d.day == 13 or d.weekday() == 4)),
    ("0 0 1,15 * wed", lambda d: d.hour + d.minute == 0 and (d.day in (1, 15) or d.weekday() == 2)),
    # a day field starting with "*" is not "restricted": AND, as in cron
    ("0 0 */10 * sun", lambda d: d.hour + d.minute == 0 and d.day % 10 == 1 and d.weekday() == 6),
    ("0 0 1-31 * mon", lambda d: (d.hour, d.minute) == (0, 0)),  # OR with every day
    ("*/60 * * * *", lambda d: d.minute == 0),
    ("@daily", lambda d: (d.hour, d.minute) == (0, 0)),
    ("@weekly", lambda d: (d.hour, d.minute) == (0, 0) and d.weekday() == 6),
    ("@monthly", lambda d: (d.day, d.hour, d.minute) == (1, 0, 0)),
    ("@HOURLY", lambda d: d.minute == 0),
]


@pytest.mark.parametrize(("expression", "wall"), REFERENCE, ids=[e for e, _ in REFERENCE])
def test_matches_reference_in_utc(expression: str, wall: Wall) -> None:
    start, end = utc(2025, 12, 20), utc(2026, 2, 20)
    expected, t = [], start + MINUTE
    while t <= end:
        if wall(t):
            expected.append(t)
        t += MINUTE
    assert expected, "the reference window must contain fire times"
    assert CronSchedule.parse(expression).ticks_between(start, end, limit=100_000) == expected


def test_day_of_month_or_day_of_week() -> None:
    s = CronSchedule.parse("0 0 13 * 5")  # Friday the 13th fans: every Friday and every 13th
    ticks = s.next_times(6, utc(2026, 1, 31))
    assert ticks == [
        utc(2026, 2, 6),  # Friday
        utc(2026, 2, 13),  # both
        utc(2026, 2, 20),
        utc(2026, 2, 27),
        utc(2026, 3, 6),
        utc(2026, 3, 13),  # Friday the 13th again... and in April, a Monday the 13th:
    ]
    assert utc(2026, 4, 13) in s.ticks_between(utc(2026, 4, 1), utc(2026, 4, 30))
    # an impossible day of month, ORed with a weekday, still fires (Mondays of February)
    feb = CronSchedule.parse("0 0 31 2 mon")
    assert feb.next_times(2, utc(2026, 1, 1)) == [utc(2026, 2, 2), utc(2026, 2, 9)]


def test_aliases_equal_their_expansion() -> None:
    pairs = [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ]
    for alias, expansion in pairs:
        a, b = (
            CronSchedule.parse(alias, "Europe/Paris"),
            CronSchedule.parse(expansion, "Europe/Paris"),
        )
        assert not a.has_seconds
        assert a.next_times(5, utc(2026, 1, 1)) == b.next_times(5, utc(2026, 1, 1)), alias
    assert CronSchedule.parse("@yearly").next_after(utc(2026, 6, 1)) == utc(2027, 1, 1)


def test_february_29_is_possible() -> None:
    assert CronSchedule.parse("0 0 29 2 *").next_after(utc(2026, 1, 1)) == utc(2028, 2, 29)


# -- DST -----------------------------------------------------------------------------------------


def count_on(expression: str, day: datetime, zone: str = "America/New_York") -> list[datetime]:
    s = CronSchedule.parse(expression, zone)
    return s.ticks_between(*local_day(day, ZoneInfo(zone)), limit=100_000)


def test_daily_job_in_the_skipped_hour_runs_once_on_spring_forward() -> None:
    ticks = count_on("30 2 * * *", datetime(2026, 3, 8))
    assert ticks == [utc(2026, 3, 8, 7, 0)]  # 03:00 EDT, the instant the clock jumps
    assert count_on("30 2 * * *", datetime(2026, 3, 7)) == [utc(2026, 3, 7, 7, 30)]  # 02:30 EST
    assert count_on("30 2 * * *", datetime(2026, 3, 9)) == [utc(2026, 3, 9, 6, 30)]  # 02:30 EDT
    assert count_on("*/15 2 * * *", datetime(2026, 3, 8)) == [utc(2026, 3, 8, 7, 0)]
    assert len(count_on("0 3 * * *", datetime(2026, 3, 8))) == 1


def test_daily_jobs_run_once_on_fall_back() -> None:
    assert count_on("30 2 * * *", datetime(2026, 11, 1)) == [utc(2026, 11, 1, 7, 30)]  # EST
    # 01:30 happens twice (EDT, then EST): a daily job runs at the first one only
    assert count_on("30 1 * * *", datetime(2026, 11, 1)) == [utc(2026, 11, 1, 5, 30)]
    assert count_on("30 1 * * *", datetime(2026, 11, 2)) == [utc(2026, 11, 2, 6, 30)]
    assert len(count_on("*/20 1 * * *", datetime(2026, 11, 1))) == 3


def test_interval_jobs_keep_real_time_through_dst() -> None:
    fall = count_on("*/30 * * * *", datetime(2026, 11, 1))
    assert len(fall) == 50  # a 25-hour day
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(fall))
    spring = count_on("*/30 * * * *", datetime(2026, 3, 8))
    assert len(spring) == 46  # a 23-hour day
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(spring))
    assert len(count_on("0 * * * *", datetime(2026, 11, 1))) == 25
    assert len(count_on("*/5 * * * * *", datetime(2026, 11, 1))) == 25 * 720


def test_frozen_clock_before_the_transitions() -> None:
    daily = CronSchedule.parse("30 2 * * *", "America/New_York")
    with time_machine.travel(datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)  # 01:59:30 EST, half a minute before 02:00 becomes 03:00
        assert daily.next_after(now) == utc(2026, 3, 8, 7, 0)
        assert daily.next_times(2, now)[1] == utc(2026, 3, 9, 6, 30)
    once = CronSchedule.parse("30 1 * * *", "America/New_York")
    half_hourly = CronSchedule.parse("*/30 * * * *", "America/New_York")
    with time_machine.travel(datetime(2026, 11, 1, 5, 45, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)  # 01:45 EDT: 01:00-01:59 will come again, in EST
        assert once.next_after(now) == utc(2026, 11, 2, 6, 30)  # not 01:30 EST today
        assert half_hourly.next_after(now) == utc(2026, 11, 1, 6, 0)  # 01:00 EST


ZONE_CASES: list[tuple[str, Wall, bool]] = [  # expression, wall predicate, hour field is "*"
    ("30 2 * * *", lambda d: (d.hour, d.minute) == (2, 30), False),
    ("30 1 * * *", lambda d: (d.hour, d.minute) == (1, 30), False),
    ("0 0 * * *", lambda d: (d.hour, d.minute) == (0, 0), False),
    ("45 23 * * *", lambda d: (d.hour, d.minute) == (23, 45), False),
    ("*/20 1,2 * * *", lambda d: d.hour in (1, 2) and d.minute % 20 == 0, False),
    ("*/15 * * * *", lambda d: d.minute % 15 == 0, True),
    ("10 * * * *", lambda d: d.minute == 10, True),
    ("40 */2 * * *", lambda d: d.minute == 40 and d.hour % 2 == 0, True),
]
ZONES = [  # zone, UTC windows around its 2026 transitions
    ("America/New_York", [utc(2026, 3, 7), utc(2026, 10, 31)]),
    ("Europe/Paris", [utc(2026, 3, 28), utc(2026, 10, 24)]),
    ("Australia/Lord_Howe", [utc(2026, 4, 4), utc(2026, 10, 3)]),  # 30-minute DST
    ("America/Santiago", [utc(2026, 4, 3), utc(2026, 9, 5)]),  # at midnight
]


def reference_in_zone(
    wall: Wall, star_hour: bool, zone: ZoneInfo, start: datetime
) -> list[datetime]:
    """Minute by minute: wall matches fire; a skipped wall match fires when the clock jumps;
    a repeated wall time fires again only when the hour field is "*"."""
    out: list[datetime] = []
    t, before = start + MINUTE, start.astimezone(zone)
    while t <= start + timedelta(days=3):
        local = t.astimezone(zone)
        naive = local.replace(tzinfo=None)
        jump = local.utcoffset() - before.utcoffset()  # type: ignore[operator]
        skipped = [naive - jump + k * MINUTE for k in range(jump // MINUTE)]
        repeated = local.fold == 1
        if any(map(wall, skipped)) or (wall(naive) and (star_hour or not repeated)):
            out.append(t)
        t, before = t + MINUTE, local
    return out


@pytest.mark.parametrize("zone_name", [z for z, _ in ZONES])
@pytest.mark.parametrize(
    ("expression", "wall", "star_hour"), ZONE_CASES, ids=[c[0] for c in ZONE_CASES]
)
def test_matches_reference_across_dst(
    zone_name: str, expression: str, wall: Wall, star_hour: bool
) -> None:
    zone = ZoneInfo(zone_name)
    s = CronSchedule.parse(expression, zone_name)
    for start in dict(ZONES)[zone_name]:
        expected = reference_in_zone(wall, star_hour, zone, start)
        assert s.ticks_between(start, start + timedelta(days=3)) == expected, start
        assert len(set(expected)) == len(expected)


# -- errors --------------------------------------------------------------------------------------

ERRORS = [  # expression, zone, field, value, message part
    ("* * *", "UTC", "expression", "* * *", "expected 5 or 6 fields, got 3"),
    ("* * * * * * *", "UTC", "expression", "* * * * * * *", "got 7"),
    ("61 * * * *", "UTC", "minute", "61", "minute: 61 is out of range 0-59"),
    ("0,61 * * * *", "UTC", "minute", "61", "minute: 61 is out of range 0-59"),
    ("50-61 * * * *", "UTC", "minute", "50-61", "61 is out of range 0-59 (in '50-61')"),
    ("60 * * * * *", "UTC", "second", "60", "second: 60 is out of range 0-59"),
    ("* 24 * * *", "UTC", "hour", "24", "hour: 24 is out of range 0-23"),
    ("0 0 0 * *", "UTC", "day_of_month", "0", "day_of_month: 0 is out of range 1-31"),
    ("0 0 32 * *", "UTC", "day_of_month", "32", "out of range 1-31"),
    ("0 0 * 13 *", "UTC", "month", "13", "month: 13 is out of range 1-12"),
    ("0 0 * * 8", "UTC", "day_of_week", "8", "day_of_week: 8 is out of range 0-7"),
    ("*/0 * * * *", "UTC", "minute", "*/0", "step '0' in '*/0' must be a number from 1 to 60"),
    ("*/90 * * * *", "UTC", "minute", "*/90", "step '90'"),
    ("0 */x * * *", "UTC", "hour", "*/x", "step 'x'"),
    ("0 0 1-10/0 * *", "UTC", "day_of_month", "1-10/0", "step '0'"),
    ("10-5 * * * *", "UTC", "minute", "10-5", "range '10-5' goes backwards"),
    ("1,,2 * * * *", "UTC", "minute", "", "empty value"),
    ("-1 * * * *", "UTC", "minute", "-1", "empty value in '-1'"),
    ("x * * * *", "UTC", "minute", "x", "'x' is not a number"),
    ("0 0 * foo *", "UTC", "month", "foo", "'foo' is not a number or a name"),
    ("0 0 * * funday", "UTC", "day_of_week", "funday", "day_of_week: 'funday' is not"),
    ("0 0 * * mon-xyz", "UTC", "day_of_week", "mon-xyz", "'xyz' is not a number or a name"),
    ("0 0 L * *", "UTC", "day_of_month", "L", "'L' is not a number"),
    ("0 0 * * 1#2", "UTC", "day_of_week", "1#2", "day_of_week"),
    ("0 0 ? * *", "UTC", "day_of_month", "?", "day_of_month"),
    ("0 0 * jan-mon *", "UTC", "month", "jan-mon", "'mon' is not"),
    ("@every_5m", "UTC", "expression", "@every_5m", "unknown alias '@every_5m'"),
    ("0 0 31 2 *", "UTC", "expression", "0 0 31 2 *", "never fires"),
    ("0 0 30,31 feb *", "UTC", "expression", "0 0 30,31 feb *", "never fires"),
    ("0 0 31 4,jun,9,nov *", "UTC", "expression", "0 0 31 4,jun,9,nov *", "never fires"),
    ("0 0 31 2 */2", "UTC", "expression", "0 0 31 2 */2", "never fires"),  # AND: still never
    ("* * * * *", "Mars/Base", "timezone", "Mars/Base", "unknown time zone 'Mars/Base'"),
    ("* * * * *", "../../etc/passwd", "timezone", "../../etc/passwd", "unknown time zone"),
    ("* * * * *", "Europe", "timezone", "Europe", "unknown time zone"),
    ("", "UTC", "expression", "", "empty"),
    ("   ", "UTC", "expression", "   ", "empty"),
]


@pytest.mark.parametrize(("expression", "zone", "field", "value", "message"), ERRORS)
def test_invalid_expressions_say_what_and_where(
    expression: str, zone: str, field: str, value: str, message: str
) -> None:
    with pytest.raises(InvalidCronError) as caught:
        CronSchedule.parse(expression, zone)
    err = caught.value
    assert message in err.message
    assert err.details["field"] == field
    assert err.details["value"] == value
    assert err.details["expression"] == expression.strip() or not expression.strip()
    assert isinstance(err, BadRequestError) and err.code == "INVALID_CRON"


def test_non_string_input_is_an_invalid_cron_error() -> None:
    with pytest.raises(InvalidCronError):
        CronSchedule.parse(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidCronError) as caught:
        CronSchedule.parse("* * * * *", 5)  # type: ignore[arg-type]
    assert caught.value.details["field"] == "timezone"


# -- descriptions --------------------------------------------------------------------------------

DESCRIPTIONS = [
    ("*/5 * * * * *", "UTC", "every 5 seconds"),
    ("*/2 * * * * *", "UTC", "every 2 seconds"),
    ("* * * * * *", "UTC", "every second"),
    ("* * * * *", "UTC", "every minute"),
    ("*/15 * * * *", "UTC", "every 15 minutes"),
    ("30 2 * * *", "UTC", "at 02:30 every day"),
    ("30 2 * * *", "Europe/Paris", "at 02:30 every day (Europe/Paris)"),
    ("15 30 2 * * *", "UTC", "at 02:30:15 every day"),
    ("0 9 * * 1-5", "UTC", "at 09:00 on Monday to Friday"),
    ("0 9 * * sat,sun", "UTC", "at 09:00 on Saturday and Sunday"),
    ("0 9 * * 1,3,5", "UTC", "at 09:00 on Monday, Wednesday and Friday"),
    ("0 0 1 * *", "UTC", "at 00:00 on day 1 of the month"),
    ("0 0 1,15 * *", "UTC", "at 00:00 on days 1 and 15 of the month"),
    ("0 * * * *", "UTC", "at minute 0 of every hour"),
    ("0 */2 * * *", "UTC", "at minute 0 of every 2 hours"),
    ("0 9,17 * * *", "UTC", "at 09:00 and 17:00"),
    ("0 0 13 * 5", "UTC", "at 00:00 on day 13 of the month or on Friday"),
    ("@yearly", "UTC", "at 00:00 on day 1 of the month in January"),
    ("5 4 * jan-mar *", "UTC", "at 04:05 every day in January to March"),
]


@pytest.mark.parametrize(("expression", "zone", "text"), DESCRIPTIONS)
def test_describe(expression: str, zone: str, text: str) -> None:
    assert CronSchedule.parse(expression, zone).describe() == text


@pytest.mark.parametrize(
    "expression",
    [
        "1-59/7 * * * *",
        "*/15 9-17 * * mon-fri",
        "30 * * * * *",
        "0-10/2 */5 9-17 1,15 jan-jun mon-fri",
        "0 0 */2 * mon",
        "7 13 * * * *",
        "*/7 * 3 * * *",
    ],
)
def test_complex_descriptions_are_never_empty(expression: str) -> None:
    text = CronSchedule.parse(expression).describe()
    assert text and text.strip() == text


# -- cost ----------------------------------------------------------------------------------------


def test_ticks_between_is_cheap_and_builds_no_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    schedules = [CronSchedule.parse("*/5 * * * * *", "Europe/Paris") for _ in range(200)]
    built = []
    real_init = CronTrigger.__init__

    def counting_init(self: CronTrigger, *args: object, **kwargs: object) -> None:
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(CronTrigger, "__init__", counting_init)
    start = utc(2026, 5, 1, 12)
    began = time.perf_counter()
    total = sum(len(s.ticks_between(start, start + MINUTE)) for s in schedules)
    elapsed = time.perf_counter() - began
    assert total == 200 * 12
    assert built == []
    assert elapsed < 2.0, f"{elapsed:.2f}s for 2400 ticks"  # ~0.05 s here; generous for CI


def test_a_schedule_answers_a_question_it_was_asked_before_without_walking_again(monkeypatch):
    """A pass asks next_after(tick) for every automation sharing the schedule and the tick."""
    walks: list[datetime] = []
    real = CronSchedule._next_after

    def counting(self, after):
        walks.append(after)
        return real(self, after)

    monkeypatch.setattr(CronSchedule, "_next_after", counting)
    schedule = CronSchedule.parse("*/5 * * * *", "Europe/Paris")
    tick = datetime(2026, 3, 29, 0, 55, tzinfo=UTC)
    answers = {schedule.next_after(tick) for _ in range(1000)}
    assert answers == {datetime(2026, 3, 29, 1, 0, tzinfo=UTC)}
    assert len(walks) == 1
    same_instant = tick.astimezone(ZoneInfo("Asia/Tokyo"))
    assert schedule.next_after(same_instant) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert len(walks) == 1  # the same instant in another zone: the same question
    assert schedule.next_after(tick + timedelta(minutes=5)) == tick + timedelta(minutes=10)
    assert len(walks) == 2
