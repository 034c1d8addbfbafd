"""The plan's warnings: why nothing can be sent, reasons grouped by kind with example rows."""

from __future__ import annotations

from batch_sms.checks import plancheck
from batch_sms.models import Message, Status


def test_reasons_are_grouped_with_example_rows() -> None:
    def bad(row: int, why: str) -> Message:
        return Message(row, 0, "x", "", "t", 0, "GSM-7", None, Status.INVALID, why)

    lines = plancheck.why_nothing_ready(
        [bad(r, "no phone") for r in range(2, 7)] + [bad(9, "empty text")]
    )
    assert lines == ["5 invalid: no phone (rows 2, 3, 4, …)", "1 invalid: empty text (rows 9)"]


def test_reasons_group_by_kind_not_by_the_number_in_them() -> None:
    def bad(row: int, phone: str) -> Message:
        why = f'phone "{phone}" is not a valid number'
        return Message(row, 0, phone, "", "t", 0, "GSM-7", None, Status.INVALID, why)

    lines = plancheck.why_nothing_ready([bad(2, "12345"), bad(3, "+86138000000")])
    assert lines == ["2 invalid: Phone is not a valid number [phone_invalid] (rows 2, 3)"]
