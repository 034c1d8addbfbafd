"""The Journal's run-wide views: report rows in order, and the copies a retry takes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import msg, new_run, run_info, send

from batch_sms.journal import (
    Journal,
    Result,
    RetryCopy,
)
from batch_sms.models import Status


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
    assert journal.copy_for_retry("a", "b", [Status.FAILED]) == RetryCopy(4, 1)
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
    result = journal.copy_for_retry("a", "c", [Status.FAILED, Status.UNKNOWN])
    assert result == RetryCopy(copied=1, skipped=1)  # row 8 is still accepted as row 4
    assert [(r.row, r.status, r.attempts) for r in journal.report_rows("c")] == [
        (5, Status.PENDING, 0),
    ]
    # a retry of the retry sees the whole family too
    journal.create_run(run_info("d", 4.0, parent="b"))
    assert journal.copy_for_retry("b", "d", [Status.FAILED]) == RetryCopy(1, 0)
    journal.create_run(run_info("e", 5.0, parent="b"))
    assert journal.copy_for_retry("b", "e", [Status.PENDING, Status.SENT]) == RetryCopy(2, 1)
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
    assert journal.copy_for_retry("a", "b", [Status.UNDELIVERED]) == RetryCopy(3, 0)
    b = [q.id for q in journal.next_batch("b", 0, 10)]
    send(journal, b, at=3.0, messageid="B")
    journal.add_receipt({"messageid": "B1", "ext": "b:2:0", "status": "2"}, 4.0)
    journal.add_receipt({"messageid": "B2", "ext": "b:3:0", "status": "5"}, 4.0)
    # all of a's went to b: a second retry of a has nothing left to take
    journal.create_run(run_info("x", 3.0, parent="a"))
    assert journal.copy_for_retry("a", "x", [Status.UNDELIVERED]) == RetryCopy(0, 0)
    # row 3 undelivered twice goes again; row 4 may still arrive (sent, no receipt): skipped
    journal.create_run(run_info("c", 3.0, parent="b"))
    result = journal.copy_for_retry("b", "c", [Status.UNDELIVERED, Status.SENT])
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
    assert journal.copy_for_retry("a", "b", handed[:3]).copied == 4
    assert journal.copy_for_retry("a", "b", handed).copied == 1  # the rest; nothing twice
    assert journal.counts("b") == {"pending": 5}
    assert journal.copy_for_retry("a", "b", handed).copied == 0
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
    assert journal.copy_for_retry("a", "b", [Status.PENDING]).copied == 2
    # the parent's dispatcher had already taken row 2 when the retry was made
    journal.mark_inflight(a[:1], at=5.0)
    assert journal.inflight_to_unknown("a") == 1  # `inflight` never outlives its run
    assert journal.unresolved("a") == []  # settled (if ever) through the retry
    assert journal.pending_elsewhere(["1"], "b") == {"1": 1}  # blocks attributing a record to b


def test_canary_candidates_are_each_countrys_first_sendable_messages(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    journal.add_messages(
        "r1",
        [
            msg(2, "861"),
            msg(3, "862", status=Status.INVALID),
            msg(4, "863"),
            msg(5, "864"),
            replace(msg(6, "11"), country_code=1),
            replace(msg(7, "12"), country_code=1),
            replace(msg(8, "x"), country_code=None),
        ],
    )
    ids = {r.row: i for i, r in enumerate(journal.report_rows("r1"), start=1)}
    found = journal.canary_candidates("r1", 2)
    picked = [(ids[2], 86), (ids[4], 86), (ids[6], 1), (ids[7], 1), (ids[8], None)]
    assert [(c.id, c.country) for c in found] == picked
    assert [(c.phone, c.queued) for c in found][:2] == [("861", True), ("863", True)]
    # Accepted or failed messages still count: a resume picks the same ones.
    send(journal, [ids[2]], at=5.0)
    journal.record([Result(ids[4], Status.FAILED, "6", "bad number", attempts=1)])
    again = journal.canary_candidates("r1", 2)
    assert [(c.id, c.country) for c in again] == picked
    assert [c.queued for c in again] == [False, False, True, True, True]  # sent by an earlier try
    records = journal.records_of("r1", [ids[6], ids[2], ids[4]])
    assert [(r.row, r.status) for r in records] == [
        (2, Status.SENT), (4, Status.FAILED), (6, Status.PENDING),
    ]  # fmt: skip
    assert journal.records_of("r1", []) == []
