"""The dispatcher against the sandbox on loopback: outcomes, retries, stops, caps and the rate."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from helpers import FakeClock

from batch_sms.dispatch import DispatchResult, DispatchSettings, Progress, dispatch
from batch_sms.dispatch.limits import most_in_window
from batch_sms.journal import Journal, RunInfo
from batch_sms.models import Message, Status
from batch_sms.provider.nxcloud import SEND_PATH, Client, Credentials, Kind, Outcome, SendRequest
from batch_sms.sandbox.server import SandboxHandle

SandboxMaker = Callable[..., SandboxHandle]


def numbers(count: int, start: int = 0) -> list[str]:
    """Distinct valid Chinese mobile numbers."""
    return [f"86138{start + i:08d}" for i in range(count)]


def make_run(journal: Journal, run_id: str, rows: Sequence[tuple[str, str]]) -> None:
    """A run whose messages are (phone, content), rows numbered from 2 as in a spreadsheet."""
    journal.create_run(
        RunInfo(
            *(run_id, time.time(), None, "in.csv", "in.csv", "0" * 64, "csv", None),
            settings={},
        )
    )
    journal.add_messages(
        run_id,
        [
            Message(row, 0, phone, phone, content, 1, "GSM-7", 86, Status.READY)
            for row, (phone, content) in enumerate(rows, start=2)
        ],
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A fresh state db."""
    with Journal(tmp_path / "state.db") as db:
        yield db


def send(
    handle: SandboxHandle,
    journal: Journal,
    run_id: str,
    settings: DispatchSettings,
    *,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
    **kw: Any,
) -> DispatchResult:
    """Dispatch a run through a client pointed at the sandbox."""

    async def go() -> DispatchResult:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials, timeout=timeout, clock=clock)
            return await dispatch(run_id, journal, client, settings, clock=clock, **kw)

    return asyncio.run(go())


def statuses(journal: Journal, run_id: str) -> Counter[str]:
    """How many of the run's messages are in each status."""
    return Counter(journal.counts(run_id))


def by_row(journal: Journal, run_id: str) -> dict[int, Any]:
    """The run's message records by row."""
    return {r.row: r for r in journal.report_rows(run_id)}


def attempts_logged(journal: Journal) -> int:
    """Rows in the attempts log (read-only look at the db: the journal has no API for it)."""
    with sqlite3.connect(journal.path) as db:
        return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def accepted_twice(handle: SandboxHandle) -> list[tuple[str, str]]:
    """(phone, content) the sandbox accepted more than once."""
    seen = Counter((a.phone, a.content) for a in handle.sandbox.accepted)
    return [key for key, n in seen.items() if n > 1]


# --- outcomes ------------------------------------------------------------------------------


