"""Tests for the state db: schema, queue, outcomes, caps, receipts, retries and reports."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch_sms.errors import StateError
from batch_sms.journal import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Attempt,
    Journal,
    Result,
    RetryCopy,
    RunInfo,
    crossrun,
)
from batch_sms.models import Message, Status


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A state db path in a folder that does not exist yet."""
    return tmp_path / "state" / "batch-sms.db"


@pytest.fixture
def journal(db_path: Path) -> Iterator[Journal]:
    """An open journal on a fresh db."""
    with Journal(db_path) as j:
        yield j


def run_info(run_id: str, created_at: float = 1.0, parent: str | None = None, **kw: Any) -> RunInfo:
    """A run with plausible input details."""
    settings = kw.pop("settings", {"tps": 20, "hourly_cap": 5, "sender": "ACME"})
    return RunInfo(
        *(run_id, created_at, parent, "in.csv", f"reports/{run_id}/input.csv", "ab" * 32, "csv"),
        *(None, settings),
        **kw,
    )


def msg(row: int, phone: str, content: str = "hi", status: Status = Status.READY, index: int = 0,
        **kw: Any) -> Message:  # fmt: skip
    """A message for a row; READY unless told."""
    return Message(row, index, f"+{phone}", phone, content, 1, "GSM-7", 86, status, **kw)


def new_run(j: Journal, run_id: str, *messages: Message, **kw: Any) -> list[int]:
    """Create a run with messages; return the ids of its queued messages."""
    j.create_run(run_info(run_id, **kw))
    j.add_messages(run_id, messages)
    return [q.id for q in j.next_batch(run_id, 0, 100_000)]


def send(j: Journal, ids: list[int], at: float, messageid: str = "") -> None:
    """Mark messages inflight and record them as accepted at `at`."""
    j.mark_inflight(ids, at)
    j.record([Result(i, Status.SENT, "0", "ok", messageid or f"M{i}", 1, at) for i in ids])


def statuses(j: Journal, run_id: str) -> list[tuple[int, int, Status]]:
    """(row, index, status) of every message of a run, in report order."""
    return [(r.row, r.index, r.status) for r in j.report_rows(run_id)]


# Schema


def test_creates_schema_and_reopens(db_path: Path) -> None:
    with Journal(db_path) as j:
        new_run(j, "r1", msg(2, "8613800000001"))
        assert j.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    with Journal(db_path) as j:
        assert j.get_run("r1") == run_info("r1")
        assert j.counts("r1") == {"pending": 1}
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_refuses_newer_schema(db_path: Path) -> None:
    newer = [*MIGRATIONS, ["CREATE TABLE later (x INTEGER)"]]
    Journal(db_path, migrations=newer).close()
    with pytest.raises(StateError) as info:
        Journal(db_path)
    assert str(db_path) in info.value.message
    assert f"schema version {SCHEMA_VERSION + 1}" in info.value.message
    assert "upgrade batch-sms" in info.value.hint


def test_applies_pending_migrations_in_order(db_path: Path) -> None:
    Journal(db_path).close()
    extra = [
        ["CREATE TABLE applied (version INTEGER)", "INSERT INTO applied VALUES (1)"],
        ["INSERT INTO applied VALUES (2)"],
        ["INSERT INTO applied VALUES (3)"],
    ]
    with Journal(db_path, migrations=[*MIGRATIONS, *extra]) as j:
        assert j.schema_version == SCHEMA_VERSION + 3
    with Journal(db_path, migrations=[*MIGRATIONS, *extra]):
        pass  # nothing pending: nothing applied twice
    with sqlite3.connect(db_path) as raw:
        assert [v for (v,) in raw.execute("SELECT version FROM applied ORDER BY rowid")] == [
            1,
            2,
            3,
        ]


def test_failed_migration_leaves_the_db_at_its_version(db_path: Path) -> None:
    Journal(db_path).close()
    broken = [*MIGRATIONS, ["CREATE TABLE half (x)", "THIS IS NOT SQL"]]
    with pytest.raises(StateError, match="cannot use the state db"):
        Journal(db_path, migrations=broken)
    with Journal(db_path) as j:
        assert j.schema_version == SCHEMA_VERSION
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is not sqlite, just text that is long enough to have a header\n" * 20)
    with pytest.raises(StateError, match=r"notes\.db: cannot use the state db"):
        Journal(path)


# Runs


@pytest.mark.parametrize(
    "settings",
    [
        {"access_key": "x"},
        {"ACCESS_SECRET": "x"},
        {"app-key": "x"},
        {"appKey": "x"},
        {"secret": "x"},
        {"password": "x"},
        {"dr": {"token": "x"}},
        {"accounts": [{"api_key": "x"}]},
    ],
)
def test_create_run_refuses_secret_settings(journal: Journal, settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="secret"):
        journal.create_run(run_info("r1", settings=settings))
    assert journal.list_runs() == []


