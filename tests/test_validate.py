"""The checks of one message: content, sender, duplicates, suppression, look-alikes and cost."""

from __future__ import annotations

import pytest

from batch_sms.checks.validate import (
    Checker,
    SuppressionList,
    check_sender,
    cost_of,
    estimate_cost,
    load_suppression,
)
from batch_sms.models import Message, Status


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("NXCLOUD", ""),
        ("a", ""),
        ("Shop2024", ""),
        ("A" * 20, ""),
        ("", "sender id is empty"),
        ("A" * 21, f'sender id "{"A" * 21}" has 21 characters; at most 20 allowed'),
        ("My Shop", 'sender id "My Shop" may contain only ASCII letters and digits'),
        ("Shop-1", 'sender id "Shop-1" may contain only ASCII letters and digits'),
        ("商店", 'sender id "商店" may contain only ASCII letters and digits'),
        ("Café", 'sender id "Café" may contain only ASCII letters and digits'),
    ],
)
def test_check_sender(sender: str, reason: str) -> None:
    assert check_sender(sender) == reason


def checker(**kwargs: object) -> Checker:
    """A Checker for China with no suppression and duplicates refused, unless told otherwise."""
    options: dict[str, object] = {
        "default_region": "CN",
        "suppressed": set(),
        "allow_duplicates": False,
    }
    options.update(kwargs)
    return Checker(**options)  # type: ignore[arg-type]


def test_check_ready_message() -> None:
    [message] = checker().check(2, "138 0013 8000", "Hello Ann")
    assert message == Message(
        row=2, index=0, raw_phone="138 0013 8000", phone="8613800138000", content="Hello Ann",
        segments=1, encoding="GSM-7", country_code=86, status=Status.READY,
    )  # fmt: skip


def test_check_one_message_per_number_in_the_cell() -> None:
    messages = checker().check(3, "13800138000; 60123456789, 123", "Hi")
    assert [(m.index, m.raw_phone, m.phone, m.status) for m in messages] == [
        (0, "13800138000", "8613800138000", Status.READY),
        (1, "60123456789", "60123456789", Status.READY),
        (2, "123", "", Status.INVALID),
    ]
    assert messages[2].error == 'phone "123" is too short (read as a CN number)'


def test_check_segments_per_recipient_country() -> None:
    text = "x" * 154
    china, malaysia = checker().check(2, "13800138000,60123456789", text)
    assert (china.segments, china.country_code) == (1, 86)
    assert (malaysia.segments, malaysia.country_code) == (2, 60)


@pytest.mark.parametrize("cell", ["", "   ", " ; , "])
def test_check_row_without_phone_gives_one_invalid_message(cell: str) -> None:
    [message] = checker().check(7, cell, "Hi")
    assert (message.index, message.status, message.error) == (0, Status.INVALID, "phone is empty")
    assert message.raw_phone == cell


@pytest.mark.parametrize(
    ("content", "render_error", "error"),
    [
        (None, "", "content is empty"),
        ("", "", "content is empty"),
        (" \n ", "", "content is empty"),
        ("x" * 1001, "", "content has 1001 characters; the provider accepts at most 1000"),
        ("Hi", "template field 'name' is empty", "template field 'name' is empty"),
    ],
)
def test_check_content_rules(content: str | None, render_error: str, error: str) -> None:
    [message] = checker().check(2, "13800138000", content, render_error)
    assert (message.status, message.error) == (Status.INVALID, error)


def test_check_1000_characters_is_fine() -> None:
    [message] = checker().check(2, "13800138000", "x" * 1000)
    assert (message.status, message.segments) == (Status.READY, 7)


def test_check_max_segments() -> None:
    limited = checker(max_segments=2)
    [ok] = limited.check(2, "13800138000", "x" * 308)
    [over] = limited.check(3, "13800138000", "x" * 309)
    assert ok.status == Status.READY
    assert (over.status, over.segments) == (Status.INVALID, 3)
    assert over.error == "content needs 3 SMS segments; the limit is 2"


def test_check_reports_phone_and_content_problems_together() -> None:
    [message] = checker().check(2, "abc", "")
    assert message.error == 'phone "abc" contains letters; content is empty'


def test_check_duplicate_names_the_earlier_row() -> None:
    check = checker()
    [first] = check.check(5, "13800138000", "Sale today")
    [again] = check.check(9, "+86 138 0013 8000", "Sale today")
    [other_text] = check.check(10, "13800138000", "Sale tomorrow")
    assert first.status == Status.READY
    assert (again.status, again.error) == (Status.DUPLICATE, "same number and text as row 5")
    assert other_text.status == Status.READY


def test_check_duplicate_inside_one_cell() -> None:
    first, second = checker().check(4, "13800138000, 8613800138000", "Hi")
    assert first.status == Status.READY
    assert (second.status, second.error) == (
        Status.DUPLICATE,
        "same number appears twice in this row's phone cell",
    )


def test_check_allow_duplicates() -> None:
    check = checker(allow_duplicates=True)
    assert check.check(2, "13800138000", "Hi")[0].status == Status.READY
    assert check.check(3, "13800138000", "Hi")[0].status == Status.READY


def test_check_suppressed_numbers() -> None:
    check = checker(suppressed={"8613800138000"})
    [message] = check.check(2, "+86 138 0013 8000", "Hi")
    assert (message.status, message.error) == (
        Status.SUPPRESSED,
        "number is on the suppression list",
    )


