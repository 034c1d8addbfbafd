"""The canary: which messages go first, what their receipts say, and whether the run goes on.

Pure: the phase that sends and waits is commands/canary.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from batch_sms.config import Settings
from batch_sms.journal import MessageRecord
from batch_sms.models import ACCEPTED, UNCERTAIN, Status

__all__ = [
    "CANARY_STATES",
    "Decision",
    "Tally",
    "decide",
    "due",
    "pick",
    "plan_line",
    "route_missing",
    "tally",
]

# How a run's canary ended, as the state db keeps it ("" : none has ended yet).
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
CANARY_STATES = ("", PASSED, FAILED, SKIPPED)


def due(settings: Settings, outcome: str) -> bool:
    """True when the run still has a canary to send: asked for, and none has ended yet."""
    return bool(settings.canary) and outcome == ""


def route_missing(settings: Settings) -> str:
    """Why a canary cannot hear back (no receipt route), or "" when it can."""
    if not settings.canary or settings.dr_url or settings.sandbox:
        return ""
    return (
        f"--canary {settings.canary}: the canary waits for delivery receipts, but they have no "
        "route here: no --dr-url is given and this is not a --sandbox run"
    )


def plan_line(settings: Settings, ready: int) -> str:
    """The plan's line about the canary (of at most the `ready` messages), or "" for none."""
    if not settings.canary:
        return ""
    return (
        f"canary: first {min(settings.canary, ready):,} messages, wait up to "
        f"{settings.canary_wait:g} s, go on at >= {settings.canary_min_delivered:.0%} delivered"
    )


def pick(
    candidates: Sequence[tuple[int, int | None]], n: int, closed: Collection[int] = frozenset()
) -> list[int]:
    """The ids of the first `n` messages spread over the countries: round-robin over the
    countries in order of first appearance, each country's messages in the order given.

    Messages whose send window is `closed` now (quiet hours, --not-before) are left out while
    others can go: a canary held until morning would tell nothing. When every message is
    closed, they are picked all the same and the canary waits for its window, as the run would.
    """
    can_go = [c for c in candidates if c[0] not in closed]
    return _round_robin(can_go or candidates, n)


def _round_robin(candidates: Sequence[tuple[int, int | None]], n: int) -> list[int]:
    queues: dict[int | None, list[int]] = {}
    for message_id, country in candidates:
        queues.setdefault(country, []).append(message_id)
    picked: list[int] = []
    depth = 0
    while len(picked) < n and any(depth < len(q) for q in queues.values()):
        for queue in queues.values():
            if depth < len(queue) and len(picked) < n:
                picked.append(queue[depth])
        depth += 1
    return picked


@dataclass(frozen=True)
class Tally:
    """What came back for the canary's messages so far."""

    delivered: int
    undelivered: Counter[str]  # the receipt's status text and number -> messages
    waiting: int  # accepted (or maybe), no receipt yet
    not_accepted: Counter[str]  # never accepted: status -> messages (no receipt will come)

    @property
    def received(self) -> int:
        """Receipts that came."""
        return self.delivered + sum(self.undelivered.values())

    @property
    def text(self) -> str:
        """Delivered N, undelivered M (why), no receipt K[, not accepted L (status)]."""
        undelivered = sum(self.undelivered.values())
        why = ", ".join(f"{n}× {reason}" for reason, n in self.undelivered.most_common())
        parts = [
            f"delivered {self.delivered}",
            f"undelivered {undelivered}" + (f" ({why})" if why else ""),
            f"no receipt {self.waiting}",
        ]
        if self.not_accepted:
            kinds = ", ".join(f"{status} {n}" for status, n in self.not_accepted.most_common())
            parts.append(f"not accepted {sum(self.not_accepted.values())} ({kinds})")
        return ", ".join(parts)


def _reason(record: MessageRecord) -> str:
    """An undelivered receipt's words: its status text and number."""
    words = record.dr_status or "no reason given"
    return f"{words} (status {record.dr_result})" if record.dr_result else words


def tally(records: Iterable[MessageRecord]) -> Tally:
    """Count the canary's messages by what their receipts say."""
    delivered = waiting = 0
    undelivered: Counter[str] = Counter()
    not_accepted: Counter[str] = Counter()
    for record in records:
        if record.status is Status.DELIVERED:
            delivered += 1
        elif record.status is Status.UNDELIVERED:
            undelivered[_reason(record)] += 1
        elif record.status in ACCEPTED | UNCERTAIN:
            waiting += 1
        else:
            not_accepted[str(record.status)] += 1
    return Tally(delivered, undelivered, waiting, not_accepted)


@dataclass(frozen=True)
class Decision:
    """Whether the run goes on after its canary, and what to say about it."""

    go: bool
    text: str


def decide(counted: Tally, min_delivered: float, waited: float) -> Decision:
    """Go on only when at least `min_delivered` of the receipts that came say delivered; no
    receipt at all is no evidence, so the run stops."""
    size = counted.received + counted.waiting + sum(counted.not_accepted.values())
    what = f"canary of {size}: {counted.text}"
    if counted.received == 0:
        return Decision(
            False,
            f"{what}; no delivery receipt came within {waited:g} s, so nothing shows the "
            "messages reach their numbers",
        )
    share = counted.delivered / counted.received
    if share >= min_delivered:
        return Decision(True, f"{what}: {share:.0%} of the receipts say delivered")
    return Decision(
        False,
        f"{what}: only {share:.0%} of the receipts say delivered, "
        f"below --canary-min-delivered {min_delivered:g}",
    )
