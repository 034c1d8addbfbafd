"""Quiet hours in the recipient's zones: parsing, zones of a number, and the next open moment
across midnight, DST changes, half-hour zones and numbers with several zones (fixed times)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from helpers import NUMBERS

from batch_sms.checks.quiet import (
    QuietHours,
    QuietPolicy,
    local_text,
    parse_quiet_hours,
    recipient_zones,
    zone,
    zones_of,
)
from batch_sms.errors import UsageError

RU = "79161234567"  # Moscow mobile: phonenumbers gives 16 zones, Bucharest (+2) to Anadyr (+12)
AU = "61412345678"
BR = "5511987654321"
ID = "6281234567890"
IN = "919812345678"
NP = "9779812345678"
UNKNOWN = "15555550123"  # a US number phonenumbers knows no zone for
NIGHT = parse_quiet_hours("21:00-08:00")


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def at(ts: float | None) -> str:
    """A moment as UTC text, for readable failures."""
    assert ts is not None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("21:00-08:00", 1260, 480), ("9:30-10:00", 570, 600), (" 22:15 - 06:45 ", 1335, 405),
     ("00:00-23:59", 0, 1439)],
)  # fmt: skip
def test_parse_reads_hours_and_minutes(text: str, start: int, end: int) -> None:
    assert parse_quiet_hours(text) == QuietHours(start, end)


def test_the_range_prints_as_given() -> None:
    assert str(parse_quiet_hours("9:05-7:00")) == "09:05-07:00"


@pytest.mark.parametrize("text", ["", "21", "21-08", "21:00", "24:00-08:00", "21:60-08:00",
                                  "21:00-08:00-09:00", "9pm-8am", "21:00–08:00"])  # fmt: skip
def test_parse_refuses_what_is_no_time_range(text: str) -> None:
    with pytest.raises(UsageError, match="--quiet-hours") as caught:
        parse_quiet_hours(text)
    assert "HH:MM-HH:MM" in (caught.value.hint or "")


def test_parse_refuses_an_empty_range_naming_the_source() -> None:
    with pytest.raises(UsageError, match=r"quiet_hours.*same time"):
        parse_quiet_hours("08:00-08:00", "quiet_hours")


@pytest.mark.parametrize(
    ("minute", "quiet"),
    [(20 * 60 + 59, False), (21 * 60, True), (23 * 60 + 59, True), (0, True), (7 * 60 + 59, True),
     (8 * 60, False), (12 * 60, False)],
)  # fmt: skip
def test_quiet_at_across_midnight(minute: int, quiet: bool) -> None:
    local = datetime(2026, 12, 1) + timedelta(minutes=minute)
    assert NIGHT.quiet_at(local) is quiet


def test_quiet_at_within_one_day() -> None:
    lunch = parse_quiet_hours("12:00-14:00")
    assert [lunch.quiet_at(datetime(2026, 1, 1, h)) for h in (11, 12, 13, 14)] == [
        False, True, True, False,
    ]  # fmt: skip


def test_zones_of_numbers() -> None:
    assert zones_of(NUMBERS["CN"]) == ("Asia/Shanghai",)
    assert zones_of(NUMBERS["US"]) == ("America/New_York",)
    assert zones_of("+" + NUMBERS["US"]) == ("America/New_York",)
    assert zones_of(UNKNOWN) == ()
    assert zones_of("not a number") == ()
    assert {"Europe/Moscow", "Asia/Kamchatka"} <= set(zones_of(RU))
    assert {"Australia/Perth", "Australia/Sydney"} <= set(zones_of(AU))


def test_recipient_zones_fall_back_to_the_default() -> None:
    assert recipient_zones(UNKNOWN, "America/Chicago") == ("America/Chicago",)
    assert recipient_zones(UNKNOWN, None) == ()
    assert recipient_zones(NUMBERS["CN"], "America/Chicago") == ("Asia/Shanghai",)


def test_zone_of_an_unknown_name_is_none() -> None:
    assert zone("Mars/Olympus") is None
    assert zone("") is None


def test_local_text() -> None:
    assert local_text(utc(2026, 12, 1, 0, 0), "Asia/Shanghai") == "2026-12-01 08:00 Asia/Shanghai"


# --- next_open: fixed cases ------------------------------------------------------------------

CN_POLICY = QuietPolicy(NIGHT)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 30, 19, 0), utc(2026, 12, 1, 0, 0)),  # 03:00 Shanghai -> 08:00
        (utc(2026, 11, 30, 13, 0), utc(2026, 12, 1, 0, 0)),  # 21:00 Shanghai: evening part
        (utc(2026, 11, 30, 12, 59), utc(2026, 11, 30, 12, 59)),  # 20:59: still open
        (utc(2026, 12, 1, 0, 0), utc(2026, 12, 1, 0, 0)),  # 08:00 sharp: open
        (utc(2026, 11, 30, 23, 59, 30), utc(2026, 12, 1, 0, 0)),  # 07:59:30
    ],
)
def test_next_open_across_midnight(now: float, expected: float) -> None:
    assert at(CN_POLICY.next_open(NUMBERS["CN"], now)) == at(expected)


def test_next_open_in_a_window_within_the_day() -> None:
    lunch = QuietPolicy(parse_quiet_hours("12:00-14:00"))
    # 13:00 Shanghai is 05:00 UTC; quiet ends at 14:00 = 06:00 UTC.
    assert at(lunch.next_open(NUMBERS["CN"], utc(2026, 6, 1, 5, 0))) == at(utc(2026, 6, 1, 6, 0))


NY = QuietPolicy(NIGHT)
US = NUMBERS["US"]


@pytest.mark.parametrize(
    ("policy", "now", "expected"),
    [
        # 8 March 2026: New York springs forward at 02:00 EST; 08:00 is EDT (12:00 UTC).
        (NY, utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 12, 0)),
        # The day before, 08:00 is still EST (13:00 UTC).
        (NY, utc(2026, 3, 7, 6, 0), utc(2026, 3, 7, 13, 0)),
        # Quiet until 02:30, a time that does not exist that night: open when the clock jumps.
        (QuietPolicy(parse_quiet_hours("21:00-02:30")), utc(2026, 3, 8, 6, 0),
         utc(2026, 3, 8, 7, 0)),
        # 1 November 2026: back to EST at 02:00 EDT; 08:00 is EST (13:00 UTC).
        (NY, utc(2026, 11, 1, 8, 0), utc(2026, 11, 1, 13, 0)),
        # Quiet until 01:30, an hour that happens twice: open at the first 01:30 (EDT) …
        (QuietPolicy(parse_quiet_hours("21:00-01:30")), utc(2026, 11, 1, 4, 30),
         utc(2026, 11, 1, 5, 30)),
        # … and quiet again when the clock goes back to 01:00 (EST), until 01:30 EST.
        (QuietPolicy(parse_quiet_hours("21:00-01:30")), utc(2026, 11, 1, 6, 10),
         utc(2026, 11, 1, 6, 30)),
    ],
)  # fmt: skip
def test_next_open_over_new_york_dst_changes(
    policy: QuietPolicy, now: float, expected: float
) -> None:
    assert at(policy.next_open(US, now)) == at(expected)


@pytest.mark.parametrize(
    ("phone", "now", "expected"),
    [
        (IN, utc(2026, 12, 1, 2, 0), utc(2026, 12, 1, 2, 30)),  # 07:30 IST -> 08:00 (+5:30)
        (NP, utc(2026, 12, 1, 2, 0), utc(2026, 12, 1, 2, 15)),  # 07:45 NPT -> 08:00 (+5:45)
        (IN, utc(2026, 12, 1, 15, 29), utc(2026, 12, 1, 15, 29)),  # 20:59 IST: open
        (NP, utc(2026, 12, 1, 15, 15), utc(2026, 12, 2, 2, 15)),  # 21:00 NPT: next morning
    ],
)
def test_next_open_in_half_hour_zones(phone: str, now: float, expected: float) -> None:
    assert at(QuietPolicy(NIGHT).next_open(phone, now)) == at(expected)


def test_a_number_with_several_zones_goes_only_when_all_are_open() -> None:
    # Winter: Bucharest (+2) opens at 06:00 UTC, Anadyr and Kamchatka (+12) close at 09:00 UTC.
    policy = QuietPolicy(NIGHT)
    assert at(policy.next_open(RU, utc(2026, 1, 15, 0, 0))) == at(utc(2026, 1, 15, 6, 0))
    assert at(policy.next_open(RU, utc(2026, 1, 15, 8, 59))) == at(utc(2026, 1, 15, 8, 59))
    assert at(policy.next_open(RU, utc(2026, 1, 15, 9, 0))) == at(utc(2026, 1, 16, 6, 0))


def test_zones_that_share_no_open_minute_never_open() -> None:
    narrow = QuietPolicy(parse_quiet_hours("08:00-04:00"))  # open 04:00-08:00 only
    assert narrow.next_open(RU, utc(2026, 1, 15, 0, 0)) is None


def test_a_number_without_zone_uses_the_default_or_never_opens() -> None:
    assert QuietPolicy(NIGHT).next_open(UNKNOWN, utc(2026, 12, 1, 3, 0)) is None
    chicago = QuietPolicy(NIGHT, default_zone="America/Chicago")
    # 03:00 UTC is 21:00 CST: open at 08:00 CST = 14:00 UTC.
    assert at(chicago.next_open(UNKNOWN, utc(2026, 12, 1, 3, 0))) == at(utc(2026, 12, 1, 14, 0))


# --- next_open against a minute-by-minute scan ----------------------------------------------


def scan(policy: QuietPolicy, phone: str, now: float) -> float:
    """The first whole minute from `now` at which every zone is outside quiet hours."""
    zones = [zone(name) for name in recipient_zones(phone, policy.default_zone)]
    t = now
    while any(policy.hours.quiet_at(datetime.fromtimestamp(t, tz)) for tz in zones):
        t += 60
    return t


# Also: an Indonesian mobile in two zones (Jakarta, Makassar) and a US toll-free number in 42
# (Guam to Adak: with 13 open hours a day they never share one).
@pytest.mark.parametrize(
    "phone",
    [NUMBERS["CN"], US, "18085551234", RU, AU, BR, ID, IN, NP, "62811234567", "18005550123"],
)
@pytest.mark.parametrize("hours", ["21:00-08:00", "22:30-07:15", "13:00-14:30", "20:00-09:00"])
def test_next_open_matches_a_scan(phone: str, hours: str) -> None:
    policy = QuietPolicy(parse_quiet_hours(hours))
    dice = random.Random(f"{phone} {hours}")
    starts = [utc(2026, 3, 8, 5, 0), utc(2026, 11, 1, 5, 0), utc(2026, 4, 5, 14, 0)]
    starts += [utc(2026, 1, 1) + 60 * dice.randrange(365 * 1440) for _ in range(6)]
    for now in starts:
        found = policy.next_open(phone, now)
        if found is None:  # only where the zones share no open minute within a day
            assert all(scan_none(policy, phone, now))
            continue
        assert at(found) == at(scan(policy, phone, now)), (phone, hours, at(now))


def scan_none(policy: QuietPolicy, phone: str, now: float) -> list[bool]:
    """Each minute of the next day is quiet in some zone."""
    zones = [zone(name) for name in recipient_zones(phone, policy.default_zone)]
    return [
        any(policy.hours.quiet_at(datetime.fromtimestamp(now + 60 * m, tz)) for tz in zones)
        for m in range(0, 1440, 7)
    ]
