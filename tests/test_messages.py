"""The messages table: adding, queueing, in-flight marks, answers, attempts and accepted times."""

from __future__ import annotations

import pytest
from helpers import msg, new_run, run_info, send

from batch_sms.errors import StateError
from batch_sms.journal import (
    Attempt,
    Journal,
    Result,
)
from batch_sms.models import Status


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


def test_latest_answers_are_the_runs_newest_non_accepts_within_a_window(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"), msg(3, "2"), msg(4, "3"))
    [other] = new_run(journal, "r2", msg(2, "9"))
    journal.mark_inflight([*ids, other], at=100.0)
    attempts = [
        Attempt(ids[0], 100.0, "88", "transient", "busy"),
        Attempt(ids[1], 100.1, "4", "row_fatal", "bad word"),
        Attempt(other, 100.2, "6", "row_fatal", "invalid number"),  # another run's
        Attempt(ids[0], 100.3, "0", "accepted", "ok"),
        Attempt(ids[2], 100.4, "28", "throttled", "slow down"),
    ]
    journal.record([], attempts)
    newest = journal.latest_answers("r1", but="accepted")
    assert newest == [(100.4, 4, "28", "slow down"), (100.1, 3, "4", "bad word"),
                      (100.0, 2, "88", "busy")]  # fmt: skip
    assert journal.latest_answers("r1", but="accepted", limit=1) == newest[:1]
    # Only the state db's last `window` attempts are read: the two newest here.
    assert journal.latest_answers("r1", but="accepted", window=2) == newest[:1]


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


def test_mark_inflight_writes_earlier_answers_first_in_the_same_transaction(
    journal: Journal,
) -> None:
    ids = new_run(journal, "r1", msg(2, "8613800000001"), msg(3, "8613800000002"))
    journal.mark_inflight(ids[:1], at=1.0)
    answer = [Result(ids[0], Status.PENDING, "88", "request failed", attempts=1)]
    tried = [Attempt(ids[0], 2.0, "88", "transient", "request failed")]
    # The same message again (its retry) and another: the answer lands before the new mark.
    journal.mark_inflight(ids, at=3.0, results=answer, attempts=tried)
    assert journal.counts("r1") == {"inflight": 2}
    assert [a.code for a in journal.attempts(ids[0])] == ["88"]
    assert journal.inflight_to_unknown("r1") == 2
    assert [r.attempts for r in journal.report_rows("r1")] == [2, 1]  # the answer's 1, +1


def test_queued_among_gives_the_queued_ones_of_the_given_ids(journal: Journal) -> None:
    ids = new_run(journal, "a", *(msg(row, f"861380000000{row}") for row in range(2, 7)))
    send(journal, ids[:1], at=1.0)
    journal.record([Result(ids[1], Status.CAPPED, attempts=1, next_at=9.0)])
    found = journal.queued_among("a", [ids[4], ids[0], ids[1], ids[2]])
    assert [(q.id, q.row, q.status) for q in found] == [
        (ids[1], 3, Status.CAPPED),
        (ids[2], 4, Status.PENDING),
        (ids[4], 6, Status.PENDING),
    ]
