"""The dispatch loop: take messages within the limits and launch them (`launch`); `answers`
turns answers into states."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Iterable

from batch_sms.dispatch.api import DispatchResult, DispatchSettings, Progress, Sender
from batch_sms.dispatch.gates import Gate
from batch_sms.dispatch.grouping import gather
from batch_sms.dispatch.launch import Launcher
from batch_sms.dispatch.limits import HourlyCap, RateLimiter, Ticket
from batch_sms.dispatch.queue import Item, WorkQueue
from batch_sms.dispatch.writer import Writer
from batch_sms.journal import Journal
from batch_sms.models import QUEUED
from batch_sms.provider.nxcloud import Answer

__all__ = ["Dispatcher"]


class Dispatcher(Launcher):
    """One dispatch of one run: a coordinator loop that launches one task per request."""

    def __init__(
        self,
        run_id: str,
        journal: Journal,
        client: Sender,
        settings: DispatchSettings,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
        on_progress: Callable[[Progress], None] | None,
        stop: asyncio.Event | None,
        gates: tuple[Gate, ...] = (),
        only: Collection[int] | None = None,
    ) -> None:
        """Set up the limiter, the cap, the queue and the writer for `run_id` (with `only`, for
        those of its messages alone)."""
        settings.check()
        self.run_id, self.journal, self.client, self.s = run_id, journal, client, settings
        self.clock, self.sleep, self.on_progress, self.stop = clock, sleep, on_progress, stop
        self.limiter = RateLimiter(settings.tps, margin=settings.rate_margin)
        self.cap = HourlyCap(settings.hourly_cap, _OtherRunsToo(journal, run_id), clock=clock)
        self.queue = WorkQueue(run_id, journal, self.cap, settings.batch_size, clock, only)
        self.only = only
        self.writer = Writer(
            journal, self.cap, settings.flush_every, settings.flush_interval, self._fail
        )
        self.rng = random.Random(settings.seed)
        self.counts: Counter[str] = Counter()
        self.stopped_by: Answer | None = None
        self.gates = gates
        self.group_size = settings.group  # numbers per request (lowered by a 104)
        self.halted_by = ""  # a gate's Halt: why the dispatch stopped early
        self.requests = self.throttled = self.inflight = self.done = self.total = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._staged: deque[list[Item]] = deque()  # marked inflight, waiting for a slot
        self._failure: BaseException | None = None  # a request task or timed write that broke
        self._wake = asyncio.Event()
        self._halt = asyncio.Event()  # the stop event or a run-wide answer: ends a limiter wait
        self._t0 = time.monotonic()
        self._last_progress = -math.inf

    async def run(self) -> DispatchResult:
        """Send until done, stopped or interrupted; write every answer before returning."""
        started_at = self.clock()
        if self.only is None:
            self.total = self.journal.count_own(self.run_id, QUEUED)
        else:
            self.total = self.queue.unread
        watcher = asyncio.ensure_future(self._watch(self.stop)) if self.stop else None
        try:
            await self._loop()
            await self._drain()
            if not self._halted():
                self._end_capped()
                self._end_held()
        finally:
            if watcher is not None:
                watcher.cancel()
            for task in self._tasks:  # only when cancelled or failed: those rows stay inflight
                task.cancel()
            self._unstage(self._staged)  # never sent: pending again
            self._staged.clear()
            self.writer.flush()
        self._progress(force=True)
        left = self.total - self.done
        counts_now = {str(k): v for k, v in self.counts.items() if v}
        return DispatchResult(
            counts=counts_now | ({"pending": left} if left else {}),
            stopped_by=self.stopped_by,
            interrupted=self.stopped_by is None
            and not self.halted_by
            and self._halted()
            and left > 0,
            halted_by=self.halted_by,
            started_at=started_at,
            finished_at=self.clock(),
            requests=self.requests,
            throttled=self.throttled,
            rate=self.requests / max(time.monotonic() - self._t0, 1e-9),
        )

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._halt.set()
        self._wake.set()

    async def _loop(self) -> None:
        queue, set_aside = self.queue, 0
        while not self._halted():
            if self._failure is not None:
                raise self._failure
            if self.inflight >= self.s.concurrency:
                await self._wait(None)
                continue
            if self._staged:
                self._send_staged()
                continue
            item = queue.take()
            if item is None:
                if self.inflight == 0 and queue.exhausted and queue.only_capped_wait():
                    return  # nothing left, or only numbers waiting for their hour or a gate
                await self._wait(queue.next_due())
                continue
            if self.gates and not self._passes(item):
                continue
            if not queue.admit(item):
                set_aside += 1
                if set_aside % 1000 == 0:
                    await asyncio.sleep(0)  # many set aside in a row: let the requests run
                continue
            group = [item]
            item.start = await self._acquire()
            if self._halted():
                self.cap.release(item.q.phone)  # never sent: the row is still pending
                return
            if self.group_size > 1:  # identical texts in one request
                self._launch([[item] if item.solo else self._gather(item)])
                continue
            # Messages that may start this very moment share one inflight transaction, and so
            # do up to `concurrency` more that the limiter lets go now: they are staged and
            # start as answers free their slots, with no commit of their own.
            while self.inflight + len(group) < 2 * self.s.concurrency and self.limiter.ready():
                more = queue.take()
                if more is None:
                    break
                if self.gates and not self._passes(more):
                    break
                if queue.admit(more):
                    more.start = await self.limiter.acquire()  # ready(): returns at once
                    group.append(more)
            self._launch([[one] for one in group])

    def _gather(self, first: Item) -> list[Item]:
        """`first` and the messages that go with it in one request (the same limiter ticket)."""

        def join(item: Item) -> bool:
            return (not self.gates or self._passes(item)) and self.queue.admit(item)

        group, passed = gather(first, self.group_size, self.queue.take, join, self._halted)
        self.queue.put_back(passed)
        for item in group[1:]:
            item.start = first.start
        return group

    async def _acquire(self) -> Ticket | None:
        """The limiter's go for one start, or None when the dispatch halts while waiting.

        At a low rate a start may wait many seconds; Ctrl-C or a run-wide answer must not.
        """
        if self.limiter.ready():
            return await self.limiter.acquire()  # returns at once: no tasks needed
        acquiring = asyncio.ensure_future(self.limiter.acquire())
        halting = asyncio.ensure_future(self._halt.wait())
        try:
            await asyncio.wait((acquiring, halting), return_when=asyncio.FIRST_COMPLETED)
        finally:
            acquiring.cancel()  # no effect once it has its ticket
            halting.cancel()
            await asyncio.gather(acquiring, halting, return_exceptions=True)
        return None if acquiring.cancelled() else acquiring.result()

    async def _wait(self, deadline: float | None) -> None:
        """Until a request finishes, the stop event, or the deadline (on the injected clock)."""
        self._wake.clear()
        if deadline is None or not math.isfinite(deadline):  # a hold with no known end
            await self._wake.wait()
            return
        waiters = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(self.sleep(max(0.0, deadline - self.clock()))),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _drain(self) -> None:
        """Let the requests in flight finish, their answers recorded as usual, and the staged
        ones go too unless the dispatch was stopped (a gate's halt comes after them)."""
        while self._tasks or (self._staged and not self._stopped()):
            self._send_staged()
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        if self._failure is not None:
            raise self._failure


class _OtherRunsToo:
    """The hourly cap's view of the state db: accepted messages of every run, and messages of
    other runs that are in flight or unknown (a campaign sending at the same time, or one that
    crashed): they may have been accepted, so they count."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self._journal, self._run_id = journal, run_id

    def accepted_since(self, phones: Iterable[str], since: float) -> dict[str, list[float]]:
        """What HourlyCap asks: accept times by number since `since`."""
        return self._journal.accepted_since(phones, since, exclude_run=self._run_id)
