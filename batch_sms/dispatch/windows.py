"""The send-window gate: holds a message until quiet hours end and `--not-before` has passed,
and expires it once `--send-until` has (the times come from `checks.window`)."""

from __future__ import annotations

import math

from batch_sms.checks.window import SendWindow
from batch_sms.dispatch.gates import Expire, Hold, Verdict
from batch_sms.journal import Queued
from batch_sms.models import Status

__all__ = ["WindowGate"]


class WindowGate:
    """A `Gate`: go inside the window, hold (ending `scheduled`) before it, expire after it."""

    def __init__(self, window: SendWindow) -> None:
        self.window = window

    def verdict(self, q: Queued, now: float) -> Verdict:
        """Hold until the message's window opens; Expire when it closes first."""
        opening = self.window.opening(q.phone, now)
        if opening.expired:
            return Expire(opening.why)
        if opening.at is None:
            return Hold(math.inf, opening.why, ends=Status.SCHEDULED)
        if opening.at > now:
            return Hold(opening.at, opening.why, ends=Status.SCHEDULED)
        return None
