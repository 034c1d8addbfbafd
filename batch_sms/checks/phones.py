"""Phone cells to E.164 digits: splitting a cell, normalising a number, whether it takes SMS."""

# The hot part of pre-flight (one call per recipient): a number that is already digits, with or
# without "+", is read with phonenumbers' own steps minus its generic text handling (see
# `_parse_plus_digits`), and nothing raises on a good number.

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberType,
    ValidationResult,
    national_significant_number,
    phonenumberutil,
)

from batch_sms.checks.numbertype import national_type

__all__ = ["MAX_DIGITS", "normalise_phone", "split_phones"]

# Service short codes ("10086", "95588", US and GB ones) have 5 or 6 digits; fewer is a typo.
_SHORT_CODES = range(5, 7)
MAX_DIGITS = 15  # E.164 allows at most 15 digits, and Excel keeps at most 15 significant ones

# Punctuation people put in numbers; full-width forms come from Chinese input methods. Dashes
# and minus signs of every kind, and the invisible characters a copy from a web page or a chat
# brings along (zero-width space/joiners, word joiner, BOM, direction marks), are dropped too.
_INVISIBLE = "\t\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_PUNCT = " .()\u00a0\u2009\u202f\u3000（）．" + _INVISIBLE + _DASHES
# A number ends in a digit (or a closing parenthesis); anything else after it is junk that was
# pasted along ("13800138000..."), not punctuation to drop.
_ENDS = frozenset("0123456789)）" + "".join(chr(0xFF10 + d) for d in range(10)))
_CLEAN = str.maketrans(
    {"＋": "+", **{chr(0xFF10 + d): str(d) for d in range(10)}, **dict.fromkeys(_PUNCT)}
)
# What Excel shows for a long number stored as a number: "8.61509E+12" (or "8,6E+12" in Europe).
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+")
_SEPARATORS = re.compile(r"[,;/\n\r，；、]")

_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "is too short",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
    ValidationResult.TOO_LONG: "is too long",
    ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
}
_INVALID = "is not a valid number"
# Kinds of valid number that cannot receive SMS. The first four are business lines some
# providers can text (`allow_landlines` accepts them); the others never take an SMS. Mobile,
# "fixed line or mobile", VoIP and personal (forwarding) numbers are sendable.
_LANDLINE_KINDS = {
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.TOLL_FREE: "toll-free number",
    PhoneNumberType.SHARED_COST: "shared-cost number",
    PhoneNumberType.UAN: "UAN company number",
}
_NO_SMS_KINDS = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.VOICEMAIL: "voicemail access number",
}
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    NumberParseException.TOO_SHORT_NSN: "is too short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    NumberParseException.TOO_LONG: "is too long",
}


def _parse(text: str, region: str | None) -> tuple[PhoneNumber | None, str]:
    """The number if phonenumbers calls it valid, else None and why (a phrase after the value)."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return None, _PARSE_REASONS.get(exc.error_type, "is not a phone number")
    if phonenumbers.is_valid_number(number):
        return number, ""
    reason = phonenumbers.is_possible_number_with_reason(number)
    return None, _POSSIBLE_REASONS.get(reason, _INVALID)


# phonenumbers.parse spends most of its time on what a spreadsheet number never has (letters,
# extensions, RFC 3966 URIs). For plain digits we take only its steps that apply: the calling
# code, the national-prefix strip and the leading zeros. Its private helpers are used so the
# strip stays exact; if a release renames them, every number goes through parse() as before.
_STRIP_PREFIX = getattr(phonenumberutil, "_maybe_strip_national_prefix_carrier_code", None)
_TEST_LENGTH = getattr(phonenumberutil, "_test_number_length", None)
_NO_STRIP = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)
_CALLING_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
_METADATA: dict[int, PhoneMetadata | None] = {}
# A number as (calling code, national significant number with its leading zeros): its E.164
# digits are the two written together. _Found adds its PhoneNumberType.
_Number = tuple[int, str]
_Found = tuple[int, str, int]


@dataclass(frozen=True, slots=True)
class _Region:
    """What reading a national number needs to know about the default region."""

    metadata: PhoneMetadata | None
    code: int
    code_digits: str
    trunk: str  # national (trunk) prefix: "0" in CN and GB, "1" in the US
    idd: re.Pattern[str] | None  # international call prefix, "00" in CN


@lru_cache(maxsize=512)
def _region(region: str) -> _Region:
    """The default region's metadata, calling code, trunk prefix and international prefix."""
    metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None:
        return _Region(None, 0, "", "", None)
    idd = metadata.international_prefix
    return _Region(
        metadata,
        metadata.country_code or 0,
        str(metadata.country_code),
        metadata.national_prefix or "",
        re.compile(idd) if idd else None,
    )


