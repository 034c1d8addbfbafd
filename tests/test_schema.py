"""The journal's schema: its partial indexes serve the queries built from the status sets."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from batch_sms.journal import Journal, RunInfo
from batch_sms.journal.schema import ACCEPTED_SQL, UNCERTAIN_SQL
from batch_sms.models import Message, Status


def _run(run_id: str) -> RunInfo:
    return RunInfo(run_id, 1.0, None, "in.csv", f"{run_id}/input.csv", "ab" * 32, "csv", None, {})


def _message(row: int, phone: str) -> Message:
    return Message(row, 0, f"+{phone}", phone, "hi", 1, "GSM-7", 86, Status.READY)


@pytest.mark.parametrize(
    ("call", "index"),
    [
        (lambda j: j.accepted_since(["8613800000001", "8613800000002"], 0.0), "messages_accepted"),
        (lambda j: j.already_accepted([("8613800000001", "hi")]), "messages_accepted"),
        (
            lambda j: j.accepted_since(["8613800000001"], 0.0, exclude_run="b"),
            "messages_uncertain",
        ),
        (lambda j: j.unsettled([("8613800000001", "hi")]), "messages_uncertain"),
        (lambda j: j.pending_elsewhere(["8613800000001"], "b"), "messages_uncertain"),
    ],
)
def test_status_queries_use_their_partial_index(
    tmp_path: Path, call: Callable[[Journal], object], index: str
) -> None:
    """Each statement the journal runs with a status list is planned with the partial index
    whose WHERE clause that list is (SQLite uses one only when the terms match)."""
    db_path = tmp_path / "state.db"
    seen: list[str] = []
    with Journal(db_path) as journal:
        for run_id in ("a", "b"):
            journal.create_run(_run(run_id))
            journal.add_messages(run_id, [_message(2, "8613800000001")])
        journal._db.set_trace_callback(seen.append)
        call(journal)
        journal._db.set_trace_callback(None)
    lists = {"messages_accepted": ACCEPTED_SQL, "messages_uncertain": UNCERTAIN_SQL}
    statements = [s for s in seen if f"status IN {lists[index]}" in s]
    assert statements, seen
    with sqlite3.connect(db_path) as raw:
        for statement in statements:
            plan = " ".join(str(r[3]) for r in raw.execute(f"EXPLAIN QUERY PLAN {statement}"))
            assert index in plan, (statement, plan)
