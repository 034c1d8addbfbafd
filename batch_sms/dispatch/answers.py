"""Turning one answer into a message's new state: final, sent again, deferred or stopping."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
from collections import Counter
from collections.abc import Callable

from batch_sms.dispatch.api import DispatchSettings
from batch_sms.dispatch.limits import HourlyCap, RateLimiter
from batch_sms.dispatch.queue import Item, WorkQueue
from batch_sms.dispatch.writer import Writer
from batch_sms.journal import Attempt, Result
from batch_sms.models import Status
from batch_sms.provider.nxcloud import Answer, Kind, describe

__all__ = ["CAPPED", "AnswerHandler"]

CAPPED = "hourly cap for this number"


def _proven_not_accepted(code: str) -> bool:
    """True for transient answers that prove the provider did not take the message.

    88/99 are the provider's own "not done" answers and a refused connection never reached it.
    HTTP 5xx proves nothing by itself; retrying it is policy, because nxcloud-api.md calls it
    transient. A malformed body or an unknown code may follow an accept: never retried.
    """
    return code in ("88", "99", "connect") or code.startswith("http-5")


def _reason(answer: Answer) -> str:
    """A short human reason for an answer."""
    if answer.code.isdigit():
        return f"code {answer.code}: {describe(answer.code)}"
    return answer.result or describe(answer.code)


class AnswerHandler:
    """The dispatcher's answer handling; `Dispatcher` provides the state it works on."""

    s: DispatchSettings
    clock: Callable[[], float]
    limiter: RateLimiter
    cap: HourlyCap
    queue: WorkQueue
    writer: Writer
    rng: random.Random
    counts: Counter[str]
    stopped_by: Answer | None
    throttled: int
    done: int
    _halt: asyncio.Event

    def _handle_answer(self, item: Item, answer: Answer, first: bool = True) -> None:
        """Turn an answer into the message's new state; `first` is False for the other
        messages of a group, whose one 28 slows the limiter once."""
        q, now, kind = item.q, self.clock(), answer.kind
        self.writer.attempt(Attempt(q.id, now, answer.code, kind.value, answer.result))
        item.code, item.result = answer.code, answer.result
        if kind is Kind.ROW_FATAL and answer.code == "8" and self.s.sender:
            kind = Kind.RUN_FATAL  # every row carries the same sender: every row would fail
            answer = dataclasses.replace(answer, kind=kind)
        if kind is Kind.ACCEPTED:
            self.cap.note_accepted(q.phone, now)
            messageid = answer.messageid
            self._final(item, Status.SENT, item.attempts + 1, messageid=messageid, sent_at=now)
        elif kind is Kind.ROW_FATAL:
            self._final(item, Status.FAILED, item.attempts + 1, error=describe(answer.code))
        elif kind is Kind.UNCERTAIN:
            error = f"{_reason(answer)}; not sent again unless resumed with --resend-unknown"
            self._final(item, Status.UNKNOWN, item.attempts + 1, error=error)
        elif kind is Kind.RUN_FATAL:
            if self.stopped_by is None:
                self.stopped_by = answer
                self._halt.set()
            self._write(item, Status.PENDING)  # not sent; resumable
        elif kind in (Kind.THROTTLED, Kind.CAPPED):
            self._requeue(item, answer, now, first)
        elif kind is Kind.CLOCK and not item.clock_resent:
            # The client has corrected its clock from the answer's Date. Send once more, but
            # through the limiter: an immediate re-send would break the provider's TPS limit.
            item.clock_resent = True
            self._write(item, Status.PENDING)
            self.queue.again(item)
        elif kind is Kind.TRANSIENT and not _proven_not_accepted(answer.code):
            error = (
                f"{_reason(answer)}: the answer could not be read, so the message may have been "
                "accepted; not sent again unless resume finds it never arrived "
                "(or with --resend-unknown)"
            )
            self._final(item, Status.UNKNOWN, item.attempts + 1, error=error)
        else:  # TRANSIENT proven not accepted, or a second 1004 for this message
            item.attempts += 1
            if item.attempts >= self.s.max_attempts:
                error = f"gave up after {item.attempts} attempts: {_reason(answer)}"
                self._final(item, Status.FAILED, item.attempts, error=error)
            else:
                self._write(item, Status.PENDING)
                ceiling = min(self.s.backoff_max, self.s.backoff_base * 2 ** (item.attempts - 1))
                self.queue.push(now + self.rng.uniform(0, ceiling), item)  # full jitter

    def _requeue(self, item: Item, answer: Answer, now: float, first: bool = True) -> None:
        """28 or 27: nothing was sent and it is not the message's fault; send it again later."""
        item.requeues += 1
        if answer.kind is Kind.THROTTLED and first:
            self.throttled += 1
            self.limiter.lower(item.start.at if item.start else None)
        if item.requeues > self.s.max_requeues:
            error = f"gave up after {item.requeues} answers {_reason(answer)}"
            self._final(item, Status.FAILED, item.attempts, error=error)
            return
        self._write(item, Status.PENDING)
        if answer.kind is Kind.THROTTLED:
            self.queue.again(item)  # the lowered limiter paces it
        else:
            item.capped = True
            # The provider's hour is full: its next slot frees when its oldest accept for the
            # number leaves the sliding hour (from the journal), not at our own cap's guess.
            due = self.cap.refused_until(item.q.phone)
            self.queue.push(due, item)

    def _end_capped(self) -> None:
        """Nothing else to do: messages still waiting for their number's hour end CAPPED."""
        held = []
        for at, seq, item in sorted(self.queue.later):
            if item.held:
                held.append((at, seq, item))
                continue
            # The report adds "may be sent after …" from next_at.
            self._final(item, Status.CAPPED, item.attempts, error=CAPPED, next_at=at)
        self.queue.later[:] = held  # sorted: still a heap

    def _end_held(self) -> None:
        """Nothing else to do: messages a gate holds stay pending (or as the Hold says), with
        when (none when no time is known) and why."""
        for at, _, item in self.queue.later:
            next_at = at if math.isfinite(at) else None
            if item.held_as is Status.PENDING:
                self._write(item, Status.PENDING, error=item.held, next_at=next_at)
            else:  # a status of its own (scheduled): this dispatch is done with it
                self._final(item, item.held_as, item.attempts, error=item.held, next_at=next_at)
        self.queue.later.clear()

    # --- writing -------------------------------------------------------------------------

    def _final(
        self,
        item: Item,
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
        item: Item,
        status: Status,
        error: str = "",
        messageid: str = "",
        sent_at: float | None = None,
        next_at: float | None = None,
    ) -> None:
        q = item.q
        self.writer.result(
            Result(
                *(q.id, status, item.code, item.result, messageid, item.attempts),
                *(sent_at, next_at, error),
            )
        )
