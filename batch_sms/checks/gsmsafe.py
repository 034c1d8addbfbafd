"""`--gsm-safe`: plain GSM-7 twins for the characters that alone force a text to UCS-2.

The replacement table is `segments.LOOKALIKES` (curly quotes, dashes, the ellipsis, odd spaces,
bullets, full-width ASCII, invisible joiners); this module decides when a text may use it and
what the change saves. A text is changed only when all of it then fits GSM-7 and it costs no
more segments than before: a text with a character GSM-7 lacks (Chinese, emoji, Arabic…) is
left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from batch_sms.checks.segments import GSM7, UCS2, plain, segment
from batch_sms.models import Message, Status

__all__ = ["RECORD_KEY", "GsmSaving", "gsm_safe", "saving", "saving_lines"]

# The key under which a run's settings keep the saving of its send, for its Summary.
RECORD_KEY = "gsm_safe saving"


@lru_cache(maxsize=4096)
def gsm_safe(text: str) -> str:
    """`text` with its look-alikes replaced when the result is all GSM-7 and no longer in
    segments; else `text` itself."""
    before = segment(text)
    if before.encoding != UCS2:
        return text
    replaced = plain(text)
    after = segment(replaced)
    if after.encoding != GSM7 or after.segments > before.segments:
        return text
    return replaced


@dataclass(frozen=True, slots=True)
class GsmSaving:
    """What `--gsm-safe` changed among the sendable messages: counts, segments, money."""

    texts: int  # sendable messages whose text was changed
    segments_before: int  # all sendable messages' segments, as the texts were written
    segments_after: int  # the same, as they are sent
    money: float | None = None  # the segments saved, priced; None when none could be priced

    @property
    def saved(self) -> int:
        """Segments saved."""
        return self.segments_before - self.segments_after

    def record(self) -> dict[str, Any]:
        """The saving as JSON-able values, kept with a run."""
        return {
            "texts": self.texts,
            "segments_before": self.segments_before,
            "segments_after": self.segments_after,
            "money": self.money,
        }

    @classmethod
    def from_record(cls, data: object) -> GsmSaving | None:
        """The saving `record` kept, or None when there is none (or it is not one)."""
        if not isinstance(data, Mapping):
            return None
        try:
            money = data.get("money")
            return cls(
                int(data["texts"]),
                int(data["segments_before"]),
                int(data["segments_after"]),
                None if money is None else float(money),
            )
        except (KeyError, TypeError, ValueError):
            return None


def saving(
    messages: Iterable[Message], prices: Mapping[str, float], default_price: float | None
) -> GsmSaving:
    """The saving over the READY messages; a message's `segments_written` tells it was changed."""
    texts = before = after = 0
    money: float | None = None
    for message in messages:
        if message.status is not Status.READY:
            continue
        after += message.segments
        written = message.segments_written
        if written is None:
            before += message.segments
            continue
        texts += 1
        before += written
        price = prices.get(str(message.country_code), default_price)
        if price is not None:
            money = (money or 0.0) + (written - message.segments) * price
    return GsmSaving(texts, before, after, money)


def saving_lines(found: GsmSaving, currency: str) -> list[tuple[str, int | str]]:
    """(label, value) lines that say what `--gsm-safe` did, for the plan and the Summary."""
    money = ""
    if found.money is not None:
        money = f", {found.money:,.4f} {currency}".rstrip()
    return [
        ("texts made GSM-7 (--gsm-safe)", found.texts),
        ("segments before → after", f"{found.segments_before:,} → {found.segments_after:,}"),
        ("saved", f"{found.saved:,} segment{'' if found.saved == 1 else 's'}{money}"),
    ]
