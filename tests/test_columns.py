"""Finding the phone and text columns by their many spellings, or by the option naming one."""

from __future__ import annotations

import pytest
from helpers import preflight_of

from batch_sms.errors import InputError
from batch_sms.input.columns import CONTENT_NAMES, PHONE_NAMES, detect_column
from batch_sms.models import Status


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        pytest.param(("Name", "Phone", "Mobile"), 2, id="mobile-beats-phone"),
        pytest.param(("Telephone", "Cell Phone"), 1, id="cell-beats-telephone"),
        pytest.param(("电话", "手机号"), 1, id="chinese-mobile-beats-phone"),
        pytest.param(("id", "PHONENUMBER"), 1, id="upper-run-together"),
        pytest.param(("Mobile_No",), 0, id="underscore"),
        pytest.param(("MobileNumber",), 0, id="camel-case"),
        pytest.param(("Mobile No.",), 0, id="abbreviation-dot"),
    ],
)
def test_phone_column_spellings(columns: tuple[str, ...], expected: int) -> None:
    assert detect_column(columns, None, PHONE_NAMES, "phone") == expected


def test_two_spellings_of_one_name_are_ambiguous() -> None:
    with pytest.raises(InputError, match="several phone columns"):
        detect_column(("phone number", "phonenumber"), None, PHONE_NAMES, "phone")


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        pytest.param(("name", "phone", "content"), 1, id="phone"),
        pytest.param(("Name", " Mobile Number "), 1, id="case-and-spaces"),
        pytest.param(("name", "Phone_Number"), 1, id="underscore"),
        pytest.param(("MSISDN", "text"), 0, id="msisdn"),
        pytest.param(("姓名", "手机号码", "内容"), 1, id="chinese"),
        pytest.param(("姓名", "電話"), 1, id="traditional-chinese"),
        pytest.param(("order number", "number", "tel"), 2, id="tel-beats-vague-number"),
        pytest.param(("number", "mobile"), 1, id="mobile-beats-number"),
        pytest.param(("id", "Number"), 1, id="number-last-resort"),
        pytest.param(("telephone", "phone"), 1, id="priority-not-position"),
    ],
)
def test_detect_phone_column(columns: tuple[str, ...], expected: int) -> None:
    assert detect_column(columns, None, PHONE_NAMES, "phone") == expected


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        pytest.param(("phone", "content"), 1, id="content"),
        pytest.param(("phone", "Message"), 1, id="message"),
        pytest.param(("phone", "SMS Text", "text"), 1, id="specific-first"),
        pytest.param(("手机", "短信内容"), 1, id="chinese"),
        pytest.param(("手机", "备注", "内容"), 2, id="chinese-content"),
    ],
)
def test_detect_content_column(columns: tuple[str, ...], expected: int) -> None:
    assert detect_column(columns, None, CONTENT_NAMES, "content") == expected


def test_explicit_column_wins() -> None:
    assert detect_column(("phone", "Backup Phone"), " backup phone", PHONE_NAMES, "phone") == 1


def test_explicit_column_unknown_names_the_option() -> None:
    with pytest.raises(InputError) as info:
        detect_column(("phone", "name"), "mobile", PHONE_NAMES, "phone")
    assert info.value.message == '--phone-column: column "mobile" not found; columns: phone, name'
    assert "--phone-column" in info.value.hint


def test_no_column_found_lists_columns_and_option() -> None:
    with pytest.raises(InputError) as info:
        detect_column(("name", "city"), None, PHONE_NAMES, "phone")
    assert info.value.message == "no phone column found; columns: name, city"
    assert info.value.hint == "name the column with --phone-column NAME"
    with pytest.raises(InputError) as info:
        detect_column(("name", "city"), None, CONTENT_NAMES, "content")
    assert info.value.hint == "name the column with --content-column NAME or --template"


def test_duplicate_candidates_are_an_error() -> None:
    with pytest.raises(
        InputError, match=r'several phone columns: "phone" \(column 1\) and "Phone"'
    ):
        detect_column(("phone", "Phone", "name"), None, PHONE_NAMES, "phone")


def test_a_mobile_column_beats_a_phone_column() -> None:
    preflight = preflight_of("mobile_and_phone.csv", default_region="CN")
    assert preflight.phone_column == "Mobile"
    assert [m.phone for m in preflight.messages] == ["8613812345621", "8613812345622"]
    landlines = preflight_of("mobile_and_phone.csv", default_region="CN", phone_column="Phone")
    assert [m.status for m in landlines.messages] == [Status.INVALID] * 2


def test_two_spellings_of_one_phone_column_are_ambiguous() -> None:
    with pytest.raises(InputError, match=r'several phone columns: "phone number" .* "phonenumber"'):
        preflight_of("phone_number_twice.csv")


def test_header_spellings_are_recognised() -> None:
    assert preflight_of("header_spellings.csv").phone_column == "MobileNumber"
