"""The messages of one dispatch waiting for their turn: new rows, re-queued, and timed waits."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass

from batch_sms.dispatch.limits import HourlyCap, Ticket
from batch_sms.journal import Journal, Queued
from batch_sms.models import Status

__all__ = ["Item", "WorkQueue"]


@dataclass(eq=False, slots=True)
class Item:
    """One message on its way through a dispatch."""

    q: Queued
    attempts: int  # requests that got a verdict other than 28/27 (stored in the journal)
    requeues: int = 0  # answers 28 and 27
    start: Ticket | None = None  # its last request's start, for the limiter
    capped: bool = False  # waiting for its number's hour, not for a back-off
    held: str = ""  # why a gate holds it back (a Hold verdict), not for a back-off
    held_as: Status = Status.PENDING  # its status if the dispatch ends while it is held
    clock_resent: bool = False  # its free re-send after a 1004 is used up
    solo: bool = False  # sent alone from now on (its group was answered 27)
    code: str = ""
    result: str = ""


class WorkQueue:
    """Streams a run's rows from the journal a batch at a time and holds what must wait.

    Order of service: messages to send again at once (28, a number freed), then timed waits that
    are due (back-off, a number's hour), then new rows. A message to a number whose slot is held
    by a request in flight is parked until that request is answered.
    """

    def __init__(
        self,
        run_id: str,
        journal: Journal,
        cap: HourlyCap,
        batch_size: int,
        clock: Callable[[], float],
        only: Collection[int] | None = None,
    ) -> None:
        """Read `run_id`'s pending and capped rows from `journal`, `batch_size` at a time (with
        `only`, just those of the given message ids, all at once)."""
        self._run_id, self._journal, self._cap = run_id, journal, cap
        self._batch_size, self._clock = batch_size, clock
        self._after_id = 0
        self.exhausted = False  # every row has been read
        self._source: deque[Item] = deque()  # read from the journal, not tried yet
        if only is not None:
            self._add(journal.queued_among(run_id, only))
            self.exhausted = True
        self._again: deque[Item] = deque()
        self.later: list[tuple[float, int, Item]] = []  # heap by due time
        self._seq = itertools.count()
        self._parked: dict[str, list[Item]] = {}

    def take(self) -> Item | None:
        """The next message to try, or None when nothing is ready now."""
        if self._again:
            return self._again.popleft()
        if self.later and self.later[0][0] <= self._clock():
            return heapq.heappop(self.later)[2]
        if not self._source and not self.exhausted:
            self._read()
        return self._source.popleft() if self._source else None

    def _read(self) -> None:
        batch = self._journal.next_batch(self._run_id, self._after_id, self._batch_size)
        if not batch:
            self.exhausted = True
            return
        self._after_id = batch[-1].id
        self._add(batch)

    def _add(self, batch: list[Queued]) -> None:
        self._cap.seed(q.phone for q in batch)  # one query for the whole batch
        self._source.extend(Item(q, q.attempts) for q in batch)

    @property
    def unread(self) -> int:
        """Messages read from the journal and not taken yet."""
        return len(self._source)

    def admit(self, item: Item) -> bool:
        """Reserve a slot in the number's hour, or set the message aside until one frees."""
        phone = item.q.phone
        if self._cap.reserve(phone):
            return True
        if self._cap.reserved(phone):
            self._parked.setdefault(phone, []).append(item)  # that request's fate decides
        else:
            item.capped = True
            self.push(self._cap.next_free(phone), item)
        return False

    def again(self, item: Item) -> None:
        """Send this one next."""
        self._again.append(item)

    def put_back(self, items: list[Item]) -> None:
        """Serve these next, in their order (taken but passed over by a group)."""
        self._again.extendleft(reversed(items))

    def push(self, at: float, item: Item) -> None:
        """Send this one when the clock reaches `at`."""
        heapq.heappush(self.later, (at, next(self._seq), item))

    def answered(self, phone: str) -> None:
        """A request to `phone` was answered: what was parked behind it may try again."""
        self._again.extend(self._parked.pop(phone, ()))

    def only_capped_wait(self) -> bool:
        """True when every timed wait is for a number's hour or a gate (or there is none)."""
        return all(item.capped or item.held for _, _, item in self.later)

    def next_due(self) -> float | None:
        """When the earliest timed wait is due."""
        return self.later[0][0] if self.later else None
