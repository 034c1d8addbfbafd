"""Batched writes of a dispatch's answers: results and the attempts log, in few transactions.

What is buffered is written in the transaction that marks the next group of requests in flight
(or every `every` results, or after `interval` seconds, or at the end).

An answer not written yet leaves its row `inflight` in the journal, which a resume turns into
`unknown`, so batching never risks a double send. A message is written out before it is marked
`inflight` again, so the answer to a previous attempt can never land after the new mark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from batch_sms.dispatch.limits import HourlyCap
from batch_sms.journal import Attempt, Journal, Result

__all__ = ["Writer"]


class Writer:
    """Buffers results and attempts; writes every `every` results or `interval` seconds."""

    def __init__(
        self,
        journal: Journal,
        cap: HourlyCap,
        every: int,
        interval: float,
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Write to `journal`; a timed write that fails is handed to `on_error`."""
        self._journal, self._cap = journal, cap
        self._every, self._interval, self._on_error = every, interval, on_error
        self._results: list[Result] = []
        self._attempts: list[Attempt] = []
        self._timer: asyncio.TimerHandle | None = None

    def attempt(self, attempt: Attempt) -> None:
        """Log one request and its answer."""
        self._attempts.append(attempt)

    def result(self, result: Result) -> None:
        """Queue a message's new state."""
        self._results.append(result)
        if len(self._results) >= self._every:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._timed)

    def mark_inflight(self, ids: Sequence[int], at: float, grouped: Sequence[int] = ()) -> None:
        """Mark messages in flight (`grouped`: those sent several numbers to a request), writing
        everything buffered first in the same transaction: one commit per group of requests
        instead of two."""
        self._cancel_timer()
        self._journal.mark_inflight(ids, at, self._results, self._attempts, grouped)
        self._written()

    def _timed(self) -> None:
        self._timer = None
        try:
            self.flush()
        except Exception as exc:  # a timer callback has nobody to raise to
            self._on_error(exc)

    def flush(self) -> None:
        """Write everything buffered in one transaction."""
        self._cancel_timer()
        if self._results or self._attempts:
            self._journal.record(self._results, self._attempts)
        self._written()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _written(self) -> None:
        """The buffers are in the journal now."""
        if self._results or self._attempts:
            self._results, self._attempts = [], []
        self._cap.flushed()  # the journal now knows every accept noted so far
