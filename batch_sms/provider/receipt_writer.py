"""Group commit for the receipts receiver: pushes wait in a queue, one thread stores all that is
waiting in one transaction, then answers each push (only once its own transaction committed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from batch_sms.journal import Journal

__all__ = ["GROUP_MOST", "ReceiptWriter"]

log = logging.getLogger(__name__)

GROUP_MOST = 1000  # receipts at most in one transaction


@dataclass(frozen=True)
class _Push:
    """One receipt waiting to be stored, and where its answer goes."""

    fields: Mapping[str, str]
    received_at: float
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[bool]


class ReceiptWriter:
    """The one thread that writes receipts to the journal, a group per transaction."""

    def __init__(self, journal: Journal, *, most: int = GROUP_MOST) -> None:
        self._journal = journal
        self._most = most
        self._queue: queue.SimpleQueue[_Push | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="receipts-writer", daemon=True)
        self._closed = False

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the writer thread takes receipts."""
        return self._thread.is_alive() and not self._closed

    async def store(self, fields: Mapping[str, str], received_at: float) -> bool:
        """Store one receipt; returns once its transaction committed (True when it maps to a
        message), raises what prevented storing it."""
        if not self.alive:
            raise RuntimeError("the receipts writer is not running")
        loop = asyncio.get_running_loop()
        push = _Push(fields, received_at, loop, loop.create_future())
        self._queue.put(push)
        return await asyncio.shield(push.answer)  # a client gone away does not unstore it

    def close(self) -> None:
        """Store what is waiting, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        """Take what is waiting (at least one push), commit it as one group; until closed."""
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, last = [first], False
            while len(group) < self._most:
                try:
                    push = self._queue.get_nowait()
                except queue.Empty:
                    break
                if push is None:
                    last = True
                    break
                group.append(push)
            self._commit(group)
            if last:
                return

    def _commit(self, group: list[_Push]) -> None:
        """Store a group in one transaction and answer each push; when the group fails, each
        of its receipts is tried on its own, so one bad receipt fails only its own push."""
        try:
            mapped = self._journal.add_receipts([(p.fields, p.received_at) for p in group])
        except Exception as exc:
            if len(group) > 1:
                for push in group:
                    self._commit([push])
                return
            _settle(group[0], exc)
            return
        for push, maps in zip(group, mapped, strict=True):
            _settle(push, maps)


def _settle(push: _Push, outcome: bool | BaseException) -> None:
    """Hand a push its outcome on its own event loop (nothing when that loop is gone)."""

    def give() -> None:
        if push.answer.done():
            return
        if isinstance(outcome, BaseException):
            push.answer.set_exception(outcome)
        else:
            push.answer.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits for the answer
        push.loop.call_soon_threadsafe(give)
