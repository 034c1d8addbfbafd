"""The state db: runs, messages, attempts and receipts in SQLite; the only module with SQL.

One `Journal` holds one connection. It may be handed between threads (the receipts server does),
but callers use it from one thread at a time. Writes run in explicit `BEGIN IMMEDIATE`
transactions; WAL with synchronous=NORMAL makes every commit survive a crash of the process
(kill -9), which is what "inflight is committed before the request leaves" relies on.
"""

# ruff: noqa: S608  (queries interpolate only constant column lists and "?" placeholders)

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from batch_sms.errors import StateError
from batch_sms.models import Message, Status

__all__ = [
    "MIGRATIONS",
    "RECEIPT_FIELDS",
    "SCHEMA_VERSION",
    "Attempt",
    "Journal",
    "MessageRecord",
    "Migration",
    "Queued",
    "Result",
    "RetryCopy",
    "RunInfo",
    "RunState",
]

RunState = Literal["created", "running", "stopped", "interrupted", "finished"]
_RUN_STATES = frozenset({"created", "running", "stopped", "interrupted", "finished"})

# The documented DR push fields (nxcloud-api.md §3); anything else a request carries is dropped.
RECEIPT_FIELDS = (
    *("phone", "status", "result", "drtime", "sendtime", "messageid"),
    *("currency", "price", "rate", "size", "ext"),
)
_DR_MEANINGS = {
    "2": "DELIVRD",
    "5": "UNDELIV",
    "6": "REJECTD",
    "7": "EXPIRED",
    "8": "DELETED",
    "9": "DND",
    "10": "bad destination number",
    "11": "bad sender",
    "12": "UNKNOWN",
}
# Multi-number sends: each receipt's messageid is the send's messageid + "-" + 10 digits.
_MULTI_SUFFIX = re.compile(r"^(.+)-\d{10}$")
_EXT = re.compile(r"^([0-9A-Za-z-]+):(\d+):(\d+)$")
_SECRET_WORDS = (
    "secret",
    "password",
    "passwd",
    "token",
    "accesskey",
    "appkey",
    "apikey",
    "credential",
)
_ACCEPTED_SQL = "('sent', 'delivered', 'undelivered')"  # literal, so the partial index applies
_CHUNK = 5000
_IN_CHUNK = 500

