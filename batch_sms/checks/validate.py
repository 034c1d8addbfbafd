"""Pre-flight verdicts: phones (via the phones module), content, sender, duplicates, cost."""

# The hot loop of a campaign (one call per row): numbers go through the phones module's fast
# path, content verdicts are cached per text, and nothing raises on a good row.

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from batch_sms.checks.content_rules import ContentRules
from batch_sms.checks.gsmsafe import gsm_safe
from batch_sms.checks.phones import normalise_phone, split_phones
from batch_sms.checks.reasons import reason_code
from batch_sms.checks.segments import (
    GSM7,
    UCS2,
    describe_chars,
    lookalikes,
    plain,
    segment,
    segment_uncached,
)
from batch_sms.input.spreadsheet import rounded_by_excel
from batch_sms.models import CostEstimate, CountryCost, Message, Status, content_key
from batch_sms.provider.nxcloud import LINK_PLACEHOLDER

__all__ = [
    "MAX_CONTENT",
    "NO_PLACEHOLDER",
    "Checker",
    "SuppressionList",
    "check_sender",
    "cost_of",
    "estimate_cost",
    "load_suppression",
    "priced",
]

MAX_CONTENT = 1000  # the provider's limit on `content`, in characters, whatever the encoding
# The provider ignores `shortLink` for a text without its placeholder: such a row is invalid.
NO_PLACEHOLDER = f"text has no {LINK_PLACEHOLDER} placeholder for --short-link"
_SENDER_MAX = 20
_SENDER = re.compile(r"[A-Za-z0-9]+")


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
            f"replace them with plain characters (or give --gsm-safe) to {gain}",
        )
    return seg.segments, seg.encoding, error, warnings


@lru_cache(maxsize=4096)
def _text_hash(text: str) -> int:
    """A 64-bit hash of the text's content_key: texts differing only in whitespace hash alike."""
    return hash(content_key(text)) & 0xFFFF_FFFF_FFFF_FFFF