def test_run_lifecycle(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    with pytest.raises(StateError, match="already exists"):
        journal.create_run(run_info("r1"))
    journal.set_run_state("r1", "running", started_at=10.0)
    journal.set_run_state("r1", "stopped", stop_reason="balance")
    run = journal.get_run("r1")
    assert (run.state, run.stop_reason, run.started_at, run.finished_at) == (
        "stopped", "balance", 10.0, None,
    )  # fmt: skip
    journal.set_run_state("r1", "finished", finished_at=20.0)
    run = journal.get_run("r1")
    assert (run.state, run.stop_reason, run.started_at, run.finished_at) == (
        "finished", "", 10.0, 20.0,
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown run state"):
        journal.set_run_state("r1", "exploded")


def test_unknown_run(journal: Journal) -> None:
    with pytest.raises(StateError) as info:
        journal.get_run("nope")
    assert info.value.hint.startswith("batch-sms runs lists them")
    for call in (
        lambda: journal.set_run_state("nope", "running"),
        lambda: journal.add_messages("nope", [msg(2, "1")]),
        lambda: journal.counts("nope"),
        lambda: journal.report_rows("nope"),
    ):
        with pytest.raises(StateError, match="unknown run 'nope'"):
            call()
    with pytest.raises(StateError, match="unknown parent run"):
        journal.create_run(run_info("r2", parent="nope"))


def test_list_runs_newest_first_with_counts(journal: Journal) -> None:
    new_run(journal, "old", msg(2, "1"), msg(3, "2", status=Status.INVALID), created_at=1.0)
    ids = new_run(journal, "new", msg(2, "1"), msg(3, "2"), msg(4, "3"), created_at=2.0)
    journal.create_run(run_info("empty", created_at=1.5))
    send(journal, ids[:2], at=5.0)
    listed = journal.list_runs()
    assert [run.id for run, _ in listed] == ["new", "empty", "old"]
    assert [counts for _, counts in listed] == [
        {"sent": 2, "pending": 1},
        {},
        {"pending": 1, "invalid": 1},
    ]


# Messages


def test_add_messages_keeps_preflight_statuses(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    count = journal.add_messages(
        "r1",
        [
            msg(2, "1", warnings=("emoji forces UCS-2", "long")),
            msg(3, "", status=Status.INVALID, error="no phone"),
            msg(4, "1", status=Status.DUPLICATE),
            msg(5, "2", status=Status.SUPPRESSED),
        ],
    )
    assert count == 4
    rows = list(journal.report_rows("r1"))
    assert [r.status for r in rows] == [
        Status.PENDING, Status.INVALID, Status.DUPLICATE, Status.SUPPRESSED,
    ]  # fmt: skip
    assert rows[0].warnings == ("emoji forces UCS-2", "long")
    assert rows[1].error == "no phone"
    assert (rows[0].raw_phone, rows[0].phone, rows[0].country_code) == ("+1", "1", 86)
    assert journal.counts("r1") == {"pending": 1, "invalid": 1, "duplicate": 1, "suppressed": 1}


def test_add_messages_in_chunks(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    n = 12_345  # more than two insert chunks
    assert journal.add_messages("r1", (msg(i + 2, str(i)) for i in range(n))) == n
    assert journal.counts("r1") == {"pending": n}


def test_add_messages_refuses_a_row_twice(journal: Journal) -> None:
    new_run(journal, "r1", msg(2, "1"))
    with pytest.raises(StateError, match="already holds"):
        journal.add_messages("r1", [msg(3, "2"), msg(2, "1")])
    assert journal.counts("r1") == {"pending": 1}  # all or nothing


def test_next_batch_orders_and_pages(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    journal.add_messages("r1", [msg(r, str(r)) for r in range(2, 12)])
    first = journal.next_batch("r1", 0, 4)
    assert [q.row for q in first] == [2, 3, 4, 5]
    # messages 3 and 4 end capped, 5 sent: capped stays in the queue, sent leaves it
    journal.record(
        [
            Result(first[1].id, Status.CAPPED, next_at=99.0),
            Result(first[2].id, Status.CAPPED, next_at=99.0),
            Result(first[3].id, Status.SENT, "0", messageid="M5", sent_at=1.0),
        ]
    )
    again = journal.next_batch("r1", 0, 5)
    assert [(q.row, q.status) for q in again] == [
        (2, Status.PENDING), (3, Status.CAPPED), (4, Status.CAPPED), (6, Status.PENDING),
        (7, Status.PENDING),
    ]  # fmt: skip
    assert [q.row for q in journal.next_batch("r1", again[-1].id, 100)] == [8, 9, 10, 11]
    assert journal.next_batch("r1", again[-1].id + 100, 10) == []
    assert journal.next_batch("r1", 0, 0) == []
    capped = journal.next_batch("r1", 0, 10, statuses=(Status.CAPPED,))
    assert [q.row for q in capped] == [3, 4]
    q = again[0]
    assert (q.run_id, q.index, q.phone, q.content, q.segments, q.attempts) == (
        "r1",
        0,
        "2",
        "hi",
        1,
        0,
    )
    assert (q.sys_message_id, q.ext) == ("r1-2-0", "r1:2:0")


def test_mark_inflight_record_and_attempts(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"), msg(3, "2"), msg(4, "3"))
    journal.mark_inflight(ids, at=100.0)
    assert journal.counts("r1") == {"inflight": 3}
    assert journal.next_batch("r1", 0, 10) == []
    journal.record(
        [
            Result(ids[0], Status.SENT, "0", "ok", "M1", attempts=2, sent_at=101.0),
            Result(ids[1], Status.FAILED, "4", "bad number", attempts=1, error="invalid number"),
            Result(ids[2], Status.UNKNOWN, "timeout", attempts=1),
        ],
        [
            Attempt(ids[0], 100.0, "88", "transient", "busy"),
            Attempt(ids[0], 100.5, "0", "accepted", "ok"),
            Attempt(ids[1], 100.0, "4", "row_fatal", "bad number"),
        ],
    )
    rows = list(journal.report_rows("r1"))
    assert [(r.status, r.code, r.messageid, r.attempts, r.sent_at) for r in rows] == [
        (Status.SENT, "0", "M1", 2, 101.0),
        (Status.FAILED, "4", "", 1, None),
        (Status.UNKNOWN, "timeout", "", 1, None),
    ]
    assert rows[1].error == "invalid number"
    assert [(a.code, a.kind) for a in journal.attempts(ids[0])] == [
        ("88", "transient"), ("0", "accepted"),
    ]  # fmt: skip
    assert journal.attempts(ids[2]) == []


def test_inflight_to_unknown_and_set_status(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"), msg(3, "2"), msg(4, "3"))
    other = new_run(journal, "r2", msg(2, "9"))
    journal.mark_inflight([*ids[:2], *other], at=1.0)
    assert journal.inflight_to_unknown("r1") == 2
    assert journal.counts("r1") == {"unknown": 2, "pending": 1}
    assert journal.counts("r2") == {"inflight": 1}  # another run's in-flight work is not touched
    assert journal.set_status("r1", [Status.UNKNOWN], Status.PENDING) == 2
    assert journal.counts("r1") == {"pending": 3}
    assert journal.set_status("r1", [], Status.PENDING) == 0


def test_accepted_since_across_runs_and_windows(journal: Journal) -> None:
    a = new_run(journal, "r1", msg(2, "111"), msg(3, "222"), msg(4, "111", "other"), msg(5, "333"))
    b = new_run(journal, "r2", msg(2, "111"), msg(3, "444"))
    send(journal, [a[0]], at=1000.0)
    send(journal, [a[2]], at=3000.0)
    send(journal, [b[0]], at=2000.0)
    journal.record([Result(a[3], Status.FAILED, "4")])  # not accepted: does not count
    journal.record([Result(a[1], Status.CAPPED, "", next_at=5000.0)])
    send(journal, [b[1]], at=4000.0)
    journal.add_receipt({"messageid": f"M{b[1]}", "status": "5"}, 4100.0)  # undelivered counts
    phones = ["111", "222", "333", "444", "555", "111"]
    assert journal.accepted_since(phones, 0.0) == {
        "111": [1000.0, 2000.0, 3000.0],
        "444": [4000.0],
    }
    assert journal.accepted_since(phones, 2000.0) == {"111": [2000.0, 3000.0], "444": [4000.0]}
    assert journal.accepted_since(phones, 4000.5) == {}
    assert journal.accepted_since([], 0.0) == {}


def test_accepted_since_many_phones(journal: Journal) -> None:
    ids = new_run(journal, "r1", *(msg(i + 2, f"86{i:04d}") for i in range(1200)))
    send(journal, ids[::2], at=7.0)
    found = journal.accepted_since((f"86{i:04d}" for i in range(1200)), 0.0)
    assert len(found) == 600
    assert found["861198"] == [7.0]


def test_report_rows_order(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    journal.add_messages(
        "r1",
        [
            msg(5, "1"),
            msg(3, "2", index=1),
            msg(3, "3", index=0),
            msg(2, "4"),
            msg(3, "5", index=2),
        ],
    )
    rows = list(journal.report_rows("r1"))
    assert [(r.row, r.index, r.phone) for r in rows] == [
        (2, 0, "4"), (3, 0, "3"), (3, 1, "2"), (3, 2, "5"), (5, 0, "1"),
    ]  # fmt: skip
    assert rows[2].sys_message_id == "r1-3-1"


# Receipts


def stored_receipts(path: Path) -> list[tuple[str, dict[str, str], int | None]]:
    """(messageid, fields, message_id) of every stored receipt."""
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT messageid, fields, message_id FROM receipts ORDER BY id")
        return [(m, json.loads(f), i) for m, f, i in rows]


def test_receipt_maps_by_ext(journal: Journal, db_path: Path) -> None:
    ids = new_run(journal, "20261125-001500-a1b2", msg(2, "1"), msg(3, "2"))
    send(journal, ids, at=1.0)
    fields = {
        **{"phone": "2", "status": "2", "result": "DELIVRD", "drtime": "2026-11-25 00:16:00"},
        **{"sendtime": "2026-11-25 00:15:01", "messageid": "provider-id", "currency": "USD"},
        **{"price": "0.01", "rate": "1", "size": "1", "ext": "20261125-001500-a1b2:3:0"},
        "unexpected": "dropped",
    }
    assert journal.add_receipt(fields, received_at=50.0) is True
    rows = list(journal.report_rows("20261125-001500-a1b2"))
    assert [r.status for r in rows] == [Status.SENT, Status.DELIVERED]
    assert (rows[1].dr_status, rows[1].dr_result, rows[1].dr_time) == (
        "DELIVRD", "2", "2026-11-25 00:16:00",
    )  # fmt: skip
    [(messageid, kept, message_id)] = stored_receipts(db_path)
    assert (messageid, message_id) == ("provider-id", ids[1])
    assert "unexpected" not in kept
    assert kept["ext"] == "20261125-001500-a1b2:3:0"


def test_receipt_maps_by_messageid(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"), msg(3, "2"))
    send(journal, ids, at=1.0)
    assert journal.add_receipt({"messageid": f"M{ids[0]}", "status": "9"}, 2.0) is True
    rows = list(journal.report_rows("r1"))
    assert (rows[0].status, rows[0].dr_status, rows[0].dr_result) == (
        Status.UNDELIVERED, "DND", "9",
    )  # fmt: skip


def test_receipt_for_multi_number_send(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "8613800000001"), msg(3, "8613800000002"))
    send(journal, ids, at=1.0, messageid="BASE")  # one send, several numbers: one messageid
    second = {"messageid": "BASE-0000000002", "phone": "+86 138 0000 0002", "status": "2"}
    assert journal.add_receipt(second, 2.0) is True
    first = {"messageid": "BASE-0000000001", "phone": "8613800000001", "status": "7"}
    assert journal.add_receipt(first, 2.0) is True
    rows = list(journal.report_rows("r1"))
    assert [(r.status, r.dr_status) for r in rows] == [
        (Status.UNDELIVERED, "EXPIRED"), (Status.DELIVERED, "DELIVRD"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "result", "expected", "dr_status"),
    [
        ("2", "", Status.DELIVERED, "DELIVRD"),
        ("2", "DELIVRD", Status.DELIVERED, "DELIVRD"),
        ("5", "UNDELIV", Status.UNDELIVERED, "UNDELIV"),
        ("6", "", Status.UNDELIVERED, "REJECTD"),
        ("8", "", Status.UNDELIVERED, "DELETED"),
        ("10", "", Status.UNDELIVERED, "bad destination number"),
        ("11", "", Status.UNDELIVERED, "bad sender"),
        ("12", "", Status.UNDELIVERED, "UNKNOWN"),
        ("42", "", Status.UNDELIVERED, "42"),
        ("", "DELIVRD", Status.DELIVERED, "DELIVRD"),
        ("", "", Status.SENT, ""),  # says nothing about the fate: stored, status unchanged
    ],
)
def test_receipt_status_meanings(
    journal: Journal, status: str, result: str, expected: Status, dr_status: str
) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    send(journal, ids, at=1.0)
    assert journal.add_receipt({"messageid": f"M{ids[0]}", "status": status, "result": result}, 2.0)
    [row] = journal.report_rows("r1")
    assert (row.status, row.dr_status) == (expected, dr_status)


def test_repeated_receipt_is_stored_once(journal: Journal, db_path: Path) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    send(journal, ids, at=1.0)
    for _ in range(2):
        assert journal.add_receipt({"messageid": f"M{ids[0]}", "status": "2"}, 2.0) is True
    assert len(stored_receipts(db_path)) == 1


def test_delivered_is_never_undone(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    send(journal, ids, at=1.0)
    journal.add_receipt({"messageid": "P1", "ext": "r1:2:0", "status": "2"}, 2.0)
    journal.add_receipt({"messageid": "P2", "ext": "r1:2:0", "status": "5"}, 3.0)
    [row] = journal.report_rows("r1")
    assert (row.status, row.dr_status) == (Status.DELIVERED, "DELIVRD")


def test_undelivered_can_still_become_delivered(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    send(journal, ids, at=1.0)
    journal.add_receipt({"messageid": "P1", "ext": "r1:2:0", "status": "5"}, 2.0)
    journal.add_receipt({"messageid": "P2", "ext": "r1:2:0", "status": "2"}, 3.0)
    [row] = journal.report_rows("r1")
    assert row.status is Status.DELIVERED


@pytest.mark.parametrize("left", [Status.UNKNOWN, Status.INFLIGHT])
def test_receipt_resolves_uncertain_message(journal: Journal, left: Status) -> None:
    ids = new_run(journal, "r1", msg(2, "555"))
    journal.mark_inflight(ids, at=10.0)
    if left is Status.UNKNOWN:
        journal.inflight_to_unknown("r1")
    assert journal.add_receipt({"messageid": "P1", "ext": "r1:2:0", "status": "2"}, 20.0)
    [row] = journal.report_rows("r1")
    assert (row.status, row.sent_at) == (Status.DELIVERED, 10.0)  # sent when it went out
    assert journal.accepted_since(["555"], 0.0) == {"555": [10.0]}  # counts for the hourly cap


def test_receipt_before_the_answer_is_recorded(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    journal.mark_inflight(ids, at=10.0)
    journal.add_receipt({"messageid": "P1", "ext": "r1:2:0", "status": "2"}, 10.5)
    journal.record([Result(ids[0], Status.SENT, "0", "ok", "P1", 1, sent_at=10.2)])
    [row] = journal.report_rows("r1")
    assert (row.status, row.messageid, row.sent_at) == (Status.DELIVERED, "P1", 10.2)


def test_unmapped_receipt_is_kept_and_mapped_later(journal: Journal, db_path: Path) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    journal.mark_inflight(ids, at=10.0)
    assert journal.add_receipt({"messageid": "P1", "status": "2"}, 10.5) is False
    assert stored_receipts(db_path) == [("P1", {"messageid": "P1", "status": "2"}, None)]
    journal.record([Result(ids[0], Status.SENT, "0", "ok", "P1", 1, sent_at=10.2)])
    [row] = journal.report_rows("r1")
    assert row.status is Status.DELIVERED
    assert stored_receipts(db_path)[0][2] == ids[0]
    assert journal.add_receipt({"messageid": "P1", "status": "2"}, 11.0) is True


def test_receipt_with_foreign_ext_falls_back_to_messageid(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    send(journal, ids, at=1.0)
    fields = {"messageid": f"M{ids[0]}", "ext": "someone-else:7:0", "status": "2"}
    assert journal.add_receipt(fields, 2.0) is True
    assert (
        journal.add_receipt({"messageid": "nobody", "ext": "garbage", "status": "2"}, 2.0) is False
    )


def test_receipt_needs_a_messageid(journal: Journal) -> None:
    with pytest.raises(ValueError, match="messageid"):
        journal.add_receipt({"status": "2"}, 1.0)


# Retries


def test_family(journal: Journal) -> None:
    journal.create_run(run_info("a", 1.0))
    journal.create_run(run_info("b", 2.0, parent="a"))
    journal.create_run(run_info("c", 3.0, parent="b"))
    journal.create_run(run_info("d", 4.0, parent="a"))
    journal.create_run(run_info("x", 5.0))
    for member in "abcd":
        assert journal.family(member) == ["a", "b", "c", "d"]
    assert journal.family("x") == ["x"]


def test_copy_for_retry_skips_what_the_family_accepted(journal: Journal) -> None:
    a = new_run(
        journal,
        "a",
        msg(2, "111"),
        msg(3, "222", warnings=("long",)),
        msg(4, "333"),
        msg(5, "444"),
        msg(6, "555", "different"),
        msg(7, "", status=Status.INVALID, error="no phone"),
        msg(8, "333"),  # same as row 4 (allowed duplicates): row 4 gets through
        msg(9, "333", "other"),  # same number as row 4, other text: not blocked by it
        created_at=1.0,
    )
    journal.mark_inflight(a, at=1.0)
    journal.record(
        [
            Result(a[0], Status.FAILED, "88", attempts=3, error="busy"),
            Result(a[1], Status.FAILED, "88", attempts=3),
            Result(a[2], Status.SENT, "0", messageid="M3", attempts=1, sent_at=1.0),
            Result(a[3], Status.UNKNOWN, "timeout", attempts=1),
            Result(a[4], Status.FAILED, "88", attempts=3),
            Result(a[5], Status.FAILED, "88", attempts=3),
            Result(a[6], Status.FAILED, "88", attempts=3),
        ]
    )
    # first retry: rows 2, 3, 6, 9 again, row 8 not (row 4 was accepted); row 2 gets through
    journal.create_run(run_info("b", 2.0, parent="a"))
    assert journal.retry_would_send("a", [Status.FAILED]) == 4
    assert journal.copy_for_retry_detail("a", "b", [Status.FAILED]) == RetryCopy(4, 1)
    b = [q.id for q in journal.next_batch("b", 0, 10)]
    send(journal, b[:1], at=2.0)
    journal.record([Result(b[1], Status.FAILED, "88", attempts=3)])
    copied = list(journal.report_rows("b"))
    assert [(r.row, r.phone, r.attempts, r.retried_by) for r in copied] == [
        (2, "111", 1, ""), (3, "222", 3, ""), (6, "555", 0, ""), (9, "333", 0, ""),
    ]  # fmt: skip
    assert copied[1].warnings == ("long",)
    parent = {r.row: r for r in journal.report_rows("a")}
    assert {row: r.retried_by for row, r in parent.items() if r.retried_by} == dict.fromkeys(
        (2, 3, 6, 9), "b"
    )
    assert parent[2].status is Status.FAILED  # the status stays: it is the report's contract
    assert parent[2].error == "sent again in retry run b (busy)"
    assert parent[3].error == "sent again in retry run b"
    assert (parent[8].status, parent[8].retried_by) == (Status.FAILED, "")  # skipped, not handed
    # a second retry of the parent takes only what the first one did not: row 5
    journal.create_run(run_info("c", 3.0, parent="a"))
    result = journal.copy_for_retry_detail("a", "c", [Status.FAILED, Status.UNKNOWN])
    assert result == RetryCopy(copied=1, skipped=1)  # row 8 is still accepted as row 4
    assert [(r.row, r.status, r.attempts) for r in journal.report_rows("c")] == [
        (5, Status.PENDING, 0),
    ]
    # a retry of the retry sees the whole family too
    journal.create_run(run_info("d", 4.0, parent="b"))
    assert journal.copy_for_retry_detail("b", "d", [Status.FAILED]) == RetryCopy(1, 0)
    journal.create_run(run_info("e", 5.0, parent="b"))
    assert journal.copy_for_retry_detail("b", "e", [Status.PENDING, Status.SENT]) == RetryCopy(2, 1)
    # what is left of the parent's failed rows (row 8) already reached its number as row 4: a
    # retry would send nothing, though the parent still owns a failed row
    assert journal.count_own("a", [Status.FAILED]) == 1
    assert journal.retry_would_send("a", [Status.FAILED]) == 0


@pytest.mark.parametrize("status", [Status.INVALID, Status.READY, Status.INFLIGHT])
def test_copy_for_retry_refuses_unsendable_statuses(journal: Journal, status: Status) -> None:
    journal.create_run(run_info("a"))
    journal.create_run(run_info("b", parent="a"))
    with pytest.raises(ValueError, match="cannot be sent again"):
        journal.copy_for_retry("a", "b", [Status.FAILED, status])


def test_copy_for_retry_of_undelivered(journal: Journal) -> None:
    a = new_run(journal, "a", msg(2, "111"), msg(3, "222"), msg(4, "333"), created_at=1.0)
    send(journal, a, at=1.0)
    for i in a:
        journal.add_receipt({"messageid": f"M{i}", "status": "5"}, 2.0)
    journal.create_run(run_info("b", 2.0, parent="a"))
    assert journal.copy_for_retry_detail("a", "b", [Status.UNDELIVERED]) == RetryCopy(3, 0)
    b = [q.id for q in journal.next_batch("b", 0, 10)]
    send(journal, b, at=3.0, messageid="B")
    journal.add_receipt({"messageid": "B1", "ext": "b:2:0", "status": "2"}, 4.0)
    journal.add_receipt({"messageid": "B2", "ext": "b:3:0", "status": "5"}, 4.0)
    # all of a's went to b: a second retry of a has nothing left to take
    journal.create_run(run_info("x", 3.0, parent="a"))
    assert journal.copy_for_retry_detail("a", "x", [Status.UNDELIVERED]) == RetryCopy(0, 0)
    # row 3 undelivered twice goes again; row 4 may still arrive (sent, no receipt): skipped
    journal.create_run(run_info("c", 3.0, parent="b"))
    result = journal.copy_for_retry_detail("b", "c", [Status.UNDELIVERED, Status.SENT])
    assert result == RetryCopy(1, 1)
    assert [r.row for r in journal.report_rows("c")] == [3]


def test_rows_handed_to_a_retry_leave_the_parent(journal: Journal) -> None:
    a = new_run(journal, "a", *(msg(r, str(r)) for r in range(2, 7)), created_at=1.0)
    journal.mark_inflight(a, at=1.0)
    journal.record(
        [
            Result(a[0], Status.PENDING),
            Result(a[1], Status.CAPPED, next_at=99.0),
            Result(a[2], Status.UNKNOWN, "timeout", attempts=1),
            Result(a[3], Status.FAILED, "88", attempts=3),
            Result(a[4], Status.UNKNOWN, "timeout", attempts=1),  # stays in a: not retried
        ]
    )
    journal.create_run(run_info("b", 2.0, parent="a"))
    handed = [Status.PENDING, Status.CAPPED, Status.UNKNOWN, Status.FAILED]
    # rows 2 to 5 only: row 6 is kept back by calling with fewer statuses first
    assert journal.copy_for_retry("a", "b", handed[:3]) == 4
    assert journal.copy_for_retry("a", "b", handed) == 1  # the rest; nothing twice
    assert journal.counts("b") == {"pending": 5}
    assert journal.copy_for_retry("a", "b", handed) == 0
    assert journal.counts("a") == {"pending": 1, "capped": 1, "unknown": 2, "failed": 1}
    # resuming the parent sends, resends and settles none of them
    assert journal.next_batch("a", 0, 10) == []
    assert journal.next_batch("a", 0, 10, statuses=handed) == []
    assert journal.set_status("a", [Status.UNKNOWN], Status.PENDING) == 0
    assert journal.unresolved("a") == []
    assert {r.retried_by for r in journal.report_rows("a")} == {"b"}


def test_parent_left_inflight_by_a_race_still_ends_unknown(journal: Journal) -> None:
    a = new_run(journal, "a", msg(2, "1"), msg(3, "2"), created_at=1.0)
    journal.create_run(run_info("b", 2.0, parent="a"))
    assert journal.copy_for_retry("a", "b", [Status.PENDING]) == 2
    # the parent's dispatcher had already taken row 2 when the retry was made
    journal.mark_inflight(a[:1], at=5.0)
    assert journal.inflight_to_unknown("a") == 1  # `inflight` never outlives its run
    assert journal.unresolved("a") == []  # settled (if ever) through the retry
    assert journal.pending_elsewhere(["1"], "b") == {"1": 1}  # blocks attributing a record to b


def test_migration_2_upgrades_a_version_1_db(db_path: Path) -> None:
    with Journal(db_path, migrations=MIGRATIONS[:1]) as old:
        old.create_run(run_info("a", 1.0))  # only what version 1 could do: no next_batch
        old.add_messages("a", [msg(2, "111"), msg(3, "222"), msg(4, "333")])
        with sqlite3.connect(db_path) as raw:
            ids = [i for (i,) in raw.execute("SELECT id FROM messages ORDER BY id")]
        send(old, ids[:1], at=10.0)
        old.mark_inflight(ids[1:2], at=20.0)
        assert old.schema_version == 1
    with sqlite3.connect(db_path) as raw:
        columns = [r[1] for r in raw.execute("PRAGMA table_info(messages)")]
        assert "retried_by" not in columns
    with Journal(db_path) as j:
        assert j.schema_version == SCHEMA_VERSION == 2
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
        assert j.copy_for_retry("a", "c", [Status.PENDING, Status.UNKNOWN]) == 2
        assert j.copy_for_retry("a", "c", [Status.PENDING, Status.UNKNOWN]) == 0
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


# Across runs


def test_already_accepted_in_any_run(journal: Journal) -> None:
    a = new_run(journal, "a", msg(2, "111"), msg(3, "222"), msg(4, "333"), msg(5, "444"))
    b = new_run(journal, "b", msg(7, "111"), msg(8, "555", "x"), msg(9, "666"), created_at=2.0)
    send(journal, a[:2], at=1.0)
    send(journal, b[:2], at=2.0)
    # undelivered: it never reached 222, so sending it again is no duplicate
    journal.add_receipt({"messageid": f"M{a[1]}", "status": "5"}, 3.0)
    journal.record([Result(a[2], Status.FAILED, "4")])
    journal.mark_inflight(a[3:], at=4.0)  # not (yet) accepted
    pairs = [("111", "hi"), ("222", "hi"), ("333", "hi"), ("444", "hi"), ("555", "x")]
    pairs += [("555", "hi"), ("666", "hi"), ("111", "hi"), ("777", "hi")]
    pairs += [("111", " hi\t"), ("555", "x ")]  # whitespace variants are the same text
    assert journal.already_accepted(iter(pairs)) == {
        ("111", "hi"): ("a", 2),  # the first of the two runs that sent it
        ("555", "x"): ("b", 8),
        ("111", " hi\t"): ("a", 2),
        ("555", "x "): ("b", 8),
    }
    assert journal.already_accepted([]) == {}
    unsettled = journal.unsettled([("444", "hi\u00a0"), ("333", "hi")])
    assert unsettled == {("444", "hi\u00a0"): ("a", 5)}


def test_already_accepted_many_pairs(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crossrun, "PHONE_CHUNK", 7)  # many chunks, same phone in several
    ids = new_run(journal, "a", *(msg(i + 2, f"86{i:04d}") for i in range(300)))
    send(journal, ids[::3], at=7.0)
    pairs = [(f"86{i:04d}", text) for i in range(300) for text in ("hi", "other")]
    found = journal.already_accepted(pairs + pairs)
    assert found == {(f"86{i:04d}", "hi"): ("a", i + 2) for i in range(0, 300, 3)}


def test_mark_already_accepted(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crossrun, "PAGE", 2)  # pages through the run's queue
    other = new_run(journal, "o", msg(2, "111"), msg(3, "222", "x"), msg(4, "333"))
    send(journal, other[:2], at=1.0)
    journal.add_receipt({"messageid": f"M{other[1]}", "status": "2"}, 2.0)
    journal.mark_inflight(other[2:], at=3.0)  # in flight is not accepted
    r = new_run(
        journal,
        "r",
        *(msg(5, "111"), msg(6, "222", "x"), msg(7, "333"), msg(8, "444"), msg(9, "111", "y")),
        *(msg(10, "444"), msg(11, "111", status=Status.DUPLICATE)),
        created_at=2.0,
    )
    journal.record([Result(r[1], Status.CAPPED, next_at=9.0)])
    send(journal, r[3:4], at=4.0)  # this run's own sends are not "another run"
    assert journal.mark_already_accepted("r") == 2
    rows = {row.row: row for row in journal.report_rows("r")}
    assert {n: row.status for n, row in rows.items()} == {
        5: Status.DUPLICATE, 6: Status.DUPLICATE, 7: Status.PENDING, 8: Status.SENT,
        9: Status.PENDING, 10: Status.PENDING, 11: Status.DUPLICATE,
    }  # fmt: skip
    assert rows[5].error == "already sent in run o (row 2)"
    assert rows[6].error == "already sent in run o (row 3)"
    assert journal.mark_already_accepted("r") == 0
    assert journal.counts("o") == {"sent": 1, "delivered": 1, "inflight": 1}


def test_mark_already_accepted_leaves_retries_of_undelivered(journal: Journal) -> None:
    a = new_run(journal, "a", msg(2, "111"), msg(3, "222"), created_at=1.0)
    send(journal, a, at=1.0)
    journal.add_receipt({"messageid": f"M{a[0]}", "status": "5"}, 2.0)
    journal.create_run(run_info("b", 2.0, parent="a"))
    assert journal.copy_for_retry("a", "b", [Status.UNDELIVERED]) == 1
    # the retry exists to send row 2 again: a's undelivered copy doesn't make it a duplicate
    assert journal.mark_already_accepted("b") == 0
    # a message handed to a retry is the retry's: the parent's copy is not marked
    new_run(journal, "c", msg(2, "333"), msg(3, "222"), created_at=3.0)
    journal.create_run(run_info("d", 4.0, parent="c"))
    assert journal.copy_for_retry("c", "d", [Status.PENDING]) == 2
    assert journal.mark_already_accepted("c") == 0
    assert journal.mark_already_accepted("d") == 1  # row 3 ("222") was sent by a
    # nor does any undelivered message make a later run's same text a duplicate
    new_run(journal, "e", msg(2, "111", "hi  "), created_at=5.0)
    assert journal.mark_already_accepted("e") == 0
    assert [r.status for r in journal.report_rows("c")] == [Status.PENDING] * 2


def test_pending_elsewhere(journal: Journal) -> None:
    mine = new_run(journal, "mine", msg(2, "111"), msg(3, "222"))
    a = new_run(journal, "a", msg(2, "111"), msg(3, "111", "x"), msg(4, "222"), msg(5, "333"))
    journal.mark_inflight([*mine, *a], at=1.0)
    journal.record([Result(a[2], Status.SENT, "0", sent_at=2.0), Result(a[3], Status.FAILED)])
    journal.inflight_to_unknown("a")
    phones = ["111", "222", "333", "444", "111"]
    assert journal.pending_elsewhere(phones, "mine") == {"111": 2}
    assert journal.pending_elsewhere(phones, "a") == {"111": 1, "222": 1}
    assert journal.pending_elsewhere([], "a") == {}
    with pytest.raises(StateError, match="unknown run"):
        journal.pending_elsewhere(phones, "nope")
    # Unresolved messages older than the records asked about cannot own them.
    assert journal.pending_elsewhere(phones, "mine", since=1.0) == {"111": 2}
    assert journal.pending_elsewhere(phones, "mine", since=1.5) == {}


def test_accepted_since_counts_other_runs_in_flight(journal: Journal) -> None:
    mine = new_run(journal, "mine", msg(2, "111"), msg(3, "222"))
    a = new_run(journal, "a", msg(2, "111"), msg(3, "111", "x"), msg(4, "222"), msg(5, "333"))
    send(journal, [a[0]], at=100.0)
    journal.mark_inflight([a[1]], at=50.0)  # another process is sending it right now
    journal.mark_inflight([a[2]], at=300.0)
    journal.inflight_to_unknown("a")
    journal.mark_inflight([a[3]], at=10.0)  # before the window
    journal.mark_inflight(mine, at=200.0)  # our own: the dispatcher counts these itself
    phones = ["111", "222", "333"]
    assert journal.accepted_since(phones, 20.0) == {"111": [100.0]}  # default: accepted only
    assert journal.accepted_since(phones, 20.0, exclude_run="mine") == {
        "111": [50.0, 100.0],
        "222": [300.0],
    }
    assert journal.accepted_since(phones, 20.0, exclude_run="a") == {
        "111": [100.0, 200.0],
        "222": [200.0],
    }


def test_migration_2_marks_rows_an_older_retry_already_took(db_path: Path) -> None:
    """A retry made before migration 2 left its parent's rows unmarked: resuming the parent
    after the upgrade must not send them again."""
    with Journal(db_path, migrations=MIGRATIONS[:1]) as old:
        old.create_run(run_info("a", 1.0))
        old.add_messages("a", [msg(2, "111"), msg(3, "222"), msg(4, "333")])
        with sqlite3.connect(db_path) as raw:
            first = next(raw.execute("SELECT id FROM messages ORDER BY id"))[0]
        send(old, [first], at=10.0)
        old.create_run(run_info("c", 2.0, parent="a"))
        old.add_messages("c", [msg(3, "222")])  # what version 1's retry copied
    with Journal(db_path) as j:
        assert [q.row for q in j.next_batch("a", 0, 10)] == [4]
        assert [r.retried_by for r in j.report_rows("a")] == ["", "c", ""]
        assert [q.row for q in j.next_batch("c", 0, 10)] == [3]
