"""The send window: `--not-before` and `--send-until` times, read in the zone the value names, the
machine's, or (with `--recipient-time`) each recipient's own (pure: zones and times are given)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from batch_sms.checks.quiet import QuietHours, local_text, open_in, recipient_zones, zone
from batch_sms.errors import UsageError

__all__ = ["NO_ZONE", "Opening", "SendWindow", "WindowTime", "parse_window_time"]

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


def _when(ts: float, zones: tuple[str, ...]) -> str:
    """A moment in UTC and in the recipient's zones (the first three)."""
    shown = [local_text(ts, z) for z in zones[:3]] + (["…"] if len(zones) > 3 else [])
    local = f" ({', '.join(shown)})" if shown else ""
    return f"{local_text(ts, 'UTC')}{local}"


def _closed(until: WindowTime, ts: float, zones: tuple[str, ...]) -> str:
    """Why a message ends expired."""
    return (
        f"expired: the send window closed at {_when(ts, zones)} (--send-until {until.text}) "
        "before the message could go; it is never sent late"
    )