class Checker:
    """Pre-flight verdicts for the messages of one campaign, remembering numbers already seen."""

    def __init__(
        self,
        *,
        default_region: str | None,
        suppressed: set[str],
        allow_duplicates: bool,
        max_segments: int | None = None,
        allow_landlines: bool = False,
        gsm_safe: bool = False,
        rules: ContentRules | None = None,
        short_link: bool = False,
    ) -> None:
        """Set the campaign's rules; `suppressed` holds E.164 digits (see load_suppression);
        with `short_link` every text must hold the placeholder the provider puts the link in."""
        self.gsm_safe = gsm_safe
        self.rules = rules or ContentRules()
        self.default_region = default_region or None
        self.suppressed = suppressed
        self.allow_duplicates = allow_duplicates
        self.max_segments = max_segments
        self.allow_landlines = allow_landlines
        self.short_link = short_link
        # (phone as int << 64 | 64-bit content hash) -> first row: exact on the number, and a
        # content collision needs two texts with one hash sent to one number. ~100 bytes a row.
        self._seen: dict[int, int] = {}

    def check(
        self,
        row: int,
        raw_phone_cell: str,
        content: str | None,
        render_error: str = "",
        rounded: bool = False,
    ) -> list[Message]:
        """One Message per number in the phone cell (one INVALID message if there is none).

        `rounded` says the cell is a spreadsheet number with Excel's rounding look: its number
        is invalid, since the digits that would reach a person are not the ones meant.

        The text sent is `content` trimmed of surrounding whitespace (line breaks inside kept);
        the duplicate check compares texts by `content_key`, so whitespace variants are one text.
        With `gsm_safe` the text is first made GSM-7 where it can be (gsmsafe.gsm_safe), so what
        is counted, compared, checked against the content rules and sent is the replaced text.
        """
        text = written = (content or "").strip()
        if self.gsm_safe:
            text = gsm_safe(written)
        broken = self.rules.problem(text) if text else ""
        phones = split_phones(raw_phone_cell)
        if not phones:
            segments, encoding, error, warnings = _content_verdict(text, None, self.max_segments)
            reasons = "; ".join(r for r in ("phone is empty", render_error, error, broken) if r)
            return [
                Message(row, 0, raw_phone_cell, "", text, segments, encoding, None,
                        Status.INVALID, reasons, warnings, "phone_empty")
            ]  # fmt: skip
        messages = []
        for index, raw in enumerate(phones):
            phone, country, phone_error = normalise_phone(
                raw, self.default_region, sms=True, allow_landlines=self.allow_landlines
            )
            if phone == raw:  # bare international digits: one string, not two (~60 MB per 1M)
                phone = raw
            if rounded and rounded_by_excel(raw):
                phone_error = (
                    f'phone "{raw}" looks rounded by Excel: a number cell with only 6 significant '
                    "digits then zeros, as Excel saves 8.61391E+12; the real number is lost. "
                    "Format the column as text, type the numbers again and re-export, or give "
                    "--trust-numeric-phones if they are right"
                )
            elif rounded:  # a DataFrame's float that is not a whole number, or past 2**53
                phone_error = (
                    f'phone "{raw}" lost digits as a number: a float that is not a whole number '
                    "or too large to hold every digit; the real number is lost. Give the column "
                    "as text or integers, or --trust-numeric-phones if they are right"
                )
            segments, encoding, error, warnings = _content_verdict(text, country, self.max_segments)
            if not error and self.short_link and text and LINK_PLACEHOLDER not in text:
                error = NO_PLACEHOLDER
            status, reason = Status.READY, ""
            if phone_error or render_error or error or broken:
                status = Status.INVALID
                error = "; ".join(r for r in (phone_error, render_error, error, broken) if r)
                reason = reason_code(error)
            elif phone in self.suppressed:
                status, error = Status.SUPPRESSED, "number is on the suppression list"
                reason = "suppressed"
            elif not self.allow_duplicates:
                key = (int(phone) << 64) | _text_hash(text)
                first = self._seen.get(key)
                if first is None:
                    self._seen[key] = row
                else:
                    status, reason = Status.DUPLICATE, "duplicate"
                    error = (
                        f"same number and text as row {first}"
                        if first != row
                        else "same number appears twice in this row's phone cell"
                    )
            before = segment(written, country).segments if written != text else None
            messages.append(
                Message(row, index, raw, phone, text, segments, encoding, country, status,
                        error, warnings, reason, before)
            )  # fmt: skip
        return messages


class SuppressionList(set[str]):
    """E.164 numbers not to message, plus the entries that could not be read as numbers."""

    def __init__(self, numbers: Iterable[str] = (), rejected: Iterable[str] = ()) -> None:
        """Hold `numbers`; `rejected` keeps the unusable entries so the caller can refuse."""
        super().__init__(numbers)
        self.rejected = list(rejected)
        self.rejected_at: list[int] = []  # the position in the input of each rejected entry


def load_suppression(numbers: Iterable[str], default_region: str | None) -> SuppressionList:
    """Normalise opt-out entries; blank ones are skipped, unusable ones kept in `.rejected`."""
    result = SuppressionList()
    for position, entry in enumerate(numbers):
        for raw in split_phones(entry):
            phone, _, error = normalise_phone(raw, default_region)
            if error:
                result.rejected.append(raw)
                result.rejected_at.append(position)
            else:
                result.add(phone)
    return result


def estimate_cost(
    messages: Iterable[Message], prices: Mapping[str, float], default_price: float | None
) -> CostEstimate:
    """Estimated cost of the READY messages: segments times the price per segment of the country."""
    ready = ((m.country_code, m.segments) for m in messages if m.status is Status.READY)
    return cost_of(ready, prices, default_price)


def cost_of(
    sendable: Iterable[tuple[int | None, int]],
    prices: Mapping[str, float],
    default_price: float | None,
) -> CostEstimate:
    """Estimated cost of messages given as (country calling code, segments)."""
    counts: dict[str, list[int]] = {}
    for country_code, segments in sendable:
        tally = counts.setdefault(str(country_code), [0, 0])
        tally[0] += 1
        tally[1] += segments
    return priced(counts, prices, default_price)


def priced(
    counts: Mapping[str, Sequence[int]], prices: Mapping[str, float], default_price: float | None
) -> CostEstimate:
    """Estimated cost of [messages, segments] by country calling code."""
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
