"""What each answer makes of its message: sent, failed, retried, unknown, deferred or stopping."""

from __future__ import annotations

import asyncio
import itertools
import time

import aiohttp
import pytest
from aiohttp import web
from helpers import (
    FakeClock,
    SandboxMaker,
    accepted_twice,
    attempts_logged,
    by_row,
    cn_numbers,
    dispatch_run,
    make_run,
    status_counts,
)

from batch_sms.dispatch import DispatchResult, DispatchSettings, dispatch
from batch_sms.dispatch.limits import most_in_window
from batch_sms.journal import Journal
from batch_sms.models import Status
from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import SEND_PATH, Credentials, Kind


def test_row_fatal_answers_fail_their_rows_only(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(forbidden=("casino",))
    good = cn_numbers(3)
    rows = [(good[0], "Hi"), (good[1], "Win at the CASINO"), ("8612", "Hi"), (good[2], "Bye")]
    make_run(journal, "run-fatal-row1", rows)
    result = dispatch_run(handle, journal, "run-fatal-row1", DispatchSettings())
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
    phones = cn_numbers(80)
    make_run(journal, "run-transient1", [(p, "Sale") for p in phones])
    settings = DispatchSettings(max_attempts=20, backoff_base=0.005, backoff_max=0.05, seed=1)
    result = dispatch_run(handle, journal, "run-transient1", settings)
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
    make_run(journal, "run-malformed1", [(p, "Sale") for p in cn_numbers(30)])
    settings = DispatchSettings(max_attempts=5, backoff_base=0.001, backoff_max=0.002)
    result = dispatch_run(handle, journal, "run-malformed1", settings)
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
    assert dispatch_run(handle, journal, "run-malformed1", settings).requests == 0


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

    make_run(journal, "run-unknown-01", [(p, "Hi") for p in cn_numbers(3)])
    result = asyncio.run(go())
    assert result.counts == {"unknown": 3}
    assert sorted(arrivals) == cn_numbers(3)  # each sent once
    for rec in journal.report_rows("run-unknown-01"):
        assert (rec.code, rec.result) == ("777", "new in v3")
        assert "could not be read" in rec.error


def test_transient_faults_give_up_after_max_attempts(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(fail_99=1.0)
    make_run(journal, "run-giveup-01", [(cn_numbers(1)[0], "Hi")])
    settings = DispatchSettings(max_attempts=3, backoff_base=0.001, backoff_max=0.002)
    result = dispatch_run(handle, journal, "run-giveup-01", settings)
    assert result.counts == {"failed": 1}
    (rec,) = journal.report_rows("run-giveup-01")
    assert rec.attempts == 3
    assert rec.error == "gave up after 3 attempts: code 99: provider system error"
    assert handle.sandbox.answers["99"] == 3


def test_a_hang_becomes_unknown_and_is_never_resent(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hang=0.3, seed=3, hang_seconds=30)
    phones = cn_numbers(20)
    make_run(journal, "run-hang-0001", [(p, "Hi") for p in phones])
    result = dispatch_run(handle, journal, "run-hang-0001", DispatchSettings(), timeout=1.0)
    unknown = result.counts["unknown"]
    assert unknown == handle.sandbox.answers["hung"] > 0
    assert result.counts["sent"] == 20 - unknown
    assert result.requests == 20
    records = [r for r in journal.report_rows("run-hang-0001") if r.status is Status.UNKNOWN]
    assert all(r.code == "timeout" for r in records)
    assert all("--resend-unknown" in r.error for r in records)
    again = dispatch_run(handle, journal, "run-hang-0001", DispatchSettings(), timeout=1.0)
    assert again.requests == 0
    assert accepted_twice(handle) == []  # the hung ones were accepted once: never twice


@pytest.mark.parametrize("tps", [250, None])
def test_a_storm_of_28s_ends_with_every_message_sent_exactly_once(
    make_sandbox: SandboxMaker, journal: Journal, tps: float | None
) -> None:
    handle = make_sandbox(tps_limit=25, hourly_cap=None)
    phones = cn_numbers(60)
    make_run(journal, "run-storm-0001", [(p, "Hi") for p in phones])
    result = dispatch_run(
        handle, journal, "run-storm-0001", DispatchSettings(tps=tps, concurrency=10)
    )
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
    make_run(journal, "run-clock-0001", [(p, "Hi") for p in cn_numbers(20)])
    result = dispatch_run(handle, journal, "run-clock-0001", DispatchSettings(tps=5))
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
    make_run(journal, "run-clock-0002", [(cn_numbers(1)[0], "Hi")])
    settings = DispatchSettings(max_attempts=3, backoff_base=0.001, backoff_max=0.002)
    result = dispatch_run(handle, journal, "run-clock-0002", settings)
    assert result.counts == {"failed": 1}
    assert handle.sandbox.answers == {"1004": 4}  # one free re-send, then three attempts
    (rec,) = journal.report_rows("run-clock-0002")
    assert rec.attempts == 3
    assert rec.error.startswith("gave up after 3 attempts: code 1004")


def test_balance_running_out_stops_the_run_and_a_top_up_finishes_it(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(price=0.01, balance=0.255, hourly_cap=None)
    phones = cn_numbers(60)
    make_run(journal, "run-balance-01", [(p, "Hi") for p in phones])
    first = dispatch_run(handle, journal, "run-balance-01", DispatchSettings(concurrency=4))
    assert first.stopped_by is not None
    assert first.stopped_by.code == "3"
    assert first.stopped_by.kind is Kind.RUN_FATAL
    assert not first.interrupted
    assert first.counts["sent"] == 25
    assert first.counts["pending"] == 35
    assert first.requests < 40  # stopped: not every row was tried
    assert status_counts(journal, "run-balance-01") == {"sent": 25, "pending": 35}
    handle.sandbox.top_up(10)
    second = dispatch_run(handle, journal, "run-balance-01", DispatchSettings(concurrency=4))
    assert second.stopped_by is None
    assert second.counts == {"sent": 35}
    assert status_counts(journal, "run-balance-01") == {"sent": 60}
    assert sorted(a.phone for a in handle.sandbox.accepted) == sorted(phones)


def test_a_bad_sender_is_run_wide(make_sandbox: SandboxMaker, journal: Journal) -> None:
    handle = make_sandbox()
    make_run(journal, "run-sender-01", [(p, "Hi") for p in cn_numbers(30)])
    result = dispatch_run(
        handle, journal, "run-sender-01", DispatchSettings(sender="no-dash", concurrency=2)
    )
    assert result.stopped_by is not None
    assert result.stopped_by.code == "8"
    assert result.stopped_by.kind is Kind.RUN_FATAL
    assert result.requests <= 3
    assert status_counts(journal, "run-sender-01") == {"pending": 30}


def test_a_27_from_the_provider_defers_and_ends_capped(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    clock = FakeClock()
    handle = make_sandbox(clock=clock, hourly_cap=1)  # the provider counts sends we don't know
    phone = cn_numbers(1)[0]
    make_run(journal, "run-cap-000005", [(phone, "one"), (phone, "two")])
    result = dispatch_run(
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
