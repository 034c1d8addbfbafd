"""The journal's schema: migrations keep rows right; partial indexes serve the status queries."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import msg, run_info

from batch_sms.journal import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Journal,
    RunInfo,
)
from batch_sms.journal.schema import ACCEPTED_SQL, UNCERTAIN_SQL
from batch_sms.models import Message, Status


def _run(run_id: str) -> RunInfo:
    return RunInfo(run_id, 1.0, None, "in.csv", f"{run_id}/input.csv", "ab" * 32, "csv", None, {})


def _message(row: int, phone: str) -> Message:
    return Message(row, 0, f"+{phone}", phone, "hi", 1, "GSM-7", 86, Status.READY)


def _old_send(path: Path, ids: list[int], at: float, status: str = "sent") -> None:
    """Mark messages as an older version's dispatch did, in its own columns (today's
    mark_inflight writes columns a version-1 db does not have)."""
    with sqlite3.connect(path) as raw:
        raw.executemany(
            "UPDATE messages SET status = ?, inflight_at = ?, sent_at = ?, code = ?, "
            "messageid = ?, attempts = 1 WHERE id = ?",
            [
                (status, at, at if status == "sent" else None, "0" if status == "sent" else "",
                 f"M{i}" if status == "sent" else "", i)
                for i in ids
            ],
        )  # fmt: skip


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


def test_migration_2_upgrades_a_version_1_db(db_path: Path) -> None:
    with Journal(db_path, migrations=MIGRATIONS[:1]) as old:
        old.create_run(run_info("a", 1.0))  # only what version 1 could do: no next_batch
        old.add_messages("a", [msg(2, "111"), msg(3, "222"), msg(4, "333")])
        with sqlite3.connect(db_path) as raw:
            ids = [i for (i,) in raw.execute("SELECT id FROM messages ORDER BY id")]
        _old_send(db_path, ids[:1], at=10.0)
        _old_send(db_path, ids[1:2], at=20.0, status="inflight")
        assert old.schema_version == 1
    with sqlite3.connect(db_path) as raw:
        columns = [r[1] for r in raw.execute("PRAGMA table_info(messages)")]
        assert "retried_by" not in columns
    with Journal(db_path) as j:
        assert j.schema_version == SCHEMA_VERSION >= 2
        assert j.counts("a") == {"sent": 1, "inflight": 1, "pending": 1}
        assert [r.retried_by for r in j.report_rows("a")] == ["", "", ""]
        assert [q.row for q in j.next_batch("a", 0, 10)] == [4]
        assert j.already_accepted([("111", "hi"), ("333", "hi")]) == {("111", "hi"): ("a", 2)}
        j.create_run(run_info("b", 2.0))
        assert j.accepted_since(["111", "222"], 0.0, exclude_run="b") == {
            "111": [10.0],
            "222": [20.0],
        }
        assert j.inflight_to_unknown("a") == 1
        j.create_run(run_info("c", 3.0, parent="a"))
        assert j.copy_for_retry("a", "c", [Status.PENDING, Status.UNKNOWN]).copied == 2
        assert j.copy_for_retry("a", "c", [Status.PENDING, Status.UNKNOWN]).copied == 0
    with sqlite3.connect(db_path) as raw:
        plan = " ".join(
            str(r[3])
            for r in raw.execute(
                "EXPLAIN QUERY PLAN SELECT phone, inflight_at FROM messages "
                "WHERE status IN ('inflight', 'unknown') AND phone IN ('1', '2') "
                "AND inflight_at >= 0 AND run != 1"
            )
        )
        assert "messages_uncertain" in plan
        # The cross-run duplicate check asks by phone through the partial index of accepted
        # messages, undelivered ruled out beside the index's own condition.
        plan = " ".join(
            str(r[3])
            for r in raw.execute(
                "EXPLAIN QUERY PLAN SELECT id, run, row, phone, content FROM messages "
                "WHERE status IN ('sent', 'delivered', 'undelivered') "
                "AND status != 'undelivered' AND phone IN ('1', '2')"
            )
        )
        assert "messages_accepted" in plan


def test_migration_2_marks_rows_an_older_retry_already_took(db_path: Path) -> None:
    """A retry made before migration 2 left its parent's rows unmarked: resuming the parent
    after the upgrade must not send them again."""
    with Journal(db_path, migrations=MIGRATIONS[:1]) as old:
        old.create_run(run_info("a", 1.0))
        old.add_messages("a", [msg(2, "111"), msg(3, "222"), msg(4, "333")])
        with sqlite3.connect(db_path) as raw:
            first = next(raw.execute("SELECT id FROM messages ORDER BY id"))[0]
        _old_send(db_path, [first], at=10.0)
        old.create_run(run_info("c", 2.0, parent="a"))
        old.add_messages("c", [msg(3, "222")])  # what version 1's retry copied
    with Journal(db_path) as j:
        assert [q.row for q in j.next_batch("a", 0, 10)] == [4]
        assert [r.retried_by for r in j.report_rows("a")] == ["", "c", ""]
        assert [q.row for q in j.next_batch("c", 0, 10)] == [3]


def test_the_canary_migration_keeps_older_runs_without_a_canary(db_path: Path) -> None:
    [mine] = [i for i, m in enumerate(MIGRATIONS) if any("ADD COLUMN canary" in s for s in m)]
    with Journal(db_path, migrations=MIGRATIONS[:mine]) as old:
        old.create_run(run_info("a", 1.0))
    with Journal(db_path) as j:
        assert j.get_run("a").canary == ""
        j.set_canary("a", "passed")
        assert j.get_run("a").canary == "passed"


def test_the_billing_migration_bills_the_receipts_a_version_2_db_stored(db_path: Path) -> None:
    """Receipts stored before the billed columns existed carry their price in `fields`: the
    upgrade gives each message the price (and currency) its receipts charged."""
    with Journal(db_path, migrations=MIGRATIONS[:2]) as old:
        old.create_run(run_info("a", 1.0))
        old.add_messages("a", [msg(2, "111"), msg(3, "222"), msg(4, "333")])
        ids = [q.id for q in old.next_batch("a", 0, 10)]
        _old_send(db_path, ids, at=10.0)
    with sqlite3.connect(db_path) as raw:  # as version 2 stored them: no billed columns yet
        for message_id, messageid, fields in [
            (ids[0], "m1", '{"messageid": "m1", "price": "0.0300", "currency": "USD"}'),
            (ids[1], "m2", '{"messageid": "m2", "status": "2"}'),  # no price in it
            (None, "m9", '{"messageid": "m9", "price": "5"}'),  # never mapped to a message
        ]:
            raw.execute(
                "INSERT INTO receipts (received_at, messageid, base_messageid, ext, fields, "
                "message_id) VALUES (1, ?, ?, '', ?, ?)",
                (messageid, messageid, fields, message_id),
            )
    with Journal(db_path) as j:
        assert j.schema_version == SCHEMA_VERSION
        billed = [(r.row, r.price, r.currency) for r in j.report_rows("a")]
    assert billed == [(2, 0.03, "USD"), (3, None, ""), (4, None, "")]


def test_the_grouped_migration_knows_accepted_group_members_by_their_messageid(
    db_path: Path,
) -> None:
    """Before the `grouped` column, a group member is known by its per-number messageid (the
    send's id, "-" and ten digits): its row shows no sysMessageId after the upgrade."""
    [mine] = [i for i, m in enumerate(MIGRATIONS) if any("COLUMN grouped" in s for s in m)]
    with Journal(db_path, migrations=MIGRATIONS[:mine]) as old:
        old.create_run(run_info("a", 1.0))
        old.add_messages("a", [msg(2, "111"), msg(3, "222"), msg(4, "333")])
        ids = [q.id for q in old.next_batch("a", 0, 10)]
    _old_send(db_path, ids, at=10.0)
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE messages SET messageid = 'G7-0000000001' WHERE id = ?", (ids[0],))
        raw.execute("UPDATE messages SET messageid = 'G7-12' WHERE id = ?", (ids[1],))
    with Journal(db_path) as j:
        shown = [(r.row, r.sys_message_id) for r in j.report_rows("a")]
    assert shown == [(2, ""), (3, "a-3-0"), (4, "a-4-0")]
