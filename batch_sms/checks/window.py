"""The send window: `--not-before` and `--send-until` times, read in the zone the value names, the
machine's, or (with `--recipient-time`) each recipient's own (pure: zones and times are given)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from batch_sms.checks.quiet import (
    QuietHours,
    local_text,
    open_in,
    parse_quiet_hours,
    recipient_zones,
    zone,
)
from batch_sms.errors import UsageError

__all__ = [
    "NO_ZONE", "Opening", "SendWindow", "WindowTime", "build_window", "parse_window_time",
    "pin_zone", "plan_notes",
]  # fmt: skip

_WHEN = re.compile(r"\s*(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2})?)\s*(.*?)\s*")
_FORMS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class WindowTime:
    """A wall time `local` (naive) and the zone it is read in; `zone_name` None: the
    recipient's own zones (`--recipient-time`)."""

    local: datetime
    zone_name: str | None
    text: str  # as the user wrote it

    def at(self, zones: tuple[str, ...] = ()) -> float | None:
        """The moment in UTC: in the value's zone, or, for a recipient time, the latest of the
        recipient's `zones` (the moment it has passed in every one); None without a zone."""
        if self.zone_name == "":  # the machine's own zone
            return self.local.timestamp()
        if self.zone_name is not None:
            return self.local.replace(
                tzinfo=zone(self.zone_name) or _offset(self.zone_name)
            ).timestamp()
        moments = [self.local.replace(tzinfo=tz).timestamp() for n in zones if (tz := zone(n))]
        return max(moments) if moments else None


def _offset(text: str) -> tzinfo | None:
    """A fixed UTC offset such as `+08:00` or `Z` (already checked by the parser)."""
    return datetime.fromisoformat(f"2000-01-01T00:00{'+00:00' if text == 'Z' else text}").tzinfo


def parse_window_time(
    text: str, source: str, *, recipient_time: bool, machine_zone: str | None = None
) -> WindowTime:
    """`2026-12-01 09:00` (optionally followed by a zone such as `Asia/Shanghai`, `UTC`, `+08:00`)
    → WindowTime; with `recipient_time` the time is each recipient's own and must name no zone.
    `machine_zone` None reads a zoneless value in the machine's zone."""
    found = _WHEN.fullmatch(text)
    local = None
    if found:
        for form in _FORMS:
            try:
                local = datetime.strptime(f"{found[1]} {found[2]}", form)
                break
            except ValueError:
                continue
    if found is None or local is None:
        raise UsageError(
            f"{source}: {text!r} is not a date and time",
            f'give it as "YYYY-MM-DD HH:MM", e.g. {source} "2026-12-01 09:00" (optionally with a '
            'time zone: "2026-12-01 09:00 Asia/Shanghai")',
        )
    named = found[3]
    if named and recipient_time:
        raise UsageError(
            f"{source}: {text!r} names a time zone, but --recipient-time reads it in each "
            "recipient's own zone",
            f"drop {named!r} from the value, or drop --recipient-time",
        )
    if recipient_time:
        return WindowTime(local, None, text)
    if named and zone(named) is None and not _is_offset(named):
        raise UsageError(
            f"{source}: {named!r} is not a time zone",
            "name an IANA zone such as Asia/Shanghai, America/New_York or UTC, or an offset "
            "such as +08:00",
        )
    return WindowTime(local, named or machine_zone or "", text)


def pin_zone(text: str | None, source: str, recipient_time: bool) -> str | None:
    """A time that names no zone, with the machine's UTC offset at that time added, so that a
    run resumed elsewhere (or after the machine's zone changed) reads it as it was meant."""
    if text is None or recipient_time:
        return text
    value = parse_window_time(text, source, recipient_time=False)
    if value.zone_name:
        return text
    offset = value.local.astimezone().strftime("%z")
    return f"{text.strip()} {offset[:3]}:{offset[3:]}"


def _is_offset(text: str) -> bool:
    return text == "Z" or re.fullmatch(r"[+-]\d{2}:\d{2}", text) is not None


@dataclass(frozen=True)
class Opening:
    """When one message may go: `at` (== now when it may go now; None: no moment is known), why
    it waits, and whether the send window closes first (`expired`)."""

    at: float | None
    why: str = ""
    expired: bool = False


NO_ZONE = (
    "no time zone is known for this number, so its local time cannot be told; give "
    "--default-timezone (e.g. --default-timezone Asia/Shanghai) and resume"
)


