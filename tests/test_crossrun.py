"""Across runs: texts already accepted for a number, and numbers another run still awaits."""

from __future__ import annotations

import pytest
from helpers import msg, new_run, run_info, send

from batch_sms.errors import StateError
from batch_sms.journal import (
    Journal,
    Result,
    crossrun,
)
from batch_sms.models import Status


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
    assert journal.copy_for_retry("a", "b", [Status.UNDELIVERED]).copied == 1
    # the retry exists to send row 2 again: a's undelivered copy doesn't make it a duplicate
    assert journal.mark_already_accepted("b") == 0
    # a message handed to a retry is the retry's: the parent's copy is not marked
    new_run(journal, "c", msg(2, "333"), msg(3, "222"), created_at=3.0)
    journal.create_run(run_info("d", 4.0, parent="c"))
    assert journal.copy_for_retry("c", "d", [Status.PENDING]).copied == 2
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
