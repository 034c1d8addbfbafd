"""--gsm-safe: the replacement table, when a text is changed, and what the change saves."""

from __future__ import annotations

import pytest
from helpers import message

from batch_sms.checks.gsmsafe import GsmSaving, gsm_safe, saving, saving_lines
from batch_sms.checks.segments import GSM7, LOOKALIKES, UCS2, segment
from batch_sms.checks.validate import Checker
from batch_sms.models import Status


def checker(gsm_safe: bool = False) -> Checker:
    return Checker(default_region="CN", suppressed=set(), allow_duplicates=False, gsm_safe=gsm_safe)


def test_every_replacement_in_the_table_is_plain_gsm7() -> None:
    for char, twin in LOOKALIKES.items():
        assert segment(char).encoding == UCS2, f"U+{ord(char):04X} is GSM-7 already"
        assert twin == "" or segment(twin).encoding == GSM7, f"U+{ord(char):04X} -> {twin!r}"


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("Hi “Ann”, it’s ‘on’", "Hi \"Ann\", it's 'on'"),
        ("9–5 — open ‒ now ‐ here ‑ too −1 ―", "9-5 - open - now - here - too -1 -"),
        ("Wait…", "Wait..."),
        ("Hi\u00a0Ann\u202fand\u205fBo\u3000!", "Hi Ann and Bo !"),
        ("".join(map(chr, range(0x2000, 0x200B))) + "x", " " * 11 + "x"),
        ("• one\u200b", "* one"),
        ("«Sale» ‹now›", "\"Sale\" 'now'"),
        ("Price！", "Price!"),
    ],
)
def test_lookalikes_are_replaced_when_the_text_then_fits_gsm7(written: str, sent: str) -> None:
    assert gsm_safe(written) == sent
    assert segment(sent).encoding == GSM7


@pytest.mark.parametrize(
    "text",
    [
        "您好 “张三”，回T退订",  # Chinese: never touched
        "Hi “Ann” 😀",  # an emoji GSM-7 lacks: the text stays as written, quotes and all
        "Привет “Ann”",  # Cyrillic
        "Plain text, nothing to do",
        "",
    ],
)
def test_text_that_cannot_be_all_gsm7_is_left_exactly_as_written(text: str) -> None:
    assert gsm_safe(text) == text


def test_a_replacement_that_would_cost_more_segments_is_not_made() -> None:
    text = "…" * 70  # 1 UCS-2 segment; "..." * 70 is 210 GSM-7 characters, 2 segments
    assert segment(text).segments == 1
    assert gsm_safe(text) == text


def test_checker_sends_counts_and_keeps_the_replaced_text() -> None:
    text = "Hi “Ann”, your order " + "x" * 60  # 81 characters: 2 UCS-2 segments
    [message] = checker(gsm_safe=True).check(2, "13800138000", text)
    assert message.content == 'Hi "Ann", your order ' + "x" * 60
    assert (message.encoding, message.segments, message.segments_written) == (GSM7, 1, 2)
    assert message.warnings == ()  # nothing left to replace
    [plain] = checker().check(2, "13800138000", text)
    assert (plain.content, plain.encoding, plain.segments) == (text, UCS2, 2)
    assert plain.segments_written is None


def test_checker_leaves_chinese_text_and_says_nothing_changed() -> None:
    [message] = checker(gsm_safe=True).check(2, "13800138000", "您好 “张三”")
    assert (message.content, message.encoding, message.segments_written) == (
        "您好 “张三”",
        UCS2,
        None,
    )


def test_rows_differing_only_in_curly_quotes_are_duplicates_with_gsm_safe() -> None:
    rows = [(2, "Hi “Ann”"), (3, 'Hi "Ann"')]
    safe = checker(gsm_safe=True)
    first, second = (safe.check(row, "13800138000", text)[0] for row, text in rows)
    assert (first.status, second.status) == (Status.READY, Status.DUPLICATE)
    assert second.error == "same number and text as row 2"
    plain = checker()
    assert {plain.check(row, "13800138000", text)[0].status for row, text in rows} == {Status.READY}


def test_saving_counts_changed_ready_messages_and_prices_the_segments_saved() -> None:
    messages = [
        message(2, 0, Status.READY, segments=1, segments_written=2),
        message(3, 0, Status.READY, segments=1, segments_written=3, country_code=1),
        message(4, 0, Status.READY, segments=1),
        message(5, 0, Status.INVALID, segments=1, segments_written=2),
    ]
    found = saving(messages, {"86": 0.05}, None)
    assert found == GsmSaving(texts=2, segments_before=6, segments_after=3, money=0.05)
    assert found.saved == 3
    assert saving(messages, {}, None).money is None  # nothing priced: no amount, not 0
    assert saving(messages, {}, 0.01).money == pytest.approx(0.03)


def test_saving_record_round_trips_and_refuses_what_is_not_one() -> None:
    found = GsmSaving(4, 8, 4, 0.2)
    assert GsmSaving.from_record(found.record()) == found
    assert GsmSaving.from_record(GsmSaving(1, 2, 1).record()) == GsmSaving(1, 2, 1, None)
    assert GsmSaving.from_record(None) is None
    assert GsmSaving.from_record({"texts": "x"}) is None


def test_saving_lines_say_before_after_and_the_money() -> None:
    assert saving_lines(GsmSaving(1200, 2400, 1200, 36.0), "USD") == [
        ("texts made GSM-7 (--gsm-safe)", 1200),
        ("segments before → after", "2,400 → 1,200"),
        ("saved", "1,200 segments, 36.0000 USD"),
    ]
    assert saving_lines(GsmSaving(0, 5, 5), "")[2] == ("saved", "0 segments")
