"""Phone numbers as people write and paste them: cleaning, landlines, junk, short codes."""

from __future__ import annotations

import pytest

from batch_sms.checks.phones import normalise_phone, split_phones
from batch_sms.errors import InputError
from batch_sms.input.columns import PHONE_NAMES, detect_column

NO_SMS = "cannot receive SMS"


@pytest.mark.parametrize(
    ("raw", "region", "phone", "error"),
    [
        pytest.param("\u200b+8613812345678", None, "8613812345678", "", id="zero-width-space"),
        pytest.param("+86 138\u200c1234\u200d5678", None, "8613812345678", "", id="zw-joiners"),
        pytest.param("\ufeff13812345678", "CN", "8613812345678", "", id="bom"),
        pytest.param("\t+8613812345678\t", None, "8613812345678", "", id="tabs"),
        pytest.param("\u200e+8613812345678\u200f", None, "8613812345678", "", id="lrm-rlm"),
        pytest.param("\u2060+8613812345678", None, "8613812345678", "", id="word-joiner"),
        pytest.param("+86\u2212138\u22121234\u22125678", None, "8613812345678", "", id="minus"),
        pytest.param("+44\u20137400\u2013123457", None, "447400123457", "", id="en-dash"),
        pytest.param("+44\u20157400\u2014123457", None, "447400123457", "", id="bar-em-dash"),
        pytest.param("138\ufe631234\uff0d5678", "CN", "8613812345678", "", id="small-fw-minus"),
        pytest.param("+008613812345678", None, "8613812345678", "", id="plus-00"),
        pytest.param("+00 44 7400 123457", "CN", "447400123457", "", id="plus-00-spaces"),
        pytest.param("8613800138000.0", None, "8613800138000", "", id="float-cell"),
        pytest.param("(0)7400 123457", "GB", "447400123457", "", id="gb-trunk-parens"),
        pytest.param("13812345678...", "CN", "", 'ends in "..."', id="trailing-dots"),
        pytest.param("+86 138 1234 5678.", None, "", 'ends in "."', id="trailing-dot"),
        pytest.param("+86 138 1234 5678 -", None, "", 'ends in " -"', id="trailing-dash"),
        pytest.param("010-62345678", "CN", "", f"{NO_SMS} (landline)", id="cn-landline"),
        pytest.param("+44 20 7946 0000", None, "", f"{NO_SMS} (landline)", id="gb-landline"),
        pytest.param("0800 890 567", "GB", "", f"{NO_SMS} (toll-free number)", id="gb-free"),
        pytest.param("+1 800 234 5678", None, "", f"{NO_SMS} (toll-free number)", id="us-free"),
        pytest.param("+44 909 879 0000", None, "", f"{NO_SMS} (premium-rate number)",
                     id="premium"),
        pytest.param("+44 300 123 4567", None, "", f"{NO_SMS} (UAN company number)", id="uan"),
        pytest.param("10086", "CN", "", "is a short code", id="cn-short-code"),
        pytest.param("60123", None, "", "is a short code", id="short-code-no-region"),
        pytest.param("+44 7400 123457", None, "447400123457", "", id="gb-mobile"),
        pytest.param("+1 201 555 0123", None, "12015550123", "", id="fixed-line-or-mobile"),
        pytest.param("+44 56 1234 5678", None, "445612345678", "", id="voip"),
        pytest.param("+44 70 1234 5678", None, "447012345678", "", id="personal-number"),
    ],
)  # fmt: skip
def test_normalise_phone_for_sms(raw: str, region: str | None, phone: str, error: str) -> None:
    got, _, reason = normalise_phone(raw, region, sms=True)
    assert got == phone
    assert error in reason if error else reason == ""


@pytest.mark.parametrize(
    ("raw", "region"),
    [("010-62345678", "CN"), ("+1 800 234 5678", None), ("+44 300 123 4567", None)],
)
def test_allow_landlines_accepts_landline_like_numbers(raw: str, region: str | None) -> None:
    assert normalise_phone(raw, region, sms=True, allow_landlines=True)[2] == ""


def test_premium_numbers_never_take_an_sms_but_may_be_opted_out() -> None:
    premium = "+44 909 879 0000"
    assert NO_SMS in normalise_phone(premium, None, sms=True, allow_landlines=True)[2]
    assert normalise_phone(premium, None) == ("449098790000", 44, "")  # an opt-out list reads it


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


def test_european_scientific_notation_is_one_number() -> None:
    assert split_phones("8,61391E+12") == ["8,61391E+12"]
    assert "scientific notation by Excel" in normalise_phone("8,61391E+12", None)[2]
    assert split_phones("8613812345601, 8613812345602") == ["8613812345601", "8613812345602"]
