"""`dispatch` against the sandbox on loopback: a clean run sends each message once, with its ids."""

from __future__ import annotations

import asyncio
import gc
import threading

from helpers import (
    SandboxMaker,
    attempts_logged,
    by_row,
    cn_numbers,
    dispatch_run,
    make_run,
    status_counts,
)

from batch_sms.dispatch import DispatchSettings, Progress, dispatch
from batch_sms.journal import Journal
from batch_sms.provider.nxcloud import Answer, Kind, SendRequest


def test_clean_run_sends_every_message_once_with_ids(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    phones = cn_numbers(120)
    make_run(journal, "run-clean-0001", [(p, f"Hello {i}") for i, p in enumerate(phones)])
    seen: list[Progress] = []
    result = dispatch_run(
        handle, journal, "run-clean-0001", DispatchSettings(sender="Shop1"), on_progress=seen.append
    )
    assert result.counts == {"sent": 120}
    assert result.stopped_by is None
    assert not result.interrupted
    assert result.requests == 120
    assert result.throttled == 0
    assert status_counts(journal, "run-clean-0001") == {"sent": 120}
    accepted = handle.sandbox.accepted
    assert sorted(a.phone for a in accepted) == sorted(phones)
    records = by_row(journal, "run-clean-0001")
    for a in accepted:
        row = int(a.sys_message_id.rsplit("-", 2)[1])
        assert a.sys_message_id == f"run-clean-0001-{row}-0"
        assert a.ext == f"run-clean-0001:{row}:0"
        assert a.sender == "Shop1"
        rec = records[row]
        assert rec.phone == a.phone
        assert rec.messageid == a.messageid
        assert rec.code == "0"
        assert rec.attempts == 1
        assert rec.sent_at is not None
    assert attempts_logged(journal) == 120
    assert seen[-1].done == seen[-1].total == 120
    assert seen[-1].counts == {"sent": 120}


def test_the_collector_skips_what_lived_before_the_dispatch_and_is_left_as_it_was(
    journal: Journal,
) -> None:
    """Full collections during a dispatch scan only what it makes: what lived before is
    frozen for its length, and unfrozen after (a web app dispatches many runs)."""
    make_run(journal, "run-gc-000001", [(p, "Hi") for p in cn_numbers(3)])
    frozen: list[int] = []

    class Provider:
        async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Answer:
            frozen.append(gc.get_freeze_count())
            return Answer(Kind.ACCEPTED, "0", "ok", messageid=req.phone)

    before = gc.get_freeze_count()
    result = asyncio.run(dispatch("run-gc-000001", journal, Provider(), DispatchSettings()))
    assert result.counts == {"sent": 3}
    assert min(frozen) > before
    assert gc.get_freeze_count() == before


def test_the_wal_is_checkpointed_on_a_thread_of_its_own_while_a_dispatch_sends(
    journal: Journal,
) -> None:
    make_run(journal, "run-wal-000001", [(p, "Hi") for p in cn_numbers(3)])
    threads: list[set[str]] = []

    class Provider:
        async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Answer:
            threads.append({t.name for t in threading.enumerate()})
            return Answer(Kind.ACCEPTED, "0", "ok", messageid=req.phone)

    asyncio.run(dispatch("run-wal-000001", journal, Provider(), DispatchSettings()))
    assert all("batch-sms checkpoints" in names for names in threads)
    assert "batch-sms checkpoints" not in {t.name for t in threading.enumerate()}
