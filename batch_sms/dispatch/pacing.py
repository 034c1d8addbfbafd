"""The sliding-second window guard and its margin, measured from the run's own answer times."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice

__all__ = ["MarginMeter", "Ticket", "WindowGuard"]


@dataclass(slots=True)
class Ticket:
    """One request's start: when the limiter let it through, moved to when it really left;
    `slack`: the margin it was given; `trip`: its round trip, once answered."""

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
    distance from both.
    """

    def __init__(
        self, capacity: int, period: float = 1.0, margin: float = 0.05, horizon: float = 1.0
    ) -> None:
        """Remember up to `capacity` recent starts (the highest limit ever asked for)."""
        self.period = period
        self.margin = margin  # the slack of a start noted without one
        self.horizon = horizon
        self.base: float | None = None  # the quickest recent round trip
        self._starts: deque[Ticket] = deque(maxlen=max(1, capacity))

    def latest(self, ticket: Ticket) -> float:
        """The latest the ticket's request may have reached the server, in start time."""
        late = ticket.at + ticket.slack
        if ticket.trip is not None and self.base is not None:
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


class MarginMeter:
    """The window's margin from answer times: safe at first, then what the run measures (pure).

    Every answered request gives its round trip, from when it left to when its answer was read.
    The quickest recent one (`base`) is the trip with no delay beyond the network's and the
    server's own; what a request took beyond it (its excess) bounds how late it can have reached
    the server (the window guard counts it per request). The margin covers what that bound can
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
        """The quickest recent round trip, if any."""
        return self._base

    def answered(self, trip: float) -> None:
        """Count one round trip."""
        trips = self._trips
        if len(trips) == trips.maxlen and trips[0] == self._base:
            trips.append(trip)
            self._base = min(trips)  # the quickest one leaves the window
        else:
            trips.append(trip)
            self._base = trip if self._base is None else min(self._base, trip)
        self.answers += 1
        self._since += 1
        if self.answers >= self.warmup and self._since * 8 >= len(trips):
            self._since = 0
            ordered = sorted(trips)
            spread = ordered[int(self.quantile * (len(ordered) - 1))] - ordered[0]
            self._margin = min(self.ceiling, max(self.floor, spread))
