"""WAL checkpoints on a thread of their own while a dispatch commits: woken every N commits,
the owner's automatic checkpoints off meanwhile, a last one at the end."""

from __future__ import annotations

import threading
import time

from helpers import msg, new_run

from batch_sms.journal import Journal, Result
from batch_sms.models import Status


def _autocheckpoint(journal: Journal) -> int:
    return int(journal._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_commits_wake_the_checkpoint_thread_and_it_ends_with_the_block(journal: Journal) -> None:
    ids = new_run(journal, "a", msg(2, "8613800000001"))
    before = _autocheckpoint(journal)
    with journal.checkpoints_aside() as checkpointer:
        assert _autocheckpoint(journal) == 0  # the commits no longer copy the WAL themselves
        assert "batch-sms checkpoints" in {t.name for t in threading.enumerate()}
        for attempt in range(100):
            journal.record([Result(ids[0], Status.PENDING, attempts=attempt)])
        # The 100th commit woke the thread; it runs when the scheduler lets it.
        deadline = time.monotonic() + 30
        while checkpointer.checkpoints < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints == 1
        for attempt in range(50):
            journal.record([Result(ids[0], Status.PENDING, attempts=attempt)])
        assert checkpointer.checkpoints == 1  # 50 commits more wake nothing
    assert checkpointer.checkpoints == 2  # and one last as the block ends
    assert "batch-sms checkpoints" not in {t.name for t in threading.enumerate()}
    assert _autocheckpoint(journal) == before
    assert journal.attempts(ids[0]) == []
    assert journal.counts("a") == {"pending": 1}
