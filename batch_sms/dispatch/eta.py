"""The time left of a dispatch, from a smoothed rate: pure, the caller brings the clock."""

from __future__ import annotations

__all__ = ["RateEstimate", "eta_seconds"]

MIN_SAMPLE = 0.5  # seconds: shorter samples are noise (a burst of answers, a pause to print)


class RateEstimate:
    """An exponential moving average of messages per second.

    Each sample is the rate since the previous accepted sample; a new sample moves the estimate
    by `alpha` of the difference, so a burst or a short stall does not swing the time left."""

    def __init__(self, alpha: float = 0.2) -> None:
        self.alpha = alpha
        self.rate: float | None = None
        self._last: tuple[int, float] | None = None

    def update(self, done: int, now: float) -> float | None:
        """Take the count done at time `now` (seconds, any monotonic clock); the smoothed rate."""
        if self._last is None:
            self._last = (done, now)
            return self.rate
        before, then = self._last
        if now - then < MIN_SAMPLE:
            return self.rate
        sample = (done - before) / (now - then)
        previous = sample if self.rate is None else self.rate
        self.rate = self.alpha * sample + (1 - self.alpha) * previous
        self._last = (done, now)
        return self.rate


def eta_seconds(left: int, rate: float | None) -> float | None:
    """Seconds until `left` more are done at `rate`; None while the rate is unknown or zero."""
    if not rate or rate <= 0:
        return None
    return left / rate
