"""Batched journal writes: a journal that cannot write stops the dispatch, never a double send."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import SandboxMaker, cn_numbers, dispatch_run, make_run, status_counts

from batch_sms.dispatch import DispatchSettings
from batch_sms.dispatch.limits import HourlyCap
from batch_sms.dispatch.writer import Writer
from batch_sms.journal import Attempt, Journal, Result
from batch_sms.models import Status


def test_a_journal_that_cannot_write_stops_the_dispatch_without_double_sends(
    make_sandbox: SandboxMaker, tmp_path: Path
) -> None:
    class FullDisk(Journal):
        def _write_results(self, db: Any, results: Any, attempts: Any) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    handle = make_sandbox(hourly_cap=None)
    with FullDisk(tmp_path / "full.db") as journal:
        make_run(journal, "run-full-00001", [(p, "Hi") for p in cn_numbers(50)])
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            dispatch_run(handle, journal, "run-full-00001", DispatchSettings(concurrency=5))
        # Every answer went unwritten: those rows stay inflight (with the requests the failure
        # cut short, which may have arrived), and a resume makes them unknown.
        inflight = status_counts(journal, "run-full-00001")["inflight"]
        assert inflight >= len(handle.sandbox.accepted) > 0
        kept = {r.phone for r in journal.report_rows("run-full-00001") if r.status == "inflight"}
        assert {a.phone for a in handle.sandbox.accepted} <= kept
        assert journal.inflight_to_unknown("run-full-00001") == inflight
        assert status_counts(journal, "run-full-00001")["pending"] == 50 - inflight


def test_buffered_answers_ride_on_the_next_marking_in_one_transaction(tmp_path: Path) -> None:
    class Counting(Journal):
        transactions = 0

        def _tx(self) -> Any:
            Counting.transactions += 1
            return super()._tx()

    async def main(journal: Journal, ids: list[int]) -> None:
        writer = Writer(journal, HourlyCap(None, journal), 100, 60.0, pytest.fail)
        writer.mark_inflight(ids[:1], 1.0)
        writer.attempt(Attempt(ids[0], 2.0, "0", "accepted", "ok"))
        writer.result(Result(ids[0], Status.SENT, "0", "ok", "M1", 1, 2.0))
        before = Counting.transactions
        writer.mark_inflight(ids[1:], 3.0)
        assert Counting.transactions == before + 1  # the answer and the mark: one commit
        assert status_counts(journal, "run-ride-00001") == {"sent": 1, "inflight": 1}
        writer.flush()  # nothing left to write: no transaction
        assert Counting.transactions == before + 1

    with Counting(tmp_path / "count.db") as journal:
        make_run(journal, "run-ride-00001", [(p, "Hi") for p in cn_numbers(2)])
        queued = journal.next_batch("run-ride-00001", 0, 10)
        asyncio.run(main(journal, [q.id for q in queued]))
