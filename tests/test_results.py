"""Each row's result: messages combined into rows, the least successful status, what is billed."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from helpers import message

from batch_sms.models import SEVERITY, Row, Status, one_row_status
from batch_sms.report.results import (
    MessageResult,
    _from_record,
    aggregate,
    result_rows,
    row_status,
    validation_rows,
)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.SENT, Status.FAILED], Status.FAILED),
        ([Status.INVALID, Status.FAILED], Status.INVALID),
        ([Status.DELIVERED, Status.SENT], Status.SENT),
        ([Status.DELIVERED, Status.UNDELIVERED], Status.UNDELIVERED),
        ([Status.PENDING, Status.CAPPED], Status.CAPPED),
        ([Status.CAPPED, Status.UNKNOWN], Status.UNKNOWN),
        ([Status.SENT, Status.DUPLICATE], Status.SENT),
        ([Status.READY, Status.SUPPRESSED], Status.READY),
        ([Status.DUPLICATE, Status.SUPPRESSED], Status.SUPPRESSED),
        ([Status.DUPLICATE, Status.DUPLICATE], Status.DUPLICATE),
        ([Status.INFLIGHT], Status.UNKNOWN),
        ([Status.DELIVERED], Status.DELIVERED),
    ],
)
def test_row_status_is_the_least_successful(statuses: list[Status], expected: Status) -> None:
    assert row_status(statuses) is expected


@dataclass(frozen=True)
class Record:
    row: int
    index: int
    status: Status
    raw_phone: str = "13800000000"
    phone: str = "8613800000000"
    segments: int = 1
    code: str = ""
    result: str = ""
    messageid: str = ""
    attempts: int = 0
    sent_at: float | None = None
    next_at: float | None = None
    error: str = ""
    dr_status: str = ""
    dr_time: str = ""
    sys_message_id: str = ""
    content: str = "Hello"
    retried_by: str = ""
    price: float | None = None
    currency: str = ""


def describe(code: str) -> str:
    return {"0": "accepted", "6": "invalid number"}.get(code, "")


def test_result_rows_merge_records_with_their_input_rows() -> None:
    inputs = [Row(n, (f"c{n}",)) for n in (2, 3, 4, 5)]
    records = [
        Record(2, 0, Status.SENT, "a", "861", 2, "0", "ok", "m1", 1, 86400.0,
               sys_message_id="r-2-0"),
        Record(2, 1, Status.FAILED, "b", "862", 2, "6", "bad", "", 3, error="invalid number",
               sys_message_id="r-2-1"),
        Record(4, 0, Status.CAPPED, next_at=3600.0, error="hourly cap"),
        Record(5, 0, Status.DELIVERED, code="0", result="whatever", dr_status="DELIVRD",
               dr_time="2026-11-25 00:16:00"),
    ]  # fmt: skip
    got = list(result_rows(inputs, records, describe))
    assert [r.number for r in got] == [2, 4, 5]  # row 3 is not part of this run
    two = got[0]
    assert (two.cells, two.status, two.messages) == (("c2",), Status.FAILED, 2)
    assert (two.code, two.result, two.messageid) == ("0, 6", "accepted, invalid number", "m1, ")
    assert (two.phone, two.segments, two.attempts) == ("861, 862", 4, 3)
    assert two.sent_at == "1970-01-02 00:00:00, "
    assert two.sys_message_id == "r-2-0, r-2-1"
    assert two.error == "a: sent; b: invalid number"  # what each recipient got
    assert two.text == "Hello"  # one text per row, not one per recipient
    assert got[1].error == "hourly cap; may be sent after 1970-01-01 01:00:00 UTC"
    assert got[1].code == ""
    assert got[1].result == ""
    assert (got[2].result, got[2].dr_status, got[2].dr_time) == (
        "accepted",
        "DELIVRD",
        "2026-11-25 00:16:00",
    )


def test_result_rows_keep_a_record_whose_input_row_is_missing() -> None:
    got = list(
        result_rows(
            [Row(3, ("x",))], [Record(2, 0, Status.SENT), Record(3, 0, Status.SENT)], describe
        )
    )
    assert [(r.number, r.cells) for r in got] == [(2, ()), (3, ("x",))]


def test_validation_rows() -> None:
    inputs = [Row(2, ("a",)), Row(3, ("b",)), Row(4, ("c",)), Row(5, ("d",))]
    messages = [
        message(3, 1, Status.SUPPRESSED, error="on the suppression list"),
        message(3, 0, Status.READY, warnings=("uses “quotes”",)),
        message(2, 0, Status.READY, segments=2, warnings=("w",)),
        message(4, 0, Status.INVALID, phone="", segments=0, error="not a phone number"),
        message(5, 0, Status.DUPLICATE, error="same as row 2"),
    ]
    got = list(validation_rows(inputs, messages))
    assert [(r.number, r.status) for r in got] == [
        (2, Status.READY), (3, Status.READY), (4, Status.INVALID), (5, Status.DUPLICATE),
    ]  # fmt: skip
    assert (got[0].segments, got[0].error, got[0].phone) == (2, "warning: w", "8613820")
    assert got[1].phone == "8613830, 8613831"
    assert got[1].segments == 1  # the suppressed recipient is not billed
    assert got[1].error == "13830: ready; 13831: on the suppression list; warning: uses “quotes”"
    assert got[2].error == "not a phone number"


def test_a_row_bills_only_the_recipients_that_can_be_sent() -> None:
    from batch_sms.report.results import MessageResult, aggregate

    parts = [
        MessageResult("+86 139 1234 5678", Status.SENT, "8613912345678", 2, code="0"),
        MessageResult("12345", Status.INVALID, "", 2, error="too short"),
    ]
    row = aggregate(2, ("a",), parts)
    assert row.status is Status.INVALID  # the row still shows its least successful recipient
    assert row.segments == 2  # but only the sent recipient is billed
    assert row.error == "+86 139 1234 5678: sent; 12345: too short"


def test_row_status_keeps_the_ranking_rule() -> None:
    """The (rank, status) lookup gives what the rule says for every pair and for no status."""
    order = [Status.UNKNOWN if s is Status.INFLIGHT else s for s in SEVERITY]
    for a in Status:
        for b in Status:
            seen = [Status.UNKNOWN if s is Status.INFLIGHT else s for s in (a, b)]
            assert row_status([a, b]) is min(seen, key=order.index)
        assert row_status(iter([a])) is (Status.UNKNOWN if a is Status.INFLIGHT else a)
        assert one_row_status(a) is row_status([a])
    assert row_status([]) is Status.INVALID


def test_validation_rows_one_number_rows_match_the_aggregate() -> None:
    """A row with one recipient gets what `aggregate` makes of that recipient, field by field."""
    inputs = [Row(n, (f"c{n}",)) for n in range(2, 8)]
    messages = [
        message(2, 0, Status.READY),
        message(3, 0, Status.READY, warnings=("w1", "w2")),
        message(4, 0, Status.INVALID, phone="", segments=0, error="bad", warnings=("w",)),
        message(5, 0, Status.DUPLICATE, error="same as row 2"),
        message(6, 0, Status.SUPPRESSED, error="opted out"),
        message(7, 0, Status.READY, content=""),
    ]
    got = list(validation_rows(inputs, messages))
    expected = [
        aggregate(
            m.row, (f"c{m.row}",),
            [MessageResult(m.raw_phone, m.status, m.phone, m.segments, error=m.error,
                           warnings=m.warnings, text=m.content)],
        )
        for m in messages
    ]  # fmt: skip
    assert got == expected
    assert got[1].error == "warning: w1; warning: w2"
    assert got[2].error == "bad; warning: w"


def test_result_rows_one_record_rows_match_the_aggregate() -> None:
    """A row with one message gets what `aggregate` makes of its MessageResult, field by
    field (handed over when its message went to a retry)."""
    inputs = [Row(n, (f"c{n}",)) for n in range(2, 9)]
    records = [
        Record(2, 0, Status.SENT, code="0", messageid="m1", attempts=1, sent_at=86400.0,
               sys_message_id="r-2-0", price=0.02, currency="USD"),
        Record(3, 0, Status.INFLIGHT, error=""),
        Record(4, 0, Status.CAPPED, next_at=3600.0, error="hourly cap"),
        Record(5, 0, Status.CAPPED, next_at=3600.0),
        Record(6, 0, Status.FAILED, code="6", result="bad", attempts=3, error="invalid number"),
        Record(7, 0, Status.DELIVERED, code="0", dr_status="DELIVRD", dr_time="2026-11-25"),
        Record(8, 0, Status.PENDING, retried_by="r2"),
    ]  # fmt: skip
    got = list(result_rows(inputs, records, describe, in_flight="crashed"))
    expected = []
    for r in records:
        row = aggregate(r.row, (f"c{r.row}",), [_from_record(r, describe, "crashed")])  # type: ignore[arg-type]
        expected.append(replace(row, handed_over=bool(r.retried_by)))
    assert got == expected
    assert (got[1].status, got[1].attempts, got[1].error) == (Status.UNKNOWN, 1, "crashed")
    assert got[3].error == "may be sent after 1970-01-01 01:00:00 UTC"
    assert got[6].handed_over
