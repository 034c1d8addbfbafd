"""The window guard's slack and the measured margin, on a fake clock and a modelled server."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence

import pytest
from helpers import FakeClock

from batch_sms.dispatch.limits import RateLimiter, most_in_window
from batch_sms.dispatch.pacing import MarginMeter, Pacer, Ticket, WindowGuard

# --- MarginMeter -----------------------------------------------------------------------------


def test_meter_is_safe_until_enough_answers_are_in() -> None:
    meter = MarginMeter(start=0.05, warmup=4, floor=0.001)
    assert meter.margin == 0.05
    assert meter.base is None
    for trip in (0.030, 0.021, 0.022):
        meter.answered(trip)
    assert meter.margin == 0.05  # three answers: still the safe start
    assert meter.base == 0.021
    meter.answered(0.025)
    assert meter.margin < 0.05


def test_meter_margin_is_the_spread_of_the_quickest_trips_within_floor_and_ceiling() -> None:
    meter = MarginMeter(warmup=1, samples=100, floor=0.002, ceiling=0.05, quantile=0.1)
    for i in range(100):  # 20 ms to 29.9 ms; one slow answer changes nothing
        meter.answered(0.300 if i == 50 else 0.020 + i * 0.0001)
    assert meter.base == pytest.approx(0.020)
    assert meter.margin == pytest.approx(0.002)  # 10th percentile 21 ms, 1 ms over: the floor
    noisy = MarginMeter(warmup=1, samples=100, ceiling=0.05, quantile=0.15)
    for i in range(300):
        noisy.answered(0.020 + (i % 10) * 0.004)  # a tenth each of 20, 24, … 56 ms
    assert noisy.margin == pytest.approx(0.004)
    wild = MarginMeter(warmup=1, samples=10, ceiling=0.05, quantile=0.5)
    for i in range(10):
        wild.answered(0.020 + i * 0.1)
    assert wild.margin == 0.05  # never above the ceiling


def test_meter_base_is_the_quickest_trip_of_the_run_even_once_it_is_old() -> None:
    meter = MarginMeter(samples=3)
    for trip in (0.010, 0.030, 0.040, 0.050, 0.060):
        meter.answered(trip)
    assert meter.base == 0.010  # left the last three long ago: still the floor
    meter.answered(0.008)
    assert meter.base == 0.008


# --- WindowGuard with round trips -----------------------------------------------------------


def test_guard_counts_a_late_answer_against_the_start_a_second_later() -> None:
    guard = WindowGuard(2, margin=0.0)
    first = guard.note(0.0)
    guard.note(0.1)
    assert guard.delay(0.5, 2) == pytest.approx(0.5)
    first.trip, guard.base = 0.12, 0.02  # answered 100 ms slower than the quickest
    assert guard.latest(first) == pytest.approx(0.1)
    assert guard.delay(0.5, 2) == pytest.approx(0.6)
    first.trip = 5.0  # an answer that took seconds holds the window for `horizon` at most
    assert guard.latest(first) == pytest.approx(1.0)
    guard.base = None
    assert guard.latest(first) == 0.0  # no quickest trip known: nothing to compare with


def test_an_answered_start_counts_the_measured_margin_not_the_safe_start_it_left_with() -> None:
    guard = WindowGuard(2, margin=0.05)
    first = guard.note(0.0)  # let through during the warm-up, with the safe 50 ms
    guard.note(0.1)
    assert guard.delay(0.5, 2) == pytest.approx(0.55)
    first.trip, guard.base = 0.021, 0.020  # answered, 1 ms slower than the quickest
    assert guard.latest(first) == pytest.approx(0.051)  # no margin measured yet: its own
    guard.noise = 0.002  # measured since
    assert guard.latest(first) == pytest.approx(0.003)
    assert guard.delay(0.5, 2) == pytest.approx(0.503)
    assert guard.latest(guard.note(0.2, 0.05)) == pytest.approx(0.25)  # in flight: its slack


def test_ticket_slack_is_the_margin_in_force_when_it_was_let_through() -> None:
    guard = WindowGuard(3, margin=0.05)
    assert guard.note(0.0).slack == 0.05
    assert guard.note(0.1, 0.002).slack == 0.002
    assert guard.latest(Ticket(1.0, 0.01)) == pytest.approx(1.01)


# --- Pacer ------------------------------------------------------------------------------------


def test_pacer_spreads_starts_and_makes_up_at_most_catchup_seconds_of_missed_ones() -> None:
    pacer = Pacer(4, catchup=0.5)
    assert pacer.delay(0.0) == 0.0  # the first start goes at once
    pacer.note(0.0)
    assert pacer.delay(0.0) == 0.25
    made = []  # the loop was busy until 2.0: seven starts missed, two of them made up
    while pacer.delay(2.0) == 0.0:
        pacer.note(2.0)
        made.append(2.0)
    assert len(made) == 3
    assert pacer.delay(2.0) == 0.25


def test_pacer_at_a_new_rate_counts_from_the_last_start_without_catching_up() -> None:
    pacer = Pacer(4, catchup=0.5)
    pacer.retime(2, None, 0.0)
    assert pacer.delay(0.0) == 0.0  # nothing started yet
    pacer.note(0.0)
    pacer.retime(1, 0.0, 0.1)  # cut: the next start waits a whole second from the last
    assert pacer.delay(0.1) == pytest.approx(0.9)
    pacer.retime(8, 0.0, 3.0)  # raised long after the last start: no burst for the old rate
    pacer.note(3.0)
    assert pacer.delay(3.0) == 0.125


# --- RateLimiter against a modelled server ---------------------------------------------------


def serve(
    limiter: RateLimiter,
    clock: FakeClock,
    ups: Sequence[float],
    rest: float,
    stalls: dict[int, float] | None = None,
) -> list[float]:
    """Start one request per entry of `ups` as fast as the limiter lets them; request i reaches
    the server ups[i] seconds after it leaves and is answered `rest` seconds after that. The
    answers come back while the limiter waits. Before request i the client's own loop may stop
    for `stalls[i]` seconds: nothing leaves, and the answers due meanwhile are read when it
    resumes. Returns the arrival times at the server."""
    answers: list[tuple[float, int, Ticket]] = []

    async def sleep(seconds: float) -> None:
        until = clock.now + seconds
        while answers and answers[0][0] <= until:
            due, _, ticket = heapq.heappop(answers)
            clock.now = max(clock.now, due)  # an answer due during a stall is read after it
            limiter.answered(ticket)
        clock.now = until

    limiter._sleep = sleep  # the limiter's waits deliver the answers due meanwhile
    arrivals = []

    async def go() -> None:
        for i, up in enumerate(ups):
            clock.now += (stalls or {}).get(i, 0.0)
            await sleep(0.0)
            ticket = await limiter.acquire()
            limiter.sent(ticket)
            arrivals.append(ticket.at + up)
            heapq.heappush(answers, (ticket.at + up + rest, i, ticket))

    asyncio.run(go())
    return arrivals


def test_requests_that_reach_the_server_late_keep_the_second_after_them_under_the_limit() -> None:
    # What a run measured at its start: the first requests waited ~90 ms for their connections
    # and the server, the rest arrived at once; each answer takes 20 ms more.
    ups = [0.09 if i < 8 else 0.001 for i in range(200)]
    clock = FakeClock(0.0)
    measured = RateLimiter(50, clock=clock, sleep=clock.sleep)
    arrivals = serve(measured, clock, ups, rest=0.02)
    assert most_in_window(arrivals) <= 50
    # A constant 50 ms margin lets the 51st request in before the late ones' second is over.
    clock = FakeClock(0.0)
    fixed = RateLimiter(50, clock=clock, sleep=clock.sleep, margin=0.05)
    assert most_in_window(serve(fixed, clock, ups, rest=0.02)) > 50


def steady(
    tps: int, count: int, stalls: dict[int, float] | None = None
) -> tuple[RateLimiter, list[float]]:
    """`count` requests at `tps` to a server up to 2 ms late and 20 ms to answer; the limiter
    and the arrivals, checked to keep every sliding second under the limit."""
    ups = [0.001 + (i * 7 % 5) * 0.0005 for i in range(count)]
    clock = FakeClock(0.0)
    limiter = RateLimiter(tps, clock=clock, sleep=clock.sleep)
    arrivals = serve(limiter, clock, ups, rest=0.02, stalls=stalls)
    assert most_in_window(arrivals) <= tps
    return limiter, arrivals


def rate(arrivals: Sequence[float]) -> float:
    """Arrivals a second from the first to the last."""
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


def test_a_steady_server_is_used_to_98_percent_of_the_limit() -> None:
    limiter, arrivals = steady(100, 1000)
    assert rate(arrivals) >= 98
    assert limiter.margin < 0.01  # measured: far below the 50 ms it starts with


def test_the_safe_start_is_not_paid_again_a_second_later() -> None:
    _, arrivals = steady(1000, 3000)
    # The first requests left with the safe 50 ms; answered within 25 ms, they keep the
    # request a second after them only as far as the measured margin and their own trip say.
    assert arrivals[1000] - arrivals[0] < 1.01
    assert rate(arrivals) >= 990


def test_a_loop_that_stalls_every_second_makes_up_the_starts_it_missed() -> None:
    # The client's own loop stops for 40 ms once a second (a commit, a garbage collection):
    # nothing leaves meanwhile, and the answers due are read late, their trips 40 ms longer.
    _, arrivals = steady(1000, 5000, stalls={i: 0.04 for i in range(500, 5000, 1000)})
    assert rate(arrivals) >= 980  # 959 without making up


def test_a_second_of_slow_arrivals_is_not_hidden_by_a_quickest_trip_that_rose_with_them() -> None:
    # For a second every request reaches the server 10 ms late (a busy machine), then they are
    # quick again: the ones a second after the slow ones must keep their distance from them,
    # although the quickest recent round trip is then itself 10 ms slower.
    ups = [0.01 if 1000 <= i < 2000 else 0.0005 for i in range(4000)]
    clock = FakeClock(0.0)
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)
    assert most_in_window(serve(limiter, clock, ups, rest=0.02)) <= 1000  # 1008 before


@pytest.mark.parametrize(("tps", "margin"), [(10, 0.03), (None, None)])
def test_a_fixed_margin_or_no_limit_ignores_the_answers(
    tps: float | None, margin: float | None
) -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(tps, clock=clock, sleep=clock.sleep, margin=margin)
    ticket = asyncio.run(limiter.acquire())
    clock.now = 0.5
    limiter.answered(ticket)
    assert ticket.trip is None
    assert limiter.margin == (0.03 if margin else 0.05)
