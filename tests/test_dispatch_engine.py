"""The dispatch loop: requests within the rate, a stop event or run-wide answer halts it at once."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import pytest
from helpers import SandboxMaker, cn_numbers, dispatch_run, make_run, status_counts

from batch_sms.dispatch import DispatchResult, DispatchSettings, Progress, dispatch
from batch_sms.dispatch.limits import RateLimiter, Ticket, most_in_window
from batch_sms.journal import Journal
from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import Credentials, Kind


@pytest.mark.parametrize("broken", ["credentials", "url"])
def test_a_request_that_cannot_be_made_stops_the_run_with_rows_pending(
    make_sandbox: SandboxMaker, journal: Journal, broken: str
) -> None:
    handle = make_sandbox()
    secret_key = "pasted-key\nwith-a-line-break"
    creds = handle.credentials
    if broken == "credentials":
        creds = Credentials(secret_key, creds.access_secret, creds.app_key)
    url = "http://[::1" if broken == "url" else handle.url
    make_run(journal, "run-local-0001", [(p, "Hi") for p in cn_numbers(30)])

    async def go() -> DispatchResult:
        async with aiohttp.ClientSession() as session:
            client = Client(session, url, creds)
            return await dispatch("run-local-0001", journal, client, DispatchSettings())

    result = asyncio.run(go())
    assert result.stopped_by is not None
    assert (result.stopped_by.kind, result.stopped_by.code) == (Kind.RUN_FATAL, "local-error")
    assert "nothing was sent" in result.stopped_by.result
    assert not result.interrupted
    assert status_counts(journal, "run-local-0001") == {"pending": 30}  # resumable once fixed
    assert handle.sandbox.arrivals == []
    written = [result.stopped_by.result, result.stopped_by.raw]
    for rec in journal.report_rows("run-local-0001"):
        written += [rec.code, rec.result, rec.error]
    with sqlite3.connect(journal.path) as db:
        written += [str(row) for row in db.execute("SELECT * FROM attempts")]
    for secret in ("pasted-key", creds.access_secret, creds.app_key):
        assert not any(secret in text for text in written)


def test_stop_event_interrupts_and_leaves_rows_pending(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(latency=0.02, hourly_cap=None)
    make_run(journal, "run-stop-00001", [(p, "Hi") for p in cn_numbers(300)])
    stop_after = 20

    async def go() -> DispatchResult:
        stop = asyncio.Event()

        def progress(p: Progress) -> None:
            if p.done >= stop_after:
                stop.set()

        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials)
            settings = DispatchSettings(tps=200, concurrency=5, progress_interval=0)
            return await dispatch(
                "run-stop-00001", journal, client, settings, on_progress=progress, stop=stop
            )

    result = asyncio.run(go())
    assert result.interrupted
    assert result.stopped_by is None
    sent = result.counts["sent"]
    assert stop_after <= sent < 300
    assert result.counts["pending"] == 300 - sent
    assert status_counts(journal, "run-stop-00001") == {"sent": sent, "pending": 300 - sent}
    assert len(handle.sandbox.accepted) == sent  # in-flight requests finished and were recorded


@pytest.mark.parametrize("halt", ["stop event", "run-wide answer"])
def test_a_halt_does_not_wait_for_the_limiter(
    make_sandbox: SandboxMaker, journal: Journal, halt: str
) -> None:
    # One start an hour: the second message waits in the limiter when the first is answered.
    handle = make_sandbox(deactivated=halt == "run-wide answer")
    make_run(journal, "run-halt-00001", [(p, "Hi") for p in cn_numbers(3)])

    async def go() -> DispatchResult:
        stop = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials)
            settings = DispatchSettings(tps=1 / 3600, progress_interval=0)
            run = dispatch(
                "run-halt-00001",
                journal,
                client,
                settings,
                on_progress=lambda p: stop.set() if p.done else None,
                stop=stop,
            )
            return await asyncio.wait_for(run, 10)  # without the fix: an hour

    result = asyncio.run(go())
    assert result.requests == 1
    assert len(handle.sandbox.arrivals) == 1
    if halt == "stop event":
        assert result.interrupted
        assert status_counts(journal, "run-halt-00001") == {"sent": 1, "pending": 2}
    else:
        assert result.stopped_by is not None
        assert result.stopped_by.code == "102"
        assert status_counts(journal, "run-halt-00001") == {"pending": 3}


def test_rate_holds_the_providers_sliding_second(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(tps_limit=100, hourly_cap=None)
    make_run(journal, "run-rate-00001", [(p, "Hi") for p in cn_numbers(300)])
    seen: list[Progress] = []
    result = dispatch_run(
        handle, journal, "run-rate-00001", DispatchSettings(tps=100), on_progress=seen.append
    )
    assert result.counts == {"sent": 300}
    assert handle.sandbox.answers["28"] == 0
    assert most_in_window(handle.sandbox.arrivals) <= 100
    # Progress comes at most ~10 times a second (plus the last word), with a rate and an ETA.
    assert len(seen) <= (result.finished_at - result.started_at) * 10 + 2
    assert all(p.eta is not None and p.rate > 0 for p in seen)
    assert seen[-1].eta == 0


def test_the_limiter_hears_the_round_trip_of_each_answered_request(
    make_sandbox: SandboxMaker, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[Ticket] = []
    answered = RateLimiter.answered

    def spy(self: RateLimiter, ticket: Ticket) -> None:
        heard.append(ticket)
        answered(self, ticket)

    monkeypatch.setattr(RateLimiter, "answered", spy)
    handle = make_sandbox(latency=0.01, drop=0.3, seed=3, hourly_cap=None)
    make_run(journal, "run-trip-00001", [(p, "Hi") for p in cn_numbers(40)])
    settings = DispatchSettings(tps=100, max_attempts=1)
    dispatch_run(handle, journal, "run-trip-00001", settings)
    dropped = handle.sandbox.answers["dropped"]
    assert dropped > 0
    # A connection dropped unanswered has no round trip to tell; every other request has one.
    assert len(heard) == sum(handle.sandbox.answers.values()) - dropped
    assert all(t.trip is not None and t.trip >= 0.01 for t in heard)