# Each migration is the list of statements taking the schema from version i to i + 1.
Migration = Sequence[str]
MIGRATIONS: tuple[Migration, ...] = (
    (
        """CREATE TABLE runs (
            key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, created_at REAL NOT NULL,
            parent TEXT REFERENCES runs(id), input_name TEXT NOT NULL, input_copy TEXT NOT NULL,
            input_sha256 TEXT NOT NULL, input_format TEXT NOT NULL, sheet TEXT,
            settings TEXT NOT NULL, state TEXT NOT NULL, stop_reason TEXT NOT NULL DEFAULT '',
            started_at REAL, finished_at REAL)""",
        "CREATE INDEX runs_parent ON runs(parent)",
        # `run` is runs.key: an integer keeps a million-row table and its indexes small.
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(key),
            row INTEGER NOT NULL, idx INTEGER NOT NULL, raw_phone TEXT NOT NULL,
            phone TEXT NOT NULL, content TEXT NOT NULL, segments INTEGER NOT NULL,
            encoding TEXT NOT NULL, country_code INTEGER, status TEXT NOT NULL,
            code TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '',
            messageid TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
            sent_at REAL, next_at REAL, inflight_at REAL, error TEXT NOT NULL DEFAULT '',
            warnings TEXT NOT NULL DEFAULT '[]', dr_status TEXT NOT NULL DEFAULT '',
            dr_result TEXT NOT NULL DEFAULT '', dr_time TEXT NOT NULL DEFAULT '',
            UNIQUE (run, row, idx))""",
        "CREATE INDEX messages_queue ON messages(run, status, id)",
        f"""CREATE INDEX messages_accepted ON messages(phone, sent_at)
            WHERE status IN {_ACCEPTED_SQL}""",
        "CREATE INDEX messages_messageid ON messages(messageid) WHERE messageid != ''",
        """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),
            at REAL NOT NULL, code TEXT NOT NULL, kind TEXT NOT NULL, result TEXT NOT NULL)""",
        "CREATE INDEX attempts_message ON attempts(message_id)",
        """CREATE TABLE receipts (
            id INTEGER PRIMARY KEY, received_at REAL NOT NULL, messageid TEXT NOT NULL UNIQUE,
            base_messageid TEXT NOT NULL, ext TEXT NOT NULL, fields TEXT NOT NULL,
            message_id INTEGER REFERENCES messages(id))""",
        "CREATE INDEX receipts_unmapped ON receipts(base_messageid) WHERE message_id IS NULL",
        "CREATE INDEX receipts_message ON receipts(message_id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class RunInfo:
    """One run: where its input came from and how it was configured (never secrets)."""

    id: str
    created_at: float
    parent: str | None
    input_name: str  # the input path as the user gave it
    input_copy: str  # the run's own copy of the input file
    input_sha256: str
    input_format: str
    sheet: str | None
    settings: dict[str, Any]  # JSON-able, never secrets
    state: str = "created"
    stop_reason: str = ""
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class Queued:
    """One message the dispatcher may send."""

    id: int
    run_id: str
    row: int
    index: int
    phone: str
    content: str
    segments: int
    attempts: int
    status: Status

    @property
    def sys_message_id(self) -> str:
        """The deterministic sysMessageId sent with the request."""
        return f"{self.run_id}-{self.row}-{self.index}"

    @property
    def ext(self) -> str:
        """The ext the provider echoes in receipts, naming run, row and index."""
        return f"{self.run_id}:{self.row}:{self.index}"


@dataclass(frozen=True)
class Result:
    """One message's new state after an answer."""

    id: int
    status: Status
    code: str = ""
    result: str = ""
    messageid: str = ""
    attempts: int = 0
    sent_at: float | None = None  # when accepted (counts for the hourly cap when status SENT)
    next_at: float | None = None  # CAPPED: when it may be sent
    error: str = ""


@dataclass(frozen=True)
class Attempt:
    """One request and its answer, for the attempts log."""

    message_id: int
    at: float
    code: str
    kind: str
    result: str


@dataclass(frozen=True)
class MessageRecord:
    """Everything a report needs about one message."""

    row: int
    index: int
    raw_phone: str
    phone: str
    content: str
    segments: int
    encoding: str
    country_code: int | None
    status: Status
    code: str
    result: str
    messageid: str
    attempts: int
    sent_at: float | None
    next_at: float | None
    error: str
    warnings: tuple[str, ...]
    dr_status: str
    dr_result: str  # the receipt's status number ("2", "9", …)
    dr_time: str
    sys_message_id: str


@dataclass(frozen=True)
class RetryCopy:
    """What `copy_for_retry_detail` did: messages copied, and those skipped as already accepted."""

    copied: int
    skipped: int


@dataclass
class _Receipt:
    """A receipt's documented fields and what they mean for the message."""

    fields: dict[str, str]
    messageid: str = field(init=False)
    base: str = field(init=False)
    status: Status | None = field(init=False)
    dr_status: str = field(init=False)

    def __post_init__(self) -> None:
        f = self.fields
        self.messageid = f.get("messageid", "")
        multi = _MULTI_SUFFIX.match(self.messageid)
        self.base = multi.group(1) if multi else self.messageid
        number, text = f.get("status", ""), f.get("result", "")
        self.dr_status = text or _DR_MEANINGS.get(number, number)
        if number.isdigit():
            self.status = Status.DELIVERED if number == "2" else Status.UNDELIVERED
        elif text:
            self.status = Status.DELIVERED if text.upper() == "DELIVRD" else Status.UNDELIVERED
        else:
            self.status = None  # says nothing about the fate: store and map, change nothing


