"""The Journal's connection: opening, migrating, write transactions, and shared SQL helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from batch_sms.errors import RUNS_HINT, StateError
from batch_sms.journal.checkpoints import Checkpointer
from batch_sms.journal.schema import MIGRATIONS, Migration

CHUNK = 5000
IN_CHUNK = 500
WAL_CHECKPOINT = 10_000  # pages (4 KiB each) in the WAL before it is copied back


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield lists of at most `size` items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def marks(n: int) -> str:
    """Return "?, ?, …" with n placeholders."""
    return ", ".join("?" * n)


class Connection:
    """One SQLite connection to the state db, migrated to the current schema."""

    def __init__(self, path: Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE … COMMIT) below.
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:  # a folder, or a file this user may not open
            raise StateError(
                f"{self.path}: cannot open the state db: {exc}",
                hint="point --state at a file you may write, in a folder that exists",
            ) from exc
        self._db.row_factory = sqlite3.Row
        self._checkpointer: Checkpointer | None = None
        try:
            # A second process (the receipts server, a report) may write at the same moment.
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            # A dispatch commits once per group of requests; a checkpoint (which syncs to disk)
            # every WAL_CHECKPOINT pages instead of SQLite's 1000 stalls the sending far less.
            self._db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT}")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate(migrations)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StateError(
                f"{self.path}: cannot use the state db: {exc}",
                hint="point --state at a batch-sms state db, or a new file",
            ) from exc
        except BaseException:
            self._db.close()
            raise

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        """Apply pending migrations in order, each in its own transaction; refuse newer dbs."""
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        while True:
            with self._tx():
                found = self._db.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                ).fetchone()
                version = int(found[0]) if found else 0
                if version > len(migrations):
                    raise StateError(
                        f"{self.path}: the state db has schema version {version}, newer than "
                        f"this batch-sms understands ({len(migrations)})",
                        hint="upgrade batch-sms (pip install -U batch-sms) to use this state db",
                    )
                if version == len(migrations):
                    return
                for statement in migrations[version]:
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(version + 1),),
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # COMMIT itself may fail (disk full, busy)
                self._db.execute("ROLLBACK")
            raise
        if self._checkpointer is not None:
            self._checkpointer.committed()

    @contextmanager
    def checkpoints_aside(self) -> Iterator[Checkpointer]:
        """While the block runs, a thread of its own checkpoints the WAL instead of the commit
        that happens to fill it (journal.checkpoints)."""
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        checkpointer = self._checkpointer = Checkpointer(self.path)
        try:
            yield checkpointer
        finally:
            self._checkpointer = None
            checkpointer.close()
            self._db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT}")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open db."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    def _run_key(self, run_id: str) -> int:
        """Return runs.key of a run; StateError if there is none."""
        row = self._db.execute("SELECT key FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StateError(f"unknown run {run_id!r} in {self.path}", hint=RUNS_HINT)
        return int(row[0])
