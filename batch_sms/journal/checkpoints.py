"""WAL checkpoints in a thread of their own while a dispatch commits many small transactions.

SQLite copies the write-ahead log back into the db (and syncs it) inside whichever commit fills
the log past its limit: tens of milliseconds in which the event loop starts no request, which
costs a paced run its rate. A Checkpointer does that copying from its own connection on a
thread of its own (SQLite works without the interpreter lock), woken every `every` commits of
the owner, whose own automatic checkpoints are off meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

__all__ = ["Checkpointer"]


class Checkpointer:
    """Checkpoints the WAL of the db at `path` from a thread, every `every` commits reported."""

    def __init__(self, path: Path, every: int = 100) -> None:
        """Start the thread; it waits for commits."""
        self._path, self._every = path, every
        self._commits = 0
        self._wanted = threading.Event()
        self._closing = False
        self.checkpoints = 0  # how many ran (for tests and curiosity)
        self._thread = threading.Thread(target=self._work, name="batch-sms checkpoints")
        self._thread.daemon = True  # never keeps a crashing process alive
        self._thread.start()

    def committed(self) -> None:
        """The owner committed one transaction."""
        self._commits += 1
        if self._commits % self._every == 0:
            self._wanted.set()

    def close(self) -> None:
        """One last checkpoint, then stop the thread."""
        self._closing = True
        self._wanted.set()
        self._thread.join()

    def _work(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous = NORMAL")
            while True:
                self._wanted.wait()
                self._wanted.clear()
                try:
                    # PASSIVE: copies what no reader still needs, never waits for the writer.
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    pass  # busy or gone: the next one (or closing the db) copies it
                if self._closing:
                    return
        finally:
            db.close()
