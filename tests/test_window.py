"""The send window: --not-before/--send-until values and when each message may go."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from helpers import NUMBERS

from batch_sms.checks.quiet import parse_quiet_hours
from batch_sms.checks.window import (
    NO_ZONE,
    Opening,
    SendWindow,
    parse_window_time,
    pin_zone,
    plan_notes,
)
from batch_sms.errors import UsageError

CN, US = NUMBERS["CN"], NUMBERS["US"]
UNKNOWN = "15555550123"


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def when(text: str, recipient: bool = False) -> float | None:
    return parse_window_time(text, "--not-before", recipient_time=recipient).at()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 09:00 UTC", utc(2026, 12, 1, 9)),
        ("2026-12-01 09:00 Asia/Shanghai", utc(2026, 12, 1, 1)),
        ("2026-12-01T09:00 America/New_York", utc(2026, 12, 1, 14)),
        ("2026-07-01 09:00 America/New_York", utc(2026, 7, 1, 13)),  # EDT
        ("2026-12-01 09:00:30 +08:00", utc(2026, 12, 1, 1, 0, 30)),
        ("2026-12-01 09:00 Z", utc(2026, 12, 1, 9)),
        ("2026-12-01 9:00 -05:00", utc(2026, 12, 1, 14)),
    ],
)
def test_a_time_with_a_zone(text: str, expected: float) -> None:
    assert when(text) == expected


def test_a_time_without_a_zone_is_the_machines_or_the_given_one() -> None:
    assert when("2026-12-01 09:00") == datetime(2026, 12, 1, 9).timestamp()
    given = parse_window_time(
        "2026-12-01 09:00", "--send-until", recipient_time=False, machine_zone="Asia/Tokyo"
    )
    assert given.at() == utc(2026, 12, 1, 0)


@pytest.mark.parametrize("text", ["tomorrow", "2026-12-01", "01.12.2026 09:00", "2026-13-01 09:00",
                                  "2026-12-01 25:00", "2026-12-01 09:00 Mars/Base"])  # fmt: skip
def test_bad_values_name_the_option(text: str) -> None:
    with pytest.raises(UsageError, match="--not-before"):
        when(text)


def test_recipient_time_names_no_zone_and_reads_each_recipients() -> None:
    with pytest.raises(UsageError, match="--recipient-time"):
        when("2026-12-01 09:00 UTC", recipient=True)
    value = parse_window_time("2026-12-01 09:00", "--not-before", recipient_time=True)
    assert value.at(("Asia/Shanghai",)) == utc(2026, 12, 1, 1)
    # Several zones: the moment it is 09:00 in every one (the westernmost's).
    assert value.at(("Asia/Shanghai", "America/New_York")) == utc(2026, 12, 1, 14)
    assert value.at(()) is None


NIGHT = parse_quiet_hours("21:00-08:00")
NOW = utc(2026, 11, 30, 19, 0)  # 03:00 in Shanghai, 14:00 in New York


def window(**given: object) -> SendWindow:
    return SendWindow(**given)  # type: ignore[arg-type]


def test_an_empty_window_is_false_and_lets_everything_go() -> None:
    assert not SendWindow()
    assert SendWindow().opening(CN, NOW) == Opening(NOW)


def test_quiet_hours_hold_until_morning_with_utc_and_local_time() -> None:
    opening = window(quiet=NIGHT).opening(CN, NOW)
    assert opening.at == utc(2026, 12, 1, 0)
    assert not opening.expired
    assert opening.why == (
        "quiet hours 21:00-08:00: may go from 2026-12-01 00:00 UTC (2026-12-01 08:00 Asia/Shanghai)"
    )
    assert window(quiet=NIGHT).opening(US, NOW) == Opening(NOW)


def test_not_before_holds_then_quiet_hours_apply_from_then() -> None:
    start = parse_window_time("2026-12-01 06:00 UTC", "--not-before", recipient_time=False)
    # 06:00 UTC is 01:00 in New York: quiet until 08:00 EST = 13:00 UTC.
    opening = window(quiet=NIGHT, not_before=start).opening(US, NOW)
    assert opening.at == utc(2026, 12, 1, 13)
    assert opening.why.startswith("--not-before 2026-12-01 06:00 UTC and quiet hours 21:00-08:00")
    # Without quiet hours, the not-before time itself.
    assert window(not_before=start).opening(US, NOW).at == utc(2026, 12, 1, 6)
    assert window(not_before=start).opening(US, utc(2026, 12, 1, 7)) == Opening(utc(2026, 12, 1, 7))


def test_not_before_in_recipient_time() -> None:
    start = parse_window_time("2026-12-01 09:00", "--not-before", recipient_time=True)
    assert window(not_before=start).opening(CN, NOW).at == utc(2026, 12, 1, 1)
    assert window(not_before=start).opening(US, NOW).at == utc(2026, 12, 1, 14)
    held = window(not_before=start).opening(UNKNOWN, NOW)
    assert held == Opening(None, NO_ZONE)
    chicago = window(not_before=start, default_zone="America/Chicago")
    assert chicago.opening(UNKNOWN, NOW).at == utc(2026, 12, 1, 15)


def test_send_until_expires_what_cannot_go_before_it() -> None:
    until = parse_window_time("2026-11-30 23:00 UTC", "--send-until", recipient_time=False)
    # The Shanghai number may go only at 00:00 UTC, after the deadline: expired at once.
    expired = window(quiet=NIGHT, send_until=until).opening(CN, NOW)
    assert expired.expired
    assert "send window closed at 2026-11-30 23:00 UTC" in expired.why
    assert "never sent late" in expired.why
    # New York is open now, before the deadline: it goes.
    assert window(quiet=NIGHT, send_until=until).opening(US, NOW) == Opening(NOW)
    # At the deadline itself nothing goes any more.
    assert window(send_until=until).opening(US, utc(2026, 11, 30, 23)).expired


def test_open_at_says_whether_a_message_may_go_now() -> None:
    until = parse_window_time("2026-11-30 23:00 UTC", "--send-until", recipient_time=False)
    night = window(quiet=NIGHT, send_until=until)
    assert night.open_at(US, NOW)  # 14:00 in New York
    assert not night.open_at(CN, NOW)  # 03:00 in Shanghai (and too late for it: expired)
    assert not window(quiet=NIGHT).open_at(UNKNOWN, NOW)  # no zone: no moment known
    assert not window(send_until=until).open_at(US, utc(2026, 11, 30, 23))  # expired at once


def test_a_number_without_zone_is_held_with_the_reason() -> None:
    assert window(quiet=NIGHT).opening(UNKNOWN, NOW) == Opening(None, NO_ZONE)
    assert "--default-timezone" in NO_ZONE
    chicago = window(quiet=NIGHT, default_zone="America/Chicago").opening(UNKNOWN, NOW)
    assert chicago == Opening(NOW)  # 13:00 in Chicago


def test_zones_that_never_share_an_open_minute_say_so() -> None:
    narrow = window(quiet=parse_quiet_hours("08:00-04:00"))
    held = narrow.opening("79161234567", NOW)
    assert held.at is None
    assert "no minute open in all of its time zones" in held.why


@pytest.fixture
def in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's zone is Asia/Tokyo for the test."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("in_tokyo")
def test_pin_zone_makes_the_machines_zone_explicit() -> None:
    assert pin_zone("2026-12-01 09:00", "--not-before", recipient_time=False) == (
        "2026-12-01 09:00 +09:00"
    )
    assert when("2026-12-01 09:00 +09:00") == when("2026-12-01 09:00") == utc(2026, 12, 1, 0)
    for kept in ("2026-12-01 09:00 UTC", "2026-12-01 09:00 -05:00"):
        assert pin_zone(kept, "--not-before", recipient_time=False) == kept
    assert pin_zone("2026-12-01 09:00", "--send-until", recipient_time=True) == "2026-12-01 09:00"
    assert pin_zone(None, "--send-until", recipient_time=False) is None


def test_plan_notes_count_held_unzoned_and_expiring_messages() -> None:
    phones = [CN, US, UNKNOWN, CN]
    assert plan_notes(SendWindow(), phones, NOW) == []
    assert plan_notes(window(quiet=NIGHT), [US], NOW) == [
        "quiet hours 21:00-08:00 (recipient's time): no message is held now"
    ]
    assert plan_notes(window(quiet=NIGHT), phones, NOW) == [
        "quiet hours 21:00-08:00 (recipient's time): 2 messages are held now; the first may go "
        "from 2026-12-01 00:00 UTC (2026-12-01 08:00 Asia/Shanghai)",
        f"1 messages are held: {NO_ZONE}",
    ]
    until = parse_window_time("2026-11-30 23:00 UTC", "--send-until", recipient_time=False)
    assert plan_notes(window(quiet=NIGHT, send_until=until), [CN, US], NOW) == [
        "quiet hours 21:00-08:00 (recipient's time), send until 2026-11-30 23:00 UTC: no message "
        "is held now",
        "1 messages would end expired: they cannot go before --send-until 2026-11-30 23:00 UTC",
    ]
