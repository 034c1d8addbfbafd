"""What a dispatch takes and gives: its settings, progress reports and result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from batch_sms.provider.nxcloud import Answer, SendRequest

__all__ = ["DispatchResult", "DispatchSettings", "Progress", "Sender"]


@dataclass(frozen=True)
class DispatchSettings:
    """How to send: rate, concurrency, caps, retries, and what every request carries."""

    tps: float | None = None  # request starts per sliding second; None: unlimited
    concurrency: int = 20  # requests in flight at once
    hourly_cap: int | None = 5  # accepted messages per number per sliding hour; None: no cap
    max_attempts: int = 5  # requests per message that fail transiently before it fails
    # (a message's first 1004 is re-sent once with the corrected clock without counting here)
    sender: str = ""
    dr_url: str = ""
    short_link: str = ""
    link_verbose: str = ""  # "1", "0", or "" for the provider's default
    backoff_base: float = 0.5  # seconds; doubled per attempt, full jitter
    backoff_max: float = 30.0
    batch_size: int = 1000  # messages read from the journal at a time
    max_requeues: int = 50  # answers 28/27 per message before it fails (no endless loop)
    flush_every: int = 100  # answers written per transaction …
    flush_interval: float = 0.1  # … or after this many seconds, whichever comes first
    progress_interval: float = 0.1
    rate_margin: float | None = None  # seconds added to the limiter's window; None: measured
    seed: int | None = None  # back-off jitter dice (tests)
    group: int = 1  # numbers per request for identical texts (dispatch.grouping); 1: one each

    def check(self) -> None:
        """Refuse settings that cannot work (ValueError)."""
        least = (self.concurrency, self.max_attempts, self.batch_size, self.flush_every, self.group)
        if min(least) < 1 or (self.hourly_cap is not None and self.hourly_cap < 1):
            raise ValueError(
                "concurrency, max_attempts, batch_size, flush_every, group and hourly_cap "
                "must be at least 1"
            )


@dataclass(frozen=True)
class Progress:
    """Where a dispatch stands: messages finished of total, counts by status, rate, ETA (s)."""

    done: int
    total: int
    counts: dict[str, int]
    rate: float  # messages finished per second so far
    eta: float | None


@dataclass(frozen=True)
class DispatchResult:
    """What one dispatch did; counts are this dispatch's messages by their status now."""

    counts: dict[str, int]
    stopped_by: Answer | None  # the run-wide answer that stopped it
    interrupted: bool  # the stop event ended it with messages left
    started_at: float
    finished_at: float
    requests: int
    throttled: int  # answers 28
    rate: float  # requests started per second over the dispatch
    halted_by: str = ""  # a gate's Halt verdict stopped it (resumable): why

    @property
    def went_on(self) -> bool:
        """True when it ended with no stop of any kind (a run-wide answer, the stop event, a
        gate's halt): what comes next (the rest after a canary, a window's wait) may go."""
        return self.stopped_by is None and not self.interrupted and not self.halted_by


class Sender(Protocol):
    """The part of provider.client.Client the dispatcher uses."""

    async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Answer:
        """Send one request and classify the answer; on 1004 correct the clock offset.

        The dispatcher passes `retry_clock=False` and sends a 1004 again through its limiter.
        """
        ...