def _build(national: str, code: int, metadata: PhoneMetadata) -> _Number | None:
    """The last steps of parse(): strip a national prefix, check the length. The digits left,
    leading zeros included, are the national significant number parse()'s PhoneNumber has."""
    if _STRIP_PREFIX is None or _TEST_LENGTH is None:
        return None
    _, stripped, _ = _STRIP_PREFIX(national, metadata)
    if stripped != national and _TEST_LENGTH(stripped, metadata) not in _NO_STRIP:
        national = stripped
    if not 2 <= len(national) <= 17:
        return None
    return code, national


def _parse_plus_digits(digits: str) -> _Number | None:
    """What phonenumbers.parse("+" + digits) reads in ASCII digits, or None to ask it."""
    if len(digits) <= 2:
        return None
    code = (
        _CALLING_CODES.get(digits[:1]) or _CALLING_CODES.get(digits[:2])
        or _CALLING_CODES.get(digits[:3])
    )  # fmt: skip
    if code is None:
        return None
    if code in _METADATA:
        metadata = _METADATA[code]
    else:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = _METADATA[code] = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None:
        return None
    return _build(digits[len(str(code)) :], code, metadata)


def _parse_national_digits(digits: str, region: _Region) -> _Number | None:
    """What phonenumbers.parse(digits, region) reads in ASCII digits, or None to ask it."""
    # parse() looks for an international prefix or the region's own calling code first.
    if (
        region.metadata is None
        or digits.startswith(region.code_digits)
        or (region.idd is not None and region.idd.match(digits))
    ):
        return None
    return _build(digits, region.code, region.metadata)


def _pair(number: PhoneNumber | None) -> _Number | None:
    """A parsed number as (calling code, national significant number)."""
    if number is None or number.country_code is None:
        return None
    return number.country_code, national_significant_number(number)


def _typed(found: _Number | None) -> _Found | None:
    """The number with its PhoneNumberType, if phonenumbers calls it valid."""
    # is_valid_number is "number_type(...) != UNKNOWN": one look gives both answers, and
    # numbertype gives number_type's answer from patterns compiled once.
    if found is None:
        return None
    kind = national_type(*found)
    return None if kind == PhoneNumberType.UNKNOWN else (*found, kind)


def _international(digits: str) -> _Found | None:
    """`digits` read as country code + number, with its kind, if that is a valid number."""
    return _typed(_parse_plus_digits(digits) or _pair(_parse(f"+{digits}", None)[0]))


def _national(digits: str, region: str, info: _Region) -> _Found | None:
    """`digits` read as a number of `region`, with its kind, if that is a valid number."""
    return _typed(_parse_national_digits(digits, info) or _pair(_parse(digits, region)[0]))


def _clean(raw: str) -> tuple[str, str]:
    """Digits of an unusual-looking phone (leading "+"/"00" kept as "+"), or "" and why."""
    if _SCIENTIFIC.fullmatch(raw):
        return "", (
            f'phone "{raw}" was turned into scientific notation by Excel; the digits are lost. '
            "Store the column as text and export again"
        )
    text = raw
    # A number column read as floats comes back as "8613800138000.0": the digits are all there.
    if text.endswith(".0") and text[:-2].lstrip("+").isdigit():
        text = text[:-2]
    core = text.rstrip(" \u00a0\u3000" + _INVISIBLE)
    end = len(core)
    while end and core[end - 1] not in _ENDS:
        end -= 1
    junk = core[end:]
    if junk and not any(c.isalpha() for c in junk) and any(c.isdigit() for c in core[:end]):
        return "", f'phone "{raw}" ends in "{junk}", which is no part of a number; remove it'
    text = text.translate(_CLEAN)
    body = text[1:] if text.startswith("+") else text
    if body.isascii() and body.isdigit():
        return text, ""
    if any(c.isalpha() for c in body):
        return "", f'phone "{raw}" contains letters'
    return "", f'phone "{raw}" is not a phone number'


