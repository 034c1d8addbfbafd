"""The TPS limiter on a fake clock; the hourly cap on a fake journal and through the dispatcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import pytest
from helpers import FakeClock, SandboxMaker, cn_numbers, dispatch_run, make_run

from batch_sms.dispatch import DispatchSettings
from batch_sms.dispatch.limits import HourlyCap, RateLimiter, Ticket, WindowGuard, most_in_window
from batch_sms.journal import Journal
from batch_sms.models import Status

# --- WindowGuard ---------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "margin"), [(100, 0.05), (10, 0.0), (1, 0.05), (7, 0.2)])
def test_guard_never_lets_more_than_limit_into_a_second_even_in_a_burst(
    limit: int, margin: float
) -> None:
    guard, now, starts = WindowGuard(limit, margin=margin), 50.0, []
    for _ in range(limit * 5 + 3):  # everyone wants to go at once
        now += guard.delay(now, limit)
        guard.note(now)
        starts.append(now)
    assert most_in_window(starts, 1.0 + margin) == limit
    # From the very first second on: a full bucket would have let 2N through here.
    assert sum(1 for t in starts if t < 51.0) == limit


def test_guard_margin_spreads_a_window_beyond_one_second() -> None:
    guard = WindowGuard(3, margin=0.05)
    for t in (0.0, 0.1, 0.2):
        guard.note(t)
    assert guard.delay(0.2, 3) == pytest.approx(0.85)
    assert guard.delay(1.05, 3) == 0.0
    assert guard.delay(0.2, 4) == pytest.approx(0.85)  # held to its capacity, 3
    assert guard.last == 0.2


def test_guard_keeps_its_distance_from_a_start_that_left_late() -> None:
    guard = WindowGuard(3, margin=0.0)
    first = guard.note(0.0)
    guard.note(0.1)
    guard.note(0.2)
    assert guard.delay(0.5, 3) == pytest.approx(0.5)
    first.at = 0.3  # the loop was busy: the first request really left after the other two
    assert guard.delay(0.5, 3) == pytest.approx(0.8)
    assert guard.delay(0.5, 2) == pytest.approx(0.8)  # the latest of the older ones counts


def test_guard_with_a_lower_limit_looks_further_back() -> None:
    guard = WindowGuard(10, margin=0.0)
    for i in range(10):
        guard.note(i * 0.01)
    assert guard.delay(0.1, 10) == pytest.approx(0.9)
    assert guard.delay(0.1, 5) == pytest.approx(1.05 - 0.1)


# --- RateLimiter: lowering and recovery -----------------------------------------------------


def test_lower_halves_and_holds_then_recovers_ten_percent_per_clean_second() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(100, clock=clock)
    assert limiter.lower() is True
    assert limiter.rate == 50
    clock.now = 0.9
    assert limiter.rate == 50  # held
    clock.now = 1.5
    assert limiter.rate == 50  # the hold (1 s) is over, no clean second yet
    clock.now = 2.0
    assert limiter.rate == 60
    clock.now = 4.5
    assert limiter.rate == 80
    clock.now = 60.0
    assert limiter.rate == 100  # back to the target, never above


def test_lower_counts_a_volley_of_28s_once() -> None:
    clock = FakeClock(10.0)
    limiter = RateLimiter(100, clock=clock)
    starts = [9.5, 9.6, 9.7]  # requests that were all in flight when the first 28 came back
    assert limiter.lower(starts[0]) is True
    assert limiter.lower(starts[1]) is False
    assert limiter.lower(starts[2]) is False
    assert limiter.rate == 50
    clock.now = 10.3
    assert limiter.lower(10.1) is True  # started after the cut and still throttled
    assert limiter.rate == 25
    assert limiter.lower() is False  # no start time: within the hold, the same volley
    clock.now = 11.4
    assert limiter.lower() is True
    assert limiter.lowered == 3


def test_lower_never_goes_below_one_per_second_nor_below_a_slow_target() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(4, clock=clock)
    for _ in range(6):
        clock.now += 0.5
        limiter.lower(clock.now)
    assert limiter.rate == 1
    slow = RateLimiter(0.5, clock=clock)
    slow.lower()
    assert slow.rate == 0.5


def test_unlimited_limiter_never_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)

    async def go() -> list[float]:
        return [(await limiter.acquire()).at for _ in range(1000)]

    assert asyncio.run(go()) == [clock.now] * 1000
    assert limiter.ready() is True
    assert limiter.rate is None
    assert clock.slept == []


def test_a_28_while_unlimited_limits_to_half_the_rate_of_the_last_second_then_lifts() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep, margin=0.0)

    async def burst(n: int, step: float) -> list[float]:
        starts = []
        for _ in range(n):
            starts.append((await limiter.acquire()).at)
            clock.now += step
        return starts

    asyncio.run(burst(400, 0.005))  # 200 starts a second for two seconds
    assert limiter.lower(clock.now - 0.01) is True
    assert limiter.rate == 100  # half of the last second's 200
    starts = asyncio.run(burst(110, 0.0))  # everyone at once: the limit now holds them
    assert most_in_window(starts, 0.999) <= 100
    clock.now += 1.0 + 10.0  # the hold, then ten clean seconds: 10 % of 200 a second
    assert limiter.rate is None  # back to unlimited
    assert limiter.ready() is True


def test_tps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_acquire_holds_the_window_when_the_pacer_makes_up_for_a_busy_loop() -> None:
    # The loop stalls for two seconds after 300 starts: the pacer would make up three seconds'
    # worth of missed starts at once; only the window guard stands between them and the limit.
    clock = FakeClock(0.0)
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep, margin=0.05, catchup=3.0)

    async def go() -> list[float]:
        starts = [(await limiter.acquire()).at for _ in range(300)]
        clock.now += 2.0
        return starts + [(await limiter.acquire()).at for _ in range(2500)]

    starts = asyncio.run(go())
    assert sum(1 for t in starts if t < 1.0) == 300
    assert sum(1 for t in starts if t == starts[300]) == 1000  # made up at once, up to the limit
    assert most_in_window(starts, 1.049) == 1000  # 1.05 less a hair of float rounding
    assert max(clock.slept) > 1.0  # the guard held the next ones for the rest of the window


def test_acquire_makes_up_the_starts_a_busy_loop_missed_within_catchup() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(1024, clock=clock, sleep=clock.sleep, catchup=0.25)  # exact floats

    async def go() -> list[float]:
        starts = [(await limiter.acquire()).at for _ in range(500)]
        clock.now += 40 / 1024  # the loop was busy: 40 starts missed
        starts += [(await limiter.acquire()).at for _ in range(100)]
        clock.now += 1.0  # busy for a second: only `catchup` (0.25 s) is made up
        return starts + [(await limiter.acquire()).at for _ in range(300)]

    starts = asyncio.run(go())
    assert starts[:500] == [i / 1024 for i in range(500)]
    assert starts[500:540] == [539 / 1024] * 40  # at once, as soon as the loop is back
    assert starts[540:600] == [i / 1024 for i in range(540, 600)]  # then on schedule again
    assert starts[600:].count(starts[600]) == 257  # 256 made up and the one due now
    assert most_in_window(starts) <= 1024


def test_acquire_after_a_cut_paces_at_the_lower_rate() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)

    async def go() -> list[float]:
        limiter.lower()
        return [(await limiter.acquire()).at for _ in range(1200)]

    starts = asyncio.run(go())
    assert sum(1 for t in starts if t < 1.0) == 500
    held = [t for t in starts if t < 2.0]  # one clean second after the hold, it recovers
    assert most_in_window(held, 1.049) == 500
    assert limiter.rate == 600


def test_acquire_in_real_time_keeps_every_sliding_second_under_the_limit() -> None:
    limiter = RateLimiter(1000)

    async def go() -> list[float]:
        return [(await limiter.acquire()).at for _ in range(1300)]

    starts = asyncio.run(go())
    assert most_in_window(starts, 1.0) <= 1000
    assert sum(1 for t in starts if t < starts[0] + 1.0) <= 1000
    assert starts == sorted(starts)
    assert starts[0] <= time.monotonic()


# --- HourlyCap ------------------------------------------------------------------------------


class FakeJournal:
    """accepted_since over a fixed list of (phone, time), counting the queries."""

    def __init__(self, sent: Iterable[tuple[str, float]] = ()) -> None:
        self.sent = list(sent)
        self.queries: list[list[str]] = []

    def accepted_since(self, phones: Iterable[str], since: float) -> dict[str, list[float]]:
        wanted = list(phones)
        self.queries.append(wanted)
        out: dict[str, list[float]] = {}
        for phone, at in sorted(self.sent, key=lambda s: s[1]):
            if phone in wanted and at >= since:
                out.setdefault(phone, []).append(at)
        return out


A, B, C = "8613800000001", "8613800000002", "8613800000003"


def test_cap_is_seeded_once_per_batch_and_counts_earlier_runs() -> None:
    clock = FakeClock(10_000.0)
    journal = FakeJournal([(A, 7000.0), (A, 9000.0), (A, 9500.0), (B, 6000.0)])
    cap = HourlyCap(3, journal, clock=clock)
    cap.seed([A, B, A, C])
    assert journal.queries == [[A, B, C]]
    assert cap.used(A) == 3  # 7000, 9000 and 9500 lie within the hour before 10 000
    assert not cap.allow(A)
    assert cap.used(B) == 0  # 6000 is older than an hour
    assert cap.allow(C)
    assert journal.queries == [[A, B, C]]


def test_cap_counts_a_sliding_hour() -> None:
    clock = FakeClock(10_000.0)
    journal = FakeJournal([(A, 6500.0), (A, 9000.0), (A, 9500.0), (B, 6000.0)])
    cap = HourlyCap(3, journal, clock=clock)
    cap.seed([A, B])
    assert cap.used(A) == 3
    assert not cap.allow(A)
    assert cap.next_free(A) == 6500.0 + 3600
    assert cap.allow(B)
    assert cap.used(B) == 0
    clock.now = 10_100.0  # 6500 drops out of the hour
    assert cap.allow(A)
    assert cap.next_free(A) == clock.now
    assert len(journal.queries) == 1  # no query per message


def test_reserved_slots_count_so_concurrent_sends_do_not_overshoot() -> None:
    clock = FakeClock(10_000.0)
    cap = HourlyCap(2, FakeJournal([(A, 9000.0)]), clock=clock)
    cap.seed([A])
    assert cap.reserve(A) is True  # the last free slot, now in flight
    assert cap.reserve(A) is False  # a second message to A must wait
    assert cap.reserved(A) == 1
    assert cap.next_free(A) == 9000.0 + 3600
    cap.release(A)  # the request was not accepted: the slot is free again
    assert cap.allow(A)
    assert cap.reserve(A)
    cap.note_accepted(A, 10_001.0)
    cap.release(A)
    assert cap.used(A) == 2
    assert cap.next_free(A) == 9000.0 + 3600
    clock.now = 12_700.0
    assert cap.next_free(A) == 12_700.0


def test_next_free_with_several_over_the_cap() -> None:
    clock = FakeClock(10_000.0)
    times = [(A, t) for t in (7000.0, 7100.0, 7200.0, 7300.0)]
    cap = HourlyCap(2, FakeJournal(times), clock=clock)
    assert cap.next_free(A) == 7200.0 + 3600  # two must leave the hour before one more fits


def test_unknown_number_is_looked_up_on_demand() -> None:
    journal = FakeJournal([(C, 9999.0)])
    cap = HourlyCap(1, journal, clock=FakeClock(10_000.0))
    assert not cap.allow(C)
    assert journal.queries == [[C]]


def test_no_cap_means_no_queries_and_always_allowed() -> None:
    journal = FakeJournal([(A, 9999.0)] * 10)
    cap = HourlyCap(None, journal, clock=FakeClock(10_000.0))
    cap.seed([A])
    assert cap.allow(A)
    assert cap.reserve(A)
    cap.note_accepted(A, 10_000.0)
    assert cap.used(A) == 0
    assert journal.queries == []


def test_prune_keeps_what_the_journal_does_not_know_yet() -> None:
    clock = FakeClock(10_000.0)
    journal = FakeJournal()
    cap = HourlyCap(1, journal, clock=clock, max_cached=2)
    cap.seed([A, B, C])
    assert cap.reserve(A)  # in flight
    assert cap.reserve(B)
    cap.note_accepted(B, 10_000.0)  # accepted, not yet in the journal
    cap.release(B)
    cap.seed(["8613800000004"])  # over max_cached: forget what the journal can tell again
    assert not cap.allow(A)
    assert not cap.allow(B)
    queries = len(journal.queries)
    assert cap.allow(C)  # forgotten: asked again
    assert len(journal.queries) == queries + 1
    cap.flushed()
    journal.sent.append((B, 10_000.0))
    cap.release(A)
    cap.seed(["8613800000005"])
    assert not cap.allow(B)  # the journal tells it now


def test_sent_moves_a_late_start_forward_and_later_starts_keep_their_distance() -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)

    async def go() -> tuple[Ticket, Ticket]:
        first = await limiter.acquire()
        for _ in range(999):
            await limiter.acquire()
        clock.now = 0.04
        limiter.sent(first)  # the first request only left 40 ms after it was let through
        return first, await limiter.acquire()

    first, after = asyncio.run(go())
    assert first.at == 0.04
    assert after.at == pytest.approx(0.04 + 1.05)
    limiter.sent(after)  # never moved back
    assert after.at == pytest.approx(1.09)


def test_most_in_window_counts_a_half_open_sliding_window() -> None:
    assert most_in_window([0.0, 0.5, 0.999, 1.0, 1.5]) == 3
    assert most_in_window([]) == 0
    assert most_in_window([0.0, 0.1, 0.2], width=0.15) == 2


def test_hourly_cap_holds_across_runs(make_sandbox: SandboxMaker, journal: Journal) -> None:
    clock = FakeClock()
    handle = make_sandbox(clock=clock, hourly_cap=2)
    a, b, c = cn_numbers(3)
    settings = DispatchSettings(hourly_cap=2)
    make_run(journal, "run-cap-000001", [(a, "one"), (b, "one"), (a, "two")])
    first = dispatch_run(handle, journal, "run-cap-000001", settings, clock=clock)
    assert first.counts == {"sent": 3}
    sent_at = min(r.sent_at or 0 for r in journal.report_rows("run-cap-000001"))
    clock.advance(600)
    make_run(journal, "run-cap-000002", [(a, "three"), (c, "one"), (a, "four")])
    arrivals = len(handle.sandbox.arrivals)
    second = dispatch_run(handle, journal, "run-cap-000002", settings, clock=clock)
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
    phone = cn_numbers(1)[0]
    make_run(journal, "run-cap-000003", [(phone, f"msg {i}") for i in range(6)])
    result = dispatch_run(
        handle,
        journal,
        "run-cap-000003",
        DispatchSettings(hourly_cap=4, concurrency=20),
        clock=clock,
    )
    assert result.counts == {"sent": 4, "capped": 2}
    assert len(handle.sandbox.accepted) == 4
