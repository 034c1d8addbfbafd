"""The canary phase of a dispatch: send the canary's messages only, wait for their receipts,
then say whether the run goes on (checks/canary.py decides)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace

from batch_sms.checks import canary
from batch_sms.checks.window import SendWindow
from batch_sms.commands import hints
from batch_sms.config import Settings
from batch_sms.dispatch import DispatchResult
from batch_sms.errors import UsageError
from batch_sms.journal import CanaryCandidate, Journal, MessageRecord, RunInfo
from batch_sms.models import QUEUED, Status, utc_text

__all__ = [
    "CanaryPhase", "Send", "before_resume", "current",
    "refuse_without_route",
]  # fmt: skip

POLL = 0.25  # seconds between looks at the journal while waiting for the canary's receipts

Send = Callable[[Collection[int]], Awaitable[DispatchResult]]  # a dispatch of these ids alone


def refuse_without_route(settings: Settings) -> None:
    """A canary that could hear nothing back is refused before anything is sent."""
    if why := canary.route_missing(settings):
        raise UsageError(
            why,
            "give --dr-url (a receipts server the provider can reach, e.g. batch-sms receipts "
            "serve), or send without --canary",
        )


def current(journal: Journal, run_id: str, settings: Settings) -> canary.Tally:
    """What the receipts of the run's canary (its picks that were sent) say now."""
    ids = _ids(journal, run_id, settings, lambda c: c.queued)  # never sent: not counted
    return canary.tally(journal.records_of(run_id, ids))


def _ids(
    journal: Journal, run_id: str, settings: Settings, closed: Callable[[CanaryCandidate], bool]
) -> list[int]:
    """The canary's messages: the pick among its candidates, those `closed` left out while
    others can go."""
    size = settings.canary or 0
    candidates = journal.canary_candidates(run_id, size)
    shut = {c.id for c in candidates if closed(c)}
    return canary.pick([(c.id, c.country) for c in candidates], size, shut)


@dataclass
class CanaryPhase:
    """Send a run's canary, wait for its receipts, and record whether it passed."""

    journal: Journal
    run_id: str
    settings: Settings
    note: Callable[[str], None] = lambda text: None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    poll: float = POLL
    window: SendWindow | None = None  # the run's send window: a canary goes where it is open
    now: Callable[[], float] = time.time  # the clock the window goes by (the run's)
    decision: canary.Decision | None = field(default=None, init=False)
    held: bool = field(default=False, init=False)  # some of it waits for its send window

    @property
    def passed(self) -> bool:
        """The canary has passed: the rest of the run may go."""
        return self.decision is not None and self.decision.go

    async def run(self, send: Send, stop: asyncio.Event | None = None) -> DispatchResult:
        """Send the canary; its result carries `halted_by` when the canary failed. The run goes
        on when the result has no stop of any kind (`DispatchResult.went_on`)."""
        self.held = False
        window, now = self.window, self.now()

        def closed(c: CanaryCandidate) -> bool:
            """Still queued, with its window shut now (one sent before is never closed: a
            resume counts the same messages)."""
            return window is not None and c.queued and not window.open_at(c.phone, now)

        ids = _ids(self.journal, self.run_id, self.settings, closed)
        wait = self.settings.canary_wait
        left = sum(r.status in QUEUED for r in self.journal.records_of(self.run_id, ids))
        before = (
            f" ({len(ids) - left} of its {len(ids)} were sent before)" if left < len(ids) else ""
        )
        self.note(
            f"canary: sending {left} messages first{before}, then waiting up to {wait:g} s for "
            "their delivery receipts"
        )
        result = await send(frozenset(ids))
        if result.stopped_by is not None or result.interrupted or result.halted_by:
            return result  # the canary did not finish: a resume sends it again
        records = self.journal.records_of(self.run_id, ids)
        held = [r for r in records if r.status is Status.SCHEDULED]
        self.held = bool(held)
        if held:  # the rest of the run waits for the canary, which waits for its window
            why = _held(held, len(ids))
            if self.settings.wait:  # the run waits for the window, then sends the canary again
                self.note(f"{why}; --wait: waiting for it")
                return result
            return replace(result, halted_by=why)  # stopped, resumable
        deadline = self.clock() + wait
        while True:
            counted = canary.tally(self.journal.records_of(self.run_id, ids))
            if stop is not None and stop.is_set():
                return replace(result, interrupted=True)
            if counted.waiting == 0 or self.clock() >= deadline:
                break
            await self.sleep(min(self.poll, deadline - self.clock()))
        self.decision = canary.decide(counted, self.settings.canary_min_delivered, wait)
        self.journal.set_canary(self.run_id, canary.PASSED if self.decision.go else canary.FAILED)
        if self.decision.go:
            self.note(f"{self.decision.text}; sending the rest")
            return result
        return replace(result, halted_by=self.decision.text)


def _held(records: list[MessageRecord], size: int) -> str:
    """Why the canary (and the run with it) waits: how many of its messages, until when."""
    due = [r.next_at for r in records if r.next_at is not None]
    when = (
        f"the first may go from {utc_text(min(due))} UTC"
        if due
        else "no time is known when they may go (sms_error says why)"
    )
    return (
        f"canary: {len(records)} of its {size} messages wait for their send window (quiet hours "
        f"or --not-before), {when}; the rest of the run goes only after the canary"
    )


def before_resume(journal: Journal, run: RunInfo, settings: Settings, skip: bool) -> None:
    """A run whose canary failed goes on only with --skip-canary: refuse, saying what came back
    (receipts that came since count); with it, the run's canary is over."""
    if skip:
        if settings.canary and run.canary != canary.PASSED:
            journal.set_canary(run.id, canary.SKIPPED)
        return
    if run.canary != canary.FAILED:
        return
    now = current(journal, run.id, settings).text
    since = "" if now in run.stop_reason else f"; its receipts now: {now}"
    resume_cmd = hints.command("resume", settings, run.id)
    raise UsageError(
        f"run {run.id} was stopped by its canary: {run.stop_reason}{since}",
        f"to send the rest all the same: {resume_cmd} --skip-canary",
    )