@dataclass(frozen=True)
class SendWindow:
    """Quiet hours, not before, send until: when each message may go (all optional)."""

    quiet: QuietHours | None = None
    not_before: WindowTime | None = None
    send_until: WindowTime | None = None
    default_zone: str | None = None

    def __bool__(self) -> bool:
        return any((self.quiet, self.not_before, self.send_until))

    def open_at(self, phone: str, now: float) -> bool:
        """Whether the message to `phone` may go at `now`."""
        opening = self.opening(phone, now)
        return not opening.expired and opening.at == now

    def opening(self, phone: str, now: float) -> Opening:
        """When the message to `phone` may go, seen at `now`."""
        zones = recipient_zones(phone, self.default_zone)
        at: float | None = now
        whys = []
        if self.not_before is not None:
            start = self.not_before.at(zones)
            if start is None:
                return Opening(None, NO_ZONE)
            if start > now:
                at = start
                whys.append(f"--not-before {self.not_before.text}")
        if self.quiet is not None and at is not None:
            opens = open_in(self.quiet, zones, at)
            if opens is None:
                why = (
                    NO_ZONE
                    if not zones
                    else (
                        f"quiet hours {self.quiet} leave no minute open in all of its time "
                        "zones at once"
                    )
                )
                return Opening(None, why)
            if opens > at:
                whys.append(f"quiet hours {self.quiet}")
            at = opens
        if self.send_until is not None:
            until = self.send_until.at(zones)
            if until is not None and at is not None and at >= until:
                return Opening(at, _closed(self.send_until, until, zones), expired=True)
        if at is None or at <= now:
            return Opening(now)
        return Opening(at, f"{' and '.join(whys)}: may go from {_when(at, zones)}")


@functools.lru_cache(maxsize=4096)  # a list's messages share a few moments and zones
def _when(ts: float, zones: tuple[str, ...]) -> str:
    """A moment in UTC and in the recipient's zones (the first three)."""
    shown = [local_text(ts, z) for z in zones[:3]] + (["…"] if len(zones) > 3 else [])
    local = f" ({', '.join(shown)})" if shown else ""
    return f"{local_text(ts, 'UTC')}{local}"


def _closed(until: WindowTime, ts: float, zones: tuple[str, ...]) -> str:
    """Why a message ends expired."""
    return (
        f"expired: the send window closed at {_when(ts, zones)} before the message could go; "
        f"it is never sent late (--send-until {until.text})"
    )


def build_window(
    quiet_hours: str | None,
    default_timezone: str | None,
    not_before: str | None,
    send_until: str | None,
    recipient_time: bool,
) -> SendWindow:
    """The window of the settings' texts; UsageError naming the option for a bad one."""
    if default_timezone is not None and zone(default_timezone) is None:
        raise UsageError(
            f"--default-timezone: {default_timezone!r} is not a time zone",
            "name an IANA zone such as Asia/Shanghai, America/New_York or Europe/London",
        )
    if recipient_time and not_before is None and send_until is None:
        raise UsageError(
            "--recipient-time reads --not-before and --send-until in each recipient's zone",
            "give --not-before or --send-until with it, or drop it",
        )
    window = SendWindow(
        quiet=None if quiet_hours is None else parse_quiet_hours(quiet_hours),
        not_before=_time(not_before, "--not-before", recipient_time),
        send_until=_time(send_until, "--send-until", recipient_time),
        default_zone=default_timezone,
    )
    _check_order(window)
    return window


def _time(text: str | None, source: str, recipient_time: bool) -> WindowTime | None:
    return None if text is None else parse_window_time(text, source, recipient_time=recipient_time)


def _check_order(window: SendWindow) -> None:
    """A window that closes before it opens sends nothing: refuse it (same zone reading only)."""
    start, end = window.not_before, window.send_until
    if start is None or end is None or start.zone_name is None or end.zone_name is None:
        return
    if (opens := start.at()) is not None and (closes := end.at()) is not None and closes <= opens:
        raise UsageError(
            f"--send-until {end.text} is not after --not-before {start.text}",
            "give a send-until time later than the not-before time",
        )


def plan_notes(window: SendWindow, phones: Iterable[str], now: float) -> list[str]:
    """What the plan says about the window at `now`: messages held, when the first may go,
    those the window closes on and those without a zone."""
    if not window:
        return []
    held, nozone, expired = 0, 0, 0
    first: tuple[float, str] | None = None
    for phone in phones:
        opening = window.opening(phone, now)
        if opening.expired:
            expired += 1
        elif opening.at is None:
            nozone += 1
        elif opening.at > now:
            held += 1
            if first is None or opening.at < first[0]:
                first = (opening.at, phone)
    notes = []
    if first is not None:
        at, phone = first
        zones = recipient_zones(phone, window.default_zone)
        notes.append(
            f"{_settings_text(window)}: {held:,} messages are held now; the first may go from "
            f"{_when(at, zones)}"
        )
    elif window.quiet or window.not_before:
        notes.append(f"{_settings_text(window)}: no message is held now")
    if nozone:
        notes.append(f"{nozone:,} messages are held: {NO_ZONE}")
    if expired:
        notes.append(
            f"{expired:,} messages would end expired: they cannot go before --send-until "
            f"{window.send_until.text if window.send_until else ''}"
        )
    return notes


def _settings_text(window: SendWindow) -> str:
    """The window's settings in a few words, e.g. "quiet hours 21:00-08:00, not before …"."""
    parts = []
    if window.quiet is not None:
        parts.append(f"quiet hours {window.quiet} (recipient's time)")
    if window.not_before is not None:
        parts.append(f"not before {window.not_before.text}")
    if window.send_until is not None:
        parts.append(f"send until {window.send_until.text}")
    return ", ".join(parts)
