"""The canary's pure parts: which messages go first, the tally of their receipts, the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_sms.checks import canary
from batch_sms.config import Settings
from batch_sms.journal import MessageRecord
from batch_sms.models import Status


def _record(status: Status, dr_status: str = "", dr_result: str = "") -> MessageRecord:
    return MessageRecord(
        *(2, 0, "+8613800138000", "8613800138000", "hi", 1, "GSM-7", 86, status, "0", ""),
        *("M1", 1, 1.0, None, "", (), dr_status, dr_result, "", "run-2-0"),
    )


def test_pick_goes_round_robin_over_countries_in_order_of_first_appearance() -> None:
    candidates = [(1, 86), (2, 86), (3, 86), (4, 1), (5, 86), (6, 44), (7, 1), (8, None)]
    assert canary.pick(candidates, 5) == [1, 4, 6, 8, 2]
    assert canary.pick(candidates, 3) == [1, 4, 6]
    assert canary.pick(candidates, 7) == [1, 4, 6, 8, 2, 7, 3]


def test_pick_takes_at_most_the_sendable_messages() -> None:
    assert canary.pick([(1, 86), (2, 1)], 5) == [1, 2]
    assert canary.pick([], 5) == []
    assert canary.pick([(1, 86), (2, 86)], 0) == []


def test_pick_leaves_out_messages_whose_window_is_closed_while_others_can_go() -> None:
    candidates = [(1, 86), (2, 86), (3, 86), (4, 1), (5, 1), (6, 44)]
    assert canary.pick(candidates, 3, closed={1, 2, 3}) == [4, 6, 5]
    assert canary.pick(candidates, 5, closed={1, 2, 3}) == [4, 6, 5]  # fewer, but all can go
    # Every one closed: the first are picked as ever, and the canary waits for its window.
    assert canary.pick(candidates, 3, closed={1, 2, 3, 4, 5, 6}) == [1, 4, 6]


def test_every_message_undelivered_stops_the_run_with_the_receipts_reasons() -> None:
    records = [_record(Status.UNDELIVERED, "UNDELIV", "5")] * 4
    records.append(_record(Status.UNDELIVERED, "DND", "9"))
    decision = canary.decide(canary.tally(records), 0.8, 300)
    assert not decision.go
    assert decision.text == (
        "canary of 5: delivered 0, undelivered 5 (4× UNDELIV (status 5), 1× DND (status 9)), "
        "no receipt 0: only 0% of the receipts say delivered, below --canary-min-delivered 0.8"
    )


def test_the_share_counts_only_the_receipts_that_came() -> None:
    records = [_record(Status.DELIVERED)] * 4 + [_record(Status.UNDELIVERED, "UNDELIV", "5")]
    records += [_record(Status.SENT), _record(Status.FAILED)]
    counted = canary.tally(records)
    assert (counted.delivered, counted.received, counted.waiting) == (4, 5, 1)
    decision = canary.decide(counted, 0.8, 300)
    assert decision.go
    assert decision.text == (
        "canary of 7: delivered 4, undelivered 1 (1× UNDELIV (status 5)), no receipt 1, "
        "not accepted 1 (failed 1): 80% of the receipts say delivered"
    )
    assert not canary.decide(counted, 0.81, 300).go


def test_no_receipt_at_all_is_no_evidence() -> None:
    counted = canary.tally([_record(Status.SENT), _record(Status.UNKNOWN)])
    assert counted.waiting == 2
    decision = canary.decide(counted, 0.0, 30)
    assert not decision.go
    assert "no delivery receipt came within 30 s" in decision.text
    assert decision.text.startswith("canary of 2: delivered 0, undelivered 0, no receipt 2;")


def test_a_canary_is_due_until_it_has_an_outcome() -> None:
    assert canary.due(Settings(canary=5), "")
    assert not canary.due(Settings(canary=5), canary.PASSED)
    assert not canary.due(Settings(canary=5), canary.SKIPPED)
    assert not canary.due(Settings(), "")


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        (Settings(canary=5), True),
        (Settings(canary=5, sandbox=True), False),
        (Settings(canary=5, dr_url="https://example.com/dr"), False),
        (Settings(), False),
    ],
)
def test_a_canary_needs_a_receipt_route(settings: Settings, refused: bool) -> None:
    why = canary.route_missing(settings)
    assert bool(why) is refused
    if refused:
        assert "no --dr-url is given and this is not a --sandbox run" in why


def test_the_plan_line_names_size_wait_and_share() -> None:
    assert canary.plan_line(Settings(canary=5), 100) == (
        "canary: first 5 messages, wait up to 300 s, go on at >= 80% delivered"
    )
    line = canary.plan_line(Settings(canary=20, canary_wait=60, canary_min_delivered=0.95), 12)
    assert line == "canary: first 12 messages, wait up to 60 s, go on at >= 95% delivered"
    assert canary.plan_line(Settings(input=Path("x.csv")), 100) == ""