def _check_settings(value: object, where: str = "settings") -> None:
    """Refuse settings that name a secret: the state db must never hold one."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            name = re.sub(r"[^a-z]", "", str(key).lower())
            if any(word in name for word in _SECRET_WORDS):
                raise ValueError(f"{where}[{key!r}] looks like a secret; never store secrets")
            _check_settings(inner, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_settings(inner, where)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield lists of at most `size` items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _marks(n: int) -> str:
    """Return "?, ?, …" with n placeholders."""
    return ", ".join("?" * n)


_RUN_COLUMNS = (
    "id, created_at, parent, input_name, input_copy, input_sha256, input_format, sheet, "
    "settings, state, stop_reason, started_at, finished_at"
)
_RECORD_COLUMNS = (
    "row, idx, raw_phone, phone, content, segments, encoding, country_code, status, code, "
    "result, messageid, attempts, sent_at, next_at, error, warnings, dr_status, dr_result, dr_time"
)
_PREFLIGHT = frozenset({Status.READY, Status.INVALID, Status.DUPLICATE, Status.SUPPRESSED})
_NOT_RETRYABLE = _PREFLIGHT | {Status.INFLIGHT}


def _run_info(row: sqlite3.Row) -> RunInfo:
    """Build a RunInfo from a runs row."""
    return RunInfo(
        id=row["id"],
        created_at=row["created_at"],
        parent=row["parent"],
        input_name=row["input_name"],
        input_copy=row["input_copy"],
        input_sha256=row["input_sha256"],
        input_format=row["input_format"],
        sheet=row["sheet"],
        settings=json.loads(row["settings"]),
        state=row["state"],
        stop_reason=row["stop_reason"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class Journal:
    """The state db of every run; one connection, used from one thread at a time."""

    def __init__(self, path: Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE … COMMIT) below.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        try:
            # A second process (the receipts server, a report) may write at the same moment.
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
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

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Journal:
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

    # Runs

    def _run_key(self, run_id: str) -> int:
        """Return runs.key of a run; StateError if there is none."""
        row = self._db.execute("SELECT key FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StateError(
                f"unknown run {run_id!r} in {self.path}", hint="batch-sms runs lists them"
            )
        return int(row[0])

    def create_run(self, run: RunInfo) -> None:
        """Store a new run; ValueError if its settings hold anything that looks like a secret."""
        _check_settings(run.settings)
        if run.state not in _RUN_STATES:
            raise ValueError(f"unknown run state {run.state!r}")
        settings = json.dumps(run.settings, sort_keys=True)
        try:
            with self._tx() as db:
                db.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({_marks(13)})",
                    (
                        *(run.id, run.created_at, run.parent, run.input_name, run.input_copy),
                        *(run.input_sha256, run.input_format, run.sheet, settings, run.state),
                        *(run.stop_reason, run.started_at, run.finished_at),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            if (
                run.parent is not None
                and self._db.execute("SELECT 1 FROM runs WHERE id = ?", (run.parent,)).fetchone()
                is None
            ):
                raise StateError(f"unknown parent run {run.parent!r} in {self.path}") from exc
            raise StateError(f"run {run.id!r} already exists in {self.path}") from exc

    def get_run(self, run_id: str) -> RunInfo:
        """Return one run; StateError if the db has no such run."""
        row = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise StateError(
                f"unknown run {run_id!r} in {self.path}", hint="batch-sms runs lists them"
            )
        return _run_info(row)

    def list_runs(self) -> list[tuple[RunInfo, dict[str, int]]]:
        """Every run, newest first, with its message counts by status."""
        counts: dict[int, dict[str, int]] = {}
        for key, status, n in self._db.execute(
            "SELECT run, status, COUNT(*) FROM messages GROUP BY run, status"
        ):
            counts.setdefault(key, {})[status] = n
        rows = self._db.execute(
            f"SELECT key, {_RUN_COLUMNS} FROM runs ORDER BY created_at DESC, key DESC"
        )
        return [(_run_info(row), counts.get(row["key"], {})) for row in rows]

    def set_run_state(
        self,
        run_id: str,
        state: str,
        *,
        stop_reason: str = "",
        started_at: float | None = None,
        finished_at: float | None = None,
    ) -> None:
        """Set a run's state and stop reason; times given as None keep their stored value."""
        if state not in _RUN_STATES:
            raise ValueError(f"unknown run state {state!r}")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET state = ?, stop_reason = ?, "
                "started_at = COALESCE(?, started_at), finished_at = COALESCE(?, finished_at) "
                "WHERE id = ?",
                (state, stop_reason, started_at, finished_at, run_id),
            )
            if cur.rowcount == 0:
                raise StateError(
                    f"unknown run {run_id!r} in {self.path}", hint="batch-sms runs lists them"
                )

    def family(self, run_id: str) -> list[str]:
        """The root of a run's retry chain and all its descendants, oldest first."""
        self._run_key(run_id)
        rows = self._db.execute(
            """WITH RECURSIVE
                 up(id, parent) AS (
                   SELECT id, parent FROM runs WHERE id = ?
                   UNION SELECT r.id, r.parent FROM runs r JOIN up ON r.id = up.parent),
                 down(id) AS (
                   SELECT id FROM up WHERE parent IS NULL
                   UNION SELECT r.id FROM runs r JOIN down ON r.parent = down.id)
               SELECT runs.id FROM down JOIN runs USING (id) ORDER BY runs.created_at, runs.key""",
            (run_id,),
        )
        return [row[0] for row in rows]

    # Messages

    def add_messages(self, run_id: str, messages: Iterable[Message]) -> int:
        """Store a run's messages in one transaction (READY stored as PENDING); return the count."""
        key = self._run_key(run_id)
        pending, ready = Status.PENDING.value, Status.READY
        rows = (
            (
                *(key, m.row, m.index, m.raw_phone, m.phone, m.content, m.segments, m.encoding),
                m.country_code,
                pending if m.status is ready else m.status.value,
                m.error,
                json.dumps(m.warnings) if m.warnings else "[]",
            )
            for m in messages
        )
        count = 0
        try:
            with self._tx() as db:
                for chunk in _chunks(rows, _CHUNK):
                    db.executemany(
                        "INSERT INTO messages (run, row, idx, raw_phone, phone, content, segments, "
                        "encoding, country_code, status, error, warnings) "
                        f"VALUES ({_marks(12)})",
                        chunk,
                    )
                    count += len(chunk)
        except sqlite3.IntegrityError as exc:
            raise StateError(f"run {run_id!r} already holds one of these rows ({exc})") from exc
        return count

    def next_batch(
        self,
        run_id: str,
        after_id: int,
        limit: int,
        statuses: Sequence[Status] = (Status.PENDING, Status.CAPPED),
    ) -> list[Queued]:
        """Up to `limit` messages with id > after_id in the given statuses, by id."""
        key = self._run_key(run_id)
        if limit <= 0:
            return []  # SQLite reads a negative LIMIT as "no limit"
        found: list[sqlite3.Row] = []
        # One indexed range scan per status: `status IN (…) ORDER BY id` would sort the whole run.
        for status in dict.fromkeys(statuses):
            found += self._db.execute(
                "SELECT id, row, idx, phone, content, segments, attempts, status FROM messages "
                "WHERE run = ? AND status = ? AND id > ? ORDER BY id LIMIT ?",
                (key, Status(status).value, after_id, limit),
            ).fetchall()
        found.sort(key=lambda r: int(r["id"]))
        return [
            Queued(
                *(r["id"], run_id, r["row"], r["idx"], r["phone"], r["content"], r["segments"]),
                *(r["attempts"], Status(r["status"])),
            )
            for r in found[:limit]
        ]

    def mark_inflight(self, ids: Sequence[int], at: float) -> None:
        """Mark messages as on their way; committed before the requests leave."""
        with self._tx() as db:
            db.executemany(
                "UPDATE messages SET status = 'inflight', inflight_at = ? WHERE id = ?",
                [(at, i) for i in ids],
            )

    def record(self, results: Sequence[Result], attempts: Sequence[Attempt] = ()) -> None:
        """Write outcomes and the attempts log in one transaction."""
        with self._tx() as db:
            # A receipt may beat the answer's write (the receipts server is another process):
            # its delivered/undelivered stands, the answer still fills code, messageid, times.
            db.executemany(
                "UPDATE messages SET "
                "status = CASE WHEN status IN ('delivered', 'undelivered') THEN status ELSE ? END, "
                "code = ?, result = ?, messageid = ?, attempts = ?, "
                "sent_at = COALESCE(?, sent_at), next_at = ?, error = ? WHERE id = ?",
                [
                    (
                        *(Status(r.status).value, r.code, r.result, r.messageid, r.attempts),
                        *(r.sent_at, r.next_at, r.error, r.id),
                    )
                    for r in results
                ],
            )
            db.executemany(
                "INSERT INTO attempts (message_id, at, code, kind, result) VALUES (?, ?, ?, ?, ?)",
                [(a.message_id, a.at, a.code, a.kind, a.result) for a in attempts],
            )
            self._map_waiting_receipts([r.messageid for r in results if r.messageid])

    def attempts(self, message_id: int) -> list[Attempt]:
        """The attempts log of one message, oldest first."""
        rows = self._db.execute(
            "SELECT message_id, at, code, kind, result FROM attempts WHERE message_id = ? "
            "ORDER BY at, id",
            (message_id,),
        )
        return [Attempt(*row) for row in rows]

    def unresolved(self, run_id: str) -> list[tuple[int, str, float | None, int]]:
        """A run's `unknown` messages: (id, phone, when the request left, attempts)."""
        key = self._run_key(run_id)
        rows = self._db.execute(
            "SELECT id, phone, inflight_at, attempts FROM messages "
            "WHERE run = ? AND status = 'unknown' ORDER BY id",
            (key,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def known_messageids(self, messageids: Iterable[str]) -> set[str]:
        """Those of the given provider messageids that some message in the db already holds."""
        found: set[str] = set()
        for chunk in _chunks(dict.fromkeys(messageids), _IN_CHUNK):
            rows = self._db.execute(
                f"SELECT messageid FROM messages WHERE messageid IN ({_marks(len(chunk))})",
                chunk,
            )
            found.update(r[0] for r in rows)
        return found

    def inflight_to_unknown(self, run_id: str) -> int:
        """Turn a run's leftover `inflight` messages into `unknown`; return how many."""
        return self.set_status(run_id, (Status.INFLIGHT,), Status.UNKNOWN)

    def set_status(self, run_id: str, from_statuses: Sequence[Status], to: Status) -> int:
        """Move a run's messages from some statuses to another; return how many moved."""
        key = self._run_key(run_id)
        values = [Status(s).value for s in from_statuses]
        if not values:
            return 0
        with self._tx() as db:
            cur = db.execute(
                "UPDATE messages SET status = ? WHERE run = ? "
                f"AND status IN ({_marks(len(values))})",
                (Status(to).value, key, *values),
            )
            return cur.rowcount

    def accepted_since(self, phones: Iterable[str], since: float) -> dict[str, list[float]]:
        """Accepted messages' sent_at at or after `since` in all runs, sorted, by phone."""
        out: dict[str, list[float]] = {}
        for chunk in _chunks(dict.fromkeys(phones), _IN_CHUNK):
            for phone, sent_at in self._db.execute(
                f"SELECT phone, sent_at FROM messages WHERE status IN {_ACCEPTED_SQL} "
                f"AND phone IN ({_marks(len(chunk))}) AND sent_at >= ? ORDER BY phone, sent_at",
                (*chunk, since),
            ):
                out.setdefault(phone, []).append(sent_at)
        return out

    def counts(self, run_id: str) -> dict[str, int]:
        """A run's message counts by status (statuses with none are left out)."""
        key = self._run_key(run_id)
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM messages WHERE run = ? GROUP BY status", (key,)
        )
        return {status: n for status, n in rows}

    def report_rows(self, run_id: str) -> Iterator[MessageRecord]:
        """Every message of a run ordered by row and index, streamed."""
        key = self._run_key(run_id)
        return self._stream_records(key, run_id)

    def _stream_records(self, key: int, run_id: str) -> Iterator[MessageRecord]:
        """Yield MessageRecords a thousand rows per fetch."""
        cur = self._db.cursor()
        cur.row_factory = None  # plain tuples: a million rows build noticeably faster
        cur.execute(
            f"SELECT {_RECORD_COLUMNS} FROM messages WHERE run = ? ORDER BY row, idx", (key,)
        )
        try:
            while rows := cur.fetchmany(1000):
                for r in rows:
                    warnings = tuple(json.loads(r[16])) if r[16] != "[]" else ()
                    yield MessageRecord(
                        *(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], Status(r[8]), r[9]),
                        *(r[10], r[11], r[12], r[13], r[14], r[15], warnings, r[17], r[18]),
                        *(r[19], f"{run_id}-{r[0]}-{r[1]}"),
                    )
        finally:
            cur.close()

    def copy_for_retry(self, parent_id: str, new_run_id: str, statuses: Sequence[Status]) -> int:
        """Copy a run's messages in `statuses` to a new run as PENDING; return how many."""
        return self.copy_for_retry_detail(parent_id, new_run_id, statuses).copied

    def copy_for_retry_detail(
        self, parent_id: str, new_run_id: str, statuses: Sequence[Status]
    ) -> RetryCopy:
        """Copy for a retry, and say how many were skipped as already accepted in the family.

        Skipped: messages whose (phone, content) was accepted (sent, delivered, undelivered) in
        any run of the family, except that undelivered copies don't block an undelivered one.
        """
        values = [Status(s).value for s in statuses]
        refused = sorted(set(values) & {s.value for s in _NOT_RETRYABLE})
        if refused:
            raise ValueError(f"messages in {refused} cannot be sent again by a retry")
        parent, new = self._run_key(parent_id), self._run_key(new_run_id)
        if not values:
            return RetryCopy(0, 0)
        family = [self._run_key(r) for r in self.family(parent_id)]
        wanted = f"m.run = ? AND m.status IN ({_marks(len(values))})"
        with self._tx() as db:
            total = db.execute(
                f"SELECT COUNT(*) FROM messages m WHERE {wanted}", (parent, *values)
            ).fetchone()[0]
            # (phone, content) accepted anywhere in the family reached the provider once: skip.
            # An undelivered message is retried unless a copy was sent or delivered since;
            # its own (and other copies') "undelivered" proves the person never got it.
            cur = db.execute(
                "INSERT INTO messages (run, row, idx, raw_phone, phone, content, segments, "
                "encoding, country_code, status, warnings) "
                "SELECT ?, m.row, m.idx, m.raw_phone, m.phone, m.content, m.segments, m.encoding, "
                f"m.country_code, 'pending', m.warnings FROM messages m WHERE {wanted} "
                "AND NOT EXISTS (SELECT 1 FROM messages a WHERE a.phone = m.phone "
                f"AND a.status IN {_ACCEPTED_SQL} AND a.content = m.content "
                f"AND a.run IN ({_marks(len(family))}) "
                "AND (a.status != 'undelivered' OR m.status != 'undelivered')) ORDER BY m.id",
                (new, parent, *values, *family),
            )
            return RetryCopy(cur.rowcount, total - cur.rowcount)

    # Receipts

    def add_receipt(self, fields: Mapping[str, str], received_at: float) -> bool:
        """Store a receipt durably and apply it to its message; True when it maps to one.

        Maps by ext ("run:row:index"), else by messageid (for a multi-number send, the base id
        plus the phone). The same messageid twice is stored once. A receipt also resolves a
        message left `inflight` or `unknown`: it proves the message arrived.
        """
        kept = {k: str(fields[k]) for k in RECEIPT_FIELDS if fields.get(k) not in (None, "")}
        receipt = _Receipt(kept)
        if not receipt.messageid:
            raise ValueError("a receipt without a messageid cannot be stored")
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO receipts (received_at, messageid, base_messageid, ext, "
                "fields, message_id) VALUES (?, ?, ?, ?, ?, NULL)",
                (
                    received_at,
                    receipt.messageid,
                    receipt.base,
                    kept.get("ext", ""),
                    json.dumps(kept),
                ),
            )
            row = db.execute(
                "SELECT id, message_id, fields, received_at FROM receipts WHERE messageid = ?",
                (receipt.messageid,),
            ).fetchone()
            if row["message_id"] is not None:
                return True  # a repeated push: already applied once
            # A repeat of an unmapped receipt is applied as first stored.
            return self._apply_receipt(row["id"], _Receipt(json.loads(row["fields"])), row[3])

    def _map_waiting_receipts(self, messageids: list[str]) -> None:
        """Apply receipts stored before their message's messageid was (inside a transaction)."""
        for chunk in _chunks(dict.fromkeys(messageids), _IN_CHUNK):
            waiting = self._db.execute(
                "SELECT id, fields, received_at FROM receipts WHERE message_id IS NULL "
                f"AND base_messageid IN ({_marks(len(chunk))})",
                chunk,
            ).fetchall()
            for row in waiting:
                self._apply_receipt(row["id"], _Receipt(json.loads(row["fields"])), row[2])

    def _find_message(self, receipt: _Receipt) -> int | None:
        """The id of the message a receipt is about, or None."""
        ext = _EXT.match(receipt.fields.get("ext", ""))
        if ext:
            found = self._db.execute(
                "SELECT m.id FROM messages m JOIN runs r ON r.key = m.run "
                "WHERE r.id = ? AND m.row = ? AND m.idx = ?",
                (ext.group(1), int(ext.group(2)), int(ext.group(3))),
            ).fetchone()
            if found:
                return int(found[0])
        for messageid in dict.fromkeys((receipt.messageid, receipt.base)):
            rows = self._db.execute(
                # "!= ''" lets SQLite use the partial index on messageid.
                "SELECT id, phone FROM messages WHERE messageid = ? AND messageid != ''",
                (messageid,),
            ).fetchall()
            if len(rows) == 1:
                return int(rows[0]["id"])
            phone = re.sub(r"\D", "", receipt.fields.get("phone", "")).lstrip("0")
            same = [r for r in rows if phone and r["phone"] == phone]
            if len(same) == 1:
                return int(same[0]["id"])
        return None

    def _apply_receipt(self, receipt_id: int, receipt: _Receipt, received_at: float) -> bool:
        """Map a stored receipt to its message and update the message (inside a transaction)."""
        message_id = self._find_message(receipt)
        if message_id is None:
            return False
        self._db.execute(
            "UPDATE receipts SET message_id = ? WHERE id = ?", (message_id, receipt_id)
        )
        current = Status(
            self._db.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()[
                0
            ]
        )
        # Delivered is final: a later "not delivered" for the same message must not undo it.
        if current in _PREFLIGHT or current is Status.DELIVERED:
            return True
        status = receipt.status or current
        self._db.execute(
            "UPDATE messages SET status = ?, dr_status = ?, dr_result = ?, dr_time = ?, "
            "sent_at = CASE WHEN ? THEN COALESCE(sent_at, inflight_at, ?) ELSE sent_at END "
            "WHERE id = ?",
            (
                *(status.value, receipt.dr_status, receipt.fields.get("status", "")),
                *(receipt.fields.get("drtime", ""), receipt.status is not None, received_at),
                message_id,
            ),
        )
        return True
