"""Phone numbers as people write and paste them: normalising, splitting a cell, landlines, junk."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_sms.checks.phones import (
    _pair,
    _parse_national_digits,
    _parse_plus_digits,
    _region,
    normalise_phone,
    split_phones,
)

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


def test_european_scientific_notation_is_one_number() -> None:
    assert split_phones("8,61391E+12") == ["8,61391E+12"]
    assert "scientific notation by Excel" in normalise_phone("8,61391E+12", None)[2]
    assert split_phones("8613812345601, 8613812345602") == ["8613812345601", "8613812345602"]


AS_INTERNATIONAL = "(read as country code + number; give a default region for national ones)"


EXCEL_SCIENTIFIC = (
    "was turned into scientific notation by Excel; the digits are lost. "
    "Store the column as text and export again"
)


@pytest.mark.parametrize(
    ("raw", "region", "phone", "country"),
    [
        pytest.param("8613800138000", None, "8613800138000", 86, id="cn-provider-format"),
        pytest.param("8613800138000", "CN", "8613800138000", 86, id="cn-with-86-and-region"),
        pytest.param("13800138000", "CN", "8613800138000", 86, id="cn-national"),
        pytest.param("+8613800138000", None, "8613800138000", 86, id="cn-plus"),
        pytest.param("008613800138000", None, "8613800138000", 86, id="cn-00"),
        pytest.param("0086 138 0013 8000", "CN", "8613800138000", 86, id="cn-00-spaces"),
        pytest.param("+86 138-0013-8000", None, "8613800138000", 86, id="cn-dashes"),
        pytest.param("+86 (138) 0013.8000", None, "8613800138000", 86, id="cn-parens-dots"),
        pytest.param("  13800138000 ", "CN", "8613800138000", 86, id="cn-padded"),
        pytest.param("１３８００１３８０００", "CN", "8613800138000", 86, id="cn-full-width"),
        pytest.param("8613800138000.0", None, "8613800138000", 86, id="float-tail-kept"),
        pytest.param("12015550123", None, "12015550123", 1, id="us-with-1"),
        pytest.param("+1 (201) 555-0123", None, "12015550123", 1, id="us-formatted"),
        pytest.param("2015550123", "US", "12015550123", 1, id="us-national"),
        pytest.param("1 201 555 0123", "US", "12015550123", 1, id="us-trunk-1"),
        pytest.param("12015550123", "CN", "12015550123", 1, id="us-with-1-region-cn"),
        pytest.param("60123456789", "CN", "60123456789", 60, id="my-with-60-region-cn"),
        pytest.param("07911 123456", "GB", "447911123456", 44, id="gb-national-07"),
        pytest.param("447911123456", "GB", "447911123456", 44, id="gb-with-44"),
        pytest.param("+44 (0)7911 123456", None, "447911123456", 44, id="gb-plus-0"),
        pytest.param("60123456789", None, "60123456789", 60, id="my"),
        pytest.param("012-345 6789", "MY", "60123456789", 60, id="my-national"),
        pytest.param("+39 06 1234 5678", None, "390612345678", 39, id="it-leading-zero"),
        pytest.param("06 1234 5678", "IT", "390612345678", 39, id="it-national"),
        pytest.param("+61 412 345 678", None, "61412345678", 61, id="au"),
    ],
)
def test_normalise_phone_accepts(raw: str, region: str | None, phone: str, country: int) -> None:
    assert normalise_phone(raw, region) == (phone, country, "")


@pytest.mark.parametrize(
    ("raw", "region", "error"),
    [
        pytest.param("", "CN", "phone is empty", id="empty"),
        pytest.param("   ", None, "phone is empty", id="blank"),
        pytest.param("123", None, f'phone "123" is too short {AS_INTERNATIONAL}', id="too-short"),
        pytest.param("123", "GB", 'phone "123" is too short (read as a GB number)', id="short-gb"),
        pytest.param(
            "1380013800", "CN", 'phone "1380013800" is not a valid number (read as a CN number)'
        ),
        pytest.param("abc", "CN", 'phone "abc" contains letters', id="letters"),
        pytest.param("138-CALL-NOW", "CN", 'phone "138-CALL-NOW" contains letters', id="vanity"),
        pytest.param("#12*3", None, 'phone "#12*3" is not a phone number', id="symbols"),
        pytest.param("8.61509E+12", "CN", f'phone "8.61509E+12" {EXCEL_SCIENTIFIC}', id="excel"),
        pytest.param("8,6E+12", None, f'phone "8,6E+12" {EXCEL_SCIENTIFIC}', id="excel-eu"),
        pytest.param("8.61509e12", None, f'phone "8.61509e12" {EXCEL_SCIENTIFIC}', id="excel-lc"),
        pytest.param(
            "8613800138000123",
            None,
            'phone "8613800138000123" has 16 digits; phone numbers have at most 15 '
            "(Excel also keeps only 15 digits of a number: store the column as text)",
            id="16-digits",
        ),
        pytest.param(
            "13800138000",
            None,
            'phone "13800138000" is not a valid number '
            "(read as country code + number; give a default region for national ones)",
            id="cn-national-without-region",
        ),
        pytest.param(
            "07911123456",
            None,
            'phone "07911123456" has no country code; add it or give a default region',
            id="national-0-without-region",
        ),
        pytest.param("+999 1234567", None, 'phone "+999 1234567" has an unknown country code'),
        pytest.param(
            "+86 138 0013 800",
            None,
            'phone "+86 138 0013 800" is not a valid number',
            id="cn-one-digit-short",
        ),
        pytest.param("+", None, 'phone "+" is not a phone number', id="plus-only"),
    ],
)
def test_normalise_phone_rejects(raw: str, region: str | None, error: str) -> None:
    assert normalise_phone(raw, region) == ("", None, error)


E164 = phonenumbers.PhoneNumberFormat.E164


# (region, "+E.164") of phonenumbers' own example mobile and fixed-line numbers, all regions.
EXAMPLES = sorted(
    {
        (region, phonenumbers.format_number(number, E164))
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)


@given(st.sampled_from(EXAMPLES))
def test_normalise_phone_is_idempotent_on_its_output(example: tuple[str, str]) -> None:
    region, e164 = example
    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    expected = (e164[1:], number.country_code, "")
    assert normalise_phone(national, region) == expected
    assert normalise_phone(e164, None) == expected
    assert normalise_phone(e164, region) == expected
    assert normalise_phone(f"00{e164[1:]}", None) == expected


@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_plus_digits_shortcut_matches_phonenumbers_parse(digits: str) -> None:
    fast = _parse_plus_digits(digits)
    if fast is not None:
        assert fast == _pair(phonenumbers.parse(f"+{digits}", None))


@given(st.sampled_from(EXAMPLES), st.integers(0, 3), st.sampled_from(["", "0", "00", "1", "8"]))
def test_plus_digits_shortcut_matches_on_near_valid_numbers(
    example: tuple[str, str], cut: int, insert: str
) -> None:
    number = phonenumbers.parse(example[1])
    national = phonenumbers.national_significant_number(number)
    digits = f"{number.country_code}{insert}{national[cut:]}"
    fast = _parse_plus_digits(digits)
    if fast is not None:
        assert fast == _pair(phonenumbers.parse(f"+{digits}", None))


@given(
    st.sampled_from(EXAMPLES),
    st.sampled_from(["CN", "US", "GB", "MY", "IT", "DE", "RU", "BR", "IN", "AR", "MX"]),
    st.sampled_from(["", "0", "1", "8", "00"]),
)
def test_national_shortcut_matches_phonenumbers_parse(
    example: tuple[str, str], region: str, prefix: str
) -> None:
    number = phonenumbers.parse(example[1])
    digits = prefix + phonenumbers.national_significant_number(number)
    for reading in (example[0], region):
        fast = _parse_national_digits(digits, _region(reading))
        if fast is not None:
            assert fast == _pair(phonenumbers.parse(digits, reading))


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=17),
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
)
def test_national_shortcut_matches_on_any_digits(digits: str, region: str) -> None:
    fast = _parse_national_digits(digits, _region(region))
    if fast is not None:
        assert fast == _pair(phonenumbers.parse(digits, region))


def test_plus_digits_shortcut_takes_the_common_case() -> None:
    assert _parse_plus_digits("8613800138000") == _pair(phonenumbers.parse("+8613800138000"))
    assert _parse_plus_digits("390612345678") == _pair(phonenumbers.parse("+390612345678"))
    assert _parse_plus_digits("390612345678") == (39, "0612345678")  # the zero is kept
    assert _parse_national_digits("07911123456", _region("GB")) == _pair(
        phonenumbers.parse("07911123456", "GB")
    )


@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        ("8613800138000", ["8613800138000"]),
        ("  +86 138 0013 8000  ", ["+86 138 0013 8000"]),
        ("", []),
        ("  \n ", []),
        ("8613800138000,8613900139000", ["8613800138000", "8613900139000"]),
        ("8613800138000; 8613900139000 ;", ["8613800138000", "8613900139000"]),
        ("8613800138000 / 8613900139000", ["8613800138000", "8613900139000"]),
        ("8613800138000\r\n8613900139000\n\n", ["8613800138000", "8613900139000"]),
        ("13800138000，13900139000、13700137000", ["13800138000", "13900139000", "13700137000"]),
    ],
)
def test_split_phones(cell: str, phones: list[str]) -> None:
    assert split_phones(cell) == phones
