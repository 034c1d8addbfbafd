"""Short codes for the reasons a row is not sent, so reports group rows by kind, not by text.

A row's `sms_error` is a full sentence naming its number or text; two rows with the same problem
rarely share it word for word. `reason_code` gives the kind of a pre-flight reason (or of a few
sending ones), and `REASONS` a label for each kind, for the Summary's and the screen's "top
reasons". A sentence of no known kind has no code, and is then grouped by its own text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["REASONS", "group_reasons", "reason_code", "reason_key"]

# code -> label. Order matters in _PATTERNS below, not here.
REASONS: dict[str, str] = {
    "excel_rounded": "Phone rounded by Excel (number cell with 6 significant digits)",
    "excel_scientific": "Phone in scientific notation (Excel lost its digits)",
    "number_lost_digits": "Phone lost digits as a number (a float in a DataFrame)",
    "phone_too_long": "Phone has too many digits",
    "phone_landline": "Phone cannot receive SMS (landline, toll-free, shared-cost, UAN)",
    "phone_no_sms": "Phone cannot receive SMS (premium-rate, pager, voicemail)",
    "phone_short_code": "Phone is a short code",
    "phone_junk": "Phone has junk after the number",
    "phone_letters": "Phone contains letters",
    "phone_no_country": "Phone has no country code (give --default-region)",
    "phone_empty": "Phone is empty",
    "phone_invalid": "Phone is not a valid number",
    "template_empty_value": "Template uses an empty cell",
    "template_error": "Template fails on the row",
    "content_empty": "Content is empty",
    "content_too_long": "Content is too long",
    "content_too_many_segments": "Content needs more segments than --max-segments",
    "content_lacks_required": "Text lacks a --must-contain text",
    "content_forbidden_word": "Text holds a word of --forbidden-words",
    "short_link_placeholder": "Text has no #1# placeholder for --short-link",
    "duplicate": "Same number and text as an earlier row",
    "suppressed": "Number is on the opt-out list",
    "capped": "Hourly cap for the number reached",
}
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        ("excel_rounded", r"^phone .* looks rounded by Excel"),
        ("excel_scientific", r"^phone .* scientific notation by Excel"),
        ("number_lost_digits", r"^phone .* lost digits as a number"),
        ("phone_too_long", r"^phone .* digits; phone numbers have at most"),
        ("phone_landline", r"^phone .* cannot receive SMS \((?:landline|toll|shared|UAN)"),
        ("phone_short_code", r"^phone .* is a short code"),
        ("phone_no_sms", r"^phone .* cannot receive SMS"),
        ("phone_junk", r"^phone .* which is no part of a number"),
        ("phone_letters", r'^phone ".*" contains letters'),
        ("phone_no_country", r'^phone ".*" has no country code'),
        ("phone_empty", r"^phone is empty"),
        ("phone_invalid", r'^phone "'),
        ("template_empty_value", r"^template: columns? .* empty in this row"),
        ("template_error", r"^template: "),
        ("content_empty", r"^content is empty"),
        ("content_too_long", r"^content has \d+ characters"),
        ("content_too_many_segments", r"^content needs \d+ SMS segments"),
        ("content_lacks_required", r'^text lacks required "'),
        ("content_forbidden_word", r'^text holds forbidden word "'),
        ("short_link_placeholder", r"^text has no #1# placeholder for --short-link"),
        ("duplicate", r"^same number (?:and text as row|appears twice)"),
        ("suppressed", r"^number is on the suppression list"),
        ("capped", r"may be sent after"),
    )
)


@lru_cache(maxsize=4096)
def reason_code(error: str) -> str:
    """The kind of a row's reason ("phone_landline", "duplicate", …), or "" if of no known kind.

    A row's reasons are joined with "; " in the order phone, template, content: the first known
    kind wins, so a row with a bad number and an empty text counts as a phone problem."""
    for code, pattern in _PATTERNS:
        if pattern.search(error):
            return code
    return ""


def reason_key(error: str) -> tuple[str, str]:
    """(key, label) under which a reason is counted: its code and label, else its own text."""
    code = reason_code(error)
    return (code, f"{REASONS[code]} [{code}]") if code else (error, error)


def group_reasons(
    items: Iterable[tuple[int, str]], examples: int = 5
) -> list[tuple[str, int, list[int]]]:
    """(label, rows, first example rows) per kind of reason of (row, reason) pairs, most first."""
    counts: dict[str, tuple[str, list[int], list[int]]] = {}
    for row, error in items:
        key, label = reason_key(error)
        entry = counts.setdefault(key, (label, [0], []))
        entry[1][0] += 1
        if len(entry[2]) < examples and row not in entry[2]:
            entry[2].append(row)
    ranked = sorted(counts.values(), key=lambda e: -e[1][0])  # stable: ties keep first-seen order
    return [(label, count[0], rows) for label, count, rows in ranked]
