"""The run's send window as the use cases need it: built from the settings, as a gate for the
dispatch, as lines of the plan, and as the next step when rows end scheduled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from batch_sms.checks.window import SendWindow, build_window, pin_zone, plan_notes
from batch_sms.commands import hints
from batch_sms.config import Settings
from batch_sms.dispatch.gates import Gate
from batch_sms.dispatch.windows import WindowGate
from batch_sms.journal import Journal
from batch_sms.models import Message, Status, duration_text, utc_text

__all__ = ["gates", "pinned", "plan_lines", "scheduled_steps", "window"]


def window(settings: Settings) -> SendWindow:
    """The quiet hours and send window of the settings (UsageError for a bad value)."""
    return build_window(
        settings.quiet_hours,
        settings.default_timezone,
        settings.not_before,
        settings.send_until,
        settings.recipient_time,
    )


def pinned(settings: Settings) -> Settings:
    """The settings with --not-before/--send-until in the machine's zone made explicit (the
    run keeps them, and may be resumed on another machine)."""
    return replace(
        settings,
        not_before=pin_zone(settings.not_before, "--not-before", settings.recipient_time),
        send_until=pin_zone(settings.send_until, "--send-until", settings.recipient_time),
    )


def gates(settings: Settings) -> tuple[Gate, ...]:
    """The dispatch's gates for the window: none when no window is set."""
    found = window(settings)
    return (WindowGate(found),) if found else ()


def plan_lines(settings: Settings, messages: Iterable[Message], now: float) -> list[str]:
    """The plan's lines about the window: how many messages are held now, and until when."""
    ready = (m.phone for m in messages if m.status is Status.READY)
    return plan_notes(window(settings), ready, now)


def scheduled_steps(journal: Journal, run_id: str, settings: Settings, now: float) -> list[str]:
    """What to do about the run's scheduled rows: when to resume, with the exact command."""
    count = journal.count_own(run_id, [Status.SCHEDULED])
    if not count:
        return []
    resume = hints.command("resume", settings, run_id)
    due = journal.first_next_at(run_id, Status.SCHEDULED)
    if due is None:
        return [
            f"{count:,} messages are scheduled with no time they may go (sms_error says why); "
            f"fix that, then: {resume}"
        ]
    wait = f" (in {duration_text(due - now)})" if due > now else ""
    return [
        f"{count:,} messages are scheduled (sms_error says when each may go); the first may go "
        f"from {utc_text(due)} UTC{wait}: send them then with: {resume} (or add "
        "--wait to it now: it keeps running and sends each as its window opens)"
    ]
