"""`report --refresh`: settle `sent` messages whose receipt never came by the provider's records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from batch_sms.commands import hints
from batch_sms.commands.outcome import Ui
from batch_sms.config import Settings
from batch_sms.errors import UsageError
from batch_sms.journal import Journal, RunInfo
from batch_sms.models import Status, duration_text
from batch_sms.provider import lookup

if TYPE_CHECKING:
    from batch_sms.commands.sending import Provider

__all__ = ["refresh_receipts"]


def refresh_receipts(
    journal: Journal,
    run: RunInfo,
    settings: Settings,
    ui: Ui,
    *,
    grace: float,
    clock: Callable[[], float],
) -> None:
    """Ask the provider's record of each `sent` message of the run accepted more than `grace`
    seconds ago and still without a receipt; store what a record says as its receipt, and
    remember the messages it has no record of (the Summary counts them).

    `settings` are the run's own: the provider asked is the one the run was sent to."""
    if settings.sandbox:
        raise UsageError(
            f"run {run.id} was sent to the built-in simulator (--sandbox), which ended with the "
            "command that sent it: it has no records left to ask",
            "to try --refresh on a simulator, start one with `batch-sms sandbox --drop-receipts "
            "1`, send to it with --base-url URL and the credentials it prints, then run "
            "batch-sms report RUN_ID --refresh",
        )
    from batch_sms.commands import sending  # aiohttp and the sandbox server: only to send

    sending.require_credentials(settings, "the record query needs the account that sent the run")
    now = clock()
    waiting = journal.awaiting_receipt(run.id, now - grace)
    waited = duration_text(grace)
    if not waiting:
        ui.note(f"no sent message has waited more than {waited} for its receipt: nothing to ask")
        return
    wanted = [
        lookup.Wanted(w.messageid, w.sent_at) for w in waiting if not lookup.too_old(w.sent_at, now)
    ]
    before = journal.counts(run.id)
    with sending.connect(settings) as provider:
        asked = asyncio.run(_ask(provider, wanted, now, settings.concurrency))
    ids = {w.messageid: w.id for w in waiting}
    for fields in asked.found.values():
        journal.add_receipt(fields, now)
    journal.mark_unrecorded([ids[m] for m in asked.missing], now)
    journal.mark_unrecorded([ids[m] for m in [*asked.undecided, *asked.found]], None)
    after = journal.counts(run.id)
    settled = [
        f"{after.get(s, 0) - before.get(s, 0):,} {s}"
        for s in (Status.DELIVERED, Status.UNDELIVERED)
    ]
    ui.note(
        f"asked the provider's records about {len(wanted):,} sent messages without a receipt "
        f"after {waited}: {', '.join(settled)}, {len(asked.undecided):,} with a record but no "
        f"delivery status yet, {len(asked.missing):,} with no record yet"
    )
    _say_unasked(ui, settings, run.id, len(waiting) - len(wanted), asked, wanted)


def _say_unasked(
    ui: Ui,
    settings: Settings,
    run_id: str,
    old: int,
    asked: lookup.Asked,
    wanted: Sequence[lookup.Wanted],
) -> None:
    """Say which messages were not asked about, and why."""
    if old:
        ui.note(
            f"{old:,} messages were accepted more than {lookup.RECORD_DAYS} days ago: the "
            "provider keeps no record that old, so they stay sent"
        )
    if asked.failed:
        left = len(wanted) - len(asked.found) - len(asked.undecided) - len(asked.missing)
        again = hints.command("report", settings, run_id) + " --refresh"
        ui.note(
            f"the provider's records could not be read ({asked.failed}): {left:,} messages were "
            f"not asked about; to ask again: {again}"
        )


async def _ask(
    provider: Provider, wanted: Sequence[lookup.Wanted], now: float, concurrency: int
) -> lookup.Asked:
    """Run the record queries over one HTTP session."""
    import aiohttp  # imported by the commands that ask the provider only (0.1 s of start-up)

    async with aiohttp.ClientSession() as session:
        client = provider.client(session)
        return await lookup.ask(client, wanted, now=now, concurrency=concurrency)
