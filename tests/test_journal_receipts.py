"""Receipts in the state db: mapped to their message, stored once, and what each status means."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import msg, new_run, send, stored_receipts

from batch_sms.journal import (
    Journal,
    Result,
)
from batch_sms.models import Status


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


def grouped_rows(journal: Journal) -> list[int]:
    """Two rows of one multi-number send, each holding its own per-number messageid."""
    ids = new_run(journal, "r1", msg(2, "8613800000001"), msg(3, "8613800000002"))
    journal.mark_inflight(ids, 1.0)
    journal.record(
        [Result(i, Status.SENT, "0", "ok", f"BASE-{n:010d}", 1, 1.0) for n, i in enumerate(ids, 1)]
    )
    return ids


def test_a_receipt_before_its_grouped_answer_maps_once_the_per_number_id_is_written(
    journal: Journal,
) -> None:
    ids = new_run(journal, "r1", msg(2, "8613800000001"), msg(3, "8613800000002"))
    journal.mark_inflight(ids, 1.0)
    early = {"messageid": "BASE-0000000002", "phone": "8613800000002", "status": "2"}
    assert journal.add_receipt(early, 2.0) is False  # the answer is not written yet
    journal.record(
        [Result(i, Status.SENT, "0", "ok", f"BASE-{n:010d}", 1, 1.0) for n, i in enumerate(ids, 1)]
    )
    assert [r.status for r in journal.report_rows("r1")] == [Status.SENT, Status.DELIVERED]


def test_a_per_number_id_numbered_otherwise_maps_by_the_send_and_the_phone(
    journal: Journal,
) -> None:
    grouped_rows(journal)
    # The provider numbered the second number 7: its id names no row, the send and phone do.
    other = {"messageid": "BASE-0000000007", "phone": "8613800000002", "status": "2"}
    assert journal.add_receipt(other, 2.0) is True
    # An id that names the other number's row: within the send, the phone decides.
    crossed = {"messageid": "BASE-0000000002", "phone": "8613800000001", "status": "5"}
    assert journal.add_receipt(crossed, 2.0) is True
    assert [r.status for r in journal.report_rows("r1")] == [Status.UNDELIVERED, Status.DELIVERED]


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


def test_a_receipts_price_is_what_its_message_was_billed(journal: Journal) -> None:
    """sms_price: the receipt's price (the message's charge, all segments) and its currency;
    a repeated push adds nothing, a receipt without a usable price bills nothing."""
    ids = new_run(journal, "r1", msg(2, "1"), msg(3, "2"), msg(4, "3"))
    send(journal, ids, at=1.0)
    priced = {"messageid": f"M{ids[0]}", "status": "2", "price": "0.0300", "currency": "USD"}
    assert journal.add_receipt(priced, 2.0) is True
    assert journal.add_receipt(priced, 3.0) is True  # pushed twice: stored and billed once
    assert journal.add_receipt({"messageid": f"M{ids[1]}", "status": "5", "price": "n/a"}, 2.0)
    assert journal.add_receipt({"messageid": f"M{ids[2]}", "status": "2"}, 2.0)
    rows = list(journal.report_rows("r1"))
    assert [(r.price, r.currency) for r in rows] == [(0.03, "USD"), (None, ""), (None, "")]


def test_a_message_billed_twice_counts_both_receipts(journal: Journal) -> None:
    """A message that reached the provider twice (sent again after an unknown answer) is billed
    twice: both receipts' prices count, even after the first said delivered."""
    ids = new_run(journal, "r1", msg(2, "1"))
    send(journal, ids, at=1.0)
    ext = "r1:2:0"
    first = {"messageid": "A", "status": "2", "price": "0.02", "currency": "USD", "ext": ext}
    journal.add_receipt(first, 2.0)
    journal.add_receipt({**first, "messageid": "B", "status": "5"}, 3.0)
    [row] = journal.report_rows("r1")
    assert (row.status, row.price, row.currency) == (Status.DELIVERED, 0.04, "USD")


def test_a_receipt_waiting_for_its_message_bills_it_once_mapped(journal: Journal) -> None:
    ids = new_run(journal, "r1", msg(2, "1"))
    early = {"messageid": "EARLY", "status": "2", "price": "0.05", "currency": "EUR"}
    assert journal.add_receipt(early, 1.0) is False  # the send's answer is not written yet
    journal.record([Result(ids[0], Status.SENT, "0", "ok", "EARLY", 1, sent_at=1.0)])
    [row] = journal.report_rows("r1")
    assert (row.status, row.price, row.currency) == (Status.DELIVERED, 0.05, "EUR")
