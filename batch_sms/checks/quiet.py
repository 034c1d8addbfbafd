"""Quiet hours in each recipient's own time zone: parse `21:00-08:00`, find a number's zones,
and the earliest moment a message may go (pure: every time is given, none is read)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from batch_sms.errors import UsageError

__all__ = [
    "QuietHours", "QuietPolicy", "local_text", "open_in", "parse_quiet_hours", "recipient_zones",
    "zone", "zones_of",
]  # fmt: skip

_CLOCK = re.compile(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*")
_DAY = 24 * 60
HORIZON = 8 * 86400  # seconds: a number whose zones share no open minute within this never goes


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Quiet from `start` (inclusive) to `end` (exclusive), in minutes after local midnight;
    `start > end` runs across midnight."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    def quiet_at(self, local: datetime) -> bool:
        """True when the local wall time `local` falls in quiet hours."""
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def ends_after(self, local: datetime) -> datetime:
        """The local wall time at which the quiet hours around `local` end (naive)."""
        day = local.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        minute = local.hour * 60 + local.minute
        if self.start > self.end and minute >= self.start:
            day += timedelta(days=1)  # the evening part: it ends tomorrow morning
        return day + timedelta(minutes=self.end)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_quiet_hours(text: str, source: str = "--quiet-hours") -> QuietHours:
    """`21:00-08:00` → QuietHours; UsageError naming `source` for anything else."""
    parts = text.split("-")
    found = [_CLOCK.fullmatch(p) for p in parts] if len(parts) == 2 else []
    if len(found) != 2 or not all(found):
        raise UsageError(
            f"{source}: {text!r} is not a time range",
            "give the quiet hours as HH:MM-HH:MM in the recipient's time, e.g. 21:00-08:00",
        )
    start, end = (int(m[1]) * 60 + int(m[2]) for m in found if m)
    if start == end:
        raise UsageError(
            f"{source}: {text!r} starts and ends at the same time",
            "give two different times, e.g. 21:00-08:00 (quiet from 21:00 until 08:00)",
        )
    return QuietHours(start, end)


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    """The time zone of an IANA name, or None when the system does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@functools.lru_cache(maxsize=65536)
def zones_of(phone: str) -> tuple[str, ...]:
    """The IANA zones of an E.164 number (digits, "+" optional); () when none is known."""
    parsed = _e164(phone.lstrip("+"))
    if parsed is None:
        return ()
    names = phone_timezone.time_zones_for_number(parsed)
    return tuple(n for n in names if n != phone_timezone.UNKNOWN_TIMEZONE and zone(n) is not None)


def _e164(digits: str) -> phonenumbers.PhoneNumber | None:
    """The number of E.164 digits, split at its country code (a prefix code: the first that
    matches is it). A list's numbers are already normalised: parsing them again costs 7 times
    as much."""
    if not digits.isdigit():
        return None
    for size in (1, 2, 3):
        code, rest = int(digits[:size]), digits[size:]
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE and rest:
            zeros = len(rest) - len(rest.lstrip("0"))
            return phonenumbers.PhoneNumber(
                country_code=code,
                national_number=int(rest),
                italian_leading_zero=True if zeros else None,
                number_of_leading_zeros=zeros if zeros > 1 else None,
            )
    return None


def recipient_zones(phone: str, default_zone: str | None) -> tuple[str, ...]:
    """The zones a number's local time is read in: its own, else the default's, else ()."""
    own = zones_of(phone)
    if own:
        return own
    return (default_zone,) if default_zone else ()


def local_text(ts: float, name: str) -> str:
    """A POSIX time as "YYYY-MM-DD HH:MM <zone>" in the zone `name`."""
    tz = zone(name) or UTC
    return f"{datetime.fromtimestamp(ts, tz):%Y-%m-%d %H:%M} {name}"


def _zone_opens(hours: QuietHours, tz: ZoneInfo, ts: float) -> float:
    """The first moment from `ts` at which the zone's wall time is outside quiet hours."""
    local = datetime.fromtimestamp(ts, tz)
    if not hours.quiet_at(local):
        return ts
    target = hours.ends_after(local)
    # fold 0 then 1: the earlier of an hour that repeats (fall back), unless it has passed.
    for fold in (0, 1):
        at = target.replace(tzinfo=tz, fold=fold).timestamp()
        if at >= ts and datetime.fromtimestamp(at, tz).replace(tzinfo=None) == target:
            return at
    at = target.replace(tzinfo=tz).timestamp()
    # The end falls in a gap the clock skips (spring forward): quiet ends when the clock jumps.
    low, high = at - 3 * 3600, at
    while high - low > 1:
        mid = (low + high) / 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= target:
            high = mid
        else:
            low = mid
    return float(int(high))


@dataclass(frozen=True)
class QuietPolicy:
    """Quiet hours read in each recipient's zones, with a zone for numbers that have none."""

    hours: QuietHours
    default_zone: str | None = None

    def next_open(self, phone: str, now: float) -> float | None:
        """The earliest moment from `now` at which every zone of the number is outside quiet
        hours (`now` itself when it is); None when the number has no zone, or its zones share
        no open minute within HORIZON."""
        return open_in(self.hours, recipient_zones(phone, self.default_zone), now)


def open_in(hours: QuietHours, zones: tuple[str, ...], now: float) -> float | None:
    """The earliest moment from `now` outside quiet hours in every one of `zones`; None for no
    zone, or zones that share no open minute within HORIZON."""
    tzs = [tz for name in zones if (tz := zone(name)) is not None]
    if not tzs:
        return None
    at = now
    while at - now <= HORIZON:
        latest = max(_zone_opens(hours, tz, at) for tz in tzs)
        if latest == at:
            return at
        at = latest  # that zone is quiet all the way to `latest`: no moment before it works
    return None
