"""The send-window gate in a real dispatch against the sandbox: held rows end `scheduled` with
when and why, a later dispatch inside the window sends them, a closed window expires them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
from helpers import NUMBERS, FakeClock, SandboxMaker, by_row, make_run, status_counts

from batch_sms.checks.quiet import parse_quiet_hours
from batch_sms.checks.window import NO_ZONE, SendWindow, parse_window_time
from batch_sms.dispatch import DispatchResult, DispatchSettings, dispatch
from batch_sms.dispatch.gates import Expire, Hold
from batch_sms.dispatch.windows import WindowGate
from batch_sms.journal import Journal, Queued
from batch_sms.models import Status
from batch_sms.provider.client import Client
from batch_sms.sandbox.server import SandboxHandle

SETTINGS = DispatchSettings(hourly_cap=None, concurrency=2)
CN, US = NUMBERS["CN"], NUMBERS["US"]
NIGHT = parse_quiet_hours("21:00-08:00")
AT_3_IN_SHANGHAI = datetime(2026, 11, 30, 19, 0, tzinfo=UTC).timestamp()  # 14:00 in New York
AT_8_IN_SHANGHAI = datetime(2026, 12, 1, 0, 0, tzinfo=UTC).timestamp()


def run(
    handle: SandboxHandle, journal: Journal, run_id: str, clock: FakeClock, gate: WindowGate
) -> DispatchResult:
    """One dispatch on the fake clock (its waits end when a request does, as on a real one);
    the client signs with the real clock, the sandbox's."""

    async def go() -> DispatchResult:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials)
            return await dispatch(run_id, journal, client, SETTINGS, clock=clock, gates=(gate,))

    return asyncio.run(go())


def queued(phone: str) -> Queued:
    return Queued(1, "r", 2, 0, phone, "Hi", 1, 0, Status.PENDING)


def test_the_verdicts() -> None:
    gate = WindowGate(SendWindow(quiet=NIGHT))
    assert gate.verdict(queued(US), AT_3_IN_SHANGHAI) is None
    held = gate.verdict(queued(CN), AT_3_IN_SHANGHAI)
    assert isinstance(held, Hold)
    assert (held.until, held.ends) == (AT_8_IN_SHANGHAI, Status.SCHEDULED)
    nozone = gate.verdict(queued("15555550123"), AT_3_IN_SHANGHAI)
    assert nozone == Hold(float("inf"), NO_ZONE, Status.SCHEDULED)
    until = parse_window_time("2026-11-30 20:00 UTC", "--send-until", recipient_time=False)
    closing = WindowGate(SendWindow(quiet=NIGHT, send_until=until))
    assert isinstance(closing.verdict(queued(CN), AT_3_IN_SHANGHAI), Expire)


def test_quiet_rows_end_scheduled_and_a_dispatch_inside_the_window_sends_them(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    make_run(journal, "run-quiet1", [(CN, "Hi"), (US, "Hi"), ("15555550123", "Hi")])
    clock = FakeClock(AT_3_IN_SHANGHAI)
    gate = WindowGate(SendWindow(quiet=NIGHT))
    first = run(handle, journal, "run-quiet1", clock, gate)
    assert first.counts == {"sent": 1, "scheduled": 2}
    assert clock.now == AT_3_IN_SHANGHAI  # ended at once: nothing waited
    rows = by_row(journal, "run-quiet1")
    assert rows[2].status is Status.SCHEDULED
    assert rows[2].next_at == AT_8_IN_SHANGHAI
    assert "2026-12-01 00:00 UTC (2026-12-01 08:00 Asia/Shanghai)" in rows[2].error
    assert (rows[4].status, rows[4].next_at, rows[4].error) == (Status.SCHEDULED, None, NO_ZONE)
    assert [a.phone for a in handle.sandbox.accepted] == [US]

    clock.now = AT_8_IN_SHANGHAI + 60  # inside the window: the Shanghai row goes, once
    second = run(handle, journal, "run-quiet1", clock, gate)
    assert second.counts == {"sent": 1, "scheduled": 1}
    assert status_counts(journal, "run-quiet1") == {"sent": 2, "scheduled": 1}
    assert sorted(a.phone for a in handle.sandbox.accepted) == sorted([US, CN])


def test_a_closed_window_expires_its_rows_and_sends_none(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    make_run(journal, "run-quiet2", [(CN, "Hi"), (US, "Hi")])
    until = parse_window_time("2026-11-30 23:00 UTC", "--send-until", recipient_time=False)
    gate = WindowGate(SendWindow(quiet=NIGHT, send_until=until))
    result = run(handle, journal, "run-quiet2", FakeClock(AT_3_IN_SHANGHAI), gate)
    assert result.counts == {"sent": 1, "expired": 1}
    expired = by_row(journal, "run-quiet2")[2]
    assert expired.status is Status.EXPIRED
    assert "--send-until 2026-11-30 23:00 UTC" in expired.error
    assert [a.phone for a in handle.sandbox.accepted] == [US]
    # A later dispatch never picks an expired row up again.
    again = run(handle, journal, "run-quiet2", FakeClock(AT_8_IN_SHANGHAI), gate)
    assert again.counts == {}
    assert len(handle.sandbox.accepted) == 1


def test_a_not_before_time_alone_ends_the_row_scheduled_for_then(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    start = parse_window_time("2026-11-30 19:00:30 UTC", "--not-before", recipient_time=False)
    make_run(journal, "run-quiet3", [(US, "Hi")])
    gate = WindowGate(SendWindow(not_before=start))
    clock = FakeClock(AT_3_IN_SHANGHAI)
    result = run(handle, journal, "run-quiet3", clock, gate)
    # Held with no other work, it ends scheduled (a dispatch never waits for a gate alone).
    assert result.counts == {"scheduled": 1}
    assert by_row(journal, "run-quiet3")[2].next_at == AT_3_IN_SHANGHAI + 30


def test_a_scheduled_row_whose_window_closed_meanwhile_ends_expired(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    make_run(journal, "run-quiet4", [(CN, "Hi")])
    until = parse_window_time("2026-12-01 02:00 UTC", "--send-until", recipient_time=False)
    gate = WindowGate(SendWindow(quiet=NIGHT, send_until=until))
    first = run(handle, journal, "run-quiet4", FakeClock(AT_3_IN_SHANGHAI), gate)
    assert first.counts == {"scheduled": 1}  # may go at 00:00 UTC, before the deadline
    late = run(handle, journal, "run-quiet4", FakeClock(AT_8_IN_SHANGHAI + 3 * 3600), gate)
    assert late.counts == {"expired": 1}  # resumed only after 02:00 UTC: never sent late
    assert handle.sandbox.accepted == []
