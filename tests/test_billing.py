"""The journal's billing sums: what runs spent (billed, else still to estimate), what a run has
left to send, and which messages left the queue."""

from __future__ import annotations

from dataclasses import replace

from helpers import msg, new_run, run_info, send

from batch_sms.journal import CostTally, Journal, Result, Spending
from batch_sms.models import Status

US = replace(msg(4, "12015550123"), country_code=1)


def test_spending_sums_billed_prices_and_unbilled_segments_by_country(journal: Journal) -> None:
    ids = new_run(
        journal, "a",
        msg(2, "8613800000001"), msg(3, "8613800000002"), US,
        msg(5, "8613800000003"), msg(6, "8613800000004"), msg(7, "8613800000005"),
    )  # fmt: skip
    send(journal, ids[:3], at=1.0)
    journal.add_receipt({"messageid": f"M{ids[0]}", "status": "2", "price": "0.03"}, 2.0)
    journal.mark_inflight(ids[3:4], at=3.0)  # may have reached the provider: counts
    journal.mark_inflight(ids[4:5], at=3.0)
    journal.record([Result(ids[4], Status.FAILED, "6", "invalid number", attempts=1)])
    spending = sorted(journal.spending(["a"]), key=lambda s: s.country_code)
    assert spending == [
        Spending("1", 0.0, 1, 1),
        Spending("86", 0.03, 2, 2),  # row 2 billed; rows 3 and 5 to estimate; 6 failed, 7 queued
    ]


def test_spending_covers_the_runs_asked_for_only(journal: Journal) -> None:
    first = new_run(journal, "a", msg(2, "8613800000001"))
    send(journal, first, at=1.0)
    journal.create_run(run_info("b", 2.0, parent="a"))
    journal.add_messages("b", [msg(2, "8613800000001")])
    assert journal.spending(["b"]) == []
    assert journal.spending(["a", "b"]) == [Spending("86", 0.0, 1, 1)]


def test_queued_segments_and_launched(journal: Journal) -> None:
    ids = new_run(
        journal, "a",
        msg(2, "8613800000001"), msg(3, "8613800000002"), US,
    )  # fmt: skip
    journal.record([Result(ids[1], Status.CAPPED, attempts=1, next_at=9.0)])
    assert sorted(journal.queued_segments("a")) == [("1", 1, 1), ("86", 2, 2)]
    journal.mark_inflight(ids[:1], at=1.0)
    assert journal.launched(ids) == {ids[0]}
    assert sorted(journal.queued_segments("a")) == [("1", 1, 1), ("86", 1, 1)]


def test_cost_tally_sums_a_runs_messages_by_country_status_and_currency(journal: Journal) -> None:
    ids = new_run(
        journal, "a",
        msg(2, "8613800000001"), msg(3, "8613800000002"), US, msg(5, "8613800000003"),
    )  # fmt: skip
    send(journal, ids[:3], at=1.0)
    journal.add_receipt(
        {"messageid": f"M{ids[0]}", "status": "2", "price": "0.03", "currency": "USD"}, 2.0
    )
    journal.add_receipt(
        {"messageid": f"M{ids[1]}", "status": "2", "price": "0.02", "currency": "USD"}, 2.0
    )
    assert journal.cost_tally("a") == [
        CostTally(86, Status.DELIVERED, 2, 2, 2, 0.05, "USD"),
        CostTally(1, Status.SENT, 1, 1, 0, 0.0, ""),
        CostTally(86, Status.PENDING, 1, 1, 0, 0.0, ""),
    ]