def test_check_order_invalid_then_suppressed_then_duplicate() -> None:
    check = checker(suppressed={"8613800138000"})
    [bad_content] = check.check(2, "13800138000", "")
    [suppressed] = check.check(3, "13800138000", "Hi")
    [suppressed_again] = check.check(4, "13800138000", "Hi")
    [fine] = check.check(5, "13900139000", "Hi")
    [duplicate] = check.check(6, "13900139000", "Hi")
    assert [m.status for m in (bad_content, suppressed, suppressed_again, fine, duplicate)] == [
        Status.INVALID,
        Status.SUPPRESSED,
        Status.SUPPRESSED,
        Status.READY,
        Status.DUPLICATE,
    ]


def test_invalid_message_does_not_claim_the_number() -> None:
    check = checker(max_segments=1)
    [over] = check.check(2, "13800138000", "x" * 200)
    [fits] = check.check(3, "13800138000", "x" * 200)
    assert over.status == fits.status == Status.INVALID
    assert fits.error.startswith("content needs")


def test_check_warns_about_lookalikes_that_force_ucs2() -> None:
    text = "Hi “Ann”, your order " + "x" * 120
    [message] = checker().check(2, "13800138000", text)
    assert (message.status, message.encoding, message.segments) == (Status.READY, "UCS-2", 3)
    assert message.warnings == (
        "content uses “ ” (U+201C, U+201D), which force UCS-2 (70 characters per SMS); "
        "replace them with plain characters (or give --gsm-safe) to send 1 segment(s) instead of 3",
    )


def test_check_warns_about_invisible_lookalikes_even_without_saving() -> None:
    [message] = checker().check(2, "13800138000", "Hi\u00a0Ann")
    assert message.warnings == (
        "content uses U+00A0 (no-break space), which force UCS-2 (70 characters per SMS); "
        "replace them with plain characters (or give --gsm-safe) to fit 160 characters per SMS "
        "instead of 70",
    )


def test_check_no_lookalike_warning_when_text_needs_ucs2_anyway() -> None:
    [message] = checker().check(2, "13800138000", "您好 “Ann”")
    assert message.warnings == ()


def test_load_suppression_normalises_and_keeps_rejects() -> None:
    result = load_suppression(
        ["+86 138 0013 8000", "13900139000", "", "  ", "phone", "8.6E+12", "60123456789;123"],
        "CN",
    )
    assert isinstance(result, SuppressionList)
    assert result == {"8613800138000", "8613900139000", "60123456789"}
    assert result.rejected == ["phone", "8.6E+12", "123"]


def test_load_suppression_without_region_needs_country_codes() -> None:
    result = load_suppression(["8613800138000", "13800138000"], None)
    assert result == {"8613800138000"}
    assert result.rejected == ["13800138000"]


def test_estimate_cost() -> None:
    check = checker(suppressed={"8613700137000"})
    messages = [
        *check.check(2, "13800138000, 60123456789", "x" * 200),
        *check.check(3, "13900139000", "Hi"),
        *check.check(4, "13700137000", "Hi"),  # suppressed: not sent, not billed
        *check.check(5, "12015550123", "Hi"),
        *check.check(6, "abc", "Hi"),  # invalid
    ]
    estimate = estimate_cost(messages, {"86": 0.03, "60": 0.05}, None)
    assert [(c.country_code, c.messages, c.segments, c.price) for c in estimate.countries] == [
        ("86", 2, 3, 0.03),
        ("1", 1, 1, None),
        ("60", 1, 2, 0.05),
    ]
    assert estimate.countries[0].cost == pytest.approx(0.09)
    assert estimate.countries[1].cost is None
    assert (estimate.messages, estimate.segments) == (4, 6)
    assert estimate.cost == pytest.approx(0.19)
    assert estimate.unpriced == ("1",)


def test_estimate_cost_default_price() -> None:
    messages = checker().check(2, "13800138000, 12015550123", "Hi")
    estimate = estimate_cost(messages, {"86": 0.03}, 0.1)
    assert estimate.cost == pytest.approx(0.13)
    assert estimate.unpriced == ()


def test_estimate_cost_of_nothing() -> None:
    estimate = estimate_cost([], {}, None)
    assert (estimate.countries, estimate.messages, estimate.segments, estimate.cost) == (
        (),
        0,
        0,
        0,
    )


def test_with_a_short_link_a_text_without_the_placeholder_is_invalid() -> None:
    check = checker(short_link=True).check
    [good] = check(2, "138 0013 8000", "Sale: #1#")
    [bad] = check(3, "138 0013 8001", "Sale today")
    [empty] = check(4, "138 0013 8002", "  ")
    assert good.status is Status.READY
    assert (bad.status, bad.error, bad.reason) == (
        Status.INVALID,
        "text has no #1# placeholder for --short-link",
        "short_link_placeholder",
    )
    assert (empty.error, empty.reason) == ("content is empty", "content_empty")  # one reason
    [plain] = checker().check(5, "138 0013 8003", "Sale today")
    assert plain.status is Status.READY


def test_cost_of_country_and_segment_pairs_matches_the_estimate_of_messages() -> None:
    messages = checker().check(2, "13800138000, 60123456789, 13900139000", "x" * 200)
    pairs = [(m.country_code, m.segments) for m in messages]
    prices = {"86": 0.03}
    assert cost_of(pairs, prices, None) == estimate_cost(messages, prices, None)
    assert cost_of(pairs, prices, None).unpriced == ("60",)
