"""The plan's warnings: why nothing can be sent, reasons grouped by kind with example rows."""

from __future__ import annotations

from helpers import message

from batch_sms.checks import plancheck
from batch_sms.checks.plancheck import ucs2_summary
from batch_sms.checks.segments import segment
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


def test_ucs2_summary_names_each_character_once_in_order() -> None:
    """Look-alike-only texts are counted as avoidable; the other texts' characters GSM-7 lacks
    are named once each, in order of first appearance, look-alikes among them left out."""
    texts = [
        "Don’t miss it",  # a curly quote only: avoidable
        "【ACME】您好，订单已发货",  # Chinese with a full-width comma (a look-alike)
        "【ACME】您好，订单已发货",  # the same characters again: nothing new
        "“Hi” – see you",  # curly quotes and a dash: avoidable
        "您好 Ж",  # one new character at the end
        "plain GSM text",  # not UCS-2: not counted
    ]
    messages = [
        message(i + 2, 0, Status.READY, content=t, encoding=segment(t).encoding)
        for i, t in enumerate(texts)
    ]
    messages.append(message(9, 0, Status.INVALID, content="never “sent”", encoding="UCS-2"))
    line = ucs2_summary(messages)
    assert line.startswith("5 messages go as UCS-2 (70 characters per message instead of 160): ")
    assert "2 of them only because of ’ “ ” – (U+2019, U+201C, U+201D, U+2013)" in line
    other = "【 】 您 好 订 单 已 发 货 Ж (U+3010, U+3011, U+60A8, U+597D, U+8BA2, U+5355, U+5DF2, "
    assert f"3 use characters GSM-7 lacks, such as {other}" in line
