"""Launching requests: the gates' verdicts, the inflight marks (staged ahead while every slot
is busy), one task per request and what its answer makes of its messages, and the progress."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable

from batch_sms.dispatch.api import Progress, Sender
from batch_sms.dispatch.gates import Expire, Gate, Halt, Hold, Skip, Verdict, first_verdict
from batch_sms.dispatch.grouping import GroupAnswers, request_for
from batch_sms.dispatch.queue import Item
from batch_sms.models import Status
from batch_sms.provider.nxcloud import UNANSWERED, Answer, Kind

__all__ = ["Launcher"]


class Launcher(GroupAnswers):
    """The dispatcher's requests, from the gates to the answers; `Dispatcher` provides the
    state it works on and the loop that calls `_launch`."""

    client: Sender
    gates: tuple[Gate, ...]
    stop: asyncio.Event | None
    on_progress: Callable[[Progress], None] | None
    halted_by: str
    requests: int
    inflight: int
    total: int
    _tasks: set[asyncio.Task[None]]
    _staged: deque[list[Item]]
    _failure: BaseException | None
    _wake: asyncio.Event
    _t0: float
    _last_progress: float

    def _halted(self) -> bool:
        """Halted by a gate, or stopped."""
        return bool(self.halted_by) or self._stopped()

    def _stopped(self) -> bool:
        """Stopped by the stop event or a run-wide answer: not even staged requests go."""
        return self.stopped_by is not None or (self.stop is not None and self.stop.is_set())

    def _passes(self, item: Item) -> bool:
        """Ask the gates and apply their verdict: True when the message may go now."""
        return self._apply(item, first_verdict(self.gates, item.q, self.clock()))

    def _apply(self, item: Item, verdict: Verdict) -> bool:
        """Apply a gate's verdict on the message: True when it may go now."""
        if verdict is None:
            item.held = ""
            return True
        if isinstance(verdict, Hold):
            item.held, item.held_as = verdict.why, verdict.ends
            self.queue.push(verdict.until, item)
        elif isinstance(verdict, Expire):
            self._final(item, Status.EXPIRED, item.attempts, error=verdict.why)
        elif isinstance(verdict, Skip):
            self.total -= 1  # not this dispatch's: the journal keeps it as it is
        elif isinstance(verdict, Halt):
            self.queue.again(item)  # never sent: still pending for the next dispatch
            self.halted_by = verdict.why
            self._halt.set()
        return False

    def _fail(self, exc: BaseException) -> None:
        """Remember the first failure (a journal write, a bug) for the loop to raise."""
        if self._failure is None:
            self._failure = exc
        self._wake.set()

    def _launch(self, requests: list[list[Item]]) -> None:
        """Mark every message of these requests inflight in one transaction, then send them."""
        ids = [item.q.id for items in requests for item in items]
        grouped = [item.q.id for items in requests if len(items) > 1 for item in items]
        # Committed before any request leaves, with the answers buffered so far (written first,
        # so an earlier attempt's answer never lands after the new mark).
        self.writer.mark_inflight(ids, self.clock(), grouped)
        free = self.s.concurrency - self.inflight
        for items in requests[:free]:
            self._start(items)
        self._staged.extend(requests[free:])

    def _start(self, items: list[Item]) -> None:
        """Send one request whose messages are marked inflight already."""
        self.inflight += 1
        self.requests += 1
        task = asyncio.ensure_future(self._request(items))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _send_staged(self) -> None:
        """Start staged requests while slots are free, each gate asked again as it goes."""
        while self._staged and self.inflight < self.s.concurrency and not self._stopped():
            items = self._staged.popleft()
            if self.gates:
                now = self.clock()
                verdicts = [first_verdict(self.gates, item.q, now) for item in items]
                if any(verdict is not None for verdict in verdicts):
                    self._unstage([items])  # a gate's mind changed since they were marked
                    for item, verdict in zip(items, verdicts, strict=True):
                        if self._apply(item, verdict):
                            self.queue.again(item)
                    continue
            self._start(items)

    def _unstage(self, requests: Iterable[list[Item]]) -> None:
        """Staged messages that will not leave now: pending again in the journal."""
        for items in requests:
            for item in items:
                self._write(item, Status.PENDING)
                self.cap.release(item.q.phone)
                self.queue.answered(item.q.phone)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._fail(exc)

    async def _request(self, items: list[Item]) -> None:
        item = items[0]
        req = request_for(items, self.s)
        if item.start is not None:
            self.limiter.sent(item.start)  # the loop may have been busy since it was let through
        try:
            answer = await self.client.send(req, retry_clock=False)
            if item.start is not None and answer.code not in UNANSWERED:
                self.limiter.answered(item.start)  # the round trip tells the limiter's margin
        except Exception as exc:  # the client classifies network trouble; this is a surprise
            # Only the type: an exception's text may quote a header value, i.e. a credential.
            error = f"unexpected error while sending ({type(exc).__name__})"
            answer = Answer(Kind.UNCERTAIN, "error", error)
        finally:
            self.inflight -= 1
            self._wake.set()
        if len(items) == 1:
            self._handle_answer(item, answer)
        else:
            self._answer_group(items, answer)
        for one in items:
            self.cap.release(one.q.phone)
            self.queue.answered(one.q.phone)
        self._progress()

    def _progress(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress < self.s.progress_interval:
            return
        self._last_progress = now
        rate = self.done / max(now - self._t0, 1e-9)
        left = self.total - self.done
        eta = left / rate if rate > 0 else None
        counts = {str(k): v for k, v in self.counts.items() if v}
        self.on_progress(Progress(self.done, self.total, counts, rate, eta))
