"""The request-rate limiter (requests per sliding second) and the per-number hourly cap."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from batch_sms.dispatch.pacing import MarginMeter, Pacer, Ticket, WindowGuard

__all__ = ["AcceptedSource", "HourlyCap", "RateLimiter", "Ticket", "WindowGuard"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class RateLimiter:
    """Strict pacer: at most `tps` request starts in any sliding second, from the first on.

    A Pacer spreads the starts evenly at 1/rate and makes up those a busy event loop missed (up
    to `catchup` seconds' worth); a window guard over the last starts makes the count strict
    with a safety margin: `margin` seconds, or with `margin=None` what a MarginMeter measures
    from the answers (`answered()`), which also moves a late request's ticket forward. `lower()`
    on code 28
    halves the rate (floor 1/s) and holds it; afterwards each clean second adds back 10 % of
    the ceiling until the ceiling is reached again. The ceiling is `tps`; with `tps=None`
    (unlimited) it is the rate at which the first 28 came, and reaching it lifts the limit.
    """

    def __init__(
        self,
        tps: float | None,
        *,
        margin: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        factor: float = 0.5,
        recover: float = 0.1,
        hold: float = 1.0,
        catchup: float = 1.0,
    ) -> None:
        """Pace at `tps`; `clock` and `sleep` drive the pacer, the window guard and the recovery.

        `catchup`: how many seconds' worth of missed starts the pacer makes up at once (the
        event loop's timers fire about a millisecond late, and a commit or a garbage collection
        holds the loop for tens of them); the window guard keeps the count strict regardless,
        so by default the pacer makes up a whole window's worth and costs the rate nothing.
        """
        if tps is not None and tps <= 0:
            raise ValueError("tps must be positive (or None for unlimited)")
        self.target = tps
        self._clock = clock
        self._sleep = sleep
        self._factor = factor
        self._recover = recover
        self._hold = hold
        self._meter = MarginMeter() if margin is None else None
        self._margin = margin
        self._floor = min(1.0, tps) if tps is not None else 1.0
        self._ceiling = tps  # what recovery climbs back to
        self._rate = tps  # None: no limit in force
        self._lowered_at = -math.inf  # when lower() last cut the rate
        self._changed_at = -math.inf  # when the rate last moved (recovery counts from here)
        self._lock = asyncio.Lock()
        self._guard = WindowGuard(math.ceil(tps) if tps is not None else 1, margin=self.margin)
        self._pacer = Pacer(tps or 1.0, catchup)
        self._paced_rate = tps
        self._recent: deque[float] = deque()  # starts in the last second while unlimited
        self.lowered = 0  # how many times lower() actually cut the rate

    @property
    def rate(self) -> float | None:
        """The rate in force now (None when unlimited), after any recovery due."""
        self._recover_to(self._clock())
        return self._rate

    def _recover_to(self, now: float) -> None:
        """Apply the recovery earned by whole clean seconds since the last change."""
        if self._rate is None or self._ceiling is None or self._rate >= self._ceiling:
            return
        start = max(self._changed_at, self._lowered_at + self._hold)
        steps = math.floor(now - start) if now > start else 0
        if steps > 0:
            self._rate = min(self._ceiling, self._rate + steps * self._recover * self._ceiling)
            self._changed_at = start + steps
            if self.target is None and self._rate >= self._ceiling:
                self._rate = None  # unlimited again

    def _limit(self) -> int:
        """Starts allowed per window at the current rate."""
        return max(1, math.floor(self._rate or 1))

    def ready(self) -> bool:
        """True when `acquire()` would return at once (without yielding to the loop)."""
        now = self._clock()
        self._recover_to(now)
        if self._rate is None:
            return True
        return (
            not self._lock.locked()
            and self._paced_rate == self._rate
            and self._pacer.delay(now) <= 0
            and self._guard.delay(now, self._limit()) <= 0
        )

    async def acquire(self) -> Ticket:
        """Wait until one more request may start; call `sent()` with the ticket as it leaves."""
        now = self._clock()
        self._recover_to(now)
        if self._rate is None:
            # Unlimited: only remember the last second, in case a 28 asks for a limit.
            self._recent.append(now)
            while self._recent[0] <= now - 1.0:
                self._recent.popleft()
            return Ticket(now)
        async with self._lock:
            now = self._clock()
            self._recover_to(now)
            if self._rate is not None and self._paced_rate != self._rate:
                self._pacer.retime(self._rate, self._guard.last, now)
                self._paced_rate = self._rate
            while (wait := self._wait(self._clock())) > 0:
                await self._sleep(wait)
            now = self._clock()
            self._pacer.note(now)
            return self._guard.note(now, self.margin)

    def _wait(self, now: float) -> float:
        """Seconds until both the pacer and the window guard let one more start through."""
        return max(self._pacer.delay(now), self._guard.delay(now, self._limit()))

    @property
    def margin(self) -> float:
        """The slack a start gets now: the fixed margin, or the measured one."""
        return self._meter.margin if self._meter is not None else (self._margin or 0.0)

    def sent(self, ticket: Ticket) -> None:
        """The request is leaving now: if that is later than it was let through, say so."""
        ticket.at = max(ticket.at, self._clock())

    def answered(self, ticket: Ticket) -> None:
        """The server answered the request that left at `ticket.at` (after `sent()`): keep its
        round trip, which tells how late it may have arrived, and measure the margin (not while
        unlimited: nothing to pace, and a 28 then starts from the safe margin)."""
        if self._meter is not None and self._rate is not None:
            ticket.trip = max(0.0, self._clock() - ticket.at)
            self._meter.answered(ticket.trip)
            self._guard.base = self._meter.base
            self._guard.noise = self._meter.margin

    def lower(self, started_at: float | None = None) -> bool:
        """Code 28: cut the rate and hold it; True when the rate was actually cut.

        A 28 for a request that started before the last cut says nothing new about the current
        rate (it was paced under the old one), so it is ignored; without `started_at`, 28s
        within `hold` seconds of the last cut count as one.
        """
        now = self._clock()
        if started_at is not None:
            if started_at < self._lowered_at:
                return False
        elif now - self._lowered_at < self._hold:
            return False
        self._recover_to(now)
        rate = self._rate if self._rate is not None else self._limit_from_recent(now)
        self._rate = max(self._floor, rate * self._factor)
        self._lowered_at = self._changed_at = now
        self.lowered += 1
        return True

    def _limit_from_recent(self, now: float) -> float:
        """Unlimited until now: the rate of the last second becomes the ceiling to return to."""
        recent = [t for t in self._recent if t > now - 1.0]
        rate = self._ceiling = self._rate = float(max(len(recent), 1))
        self._guard = WindowGuard(math.ceil(self._ceiling), margin=self.margin)
        if self._meter is not None:
            self._guard.base, self._guard.noise = self._meter.base, self._meter.margin
        for t in recent[-math.ceil(self._ceiling) :]:
            self._guard.note(t, self.margin)  # the starts already made count against it
        self._paced_rate = None  # the next acquire retimes the pacer
        self._recent.clear()
        return rate


class AcceptedSource(Protocol):
    """Where the hourly cap learns earlier sends (the journal)."""

    def accepted_since(self, phones: Iterable[str], since: float) -> dict[str, list[float]]:
        """Accepted messages' times at or after `since`, sorted, by phone, over all runs."""
        ...


