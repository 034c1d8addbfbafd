"""Messages in the journal: the send queue, outcomes, attempts and the hourly-cap history.

A message handed to a retry run (`retried_by` set) belongs to that run from then on: no query
here sends, resends, settles or moves it again in its parent.
"""

# ruff: noqa: S608  (queries interpolate only constant column lists and "?" placeholders)

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from batch_sms.errors import StateError
from batch_sms.journal.connection import CHUNK, IN_CHUNK, chunks, marks
from batch_sms.journal.receipts import ReceiptsMixin
from batch_sms.journal.records import Attempt, Queued, Result
from batch_sms.journal.schema import ACCEPTED_SQL, RECEIPTED_SQL, UNCERTAIN_SQL
from batch_sms.models import QUEUED, Message, Status, base_messageid


class MessagesMixin(ReceiptsMixin):
    """The Journal's messages and attempts tables (a result may map waiting receipts)."""

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
                for chunk in chunks(rows, CHUNK):
                    db.executemany(
                        "INSERT INTO messages (run, row, idx, raw_phone, phone, content, segments, "
                        "encoding, country_code, status, error, warnings) "
                        f"VALUES ({marks(12)})",
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
        statuses: Collection[Status] = QUEUED,
    ) -> list[Queued]:
        """Up to `limit` messages with id > after_id in the given statuses, by id (not retried)."""
        key = self._run_key(run_id)
        if limit <= 0:
            return []  # SQLite reads a negative LIMIT as "no limit"
        found: list[sqlite3.Row] = []
        # One indexed range scan per status: `status IN (…) ORDER BY id` would sort the whole run.
        for status in dict.fromkeys(statuses):
            found += self._db.execute(
                "SELECT id, row, idx, phone, content, segments, attempts, status FROM messages "
                "WHERE run = ? AND status = ? AND id > ? AND retried_by IS NULL "
                "ORDER BY id LIMIT ?",
                (key, Status(status).value, after_id, limit),
            ).fetchall()
        found.sort(key=lambda r: int(r["id"]))
        return [_queued(run_id, r) for r in found[:limit]]

    def queued_among(self, run_id: str, ids: Collection[int]) -> list[Queued]:
        """Those of the given messages of a run that are queued (not retried), by id."""
        key = self._run_key(run_id)
        values = sorted(s.value for s in QUEUED)
        found: list[Queued] = []
        for chunk in chunks(sorted(ids), IN_CHUNK):
            rows = self._db.execute(
                "SELECT id, row, idx, phone, content, segments, attempts, status FROM messages "
                f"WHERE run = ? AND id IN ({marks(len(chunk))}) AND retried_by IS NULL "
                f"AND status IN ({marks(len(values))}) ORDER BY id",
                (key, *chunk, *values),
            )
            found += [_queued(run_id, r) for r in rows]
        return found

    def mark_inflight(
        self,
        ids: Sequence[int],
        at: float,
        results: Sequence[Result] = (),
        attempts: Sequence[Attempt] = (),
        grouped: Sequence[int] = (),
    ) -> None:
        """Mark messages as on their way (committed before the requests leave); `results` and
        `attempts` of earlier requests are written first, in the same transaction. `grouped`
        are those of `ids` whose request carries several numbers (and so no sysMessageId)."""
        with self._tx() as db:
            if results or attempts:
                self._write_results(db, results, attempts)
            several = set(grouped)
            alone = [i for i in ids if i not in several] if several else ids
            for flag, some in ((0, alone), (1, grouped)):
                for chunk in chunks(some, IN_CHUNK):
                    db.execute(
                        "UPDATE messages SET status = 'inflight', inflight_at = ?, grouped = ? "
                        f"WHERE id IN ({marks(len(chunk))})",
                        (at, flag, *chunk),
                    )

    def record(self, results: Sequence[Result], attempts: Sequence[Attempt] = ()) -> None:
        """Write outcomes and the attempts log in one transaction."""
        with self._tx() as db:
            self._write_results(db, results, attempts)

    def _write_results(
        self, db: sqlite3.Connection, results: Sequence[Result], attempts: Sequence[Attempt]
    ) -> None:
        """Outcomes and attempts, inside the caller's transaction."""
        # A receipt may beat the answer's write (the receipts server is another process):
        # its delivered/undelivered stands, the answer still fills code, messageid, times.
        db.executemany(
            "UPDATE messages SET "
            f"status = CASE WHEN status IN {RECEIPTED_SQL} THEN status ELSE ? END, "
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
        # A number of a multi-number send holds its own id; its receipt's base is the send's.
        self._map_waiting_receipts([base_messageid(r.messageid) for r in results if r.messageid])

    def attempts(self, message_id: int) -> list[Attempt]:
        """The attempts log of one message, oldest first."""
        rows = self._db.execute(
            "SELECT message_id, at, code, kind, result FROM attempts WHERE message_id = ? "
            "ORDER BY at, id",
            (message_id,),
        )
        return [Attempt(*row) for row in rows]

    def latest_answers(
        self, run_id: str, but: str, limit: int = 5, window: int = 20_000
    ) -> list[tuple[float, int, str, str]]:
        """The run's newest attempts of another kind than `but` among the state db's last
        `window` attempts (a bounded read while a big run sends), newest first: (at, row, code,
        result)."""
        rows = self._db.execute(
            "SELECT a.at, m.row, a.code, a.result "
            "FROM (SELECT * FROM attempts ORDER BY id DESC LIMIT ?) AS a "
            "JOIN messages AS m ON m.id = a.message_id "
            "WHERE m.run = (SELECT key FROM runs WHERE id = ?) AND a.kind != ? "
            "ORDER BY a.id DESC LIMIT ?",
            (window, run_id, but, limit),
        )
        return [(at, row, code, result) for at, row, code, result in rows]

    def unresolved(self, run_id: str) -> list[tuple[int, str, float | None, int]]:
        """A run's `unknown` messages not handed to a retry: (id, phone, sent when, attempts)."""
        key = self._run_key(run_id)
        rows = self._db.execute(
            "SELECT id, phone, inflight_at, attempts FROM messages "
            "WHERE run = ? AND status = 'unknown' AND retried_by IS NULL ORDER BY id",
            (key,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def known_messageids(self, messageids: Iterable[str]) -> set[str]:
        """Those of the given provider messageids that some message in the db already holds."""
        found: set[str] = set()
        for chunk in chunks(dict.fromkeys(messageids), IN_CHUNK):
            rows = self._db.execute(
                f"SELECT messageid FROM messages WHERE messageid IN ({marks(len(chunk))})",
                chunk,
            )
            found.update(r[0] for r in rows)
        return found

    def inflight_to_unknown(self, run_id: str, error: str = "") -> int:
        """Turn a run's leftover `inflight` messages into `unknown`; return how many.

        Each gets `error` (why its fate is unknown, what to do) and counts its request as an
        attempt: it left the process (inflight is committed first), only its answer was lost.

        Messages handed to a retry are included: one is `inflight` only if the parent was still
        sending when the retry took it, so it may have gone out, and `inflight` must not outlive
        its run (it is no report status). `unresolved` still leaves them to the retry.
        """
        key = self._run_key(run_id)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE messages SET status = 'unknown', attempts = attempts + 1, "
                "error = CASE WHEN error = '' THEN ? ELSE error END "
                "WHERE run = ? AND status = 'inflight'",
                (error, key),
            )
            return cur.rowcount

    def set_errors(self, errors: Sequence[tuple[int, str]]) -> None:
        """Replace the sms_error of the given messages (id, error); nothing else changes."""
        with self._tx() as db:
            db.executemany(
                "UPDATE messages SET error = ? WHERE id = ?", [(e, i) for i, e in errors]
            )

    def set_status(self, run_id: str, from_statuses: Sequence[Status], to: Status) -> int:
        """Move a run's messages (not handed to a retry) between statuses; return how many."""
        key = self._run_key(run_id)
        values = [Status(s).value for s in from_statuses]
        if not values:
            return 0
        with self._tx() as db:
            cur = db.execute(
                "UPDATE messages SET status = ? WHERE run = ? AND retried_by IS NULL "
                f"AND status IN ({marks(len(values))})",
                (Status(to).value, key, *values),
            )
            return cur.rowcount

    def invalidate_lacking(self, run_id: str, needle: str, error: str) -> int:
        """Mark `invalid` with `error` a run's queued messages (not handed to a retry) whose text
        lacks `needle`; return how many."""
        key = self._run_key(run_id)
        values = sorted(s.value for s in QUEUED)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE messages SET status = 'invalid', error = ?, next_at = NULL WHERE run = ? "
                f"AND retried_by IS NULL AND status IN ({marks(len(values))}) "
                "AND instr(content, ?) = 0",
                (error, key, *values, needle),
            )
            return cur.rowcount

    def accepted_since(
        self, phones: Iterable[str], since: float, exclude_run: str | None = None
    ) -> dict[str, list[float]]:
        """Accepted messages' sent_at at or after `since` in all runs, sorted, by phone.

        With `exclude_run`, other runs' `inflight` and `unknown` messages count too, by
        inflight_at: another process may be sending them now (or did, without an answer). The
        excluded run's own in-flight messages are left out: its dispatcher counts them itself.
        """
        other = None if exclude_run is None else self._run_key(exclude_run)
        out: dict[str, list[float]] = {}
        for chunk in chunks(dict.fromkeys(phones), IN_CHUNK):
            for phone, sent_at in self._db.execute(
                f"SELECT phone, sent_at FROM messages WHERE status IN {ACCEPTED_SQL} "
                f"AND phone IN ({marks(len(chunk))}) AND sent_at >= ? ORDER BY phone, sent_at",
                (*chunk, since),
            ):
                out.setdefault(phone, []).append(sent_at)
            if other is None:
                continue
            for phone, inflight_at in self._db.execute(
                f"SELECT phone, inflight_at FROM messages WHERE status IN {UNCERTAIN_SQL} "
                f"AND phone IN ({marks(len(chunk))}) AND inflight_at >= ? AND run != ?",
                (*chunk, since, other),
            ):
                out.setdefault(phone, []).append(inflight_at)
        if other is not None:
            for times in out.values():
                times.sort()
        return out


def _queued(run_id: str, r: Sequence[Any]) -> Queued:
    """A Queued from a row of (id, row, idx, phone, content, segments, attempts, status)."""
    return Queued(r[0], run_id, r[1], r[2], r[3], r[4], r[5], r[6], Status(r[7]))
