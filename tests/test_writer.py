"""Batched journal writes: a journal that cannot write stops the dispatch, never a double send."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import SandboxMaker, cn_numbers, dispatch_run, make_run, status_counts

from batch_sms.dispatch import DispatchSettings
from batch_sms.journal import Journal


def test_a_journal_that_cannot_write_stops_the_dispatch_without_double_sends(
    make_sandbox: SandboxMaker, tmp_path: Path
) -> None:
    class FullDisk(Journal):
        def record(self, results: Any, attempts: Any = ()) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    handle = make_sandbox(hourly_cap=None)
    with FullDisk(tmp_path / "full.db") as journal:
        make_run(journal, "run-full-00001", [(p, "Hi") for p in cn_numbers(50)])
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            dispatch_run(handle, journal, "run-full-00001", DispatchSettings(concurrency=5))
        # Every answer went unwritten: those rows stay inflight, and a resume makes them unknown.
        inflight = status_counts(journal, "run-full-00001")["inflight"]
        assert inflight == len(handle.sandbox.accepted) > 0
        assert journal.inflight_to_unknown("run-full-00001") == inflight
        assert status_counts(journal, "run-full-00001")["pending"] == 50 - inflight
