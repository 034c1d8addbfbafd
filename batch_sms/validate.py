"""Pre-flight rules: phone numbers to E.164 digits, content and sender rules, duplicates, cost.

This is the hot loop of a campaign (one call per row): a number that is already digits, with or
without "+", is read with phonenumbers' own steps minus its generic text handling (see
`_parse_plus_digits`), content verdicts are cached per text, and nothing raises on a good row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    ValidationResult,
    phonenumberutil,
)

from batch_sms.models import Message, Status
from batch_sms.segments import GSM7, UCS2, describe_chars, lookalikes, plain, segment_uncached

__all__ = [
    "MAX_CONTENT",
    "Checker",
    "CostEstimate",
    "CountryCost",
    "SuppressionList",
    "check_sender",
    "estimate_cost",
    "load_suppression",
    "normalise_phone",
    "split_phones",
]

MAX_CONTENT = 1000  # the provider's limit on `content`, in characters, whatever the encoding
MAX_DIGITS = 15  # E.164 allows at most 15 digits, and Excel keeps at most 15 significant ones
_SENDER_MAX = 20

# Punctuation people put in numbers; full-width forms come from Chinese input methods.
_PUNCT = " -.()\t\u00a0\u2009\u202f\u2010\u2011\u2012\u2013\u2014\u3000（）－．"
_CLEAN = str.maketrans(
    {"＋": "+", **{chr(0xFF10 + d): str(d) for d in range(10)}, **dict.fromkeys(_PUNCT)}
)
# What Excel shows for a long number stored as a number: "8.61509E+12" (or "8,6E+12" in Europe).
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+")
_SEPARATORS = re.compile(r"[,;/\n\r，；、]")
_SENDER = re.compile(r"[A-Za-z0-9]+")

_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "is too short",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
    ValidationResult.TOO_LONG: "is too long",
    ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
}
_INVALID = "is not a valid number"
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    NumberParseException.TOO_SHORT_NSN: "is too short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    NumberParseException.TOO_LONG: "is too long",
}


def _e164(number: PhoneNumber) -> str:
    """E.164 digits without "+", keeping Italian-style leading zeros of the national number."""
    if number.italian_leading_zero:
        zeros = number.number_of_leading_zeros
        return (
            f"{number.country_code}{'0' * (1 if zeros is None else zeros)}{number.national_number}"
        )
    return f"{number.country_code}{number.national_number}"


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


def _build(national: str, code: int, metadata: PhoneMetadata) -> PhoneNumber | None:
    """The last steps of parse(): strip a national prefix, check the length, keep leading zeros."""
    if _STRIP_PREFIX is None or _TEST_LENGTH is None:
        return None
    _, stripped, _ = _STRIP_PREFIX(national, metadata)
    if stripped != national and _TEST_LENGTH(stripped, metadata) not in _NO_STRIP:
        national = stripped
    if not 2 <= len(national) <= 17:
        return None
    number = PhoneNumber(country_code=code, national_number=int(national))
    if len(national) > 1 and national[0] == "0":
        number.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        zeros = min(zeros, len(national) - 1)  # an all-zero number keeps its last zero
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


def _parse_plus_digits(digits: str) -> PhoneNumber | None:
    """What phonenumbers.parse("+" + digits) returns for ASCII digits, or None to ask it."""
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


def _parse_national_digits(digits: str, region: _Region) -> PhoneNumber | None:
    """What phonenumbers.parse(digits, region) returns for ASCII digits, or None to ask it."""
    # parse() looks for an international prefix or the region's own calling code first.
    if (
        region.metadata is None
        or digits.startswith(region.code_digits)
        or (region.idd is not None and region.idd.match(digits))
    ):
        return None
    return _build(digits, region.code, region.metadata)


def _international(digits: str) -> PhoneNumber | None:
    """`digits` read as country code + number, if that is a valid number."""
    number = _parse_plus_digits(digits)
    if number is None:
        return _parse(f"+{digits}", None)[0]
    return number if phonenumbers.is_valid_number(number) else None


def _national(digits: str, region: str, info: _Region) -> PhoneNumber | None:
    """`digits` read as a number of `region`, if that is a valid number."""
    number = _parse_national_digits(digits, info)
    if number is None:
        return _parse(digits, region)[0]
    return number if phonenumbers.is_valid_number(number) else None


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
    text = text.translate(_CLEAN)
    body = text[1:] if text.startswith("+") else text
    if body.isascii() and body.isdigit():
        return text, ""
    if any(c.isalpha() for c in body):
        return "", f'phone "{raw}" contains letters'
    return "", f'phone "{raw}" is not a phone number'


def normalise_phone(raw: str, default_region: str | None) -> tuple[str, int | None, str]:
    """`raw` as E.164 digits without "+", its country code, and "" — or ("", None, reason).

    Spaces, dashes, dots and parentheses are dropped. "+" or "00" starts an international number.
    Bare digits are the provider's own format (country code + number, 8613800138000), unless a
    default region is given and they look national: they start with the region's trunk prefix
    ("07…" in GB), or they are a valid national number of the region (CN "13800138000", which
    is also a valid +1 number). Digits that start with the region's own calling code and are
    valid read that way stay international ("86138…" in CN).
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
    if not plus and digits.startswith("00"):
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
        number = _international(digits)
        if number is not None:
            return _e164(number), number.country_code, ""
        if not plus and digits.startswith("0"):
            return "", None, f'phone "{text}" has no country code; add it or give a default region'
        reason = _parse(f"+{digits}", None)[1] or _INVALID
        if not plus:  # maybe a national number: say how to have it read as one
            reason += " (read as country code + number; give a default region for national ones)"
        return "", None, f'phone "{text}" {reason}'
    info = _region(default_region)
    if info.trunk and digits.startswith(info.trunk):
        number = _national(digits, default_region, info)
    elif info.code_digits and digits.startswith(info.code_digits):
        number = _international(digits) or _national(digits, default_region, info)
    else:
        number = _national(digits, default_region, info) or _international(digits)
    if number is None:
        reason = _parse(digits, default_region)[1] or _INVALID
        return "", None, f'phone "{text}" {reason} (read as a {default_region.upper()} number)'
    return _e164(number), number.country_code, ""


