"""Send a run's pending messages: TPS limiter, hourly cap, retries and stop rules over the client.

Every message is marked `inflight` (committed) before its request leaves; answers are written in
batches. An unwritten answer leaves its row `inflight`, which a resume turns into `unknown`:
never a double send. A message whose request has an unwritten answer is written out before it
is marked again, so a retry can never be overwritten by the answer to its previous attempt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from batch_sms.journal import Attempt, Journal, Queued, Result
from batch_sms.limits import HourlyCap, RateLimiter, Ticket
from batch_sms.models import Status
from batch_sms.nxcloud import Kind, Outcome, SendRequest, describe

__all__ = ["DispatchResult", "DispatchSettings", "Progress", "Sender", "dispatch"]


@dataclass(frozen=True)
class DispatchSettings:
    """How to send: rate, concurrency, caps, retries, and what every request carries."""

    tps: float | None = None  # request starts per sliding second; None: unlimited
    concurrency: int = 20  # requests in flight at once
    hourly_cap: int | None = 5  # accepted messages per number per sliding hour; None: no cap
    max_attempts: int = 5  # requests per message that fail transiently before it fails
    sender: str = ""
    dr_url: str = ""
    backoff_base: float = 0.5  # seconds; doubled per attempt, full jitter
    backoff_max: float = 30.0
    batch_size: int = 1000  # messages read from the journal at a time
    max_requeues: int = 50  # answers 28/27 per message before it fails (no endless loop)
    capped_recheck: float = 300.0  # after a 27 the provider's hour is unknown: look again then
    flush_every: int = 100  # answers written per transaction …
    flush_interval: float = 0.1  # … or after this many seconds, whichever comes first
    progress_interval: float = 0.1
    rate_margin: float = 0.05  # seconds added to the limiter's window (network jitter)
    seed: int | None = None  # back-off jitter dice (tests)


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
    stopped_by: Outcome | None  # the run-wide answer that stopped it
    interrupted: bool  # the stop event ended it with messages left
    started_at: float
    finished_at: float
    requests: int
    throttled: int  # answers 28
    rate: float  # requests started per second over the dispatch


class Sender(Protocol):
    """The part of nxcloud.Client the dispatcher uses."""

    async def send(self, req: SendRequest) -> Outcome:
        """Send one request and classify the answer."""
        ...


@dataclass(eq=False, slots=True)
class _Item:
    """One message on its way through this dispatch."""

    q: Queued
    attempts: int  # requests that got a verdict other than 28/27 (stored in the journal)
    requeues: int = 0  # answers 28 and 27
    start: Ticket | None = None  # its last request's start, for the limiter
    capped: bool = False  # waiting for its number's hour, not for a back-off
    code: str = ""
    result: str = ""


def _utc(epoch: float) -> str:
    """A time for messages, rounded up to the minute ("may be sent after …")."""
    minute = math.ceil(epoch / 60) * 60
    return datetime.fromtimestamp(minute, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _reason(outcome: Outcome) -> str:
    """A short human reason for an answer."""
    if outcome.code.isdigit():
        return f"code {outcome.code}: {describe(outcome.code)}"
    return outcome.result or describe(outcome.code)


class _Dispatcher:
    """One dispatch of one run: a coordinator loop that launches request tasks."""

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
    ) -> None:
        least = (settings.concurrency, settings.max_attempts, settings.batch_size)
        if min(least) < 1 or (settings.hourly_cap is not None and settings.hourly_cap < 1):
            raise ValueError(
                "concurrency, max_attempts, batch_size and hourly_cap must be at least 1"
            )
        self.run_id, self.journal, self.client, self.s = run_id, journal, client, settings
        self.clock, self.sleep, self.on_progress, self.stop = clock, sleep, on_progress, stop
        self.limiter = RateLimiter(settings.tps, margin=settings.rate_margin)
        self.cap = HourlyCap(settings.hourly_cap, journal, clock=clock)
        self.rng = random.Random(settings.seed)
        self.counts: Counter[str] = Counter()
        self.stopped_by: Outcome | None = None
        self.requests = self.throttled = self.inflight = self.done = self.total = 0
        self._after_id = 0
        self._exhausted = False
        self._source: deque[_Item] = deque()  # read from the journal, not tried yet
        self._again: deque[_Item] = deque()  # to send again at once (28, a number freed)
        self._later: list[tuple[float, int, _Item]] = []  # heap: back-off and cap waits
        self._seq = itertools.count()
        self._parked: dict[str, list[_Item]] = {}  # waiting for a request to their number
        self._results: list[Result] = []
        self._attempts: list[Attempt] = []
        self._unwritten: set[int] = set()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None  # a request task or timed flush that broke
        self._set_aside = 0
        self._wake = asyncio.Event()
        self._t0 = time.monotonic()
        self._last_progress = -math.inf

    # --- the loop ------------------------------------------------------------------------

    def _halted(self) -> bool:
        return self.stopped_by is not None or (self.stop is not None and self.stop.is_set())

    async def run(self) -> DispatchResult:
        """Send until done, stopped or interrupted; write every answer before returning."""
        started_at = self.clock()
        counts = self.journal.counts(self.run_id)
        self.total = counts.get(Status.PENDING, 0) + counts.get(Status.CAPPED, 0)
        watcher = None
        if self.stop is not None:
            watcher = asyncio.ensure_future(self._watch(self.stop))
        try:
            await self._loop()
            await self._drain()
            if not self._halted():
                self._end_capped()
        finally:
            if watcher is not None:
                watcher.cancel()
            for task in self._tasks:  # only when cancelled: those rows stay inflight
                task.cancel()
            self._flush()
        self._progress(force=True)
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        left = self.total - self.done
        out = {str(k): v for k, v in self.counts.items() if v} | ({"pending": left} if left else {})
        return DispatchResult(
            counts=out,
            stopped_by=self.stopped_by,
            interrupted=self.stopped_by is None and self._halted() and left > 0,
            started_at=started_at,
            finished_at=self.clock(),
            requests=self.requests,
            throttled=self.throttled,
            rate=self.requests / elapsed,
        )

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _loop(self) -> None:
        while not self._halted():
            if self._failure is not None:
                raise self._failure
            if self.inflight >= self.s.concurrency:
                await self._wait(None)
                continue
            item = self._take()
            if item is None:
                idle = self.inflight == 0 and self._exhausted
                if idle and all(it.capped for _, _, it in self._later):
                    return  # nothing left, or only numbers waiting for their hour
                await self._wait(self._later[0][0] if self._later else None)
                continue
            if not self._admit(item):
                self._set_aside += 1
                if self._set_aside % 1000 == 0:
                    await asyncio.sleep(0)  # many set aside in a row: let the requests run
                continue
            group = [item]
            item.start = await self.limiter.acquire()
            if self._halted():
                self.cap.release(item.q.phone)  # never sent: the row is still pending
                return
            # Messages that may start this very moment share one inflight transaction.
            while self.inflight + len(group) < self.s.concurrency and self.limiter.ready():
                more = self._take()
                if more is None:
                    break
                if self._admit(more):
                    more.start = await self.limiter.acquire()  # ready(): returns at once
                    group.append(more)
            self._launch(group)

    def _take(self) -> _Item | None:
        """The next message to try: re-queued first, then due waits, then new rows."""
        if self._again:
            return self._again.popleft()
        if self._later and self._later[0][0] <= self.clock():
            return heapq.heappop(self._later)[2]
        if not self._source and not self._exhausted:
            self._read()
        return self._source.popleft() if self._source else None

    def _read(self) -> None:
        batch = self.journal.next_batch(self.run_id, self._after_id, self.s.batch_size)
        if not batch:
            self._exhausted = True
            return
        self._after_id = batch[-1].id
        self.cap.seed(q.phone for q in batch)
        self._source.extend(_Item(q, q.attempts) for q in batch)

    def _admit(self, item: _Item) -> bool:
        """Reserve a slot in the number's hour, or put the message aside until one frees."""
        phone = item.q.phone
        if self.cap.reserve(phone):
            return True
        if self.cap.reserved(phone):
            self._parked.setdefault(phone, []).append(item)  # its fate decides the slot
        else:
            item.capped = True
            self._push(self.cap.next_free(phone), item)
        return False

    def _push(self, at: float, item: _Item) -> None:
        heapq.heappush(self._later, (at, next(self._seq), item))

    async def _wait(self, deadline: float | None) -> None:
        """Until a request finishes, the stop event, or the deadline (on the injected clock)."""
        self._wake.clear()
        if deadline is None:
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
        """Let the requests in flight finish; their answers are recorded as usual."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        if self._failure is not None:
            raise self._failure

    # --- one request ---------------------------------------------------------------------

    def _launch(self, group: list[_Item]) -> None:
        ids = [item.q.id for item in group]
        if self._unwritten.intersection(ids):
            self._flush()  # a retry: its previous answer must not land after the new mark
        self.journal.mark_inflight(ids, self.clock())
        self.inflight += len(group)
        self.requests += len(group)
        for item in group:
            task = asyncio.ensure_future(self._request(item))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    def _fail(self, exc: BaseException | None) -> None:
        """Remember the first failure (a journal write, a bug) for the loop to raise."""
        if self._failure is None:
            self._failure = exc
        self._wake.set()

    async def _request(self, item: _Item) -> None:
        q, s = item.q, self.s
        req = SendRequest(q.phone, q.content, s.sender, q.sys_message_id, s.dr_url, q.ext)
        if item.start is not None:
            self.limiter.sent(item.start)  # the loop may have been busy since it was let through
        try:
            outcome = await self.client.send(req)
        except Exception as exc:  # the client classifies network trouble; this is a surprise
            outcome = Outcome(Kind.UNCERTAIN, "error", f"unexpected error while sending: {exc!r}")
        finally:
            self.inflight -= 1
            self._wake.set()
        self._settle(item, outcome)
        self.cap.release(q.phone)
        self._again.extend(self._parked.pop(q.phone, ()))
        self._progress()

    def _settle(self, item: _Item, outcome: Outcome) -> None:
        """Turn an answer into the message's new state."""
        q, now, kind = item.q, self.clock(), outcome.kind
        self._attempts.append(Attempt(q.id, now, outcome.code, kind.value, outcome.result))
        item.code, item.result = outcome.code, outcome.result
        if kind is Kind.ROW_FATAL and outcome.code == "8" and self.s.sender:
            kind = Kind.RUN_FATAL  # every row carries the same sender: every row would fail
            outcome = dataclasses.replace(outcome, kind=kind)
        if kind is Kind.ACCEPTED:
            self.cap.note_accepted(q.phone, now)
            messageid = outcome.messageid
            self._final(item, Status.SENT, item.attempts + 1, messageid=messageid, sent_at=now)
        elif kind is Kind.ROW_FATAL:
            self._final(item, Status.FAILED, item.attempts + 1, error=describe(outcome.code))
        elif kind is Kind.UNCERTAIN:
            error = f"{_reason(outcome)}; not sent again unless resumed with --resend-unknown"
            self._final(item, Status.UNKNOWN, item.attempts + 1, error=error)
        elif kind is Kind.RUN_FATAL:
            if self.stopped_by is None:
                self.stopped_by = outcome
            self._write(item, Status.PENDING)  # not sent; resumable
        elif kind in (Kind.THROTTLED, Kind.CAPPED):
            self._requeue(item, outcome, now)
        else:  # TRANSIENT, and CLOCK after the client's own re-signed retry
            item.attempts += 1
            if item.attempts >= self.s.max_attempts:
                error = f"gave up after {item.attempts} attempts: {_reason(outcome)}"
                self._final(item, Status.FAILED, item.attempts, error=error)
            else:
                self._write(item, Status.PENDING)
                ceiling = min(self.s.backoff_max, self.s.backoff_base * 2 ** (item.attempts - 1))
                self._push(now + self.rng.uniform(0, ceiling), item)

    def _requeue(self, item: _Item, outcome: Outcome, now: float) -> None:
        """28 or 27: nothing was sent and it is not the message's fault; send it again later."""
        item.requeues += 1
        if outcome.kind is Kind.THROTTLED:
            self.throttled += 1
            self.limiter.lower(item.start.at if item.start else None)
        if item.requeues > self.s.max_requeues:
            error = f"gave up after {item.requeues} answers {_reason(outcome)}"
            self._final(item, Status.FAILED, item.attempts, error=error)
            return
        self._write(item, Status.PENDING)
        if outcome.kind is Kind.THROTTLED:
            self._again.append(item)  # the lowered limiter paces it
        else:
            item.capped = True
            self._push(max(self.cap.next_free(item.q.phone), now + self.s.capped_recheck), item)

    def _end_capped(self) -> None:
        """Nothing else to do: messages still waiting for their number's hour end CAPPED."""
        while self._later:
            at, _, item = heapq.heappop(self._later)
            error = f"hourly cap for this number: may be sent after {_utc(at)}"
            self._final(item, Status.CAPPED, item.attempts, error=error, next_at=at)

    # --- writing -------------------------------------------------------------------------

    def _final(
        self,
        item: _Item,
        status: Status,
        attempts: int,
        *,
        error: str = "",
        messageid: str = "",
        sent_at: float | None = None,
        next_at: float | None = None,
    ) -> None:
        """Write the message's last state in this dispatch."""
        item.attempts = attempts
        self._write(item, status, error, messageid, sent_at, next_at)
        self.counts[status] += 1
        self.done += 1

    def _write(
        self,
        item: _Item,
        status: Status,
        error: str = "",
        messageid: str = "",
        sent_at: float | None = None,
        next_at: float | None = None,
    ) -> None:
        """Queue a result for the next flush (batched: every flush_every or flush_interval)."""
        q = item.q
        self._results.append(
            Result(
                *(q.id, status, item.code, item.result, messageid, item.attempts),
                *(sent_at, next_at, error),
            )
        )
        self._unwritten.add(q.id)
        if len(self._results) >= self.s.flush_every:
            self._flush()
        elif self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self.s.flush_interval, self._timed_flush)

    def _timed_flush(self) -> None:
        self._flush_timer = None
        try:
            self._flush()
        except Exception as exc:  # a timer callback has nobody to raise to: hand it to the loop
            self._fail(exc)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._results or self._attempts:
            self.journal.record(self._results, self._attempts)
            self._results, self._attempts = [], []
        self._unwritten.clear()
        self.cap.flushed()

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


async def dispatch(
    run_id: str,
    journal: Journal,
    client: Sender,
    settings: DispatchSettings,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    on_progress: Callable[[Progress], None] | None = None,
    stop: asyncio.Event | None = None,
) -> DispatchResult:
    """Send the run's pending and capped messages; return when done, stopped or interrupted.

    `clock` (wall time) stamps the journal and drives the hourly cap and the waits; `sleep` must
    let that clock advance by the time asked. The TPS pacing always runs on real time.
    """
    dispatcher = _Dispatcher(run_id, journal, client, settings, clock, sleep, on_progress, stop)
    return await dispatcher.run()
