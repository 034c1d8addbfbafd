"""The journal's `sent` messages still waiting for a receipt, and what the records said."""

from __future__ import annotations

from helpers import msg, new_run, send

from batch_sms.journal import Awaiting, Journal


def test_awaiting_receipt_takes_sent_messages_accepted_before_the_grace(journal: Journal) -> None:
    ids = new_run(journal, "a", msg(2, "111"), msg(3, "222"), msg(4, "333"), msg(5, "444"))
    send(journal, ids[:1], at=100.0, messageid="m1")
    send(journal, ids[1:2], at=200.0, messageid="m2")
    send(journal, ids[2:3], at=50.0, messageid="m3")
    journal.add_receipt({"messageid": "m3", "status": "2"}, 60.0)  # its receipt came
    assert journal.awaiting_receipt("a", 150.0) == [Awaiting(ids[0], "m1", "111", 100.0)]
    assert [w.messageid for w in journal.awaiting_receipt("a", 200.0)] == ["m1", "m2"]


def test_unrecorded_counts_sent_messages_the_records_lacked(journal: Journal) -> None:
    ids = new_run(journal, "a", msg(2, "111"), msg(3, "222"))
    send(journal, ids, at=100.0, messageid="")
    assert journal.unrecorded("a") == 0
    journal.mark_unrecorded(ids, 500.0)
    assert journal.unrecorded("a") == 2
    journal.mark_unrecorded(ids[:1], None)  # a record turned up after all
    assert journal.unrecorded("a") == 1
