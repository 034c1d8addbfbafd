"""The pacer, the sliding-second window guard and its margin, measured from the run's answers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice

__all__ = ["MarginMeter", "Pacer", "Ticket", "WindowGuard"]


@dataclass(slots=True)
class Ticket:
    """One request's start: when the limiter let it through, moved to when it really left;
    `slack`: the margin it was given (until answered); `trip`: its round trip, once answered."""

    at: float
    slack: float = 0.0
    trip: float | None = None


class WindowGuard:
    """At most `limit` starts in any window of `period` seconds plus each start's slack (pure).

    The slack absorbs network jitter: starts spaced by at least period + slack still arrive at
    most `limit` to any one-second window at the receiver while the spread of their delays stays
    under the slack. A start that leaves later than it was let through (the event loop was busy)
    is moved forward with `Ticket.at`; one whose round trip took longer than the quickest
    (`base`) may have arrived that much later, up to `horizon` seconds. Later starts keep their
    distance from both. Once answered, a start's slack is the margin in force (`noise`, when
    measured) rather than the one it was let through with: its trip is known by then, so a
    start made during the safe warm-up costs the second after it no more than any other.
    """

    def __init__(
        self, capacity: int, period: float = 1.0, margin: float = 0.05, horizon: float = 1.0
    ) -> None:
        """Remember up to `capacity` recent starts (the highest limit ever asked for)."""
        self.period = period
        self.margin = margin  # the slack of a start noted without one
        self.horizon = horizon
        self.base: float | None = None  # the quickest round trip of the run
        self.noise: float | None = None  # the measured margin for answered starts, if any
        self._starts: deque[Ticket] = deque(maxlen=max(1, capacity))

    def latest(self, ticket: Ticket) -> float:
        """The latest the ticket's request may have reached the server, in start time."""
        if ticket.trip is None:
            return ticket.at + ticket.slack
        late = ticket.at + (ticket.slack if self.noise is None else self.noise)
        if self.base is not None:
            late += min(self.horizon, max(0.0, ticket.trip - self.base))
        return late

    def delay(self, now: float, limit: int) -> float:
        """Seconds to wait before one more start keeps at most `limit` in the window."""
        limit = max(1, min(limit, self._starts.maxlen or 1))
        older = len(self._starts) - limit + 1
        if older <= 0:
            return 0.0
        # Every start but the latest limit - 1 must have left the window; one moved forward
        # may now be later than its successors, so take the latest of them, not the limit-th.
        edge = max(self.latest(t) for t in islice(self._starts, older))
        return max(0.0, edge + self.period - now)

    def note(self, now: float, slack: float | None = None) -> Ticket:
        """Record a start with its slack (the guard's margin unless given)."""
        ticket = Ticket(now, self.margin if slack is None else slack)
        self._starts.append(ticket)
        return ticket

    @property
    def last(self) -> float | None:
        """The latest start, if any."""
        return self._starts[-1].at if self._starts else None


class Pacer:
    """Starts evenly spread at `rate` a second from the first on (pure, on the caller's clock).

    A run that fell behind this schedule (the event loop was busy: a commit, a garbage
    collection, another process on the CPU) makes up at most `catchup` seconds of the starts it
    missed at once, instead of losing them for good; the window guard, not the pacer, keeps
    every sliding second under the limit.
    """

    def __init__(self, rate: float, catchup: float) -> None:
        """Pace at `rate`; nothing started yet."""
        self.rate = rate
        self.catchup = catchup
        self._due: float | None = None  # when the next start is due; None: nothing started

    def delay(self, now: float) -> float:
        """Seconds until the next start is due (0: it may go now)."""
        return 0.0 if self._due is None else max(0.0, self._due - now)

    def note(self, now: float) -> None:
        """A start was made at `now`: the next is due 1/rate after its slot in the schedule."""
        slot = now if self._due is None else max(self._due, now - self.catchup)
        self._due = slot + 1.0 / self.rate

    def retime(self, rate: float, last: float | None, now: float) -> None:
        """Pace at a new `rate` from now on: the next start is due 1/rate after the `last` one
        (no catching up on the starts the old rate would have made)."""
        self.rate = rate
        if last is not None:
            self._due = max(last + 1.0 / rate, now)


class MarginMeter:
    """The window's margin from answer times: safe at first, then what the run measures (pure).

    Every answered request gives its round trip, from when it left to when its answer was read.
    The run's quickest (`base`) is the trip with no delay beyond the network's and the server's
    own; what a request took beyond it (its excess) bounds how late it can have reached the
    server (the window guard counts it per request). It is kept for the whole run: the quickest
    of the recent trips rises with the delays while every request is slowed (a busy machine),
    and would hide them from the requests a second later. The margin covers what that bound can
    miss, the noise of the quickest trips themselves: how far the `quantile` of the recent trips
    lies above their minimum, between `floor` and `ceiling`; until `warmup` answers are in, it
    is `start`.
    """

    def __init__(
        self,
        *,
        start: float = 0.05,
        floor: float = 0.002,
        ceiling: float = 0.05,
        samples: int = 256,
        warmup: int = 32,
        quantile: float = 0.1,
    ) -> None:
        """Keep the last `samples` round trips."""
        self.start, self.floor, self.ceiling, self.warmup = start, floor, ceiling, warmup
        self.quantile = quantile
        self._trips: deque[float] = deque(maxlen=max(1, samples))
        self._margin = start
        self._base: float | None = None
        self._since = 0  # answers since the margin was last worked out
        self.answers = 0

    @property
    def margin(self) -> float:
        """The slack a start gets now."""
        return self._margin

    @property
    def base(self) -> float | None:
        """The quickest round trip of the run, if any."""
        return self._base

    def answered(self, trip: float) -> None:
        """Count one round trip."""
        trips = self._trips
        trips.append(trip)
        self._base = trip if self._base is None else min(self._base, trip)
        self.answers += 1
        self._since += 1
        if self.answers >= self.warmup and self._since * 8 >= len(trips):
            self._since = 0
            ordered = sorted(trips)
            spread = ordered[int(self.quantile * (len(ordered) - 1))] - ordered[0]
            self._margin = min(self.ceiling, max(self.floor, spread))