def split_phones(cell: str) -> list[str]:
    """The numbers in one phone cell, split on `,` `;` `/` or new lines; empties dropped."""
    if _SEPARATORS.search(cell) is None:
        text = cell.strip()
        return [text] if text else []
    return [part for part in (p.strip() for p in _SEPARATORS.split(cell)) if part]


def check_sender(sender: str) -> str:
    """Empty when `sender` is a usable sender id (1 to 20 ASCII letters or digits), else why not."""
    if not sender:
        return "sender id is empty"
    if len(sender) > _SENDER_MAX:
        return f'sender id "{sender}" has {len(sender)} characters; at most {_SENDER_MAX} allowed'
    if not _SENDER.fullmatch(sender):
        return f'sender id "{sender}" may contain only ASCII letters and digits'
    return ""


# One campaign has one text, a few variants, or a new text per row; 4096 covers the first two
# and bounds the memory held for the third (texts may be 1000 characters).
@lru_cache(maxsize=4096)
def _content_verdict(
    content: str, country_code: int | None, max_segments: int | None
) -> tuple[int, str, str, tuple[str, ...]]:
    """Segments, encoding, the content's error ("" if none) and its warnings, for one recipient."""
    if not content.strip():
        return 0, GSM7, "content is empty", ()
    seg = segment_uncached(content, country_code)
    error = ""
    if len(content) > MAX_CONTENT:
        error = f"content has {len(content)} characters; the provider accepts at most {MAX_CONTENT}"
    elif max_segments is not None and seg.segments > max_segments:
        error = f"content needs {seg.segments} SMS segments; the limit is {max_segments}"
    warnings: tuple[str, ...] = ()
    if seg.encoding == UCS2 and len(lookalikes(seg.ucs2_chars)) == len(seg.ucs2_chars):
        # Every character that forced UCS-2 has a plain twin, so replacing them pays off.
        named = describe_chars(seg.ucs2_chars)
        plain_segments = segment_uncached(plain(content), country_code).segments
        gain = (
            f"send {plain_segments} segment(s) instead of {seg.segments}"
            if plain_segments < seg.segments
            else "fit 160 characters per SMS instead of 70"
        )
        warnings = (
            f"content uses {named}, which force UCS-2 (70 characters per SMS); "
            f"replace them with plain characters to {gain}",
        )
    return seg.segments, seg.encoding, error, warnings