def normalise_phone(
    raw: str, default_region: str | None, *, sms: bool = False, allow_landlines: bool = False
) -> tuple[str, int | None, str]:
    """`raw` as E.164 digits without "+", its country code, and "" — or ("", None, reason).

    Spaces, dashes, dots and parentheses are dropped. "+" or "00" starts an international number.
    Bare digits are the provider's own format (country code + number, 8613800138000), unless a
    default region is given and they look national: they start with the region's trunk prefix
    ("07…" in GB), or they are a valid national number of the region (CN "13800138000", which
    is also a valid +1 number). Digits that start with the region's own calling code and are
    valid read that way stay international ("86138…" in CN).

    With `sms`, a valid number that cannot receive SMS is refused: premium-rate, pager and
    voicemail numbers always (`_NO_SMS_KINDS`), landline-like ones (`_LANDLINE_KINDS`) unless
    `allow_landlines`. Without it (an opt-out list), any valid number is read.
    """
    text = raw.strip()
    if text.isascii() and text.isdigit():
        digits, plus = text, False
    elif text[:1] == "+" and text[1:].isascii() and text[1:].isdigit():
        digits, plus = text[1:], True
    elif not text:
        return "", None, "phone is empty"
    else:
        cleaned, error = _clean(text)
        if error:
            return "", None, error
        plus = cleaned.startswith("+")
        digits = cleaned[1:] if plus else cleaned
    if digits.startswith("00"):  # "0086…", and "+0086…" where both prefixes were written
        digits, plus = digits[2:], True
    if len(digits) > MAX_DIGITS:
        return (
            "",
            None,
            (
                f'phone "{text}" has {len(digits)} digits; phone numbers have at most {MAX_DIGITS} '
                f"(Excel also keeps only {MAX_DIGITS} digits of a number: store the column as text)"
            ),
        )
    if plus or not default_region:
        found = _international(digits)
        if found is not None:
            return _verdict(text, *found, sms, allow_landlines)
        if not plus and digits.startswith("0"):
            return "", None, f'phone "{text}" has no country code; add it or give a default region'
        reason = _parse(f"+{digits}", None)[1] or _INVALID
        if not plus and len(digits) in _SHORT_CODES:
            return "", None, f'phone "{text}" is a short code; short codes cannot receive SMS'
        if not plus:  # maybe a national number: say how to have it read as one
            reason += " (read as country code + number; give a default region for national ones)"
        return "", None, f'phone "{text}" {reason}'
    info = _region(default_region)
    if info.trunk and digits.startswith(info.trunk):
        found = _national(digits, default_region, info)
    elif info.code_digits and digits.startswith(info.code_digits):
        found = _international(digits) or _national(digits, default_region, info)
    else:
        found = _national(digits, default_region, info) or _international(digits)
    if found is None:
        reason = _parse(digits, default_region)[1] or _INVALID
        if len(digits) in _SHORT_CODES:
            reason = "is a short code; short codes cannot receive SMS"
        return "", None, f'phone "{text}" {reason} (read as a {default_region.upper()} number)'
    return _verdict(text, *found, sms, allow_landlines)


def _verdict(
    text: str, code: int, national: str, kind: int, sms: bool, allow_landlines: bool
) -> tuple[str, int | None, str]:
    """A valid number's result: its digits and country, or why it cannot receive SMS."""
    if not sms:
        return f"{code}{national}", code, ""
    if kind in _NO_SMS_KINDS:
        return "", None, f'phone "{text}" cannot receive SMS ({_NO_SMS_KINDS[kind]})'
    if kind in _LANDLINE_KINDS and not allow_landlines:
        return (
            "",
            None,
            (
                f'phone "{text}" cannot receive SMS ({_LANDLINE_KINDS[kind]}); '
                "give --allow-landlines if your provider texts such numbers"
            ),
        )
    return f"{code}{national}", code, ""


def split_phones(cell: str) -> list[str]:
    """The numbers in one phone cell, split on `,` `;` `/` or new lines; empties dropped.

    A cell that is one number in scientific notation with a decimal comma stays whole."""
    if _SEPARATORS.search(cell) is None:
        text = cell.strip()
        return [text] if text else []
    if _SCIENTIFIC.fullmatch(cell.strip()):  # "8,61391E+12": one number, with a decimal comma
        return [cell.strip()]
    return [part for part in (p.strip() for p in _SEPARATORS.split(cell)) if part]
