"""The cost ceiling as a dispatch gate: halt before the cost so far would pass it.

The cost so far is what the journal says the run (and its retries) spent, refreshed now and
then: a receipt's price where one came, the estimate otherwise, for every message that reached
the provider or may have. Each message let go since the last refresh is reserved at its
estimate until the journal shows it left the queue, so nothing is counted twice or missed
between refreshes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from batch_sms.dispatch.gates import Halt, Verdict
from batch_sms.journal import Queued

__all__ = ["REFRESH_SECONDS", "CostCeiling"]

REFRESH_SECONDS = 1.0  # how often (on the dispatch's clock) the cost so far is read again
NEAR_SECONDS = 0.25  # … and how often once the last fifth of the ceiling is reached
NEAR = 0.8  # the share of the ceiling from which receipts are read more often
_SLACK = 1e-9  # float sums: a cost exactly at the ceiling is within it


class CostCeiling:
    """Halt the dispatch before a message whose estimate would take the cost past `limit`.

    `estimate(q)` prices one message (None: no price for its country); `spent()` reads the
    cost so far from the journal; `launched(ids)` says which of the given messages left the
    queue (the journal counts those in `spent()` from then on).
    """

    def __init__(
        self,
        limit: float,
        estimate: Callable[[Queued], float | None],
        spent: Callable[[], float],
        launched: Callable[[Collection[int]], set[int]],
        *,
        currency: str = "",
        refresh: float = REFRESH_SECONDS,
    ) -> None:
        self.limit, self.currency, self.refresh = limit, currency, refresh
        self._estimate, self._spent, self._launched = estimate, spent, launched
        self._reserved: dict[int, float] = {}  # let go, not yet seen out of the queue
        self._reserved_sum = 0.0  # their sum, kept as they come and go (no sum per message)
        self._known = 0.0  # the journal's cost so far at the last refresh
        self._read_at: float | None = None
        self._fresh = False  # nothing let go since the last refresh
        self.reads = 0  # refreshes so far (each is one or two queries)

    @property
    def so_far(self) -> float:
        """The cost so far as this gate counts it: the journal's, plus what it let go since."""
        return self._known + self._reserved_sum

    def verdict(self, q: Queued, now: float) -> Verdict:
        """Go while the message fits under the ceiling; else halt (the run stays resumable)."""
        cost = self._estimate(q)
        if cost is None:
            return Halt(f"cost ceiling: no price is configured for the country of row {q.row}")
        every = self.refresh if self.so_far < NEAR * self.limit else min(self.refresh, NEAR_SECONDS)
        if self._read_at is None or now - self._read_at >= every:
            self._read(now)
        if self._over(q, cost) and not self._fresh:
            self._read(now)  # receipts may have come in below their estimates, or rows failed
        if self._over(q, cost):
            return Halt(self._why(cost))
        self._reserved_sum += cost - self._reserved.get(q.id, 0.0)
        self._reserved[q.id] = cost
        self._fresh = False
        return None

    def _over(self, q: Queued, cost: float) -> bool:
        already = self._reserved.get(q.id, 0.0)  # asked again (a retry): counted once
        return self.so_far - already + cost > self.limit + _SLACK

    def _read(self, now: float) -> None:
        """Read the cost so far; drop the reservations the journal now accounts for."""
        if self._reserved:
            for message_id in self._launched(list(self._reserved)):
                self._reserved_sum -= self._reserved.pop(message_id)
            if not self._reserved:
                self._reserved_sum = 0.0  # no float drift left behind
        self._known = self._spent()
        self._read_at, self._fresh = now, True
        self.reads += 1

    def _why(self, cost: float) -> str:
        unit = f" {self.currency}" if self.currency else ""
        return (
            f"cost ceiling {self.limit:g}{unit} reached: {self.so_far:,.4f}{unit} spent so far "
            f"(billed in receipts, else estimated) and the next message costs {cost:,.4f}{unit}; "
            "to send the rest, resume with a higher --max-cost"
        )