class Checker:
    """Pre-flight verdicts for the messages of one campaign, remembering numbers already seen."""

    def __init__(
        self,
        *,
        default_region: str | None,
        suppressed: set[str],
        allow_duplicates: bool,
        max_segments: int | None = None,
    ) -> None:
        """Set the campaign's rules; `suppressed` holds E.164 digits (see load_suppression)."""
        self.default_region = default_region or None
        self.suppressed = suppressed
        self.allow_duplicates = allow_duplicates
        self.max_segments = max_segments
        # (phone as int << 64 | 64-bit content hash) -> first row: exact on the number, and a
        # content collision needs two texts with one hash sent to one number. ~100 bytes a row.
        self._seen: dict[int, int] = {}

    def check(
        self, row: int, raw_phone_cell: str, content: str | None, render_error: str = ""
    ) -> list[Message]:
        """One Message per number in the phone cell (one INVALID message if there is none)."""
        text = content or ""
        phones = split_phones(raw_phone_cell)
        if not phones:
            segments, encoding, error, warnings = _content_verdict(text, None, self.max_segments)
            reasons = "; ".join(r for r in ("phone is empty", render_error, error) if r)
            return [
                Message(row, 0, raw_phone_cell, "", text, segments, encoding, None,
                        Status.INVALID, reasons, warnings)
            ]  # fmt: skip
        messages = []
        for index, raw in enumerate(phones):
            phone, country, phone_error = normalise_phone(raw, self.default_region)
            segments, encoding, error, warnings = _content_verdict(text, country, self.max_segments)
            status = Status.READY
            if phone_error or render_error or error:
                status = Status.INVALID
                error = "; ".join(r for r in (phone_error, render_error, error) if r)
            elif phone in self.suppressed:
                status, error = Status.SUPPRESSED, "number is on the suppression list"
            elif not self.allow_duplicates:
                key = (int(phone) << 64) | (hash(text) & 0xFFFF_FFFF_FFFF_FFFF)
                first = self._seen.get(key)
                if first is None:
                    self._seen[key] = row
                else:
                    status = Status.DUPLICATE
                    error = (
                        f"same number and text as row {first}"
                        if first != row
                        else "same number appears twice in this row's phone cell"
                    )
            messages.append(
                Message(row, index, raw, phone, text, segments, encoding, country, status,
                        error, warnings)
            )  # fmt: skip
        return messages


class SuppressionList(set[str]):
    """E.164 numbers not to message, plus the entries that could not be read as numbers."""

    def __init__(self, numbers: Iterable[str] = (), rejected: Iterable[str] = ()) -> None:
        """Hold `numbers`; `rejected` keeps the unusable entries so the caller can warn."""
        super().__init__(numbers)
        self.rejected = list(rejected)


def load_suppression(numbers: Iterable[str], default_region: str | None) -> SuppressionList:
    """Normalise opt-out entries; blank ones are skipped, unusable ones kept in `.rejected`."""
    result = SuppressionList()
    for entry in numbers:
        for raw in split_phones(entry):
            phone, _, error = normalise_phone(raw, default_region)
            if error:
                result.rejected.append(raw)
            else:
                result.add(phone)
    return result


@dataclass(frozen=True, slots=True)
class CountryCost:
    """Messages, segments and cost for one country calling code; price/cost None when unpriced."""

    country_code: str
    messages: int
    segments: int
    price: float | None
    cost: float | None


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Per-country costs (most messages first) and totals; `cost` sums only priced countries."""

    countries: tuple[CountryCost, ...]
    messages: int
    segments: int
    cost: float
    unpriced: tuple[str, ...]  # calling codes with no price and no default price


def estimate_cost(
    messages: Iterable[Message], prices: Mapping[str, float], default_price: float | None
) -> CostEstimate:
    """Estimated cost of the READY messages: segments times the price per segment of the country."""
    counts: dict[str, list[int]] = {}
    for message in messages:
        if message.status is Status.READY:
            tally = counts.setdefault(str(message.country_code), [0, 0])
            tally[0] += 1
            tally[1] += message.segments
    countries = []
    for code, (count, segments) in sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0])):
        price = prices.get(code, default_price)
        cost = None if price is None else segments * price
        countries.append(CountryCost(code, count, segments, price, cost))
    return CostEstimate(
        countries=tuple(countries),
        messages=sum(c.messages for c in countries),
        segments=sum(c.segments for c in countries),
        cost=sum(c.cost for c in countries if c.cost is not None),
        unpriced=tuple(c.country_code for c in countries if c.cost is None),
    )