def test_clean_run_sends_every_message_once_with_ids(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    phones = numbers(120)
    make_run(journal, "run-clean-0001", [(p, f"Hello {i}") for i, p in enumerate(phones)])
    seen: list[Progress] = []
    result = send(
        handle, journal, "run-clean-0001", DispatchSettings(sender="Shop1"), on_progress=seen.append
    )
    assert result.counts == {"sent": 120}
    assert result.stopped_by is None
    assert not result.interrupted
    assert result.requests == 120
    assert result.throttled == 0
    assert statuses(journal, "run-clean-0001") == {"sent": 120}
    accepted = handle.sandbox.accepted
    assert sorted(a.phone for a in accepted) == sorted(phones)
    records = by_row(journal, "run-clean-0001")
    for a in accepted:
        row = int(a.sys_message_id.rsplit("-", 2)[1])
        assert a.sys_message_id == f"run-clean-0001-{row}-0"
        assert a.ext == f"run-clean-0001:{row}:0"
        assert a.sender == "Shop1"
        rec = records[row]
        assert rec.phone == a.phone
        assert rec.messageid == a.messageid
        assert rec.code == "0"
        assert rec.attempts == 1
        assert rec.sent_at is not None
    assert attempts_logged(journal) == 120
    assert seen[-1].done == seen[-1].total == 120
    assert seen[-1].counts == {"sent": 120}


def test_row_fatal_answers_fail_their_rows_only(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(forbidden=("casino",))
    good = numbers(3)
    rows = [(good[0], "Hi"), (good[1], "Win at the CASINO"), ("8612", "Hi"), (good[2], "Bye")]
    make_run(journal, "run-fatal-row1", rows)
    result = send(handle, journal, "run-fatal-row1", DispatchSettings())
    assert result.counts == {"sent": 2, "failed": 2}
    records = by_row(journal, "run-fatal-row1")
    assert (records[3].status, records[3].code) == (Status.FAILED, "4")
    assert "forbidden" in records[3].error
    assert (records[4].status, records[4].code) == (Status.FAILED, "6")
    assert records[4].error == "invalid number"
    assert records[4].attempts == 1
    assert {records[2].status, records[5].status} == {Status.SENT}


def test_transient_faults_are_retried_to_success(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(fail_88=0.15, fail_99=0.1, fail_500=0.1, seed=7)
    phones = numbers(80)
    make_run(journal, "run-transient1", [(p, "Sale") for p in phones])
    settings = DispatchSettings(max_attempts=20, backoff_base=0.005, backoff_max=0.05, seed=1)
    result = send(handle, journal, "run-transient1", settings)
    assert result.counts == {"sent": 80}
    assert accepted_twice(handle) == []
    faults = handle.sandbox.answers
    assert min(faults["88"], faults["99"], faults["http-500"]) > 0
    assert result.requests == 80 + faults["88"] + faults["99"] + faults["http-500"]
    assert max(r.attempts for r in journal.report_rows("run-transient1")) > 1
    assert attempts_logged(journal) == result.requests


def test_an_unreadable_answer_is_unknown_and_never_resent(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    # The provider accepts, then its answer breaks off: a retry would deliver the SMS twice.
    handle = make_sandbox(malformed=0.3, seed=5, hourly_cap=None)
    make_run(journal, "run-malformed1", [(p, "Sale") for p in numbers(30)])
    settings = DispatchSettings(max_attempts=5, backoff_base=0.001, backoff_max=0.002)
    result = send(handle, journal, "run-malformed1", settings)
    unknown = handle.sandbox.answers["malformed"]
    assert unknown > 0
    assert result.counts == {"sent": 30 - unknown, "unknown": unknown}
    assert result.requests == 30
    assert len(handle.sandbox.accepted) == 30
    assert accepted_twice(handle) == []
    records = [r for r in journal.report_rows("run-malformed1") if r.status is Status.UNKNOWN]
    assert {r.code for r in records} == {"malformed"}
    assert all("could not be read" in r.error for r in records)
    assert all("may have been accepted" in r.error for r in records)
    assert send(handle, journal, "run-malformed1", settings).requests == 0


def test_an_unknown_provider_code_is_unknown_and_never_resent(journal: Journal) -> None:
    arrivals: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append((await request.json())["phone"])
        return web.json_response({"code": "777", "result": "new in v3", "messageid": ""})

    async def go() -> DispatchResult:
        app = web.Application()
        app.router.add_post(SEND_PATH, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as session:
                client = Client(session, f"http://{host}:{port}", Credentials("k", "s", "a"))
                settings = DispatchSettings(max_attempts=5, backoff_base=0.001)
                return await dispatch("run-unknown-01", journal, client, settings)
        finally:
            await runner.cleanup()

    make_run(journal, "run-unknown-01", [(p, "Hi") for p in numbers(3)])
    result = asyncio.run(go())
    assert result.counts == {"unknown": 3}
    assert sorted(arrivals) == numbers(3)  # each sent once
    for rec in journal.report_rows("run-unknown-01"):
        assert (rec.code, rec.result) == ("777", "new in v3")
        assert "could not be read" in rec.error


def test_transient_faults_give_up_after_max_attempts(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(fail_99=1.0)
    make_run(journal, "run-giveup-01", [(numbers(1)[0], "Hi")])
    settings = DispatchSettings(max_attempts=3, backoff_base=0.001, backoff_max=0.002)
    result = send(handle, journal, "run-giveup-01", settings)
    assert result.counts == {"failed": 1}
    (rec,) = journal.report_rows("run-giveup-01")
    assert rec.attempts == 3
    assert rec.error == "gave up after 3 attempts: code 99: provider system error"
    assert handle.sandbox.answers["99"] == 3


def test_a_hang_becomes_unknown_and_is_never_resent(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hang=0.3, seed=3, hang_seconds=30)
    phones = numbers(20)
    make_run(journal, "run-hang-0001", [(p, "Hi") for p in phones])
    result = send(handle, journal, "run-hang-0001", DispatchSettings(), timeout=1.0)
    unknown = result.counts["unknown"]
    assert unknown == handle.sandbox.answers["hung"] > 0
    assert result.counts["sent"] == 20 - unknown
    assert result.requests == 20
    records = [r for r in journal.report_rows("run-hang-0001") if r.status is Status.UNKNOWN]
    assert all(r.code == "timeout" for r in records)
    assert all("--resend-unknown" in r.error for r in records)
    again = send(handle, journal, "run-hang-0001", DispatchSettings(), timeout=1.0)
    assert again.requests == 0
    assert accepted_twice(handle) == []  # the hung ones were accepted once: never twice


@pytest.mark.parametrize("tps", [250, None])
def test_a_storm_of_28s_ends_with_every_message_sent_exactly_once(
    make_sandbox: SandboxMaker, journal: Journal, tps: float | None
) -> None:
    handle = make_sandbox(tps_limit=25, hourly_cap=None)
    phones = numbers(60)
    make_run(journal, "run-storm-0001", [(p, "Hi") for p in phones])
    result = send(handle, journal, "run-storm-0001", DispatchSettings(tps=tps, concurrency=10))
    assert result.counts == {"sent": 60}
    assert result.throttled == handle.sandbox.answers["28"] > 0
    assert accepted_twice(handle) == []
    assert len(handle.sandbox.accepted) == 60
    assert {r.attempts for r in journal.report_rows("run-storm-0001")} == {1}


def test_a_skewed_provider_clock_is_corrected_within_the_rate(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    # The provider runs two minutes ahead: the first answer is 1004, and its re-send must wait
    # for the limiter like any start, or it breaks the provider's TPS limit.
    handle = make_sandbox(clock=lambda: time.time() + 120, tps_limit=5, hourly_cap=None)
    make_run(journal, "run-clock-0001", [(p, "Hi") for p in numbers(20)])
    result = send(handle, journal, "run-clock-0001", DispatchSettings(tps=5))
    answers = handle.sandbox.answers
    assert result.counts == {"sent": 20}
    assert answers["28"] == 0
    assert answers["1004"] > 0
    assert result.requests == 20 + answers["1004"]
    assert len(handle.sandbox.accepted) == 20
    assert accepted_twice(handle) == []
    assert most_in_window(handle.sandbox.arrivals) <= 5
    assert {r.attempts for r in journal.report_rows("run-clock-0001")} == {1}


def test_a_second_1004_for_a_message_is_a_transient_failure(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    # A provider clock that runs away: every correction is stale by the next request.
    ticks = itertools.count()
    handle = make_sandbox(clock=lambda: time.time() + 120 * next(ticks))
    make_run(journal, "run-clock-0002", [(numbers(1)[0], "Hi")])
    settings = DispatchSettings(max_attempts=3, backoff_base=0.001, backoff_max=0.002)
    result = send(handle, journal, "run-clock-0002", settings)
    assert result.counts == {"failed": 1}
    assert handle.sandbox.answers == {"1004": 4}  # one free re-send, then three attempts
    (rec,) = journal.report_rows("run-clock-0002")
    assert rec.attempts == 3
    assert rec.error.startswith("gave up after 3 attempts: code 1004")


# --- run-wide answers and the stop event ---------------------------------------------------


def test_balance_running_out_stops_the_run_and_a_top_up_finishes_it(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(price=0.01, balance=0.255, hourly_cap=None)
    phones = numbers(60)
    make_run(journal, "run-balance-01", [(p, "Hi") for p in phones])
    first = send(handle, journal, "run-balance-01", DispatchSettings(concurrency=4))
    assert first.stopped_by is not None
    assert first.stopped_by.code == "3"
    assert first.stopped_by.kind is Kind.RUN_FATAL
    assert not first.interrupted
    assert first.counts["sent"] == 25
    assert first.counts["pending"] == 35
    assert first.requests < 40  # stopped: not every row was tried
    assert statuses(journal, "run-balance-01") == {"sent": 25, "pending": 35}
    handle.sandbox.top_up(10)
    second = send(handle, journal, "run-balance-01", DispatchSettings(concurrency=4))
    assert second.stopped_by is None
    assert second.counts == {"sent": 35}
    assert statuses(journal, "run-balance-01") == {"sent": 60}
    assert sorted(a.phone for a in handle.sandbox.accepted) == sorted(phones)


def test_a_bad_sender_is_run_wide(make_sandbox: SandboxMaker, journal: Journal) -> None:
    handle = make_sandbox()
    make_run(journal, "run-sender-01", [(p, "Hi") for p in numbers(30)])
    result = send(
        handle, journal, "run-sender-01", DispatchSettings(sender="no-dash", concurrency=2)
    )
    assert result.stopped_by is not None
    assert result.stopped_by.code == "8"
    assert result.stopped_by.kind is Kind.RUN_FATAL
    assert result.requests <= 3
    assert statuses(journal, "run-sender-01") == {"pending": 30}


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
    make_run(journal, "run-local-0001", [(p, "Hi") for p in numbers(30)])

    async def go() -> DispatchResult:
        async with aiohttp.ClientSession() as session:
            client = Client(session, url, creds)
            return await dispatch("run-local-0001", journal, client, DispatchSettings())

    result = asyncio.run(go())
    assert result.stopped_by is not None
    assert (result.stopped_by.kind, result.stopped_by.code) == (Kind.RUN_FATAL, "local-error")
    assert "nothing was sent" in result.stopped_by.result
    assert not result.interrupted
    assert statuses(journal, "run-local-0001") == {"pending": 30}  # resumable once fixed
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
    make_run(journal, "run-stop-00001", [(p, "Hi") for p in numbers(300)])
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
    assert statuses(journal, "run-stop-00001") == {"sent": sent, "pending": 300 - sent}
    assert len(handle.sandbox.accepted) == sent  # in-flight requests finished and were recorded


@pytest.mark.parametrize("halt", ["stop event", "run-wide answer"])
def test_a_halt_does_not_wait_for_the_limiter(
    make_sandbox: SandboxMaker, journal: Journal, halt: str
) -> None:
    # One start an hour: the second message waits in the limiter when the first is answered.
    handle = make_sandbox(deactivated=halt == "run-wide answer")
    make_run(journal, "run-halt-00001", [(p, "Hi") for p in numbers(3)])

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
        assert statuses(journal, "run-halt-00001") == {"sent": 1, "pending": 2}
    else:
        assert result.stopped_by is not None
        assert result.stopped_by.code == "102"
        assert statuses(journal, "run-halt-00001") == {"pending": 3}


# --- the hourly cap ------------------------------------------------------------------------


def test_hourly_cap_holds_across_runs(make_sandbox: SandboxMaker, journal: Journal) -> None:
    clock = FakeClock()
    handle = make_sandbox(clock=clock, hourly_cap=2)
    a, b, c = numbers(3)
    settings = DispatchSettings(hourly_cap=2)
    make_run(journal, "run-cap-000001", [(a, "one"), (b, "one"), (a, "two")])
    first = send(handle, journal, "run-cap-000001", settings, clock=clock)
    assert first.counts == {"sent": 3}
    sent_at = min(r.sent_at or 0 for r in journal.report_rows("run-cap-000001"))
    clock.advance(600)
    make_run(journal, "run-cap-000002", [(a, "three"), (c, "one"), (a, "four")])
    arrivals = len(handle.sandbox.arrivals)
    second = send(handle, journal, "run-cap-000002", settings, clock=clock)
    assert second.counts == {"sent": 1, "capped": 2}
    assert second.requests == 1
    assert len(handle.sandbox.arrivals) == arrivals + 1  # nothing was sent to a
    for rec in journal.report_rows("run-cap-000002"):
        if rec.phone == a:
            assert rec.status is Status.CAPPED
            assert rec.next_at == pytest.approx(sent_at + 3600)
            assert rec.error == "hourly cap for this number"  # the report adds next_at
    assert handle.sandbox.answers["27"] == 0


def test_concurrent_messages_to_one_number_do_not_overshoot_the_cap(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    clock = FakeClock()
    handle = make_sandbox(clock=clock, hourly_cap=None, latency=0.05)
    phone = numbers(1)[0]
    make_run(journal, "run-cap-000003", [(phone, f"msg {i}") for i in range(6)])
    result = send(
        handle,
        journal,
        "run-cap-000003",
        DispatchSettings(hourly_cap=4, concurrency=20),
        clock=clock,
    )
    assert result.counts == {"sent": 4, "capped": 2}
    assert len(handle.sandbox.accepted) == 4


def test_a_capped_message_waits_for_its_slot_while_the_run_has_other_work(
    journal: Journal,
) -> None:
    clock = FakeClock(1_000_000.0)
    busy, capped = numbers(2)

    class Provider:
        """Accepts everything, but the provider is down for `busy` for the first 2.5 hours."""

        def __init__(self) -> None:
            self.sent: list[tuple[str, float]] = []

        async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Outcome:
            await asyncio.sleep(0)
            if req.phone == busy and clock.now < 1_000_000.0 + 9000:
                return Outcome(Kind.TRANSIENT, "99", "system error")
            self.sent.append((req.phone, clock.now))
            return Outcome(Kind.ACCEPTED, "0", "ok", messageid=str(len(self.sent)))

    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    make_run(journal, "run-cap-000004", [(capped, "one"), (capped, "two"), (busy, "hi")])
    provider = Provider()
    settings = DispatchSettings(
        hourly_cap=1, max_attempts=50, backoff_base=600, backoff_max=600, seed=1
    )
    result = asyncio.run(
        dispatch("run-cap-000004", journal, provider, settings, clock=clock, sleep=fake_sleep)
    )
    assert result.counts == {"sent": 3}
    times = [t for p, t in provider.sent if p == capped]
    assert times[1] - times[0] >= 3600  # it waited for its hour instead of ending capped


# --- the rate -------------------------------------------------------------------------------


def test_rate_holds_the_providers_sliding_second(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(tps_limit=100, hourly_cap=None)
    make_run(journal, "run-rate-00001", [(p, "Hi") for p in numbers(300)])
    seen: list[Progress] = []
    result = send(
        handle, journal, "run-rate-00001", DispatchSettings(tps=100), on_progress=seen.append
    )
    assert result.counts == {"sent": 300}
    assert handle.sandbox.answers["28"] == 0
    assert most_in_window(handle.sandbox.arrivals) <= 100
    # Progress comes at most ~10 times a second (plus the last word), with a rate and an ETA.
    assert len(seen) <= (result.finished_at - result.started_at) * 10 + 2
    assert all(p.eta is not None and p.rate > 0 for p in seen)
    assert seen[-1].eta == 0


def test_bad_settings_are_refused(journal: Journal) -> None:
    make_run(journal, "run-settings-1", [])

    async def go() -> None:
        await dispatch("run-settings-1", journal, None, DispatchSettings(concurrency=0))  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(go())


def test_a_journal_that_cannot_write_stops_the_dispatch_without_double_sends(
    make_sandbox: SandboxMaker, tmp_path: Path
) -> None:
    class FullDisk(Journal):
        def record(self, results: Any, attempts: Any = ()) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    handle = make_sandbox(hourly_cap=None)
    with FullDisk(tmp_path / "full.db") as journal:
        make_run(journal, "run-full-00001", [(p, "Hi") for p in numbers(50)])
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            send(handle, journal, "run-full-00001", DispatchSettings(concurrency=5))
        # Every answer went unwritten: those rows stay inflight, and a resume makes them unknown.
        inflight = statuses(journal, "run-full-00001")["inflight"]
        assert inflight == len(handle.sandbox.accepted) > 0
        assert journal.inflight_to_unknown("run-full-00001") == inflight
        assert statuses(journal, "run-full-00001")["pending"] == 50 - inflight


def test_a_zero_hourly_cap_is_refused(journal: Journal) -> None:
    make_run(journal, "run-settings-2", [])

    async def go() -> None:
        await dispatch("run-settings-2", journal, None, DispatchSettings(hourly_cap=0))  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="hourly_cap"):
        asyncio.run(go())


def test_a_27_from_the_provider_defers_and_ends_capped(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    clock = FakeClock()
    handle = make_sandbox(clock=clock, hourly_cap=1)  # the provider counts sends we don't know
    phone = numbers(1)[0]
    make_run(journal, "run-cap-000005", [(phone, "one"), (phone, "two")])
    result = send(
        handle,
        journal,
        "run-cap-000005",
        DispatchSettings(hourly_cap=5, concurrency=1),
        clock=clock,
    )
    assert result.counts == {"sent": 1, "capped": 1}
    assert handle.sandbox.answers["27"] == 1
    capped = [r for r in journal.report_rows("run-cap-000005") if r.status is Status.CAPPED]
    assert capped[0].code == "27"
    (first,) = [r for r in journal.report_rows("run-cap-000005") if r.status is Status.SENT]
    assert first.sent_at is not None
    # The provider's hour frees a slot when its oldest accept leaves it, not at a guess.
    assert capped[0].next_at == pytest.approx(first.sent_at + 3600)
    assert capped[0].attempts == 0  # a 27 is not a failed attempt
