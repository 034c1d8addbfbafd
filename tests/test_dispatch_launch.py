"""Launching requests: marks committed before each request leaves, staged ahead in few
transactions, gates asked again before a staged one leaves, a stop puts them back; a dispatch of
only some message ids."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from helpers import cn_numbers, make_run, status_counts

from batch_sms.dispatch import DispatchSettings, Progress, dispatch
from batch_sms.dispatch.gates import Hold, Verdict
from batch_sms.journal import Journal, Queued
from batch_sms.models import Status
from batch_sms.provider.nxcloud import Answer, Kind, SendRequest


class _Provider:
    """Accepts every send one to four loop turns later (so slots free one at a time); notes each
    message's journal status as its request leaves (read through a connection of its own: only
    committed state is seen)."""

    def __init__(self, journal: Journal, on_send: Callable[[int], None] = lambda n: None) -> None:
        self.db = sqlite3.connect(journal.path)
        self.seen: list[tuple[int, str]] = []  # (row, status at the time it left)
        self.inflight = self.most = 0
        self.on_send = on_send

    async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Answer:
        row = int(req.sys_message_id.split("-")[-2])
        (status,) = self.db.execute("SELECT status FROM messages WHERE row = ?", (row,)).fetchone()
        self.seen.append((row, status))
        self.on_send(len(self.seen))
        self.inflight += 1
        self.most = max(self.most, self.inflight)
        for _ in range(1 + row % 4):
            await asyncio.sleep(0)
        self.inflight -= 1
        return Answer(Kind.ACCEPTED, "0", "ok", messageid=f"{row:012d}")


def _count_marks(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many messages each inflight transaction marks."""
    marks: list[int] = []
    mark = journal.mark_inflight

    def counting(ids: Sequence[int], *args: Any, **kw: Any) -> None:
        marks.append(len(ids))
        mark(ids, *args, **kw)

    monkeypatch.setattr(journal, "mark_inflight", counting)
    return marks


def test_messages_are_marked_inflight_ahead_in_few_transactions_and_committed_before_they_leave(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every slot busy, the next messages are marked in the same transaction and start
    as slots free, with no commit of their own; each one's mark is committed before it leaves."""
    make_run(journal, "run-stage-0001", [(p, "Hi") for p in cn_numbers(40)])
    marks = _count_marks(journal, monkeypatch)
    provider = _Provider(journal)
    settings = DispatchSettings(concurrency=4, hourly_cap=None)
    result = asyncio.run(dispatch("run-stage-0001", journal, provider, settings))
    assert result.counts == {"sent": 40}
    assert sorted(row for row, _ in provider.seen) == list(range(2, 42))  # each once
    assert {status for _, status in provider.seen} == {"inflight"}
    assert provider.most == 4
    assert sum(marks) == 40
    assert len(marks) <= 40 // 4  # one commit per request would be 40


def test_a_stop_returns_the_staged_messages_to_pending_unsent(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_run(journal, "run-stage-0002", [(p, "Hi") for p in cn_numbers(40)])
    marks = _count_marks(journal, monkeypatch)
    stop = asyncio.Event()
    provider = _Provider(journal, on_send=lambda n: stop.set() if n == 3 else None)
    settings = DispatchSettings(concurrency=3, hourly_cap=None)
    result = asyncio.run(dispatch("run-stage-0002", journal, provider, settings, stop=stop))
    sent = len(provider.seen)
    assert result.interrupted
    assert marks[0] > sent  # some were staged when the stop came
    assert status_counts(journal, "run-stage-0002") == {"sent": sent, "pending": 40 - sent}


def test_a_staged_message_is_asked_again_before_it_leaves(journal: Journal) -> None:
    """A gate that says wait once the first requests are out holds back the staged ones too."""
    make_run(journal, "run-stage-0003", [(p, "Hi") for p in cn_numbers(12)])
    closed = False

    class Window:
        def verdict(self, q: Queued, now: float) -> Verdict:
            return (
                Hold(math.inf, "outside the send window", ends=Status.SCHEDULED) if closed else None
            )

    def close(n: int) -> None:
        nonlocal closed
        closed = closed or n == 2

    provider = _Provider(journal, on_send=close)
    settings = DispatchSettings(concurrency=2, hourly_cap=None)
    result = asyncio.run(dispatch("run-stage-0003", journal, provider, settings, gates=(Window(),)))
    assert len(provider.seen) == 2
    assert result.counts == {"sent": 2, "scheduled": 10}
    assert status_counts(journal, "run-stage-0003") == {"sent": 2, "scheduled": 10}


def test_a_dispatch_of_only_some_ids_reads_and_counts_those_alone(journal: Journal) -> None:
    """The canary's dispatch: its messages go, the rest stay pending unread, and the progress
    total is the canary's size from the first line (not the run's, counting down)."""
    make_run(journal, "run-only-00001", [(p, "Hi") for p in cn_numbers(30)])
    ids = [q.id for q in journal.next_batch("run-only-00001", 0, 30)]
    only = {ids[3], ids[17], ids[29]}
    seen: list[Progress] = []
    provider = _Provider(journal)
    settings = DispatchSettings(concurrency=2, hourly_cap=None, progress_interval=0)
    result = asyncio.run(
        dispatch("run-only-00001", journal, provider, settings, on_progress=seen.append, only=only)
    )
    assert sorted(row for row, _ in provider.seen) == [5, 19, 31]
    assert result.counts == {"sent": 3}
    assert {p.total for p in seen} == {3}
    assert status_counts(journal, "run-only-00001") == {"sent": 3, "pending": 27}
