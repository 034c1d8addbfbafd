"""A phone number's type, as phonenumbers.number_type gives it, from patterns compiled once."""

# phonenumbers.number_type walks up to eleven number descriptions per number, and for each one
# looks its pattern up in re's cache (re.compile) behind three layers of calls: on a list of
# mostly mobile numbers that is most of pre-flight's phone time. Here each calling code's
# descriptions are compiled once into (type, lengths, fullmatch) triples, checked in the same
# order with the same rules (see phonenumberutil._number_type_helper), so the answer is the same:
# tests/test_numbertype.py compares the two over the numbers of every region.

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberType,
    national_significant_number,
)
from phonenumbers.phonemetadata import PhoneNumberDesc

__all__ = ["national_type", "number_type"]

_FullMatch = Callable[[str], re.Match[str] | None]
# A number description that can match: its possible lengths (empty: any) and its pattern.
_Desc = tuple[frozenset[int], _FullMatch]
_UNKNOWN = PhoneNumberType.UNKNOWN
_NON_GEO = "001"  # the region code of non-geographical calling codes (+800, +882, ...)
# The special types, in the order number_type tries them before fixed line and mobile.
_SPECIAL = (
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
)


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    """A description as (lengths, fullmatch), or None when it can match no number."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern).fullmatch


def _hit(desc: _Desc | None, nsn: str, size: int) -> bool:
    """Whether the national significant number `nsn` (of `size` digits) fits `desc`."""
    if desc is None:
        return False
    lengths, fullmatch = desc
    return (not lengths or size in lengths) and fullmatch(nsn) is not None


@dataclass(frozen=True, slots=True)
class _Kinds:
    """One region's descriptions, compiled: what telling a number's type needs."""

    general: _Desc | None
    special: tuple[tuple[int, frozenset[int], _FullMatch], ...]  # only those that can match
    fixed: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed: bool

    @classmethod
    def of(cls, metadata: PhoneMetadata) -> _Kinds:
        """Compile the descriptions of `metadata`."""
        special = []
        for kind, name in _SPECIAL:
            desc = _desc(getattr(metadata, name))
            if desc is not None:
                special.append((kind, *desc))
        return cls(
            _desc(metadata.general_desc),
            tuple(special),
            _desc(metadata.fixed_line),
            _desc(metadata.mobile),
            bool(metadata.same_mobile_and_fixed_line_pattern),
        )

    def type_of(self, nsn: str) -> int:
        """The PhoneNumberType of `nsn` in this region (UNKNOWN: not a valid number here)."""
        size = len(nsn)
        if not _hit(self.general, nsn, size):
            return _UNKNOWN
        for kind, lengths, fullmatch in self.special:
            if (not lengths or size in lengths) and fullmatch(nsn) is not None:
                return kind
        if _hit(self.fixed, nsn, size):
            if self.same_mobile_and_fixed or _hit(self.mobile, nsn, size):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed and _hit(self.mobile, nsn, size):
            return PhoneNumberType.MOBILE
        return _UNKNOWN


# Per calling code: its regions in phonenumbers' order, each with the pattern its numbers start
# with (None: the region is told by a valid number instead) and its compiled descriptions.
_Regions = tuple[tuple[_FullMatch | None, _Kinds], ...]
_BY_CODE: dict[int, _Regions] = {}


def _regions(code: int) -> _Regions:
    """The compiled regions of calling code `code` (none for an unknown code)."""
    found = _BY_CODE.get(code)
    if found is not None:
        return found
    regions = []
    names = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    for name in names:
        if name == _NON_GEO:
            metadata = PhoneMetadata.metadata_for_nongeo_region(code, None)
        else:
            metadata = PhoneMetadata.metadata_for_region(name.upper(), None)
        if metadata is None:
            continue
        leading = metadata.leading_digits
        match = re.compile(leading).match if leading is not None and len(names) > 1 else None
        regions.append((match, _Kinds.of(metadata)))
    _BY_CODE[code] = result = tuple(regions)
    return result


def number_type(number: PhoneNumber) -> int:
    """phonenumbers.number_type(number): UNKNOWN exactly when phonenumbers calls it invalid."""
    code = number.country_code
    if code is None:
        return _UNKNOWN
    return national_type(code, national_significant_number(number))


def national_type(code: int, nsn: str) -> int:
    """number_type of the number with calling code `code` and national significant number `nsn`
    (its digits after the calling code, leading zeros included)."""
    # Several regions may share the code (+1, +44, +7): the first whose leading digits fit, or
    # else whose descriptions call the number valid, is its region (region_code_for_number).
    for leading, kinds in _regions(code):
        if leading is not None:
            if leading(nsn) is not None:
                return kinds.type_of(nsn)
        else:
            kind = kinds.type_of(nsn)
            if kind != _UNKNOWN:
                return kind
    return _UNKNOWN