class HourlyCap:
    """At most `cap` accepted messages per number in any sliding hour, across all runs.

    Numbers are looked up in the journal lazily, a batch at a time (`seed`); this process's
    accepts are added as they happen (`note_accepted`). A request in flight holds a reserved
    slot (`reserve`/`release`), so two concurrent messages to a number at cap-1 don't both go.
    The cache forgets numbers the journal can tell again: those with no reservation and no
    accept that the journal has not stored yet (`flushed`).
    """

    def __init__(
        self,
        cap: int | None,
        source: AcceptedSource,
        *,
        clock: Clock = time.time,
        window: float = 3600.0,
        max_cached: int = 50_000,
    ) -> None:
        """Cap at `cap` per `window` seconds (None: no cap); earlier sends come from `source`."""
        if cap is not None and cap < 1:
            raise ValueError("the hourly cap must be at least 1 (or None for no cap)")
        self.cap = cap
        self.window = window
        self._source = source
        self._clock = clock
        self._max_cached = max_cached
        self._times: dict[str, list[float]] = {}
        self._reserved: Counter[str] = Counter()
        self._unflushed: Counter[str] = Counter()

    def seed(self, phones: Iterable[str]) -> None:
        """Look up the numbers not known yet in one query (call once per batch of messages)."""
        if self.cap is None:
            return
        if len(self._times) > self._max_cached:
            self._prune()
        wanted = [p for p in dict.fromkeys(phones) if p not in self._times]
        if not wanted:
            return
        found = self._source.accepted_since(wanted, self._clock() - self.window)
        for phone in wanted:
            self._times[phone] = list(found.get(phone, ()))

    def _prune(self) -> None:
        """Forget numbers whose state the journal holds in full (no reservation, all flushed)."""
        keep = self._reserved.keys() | self._unflushed.keys()
        self._times = {p: t for p, t in self._times.items() if p in keep}

    def _recent(self, phone: str, now: float) -> list[float]:
        """This number's accepts within the window ending now (seeding it if unknown)."""
        if phone not in self._times:
            self.seed((phone,))
        times = self._times[phone]
        edge = now - self.window
        if times and times[0] <= edge:
            times[:] = [t for t in times if t > edge]
        return times

    def used(self, phone: str) -> int:
        """Slots taken now: accepts within the hour plus requests in flight."""
        if self.cap is None:
            return 0
        return len(self._recent(phone, self._clock())) + self._reserved[phone]

    def allow(self, phone: str) -> bool:
        """True when one more message to this number fits in its hour now."""
        return self.cap is None or self.used(phone) < self.cap

    def next_free(self, phone: str) -> float:
        """When a slot for this number frees (now if one is free).

        A reserved slot counts as taken now, so it frees an hour from now at the latest; the
        caller should rather wait for the request in flight to finish (see `reserved`).
        """
        now = self._clock()
        if self.cap is None:
            return now
        times = sorted([*self._recent(phone, now), *([now] * self._reserved[phone])])
        excess = len(times) - self.cap
        if excess < 0:
            return now
        return times[excess] + self.window

    def refused_until(self, phone: str) -> float:
        """When the provider's sliding hour frees a slot for a number it answered 27 for.

        The provider counts its own hour: its oldest accept for the number that is still in
        the window leaves it an hour after it was sent. The journal's accepted times tell it
        (with --hourly-cap off too); with none known (sent from elsewhere), an hour from now,
        when every send the provider counts has left its window.
        """
        now = self._clock()
        if self.cap is None:
            found = self._source.accepted_since([phone], now - self.window).get(phone, [])
            times = [t for t in found if t > now - self.window]
        else:
            times = self._recent(phone, now)
        return min(times) + self.window if times else now + self.window

    def reserved(self, phone: str) -> int:
        """Requests to this number in flight."""
        return self._reserved[phone]

    def reserve(self, phone: str) -> bool:
        """Take a slot for a request about to leave; False (nothing taken) when none is free."""
        if not self.allow(phone):
            return False
        if self.cap is not None:
            self._reserved[phone] += 1
        return True

    def release(self, phone: str) -> None:
        """Give back a reserved slot (the request is answered; note an accept separately)."""
        if self._reserved[phone] > 1:
            self._reserved[phone] -= 1
        else:
            self._reserved.pop(phone, None)

    def note_accepted(self, phone: str, at: float) -> None:
        """Count an accepted message at `at` (until `flushed()`, the journal may not know it)."""
        if self.cap is None:
            return
        times = self._recent(phone, self._clock())
        times.append(at)
        times.sort()
        self._unflushed[phone] += 1

    def flushed(self) -> None:
        """Every accept noted so far is now stored in the journal."""
        self._unflushed.clear()


def most_in_window(times: Sequence[float], width: float = 1.0) -> int:
    """The largest number of times in any half-open window (t - width, t]: how a provider
    that counts requests per sliding second sees a stream of request starts."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
