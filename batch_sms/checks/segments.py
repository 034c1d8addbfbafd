"""How many billed messages a text costs: GSM-7 or UCS-2, segments, and the characters to blame.

The rules are the provider's (nxcloud-api.md §5), not the textbook ones: a long GSM-7 text is
billed per 154 characters (not 153), and the Malaysian signature adds 7 characters to the count.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "GSM7",
    "GSM7_MULTIPART",
    "GSM7_SINGLE",
    "LOOKALIKES",
    "SIGNATURE_UNITS",
    "UCS2",
    "UCS2_MULTIPART",
    "UCS2_SINGLE",
    "Segmentation",
    "char_name",
    "describe_chars",
    "lookalikes",
    "plain",
    "segment",
    "segment_uncached",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_SINGLE = 160
GSM7_MULTIPART = 154  # the provider bills long GSM-7 texts per 154 characters, as it documents
UCS2_SINGLE = 70
# The provider only says "70 characters per message"; concatenated UCS-2 messages carry a 6-byte
# header on every carrier we know of, leaving 67 characters each, so that is what we bill.
UCS2_MULTIPART = 67

# Characters of the provider's added signature, by country calling code.
SIGNATURE_UNITS: dict[int, int] = {60: 7}

# GSM 03.38 basic character set (the escape 0x1B is not a character and is left out).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape plus the character, so 2 units.
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
_DROP_BASIC = dict.fromkeys(map(ord, _GSM_BASIC))

# Characters that look like GSM-7 ones but force UCS-2, with their plain replacement.
LOOKALIKES: dict[str, str] = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...", "•": "*", "\t": " ",
    "‹": "'", "›": "'",
    "\u00a0": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
}  # fmt: skip
# The typographic spaces U+2000 (en quad) to U+200A (hair space).
LOOKALIKES.update(dict.fromkeys(map(chr, range(0x2000, 0x200B)), " "))
# Full-width ASCII forms (common in text typed with a Chinese input method).
LOOKALIKES.update({chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E)})
LOOKALIKES["\uff40"] = "'"  # the full-width backtick: "`" itself is not GSM-7 either
_PLAIN = str.maketrans(LOOKALIKES)


@dataclass(frozen=True, slots=True)
class Segmentation:
    """Encoding, billed units (signature included), billed segments, and the non-GSM characters."""

    encoding: str
    units: int
    segments: int
    ucs2_chars: tuple[str, ...]  # distinct characters that forced UCS-2, in order of appearance


def segment(text: str, country_code: int | None = None) -> Segmentation:
    """Billed segments of `text` sent to `country_code`, by the provider's rules.

    GSM-7 when every character is in GSM 03.38 (extension characters count 2): one message up to
    160 units, else one per 154. Otherwise UCS-2 in UTF-16 units (emoji outside the BMP count 2):
    one message up to 70, else one per 67, the common carrier rule for concatenated UCS-2.
    The provider's signature (Malaysia: 7) is added to the units. Empty text costs nothing.
    """
    return _cached_segment(text, country_code)


def segment_uncached(text: str, country_code: int | None = None) -> Segmentation:
    """`segment` without its cache, for callers that cache per text themselves."""
    if not text:
        return _gsm7(0)
    extra = SIGNATURE_UNITS.get(country_code, 0) if country_code is not None else 0
    rest = text.translate(_DROP_BASIC)
    if not rest:  # the common case: basic characters only
        return _gsm7(len(text) + extra)
    distinct = dict.fromkeys(rest)
    if not _GSM_EXTENSION.isdisjoint(distinct):
        distinct = {c: None for c in distinct if c not in _GSM_EXTENSION}
    forcing = tuple(distinct)
    if not forcing:
        return _gsm7(len(text) + len(rest) + extra)  # extension characters: one more unit each
    units = len(text.encode("utf-16-le")) // 2 + extra
    segments = 1 if units <= UCS2_SINGLE else -(-units // UCS2_MULTIPART)
    return Segmentation(UCS2, units, segments, forcing)


_cached_segment = lru_cache(maxsize=4096)(segment_uncached)


@lru_cache(maxsize=4096)
def _gsm7(units: int) -> Segmentation:
    """The (shared) result for a GSM-7 text of `units` units."""
    segments = 0 if units == 0 else 1 if units <= GSM7_SINGLE else -(-units // GSM7_MULTIPART)
    return Segmentation(GSM7, units, segments, ())


def lookalikes(chars: Iterable[str]) -> tuple[str, ...]:
    """The characters among `chars` that have a plain GSM-7 look-alike (smart quotes, dashes, …)."""
    return tuple(c for c in chars if c in LOOKALIKES)


def plain(text: str) -> str:
    """`text` with every look-alike character replaced by its plain GSM-7 form."""
    return text.translate(_PLAIN)


def char_name(char: str) -> str:
    """A readable name for one character: `U+201C “`, or `U+00A0 (no-break space)` if invisible."""
    code = f"U+{ord(char):04X}"
    if char.isprintable() and not char.isspace() and char != "\u00ad":
        return f"{code} {char}"
    return f"{code} ({unicodedata.name(char, 'control character').lower()})"


def describe_chars(chars: Iterable[str]) -> str:
    """Name characters for a warning: `“ ” (U+201C, U+201D)`, invisible ones by their name."""
    chars = tuple(chars)
    visible = [c for c in chars if c.isprintable() and not c.isspace() and c != "\u00ad"]
    parts = []
    if visible:
        codes = ", ".join(f"U+{ord(c):04X}" for c in visible)
        parts.append(f"{' '.join(visible)} ({codes})")
    parts.extend(char_name(c) for c in chars if c not in visible)
    return " and ".join(parts)
