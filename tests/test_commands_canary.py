"""The canary phase: only its messages go, it waits for their receipts on the injected clock,
stops waiting once all are in, and records its outcome with the run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from helpers import NUMBERS, FakeClock, msg, run_info, send

from batch_sms.checks.quiet import parse_quiet_hours
from batch_sms.checks.window import SendWindow
from batch_sms.commands import canary as phase
from batch_sms.config import Settings
from batch_sms.dispatch import DispatchResult
from batch_sms.errors import UsageError
from batch_sms.journal import Journal, Result
from batch_sms.models import Status

COUNTRIES = (86, 86, 86, 1, 1, 44)


@pytest.fixture
def run(journal: Journal) -> Journal:
    """A run of six messages: three Chinese, two US, one British, in that order."""
    journal.create_run(run_info("r1"))
    journal.add_messages(
        "r1",
        [replace(msg(row, f"{row}00"), country_code=cc) for row, cc in enumerate(COUNTRIES, 2)],
    )
    return journal


def _sender(journal: Journal, sent: list[int]) -> Callable[..., object]:
    """A dispatch that accepts every queued message its gates let through."""

    async def dispatch(only: Collection[int]) -> DispatchResult:
        ids = [q.id for q in journal.queued_among("r1", only)]
        send(journal, ids, at=1.0)
        sent.extend(ids)
        return DispatchResult({"sent": len(ids)}, None, False, 0.0, 1.0, len(ids), 0, 1.0)

    return dispatch


def _receipts_at(journal: Journal, clock: FakeClock, due: dict[float, dict[int, str]]) -> object:
    """A sleep that pushes receipts (message id -> status) once the clock passes each time."""

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        for at in sorted(due):
            if clock.now >= at:
                for message_id, status in due.pop(at).items():
                    fields = {"messageid": f"M{message_id}", "status": status}
                    journal.add_receipt(
                        fields | {"result": "UNDELIV"} if status == "5" else fields, at
                    )

    return sleep


def test_only_the_canary_goes_and_the_wait_ends_once_every_receipt_is_in(run: Journal) -> None:
    clock, sent = FakeClock(1000.0), []
    settings = Settings(canary=3, canary_wait=300)
    receipts = {1002.0: {1: "2", 4: "2"}, 1010.0: {6: "2"}}
    canary = phase.CanaryPhase(
        run, "r1", settings, clock=clock, sleep=_receipts_at(run, clock, receipts), poll=1.0
    )
    result = asyncio.run(canary.run(_sender(run, sent)))  # type: ignore[arg-type]
    assert sent == [1, 4, 6]  # one of each country, in order of first appearance
    assert run.counts("r1") == {"delivered": 3, "pending": 3}
    assert result.went_on
    assert sum(clock.slept) == 10.0  # not the 300 s it would wait at most
    assert run.get_run("r1").canary == "passed"
    assert canary.decision is not None
    assert canary.decision.go


def test_a_canary_without_receipts_waits_its_time_then_stops_the_run(run: Journal) -> None:
    clock, sent, notes = FakeClock(1000.0), [], []
    settings = Settings(canary=2, canary_wait=30)
    canary = phase.CanaryPhase(run, "r1", settings, notes.append, clock, clock.sleep, poll=1.0)
    result = asyncio.run(canary.run(_sender(run, sent)))  # type: ignore[arg-type]
    assert sent == [1, 4]
    assert sum(clock.slept) == 30.0
    assert not result.went_on
    assert result.halted_by.startswith("canary of 2: delivered 0, undelivered 0, no receipt 2;")
    assert run.get_run("r1").canary == "failed"
    assert notes[0] == (
        "canary: sending 2 messages first, then waiting up to 30 s for their delivery receipts"
    )


def test_undelivered_receipts_stop_the_run_naming_them(run: Journal) -> None:
    clock, sent = FakeClock(1000.0), []
    receipts = {1001.0: {1: "5", 4: "5", 6: "2"}}
    settings = Settings(canary=3)
    canary = phase.CanaryPhase(
        run, "r1", settings, clock=clock, sleep=_receipts_at(run, clock, receipts), poll=1.0
    )
    result = asyncio.run(canary.run(_sender(run, sent)))  # type: ignore[arg-type]
    assert result.halted_by == (
        "canary of 3: delivered 1, undelivered 2 (2× UNDELIV (status 5)), no receipt 0: only 33% "
        "of the receipts say delivered, below --canary-min-delivered 0.8"
    )
    assert phase.current(run, "r1", settings).delivered == 1  # the same three, asked again


def test_a_stop_while_waiting_leaves_the_canary_undecided(run: Journal) -> None:
    clock, sent = FakeClock(1000.0), []
    stop = asyncio.Event()

    async def sleep(seconds: float) -> None:
        stop.set()  # Ctrl-C during the wait
        await clock.sleep(seconds)

    canary = phase.CanaryPhase(run, "r1", Settings(canary=2), clock=clock, sleep=sleep)
    result = asyncio.run(canary.run(_sender(run, sent), stop))  # type: ignore[arg-type]
    assert result.interrupted
    assert run.get_run("r1").canary == ""  # a resume sends (the rest of) it again


def test_a_canary_without_receipt_route_is_refused() -> None:
    with pytest.raises(UsageError, match="no --dr-url is given"):
        phase.refuse_without_route(Settings(canary=5))
    phase.refuse_without_route(Settings(canary=5, sandbox=True))


def test_before_resume_refuses_a_failed_canary_unless_skipped(run: Journal) -> None:
    settings = Settings(canary=2, sandbox=True)
    run.set_canary("r1", "failed")
    run.set_run_state("r1", "stopped", stop_reason="canary of 2: …")
    with pytest.raises(UsageError, match="stopped by its canary: canary of 2: …; its receipts now"):
        phase.before_resume(run, run.get_run("r1"), settings, skip=False)
    phase.before_resume(run, run.get_run("r1"), settings, skip=True)
    assert run.get_run("r1").canary == "skipped"
    run.set_canary("r1", "passed")
    phase.before_resume(run, run.get_run("r1"), settings, skip=True)
    assert run.get_run("r1").canary == "passed"  # a canary that passed stays passed


NIGHT_IN_SHANGHAI = datetime(2026, 11, 30, 19, 0, tzinfo=UTC).timestamp()  # 14:00 in New York


def test_the_canary_is_picked_where_the_window_is_open_and_a_held_one_decides_nothing(
    journal: Journal,
) -> None:
    journal.create_run(run_info("r1"))
    phones = [(NUMBERS["CN"], 86), (NUMBERS["US"], 1), ("8613900139000", 86)]
    journal.add_messages(
        "r1", [replace(msg(row, p), country_code=cc) for row, (p, cc) in enumerate(phones, 2)]
    )
    window = SendWindow(quiet=parse_quiet_hours("21:00-08:00"))
    clock, sent, notes = FakeClock(1000.0), [], []
    canary = phase.CanaryPhase(
        journal, "r1", Settings(canary=1, canary_wait=5), notes.append, clock, clock.sleep,
        poll=1.0, window=window, now=lambda: NIGHT_IN_SHANGHAI,
    )  # fmt: skip
    asyncio.run(canary.run(_sender(journal, sent)))  # type: ignore[arg-type]
    assert sent == [2]  # the US number (14:00 there), not the first, Chinese one (03:00)

    def holding(only: Collection[int]) -> object:
        """A dispatch whose window holds every message it is given."""

        async def dispatch() -> DispatchResult:
            for q in journal.queued_among("r2", only):
                journal.record([Result(q.id, Status.SCHEDULED, attempts=0, next_at=2e9)])
            return DispatchResult({"scheduled": len(only)}, None, False, 0.0, 1.0, 0, 0, 0.0)

        return dispatch()

    journal.create_run(run_info("r2"))
    journal.add_messages("r2", [replace(msg(2, NUMBERS["CN"]), country_code=86)])
    clock = FakeClock(1000.0)
    asleep = phase.CanaryPhase(
        journal, "r2", Settings(canary=1), notes.append, clock, clock.sleep,
        window=window, now=lambda: NIGHT_IN_SHANGHAI,
    )  # fmt: skip
    result = asyncio.run(asleep.run(holding))  # type: ignore[arg-type]
    assert asleep.held
    assert result.halted_by.startswith("canary: 1 of its 1 messages wait for their send window")
    assert asleep.decision is None
    assert journal.get_run("r2").canary == ""  # still due: a resume in the window sends it
    assert clock.slept == []  # no wait for receipts that cannot come
