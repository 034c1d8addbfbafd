"""Warnings the plan shows before anything is sent: pure functions of the pre-flight verdicts.

too_many_per_number   numbers with more messages than the hourly cap lets go in one hour
ucs2_summary          how many messages go as UCS-2, and the characters that force it
why_nothing_ready     the reasons no row can be sent, grouped, with example rows
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from batch_sms.checks.reasons import reason_key
from batch_sms.checks.segments import LOOKALIKES, UCS2, describe_chars, segment
from batch_sms.models import Message, Status

__all__ = ["too_many_per_number", "ucs2_summary", "why_nothing_ready"]

SHOWN = 5  # numbers, reasons or example rows named in one warning


def too_many_per_number(messages: Iterable[Message], cap: int, now: float) -> list[str]:
    """A warning per number that gets more messages than `cap`, with when its last one can go
    at the earliest (each further `cap` messages wait one more hour of the sliding window)."""
    counts = Counter(m.phone for m in messages if m.status is Status.READY)
    over = sorted(((n, p) for p, n in counts.items() if n > cap), key=lambda x: (-x[0], x[1]))
    out = []
    for n, phone in over[:SHOWN]:
        hours = (n - 1) // cap
        when = datetime.fromtimestamp(now, UTC) + timedelta(hours=hours)
        out.append(
            f"+{phone} gets {n} messages, more than --hourly-cap {cap} per hour: the last can go "
            f"at the earliest in {hours} h ({when:%Y-%m-%d %H:%M} UTC); the run ends the rest "
            "`capped` if it has nothing else to do meanwhile"
        )
    if len(over) > SHOWN:
        out.append(f"… and {len(over) - SHOWN} more numbers over the hourly cap")
    return out


def ucs2_summary(messages: Iterable[Message]) -> str:
    """One line about the messages sent as UCS-2 (70 characters per message, not 160) and the
    characters that force it; "" when there are none. Segments are cached per distinct text.

    Characters with a plain look-alike (curly quotes, dashes…) are named first: those cost money
    for nothing. A text in a script GSM-7 lacks (Chinese, Arabic…) needs UCS-2 anyway, so its
    characters are only sampled."""
    count = avoidable = 0
    swappable: dict[str, None] = {}
    other: dict[str, None] = {}
    twins = frozenset(LOOKALIKES)
    known = set(twins)  # look-alikes and the characters already in `other`
    for message in messages:
        if message.status is Status.READY and message.encoding == UCS2:
            count += 1
            chars = segment(message.content).ucs2_chars
            if twins.issuperset(chars):  # every one has a plain look-alike
                avoidable += 1
                swappable.update(dict.fromkeys(chars))
            elif not known.issuperset(chars):  # most texts bring no new character
                new = [c for c in chars if c not in known]
                other.update(dict.fromkeys(new))
                known.update(new)
    if not count:
        return ""
    parts = []
    if avoidable:
        parts.append(
            f"{avoidable:,} of them only because of {_named(swappable)}, which have plain "
            "look-alikes: replace them (or give --gsm-safe) to send 160 characters per message"
        )
    if count > avoidable:
        parts.append(f"{count - avoidable:,} use characters GSM-7 lacks, such as {_named(other)}")
    return (
        f"{count:,} messages go as UCS-2 (70 characters per message instead of 160): "
        + "; ".join(parts)
    )


def _named(chars: dict[str, None], most: int = 10) -> str:
    """The first `most` characters, described, and how many more there are."""
    shown = tuple(chars)[:most]
    more = f" and {len(chars) - len(shown)} more" if len(chars) > len(shown) else ""
    return describe_chars(shown) + more


def why_nothing_ready(messages: Sequence[Message]) -> list[str]:
    """Why no message can be sent: each status and kind of reason (reasons.reason_key) with its
    count and example rows, so rows that differ only in their number count as one reason."""
    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for message in messages:
        rows[(str(message.status), reason_key(message.error)[1])].append(message.row)
    ranked = sorted(rows.items(), key=lambda item: (-len(item[1]), item[1][0]))
    out = []
    for (status, why), found in ranked[:SHOWN]:
        examples = ", ".join(str(r) for r in found[:3]) + (", …" if len(found) > 3 else "")
        out.append(f"{len(found):,} {status}: {why or 'no reason given'} (rows {examples})")
    if len(ranked) > SHOWN:
        rest = sum(len(found) for _, found in ranked[SHOWN:])
        out.append(f"{rest:,} more with other reasons: see the report")
    return out
