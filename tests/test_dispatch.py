"""`dispatch` against the sandbox on loopback: a clean run sends each message once, with its ids."""

from __future__ import annotations

from helpers import (
    SandboxMaker,
    attempts_logged,
    by_row,
    cn_numbers,
    dispatch_run,
    make_run,
    status_counts,
)

from batch_sms.dispatch import DispatchSettings, Progress
from batch_sms.journal import Journal


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
