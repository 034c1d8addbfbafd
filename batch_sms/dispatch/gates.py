"""Per-message gates a dispatch asks before each send: go, wait, leave out, or stop.

A gate is pure policy (quiet hours, a send window, a canary, a cost ceiling); the engine applies
its verdict. The first gate with a verdict other than `None` decides; `None` from all is a go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from batch_sms.journal import Queued
from batch_sms.models import Status

__all__ = ["Expire", "Gate", "Halt", "Hold", "Skip", "Verdict", "first_verdict"]


@dataclass(frozen=True, slots=True)
class Hold:
    """Not before `until` (wall clock; inf: no known time): the message waits in the queue;
    `why` is for the row, `ends` its status when only held messages remain."""

    until: float
    why: str
    ends: Status = Status.PENDING


@dataclass(frozen=True, slots=True)
class Skip:
    """Not in this dispatch: the message is left as it is in the journal (still to send)."""


@dataclass(frozen=True, slots=True)
class Halt:
    """Stop the dispatch before this message, as the stop event does: the run stays resumable."""

    why: str


@dataclass(frozen=True, slots=True)
class Expire:
    """Never send this message: it ends `expired` (its window is over); `why` is for the row."""

    why: str


Verdict = Hold | Skip | Halt | Expire | None


class Gate(Protocol):
    """Asked once per message each time it is about to be sent."""

    def verdict(self, q: Queued, now: float) -> Verdict:
        """`None` lets the message go now (as far as this gate is concerned)."""
        ...


def first_verdict(gates: tuple[Gate, ...], q: Queued, now: float) -> Verdict:
    """The first gate's verdict that is not a go, or `None`."""
    for gate in gates:
        if (verdict := gate.verdict(q, now)) is not None:
            return verdict
    return None
