"""numbertype.number_type gives phonenumbers.number_type's answer for numbers of every region."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberType

from batch_sms.checks.numbertype import number_type


def _examples() -> list[PhoneNumber]:
    """phonenumbers' example number of each type of each region and non-geographical code."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(PhoneNumberType.VOICEMAIL + 1):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(number)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.append(number)
    return found


def _variants(examples: list[PhoneNumber], rng: random.Random) -> list[PhoneNumber]:
    """Numbers near the examples: last digits changed, a digit more or less, leading zeros."""
    out = []
    for example in examples:
        nsn = phonenumbers.national_significant_number(example)
        for _ in range(12):
            keep = rng.randrange(1, len(nsn) + 1)
            tail = "".join(rng.choices("0123456789", k=len(nsn) - keep + rng.choice((-1, 0, 0, 1))))
            digits = (nsn[:keep] + tail) or "0"
            number = PhoneNumber(country_code=example.country_code, national_number=int(digits))
            if digits[0] == "0" and len(digits) > 1:
                number.italian_leading_zero = True
                zeros = min(len(digits) - len(digits.lstrip("0")), len(digits) - 1)
                if zeros != 1:
                    number.number_of_leading_zeros = zeros
            out.append(number)
    return out


def test_same_type_as_phonenumbers_for_every_region() -> None:
    examples = _examples()
    numbers = examples + _variants(examples, random.Random(13))
    differ = [
        (phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164), n.country_code)
        for n in numbers
        if number_type(n) != phonenumbers.number_type(n)
    ]
    assert differ == []
    # The comparison covers valid numbers of every type (FIXED_LINE 0 .. VOICEMAIL 10), and
    # invalid ones (UNKNOWN 99).
    kinds = {phonenumbers.number_type(n) for n in numbers}
    assert kinds == {*range(PhoneNumberType.VOICEMAIL + 1), PhoneNumberType.UNKNOWN}


@pytest.mark.parametrize(
    ("country_code", "national"),
    [
        (1, 2125550123),  # +1: several regions, told by valid patterns
        (1, 4165550123),  # Canada under +1
        (44, 7624123456),  # Isle of Man under +44, told by leading digits
        (7, 7012345678),  # Kazakhstan under +7
        (800, 12345678),  # a non-geographical code
        (999, 12345678),  # no such calling code
        (86, 1),  # too short for any pattern
    ],
)
def test_shared_and_odd_calling_codes(country_code: int, national: int) -> None:
    number = PhoneNumber(country_code=country_code, national_number=national)
    assert number_type(number) == phonenumbers.number_type(number)
    assert (number_type(number) != PhoneNumberType.UNKNOWN) == phonenumbers.is_valid_number(number)
