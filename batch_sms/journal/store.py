"""The Journal: runs, messages and receipts together, plus report rows and retry copies."""

# ruff: noqa: S608  (queries interpolate only constant column lists and "?" placeholders)

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from batch_sms.journal.awaiting import AwaitingMixin
from batch_sms.journal.billing import BillingMixin
from batch_sms.journal.connection import IN_CHUNK, chunks, marks
from batch_sms.journal.crossrun import CrossRunMixin
from batch_sms.journal.messages import MessagesMixin
from batch_sms.journal.records import CanaryCandidate, MessageRecord, RetryCopy
from batch_sms.journal.runs import RunsMixin
from batch_sms.journal.schema import ACCEPTED_SQL, NOT_SENDABLE_SQL
from batch_sms.models import NOT_RETRYABLE, QUEUED, Status, sys_message_id

_RECORD_COLUMNS = (
    "row, idx, raw_phone, phone, content, segments, encoding, country_code, status, code, "
    "result, messageid, attempts, sent_at, next_at, error, warnings, dr_status, dr_result, "
    "dr_time, COALESCE(retried_by, ''), billed_price, billed_currency, grouped"
)


class Journal(AwaitingMixin, BillingMixin, CrossRunMixin, MessagesMixin, RunsMixin):
    """The state db of every run; one connection, used from one thread at a time."""

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
                    yield _record(run_id, r)
        finally:
            cur.close()

    def canary_candidates(self, run_id: str, per_country: int) -> list[CanaryCandidate]:
        """The first `per_country` sendable messages of each country, in row order: a canary is
        picked among these (the same ones on a resume)."""
        key = self._run_key(run_id)
        rows = self._db.execute(
            "SELECT id, country_code, phone, status FROM (SELECT id, row, idx, country_code, "
            "phone, status, ROW_NUMBER() OVER (PARTITION BY country_code ORDER BY row, idx) "
            f"AS nth FROM messages WHERE run = ? AND retried_by IS NULL AND status NOT IN "
            f"{NOT_SENDABLE_SQL}) WHERE nth <= ? ORDER BY row, idx",
            (key, per_country),
        )
        return [CanaryCandidate(int(i), cc, p, Status(s) in QUEUED) for i, cc, p, s in rows]

    def records_of(self, run_id: str, ids: Sequence[int]) -> list[MessageRecord]:
        """The report records of some of a run's messages (by id), in row order."""
        key = self._run_key(run_id)
        found: list[MessageRecord] = []
        for chunk in chunks(ids, IN_CHUNK):
            cur = self._db.cursor()
            cur.row_factory = None
            found += [
                _record(run_id, r)
                for r in cur.execute(
                    f"SELECT {_RECORD_COLUMNS} FROM messages WHERE run = ? "
                    f"AND id IN ({marks(len(chunk))})",
                    (key, *chunk),
                )
            ]
        return sorted(found, key=lambda m: (m.row, m.index))

    def copy_for_retry(
        self, parent_id: str, new_run_id: str, statuses: Sequence[Status]
    ) -> RetryCopy:
        """Copy a run's messages in `statuses` to a new run as PENDING; say how many, and how
        many were skipped as already accepted in the family.

        Copied messages are handed over: marked `retried_by` the new run in the parent, so that
        neither resuming the parent nor retrying it again sends them a second time.

        Skipped: messages whose (phone, content) was accepted (sent, delivered, undelivered) in
        any run of the family, except that undelivered copies don't block an undelivered one.
        """
        values = [Status(s).value for s in statuses]
        refused = sorted(set(values) & {s.value for s in NOT_RETRYABLE})
        if refused:
            raise ValueError(f"messages in {refused} cannot be sent again by a retry")
        parent, new = self._run_key(parent_id), self._run_key(new_run_id)
        if not values:
            return RetryCopy(0, 0)
        family = [self._run_key(r) for r in self.family(parent_id)]
        wanted = f"m.run = ? AND m.status IN ({marks(len(values))}) AND m.retried_by IS NULL"
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
                f"AND {_not_accepted_in(len(family))} ORDER BY m.id",
                (new, parent, *values, *family),
            )
            copied = cur.rowcount
            # Status stays (the report's contract); retried_by and the error say where it went.
            db.execute(
                "UPDATE messages AS m SET retried_by = ?, error = ? || CASE WHEN m.error = '' "
                f"THEN '' ELSE ' (' || m.error || ')' END WHERE {wanted} AND EXISTS "
                "(SELECT 1 FROM messages c WHERE c.run = ? AND c.row = m.row AND c.idx = m.idx)",
                (new_run_id, f"sent again in retry run {new_run_id}", parent, *values, new),
            )
            return RetryCopy(copied, total - copied)

    def retry_would_send(self, parent_id: str, statuses: Sequence[Status]) -> int:
        """How many messages copy_for_retry would copy now (0: a retry has nothing to do)."""
        values = [Status(s).value for s in statuses]
        if not values:
            return 0
        family = [self._run_key(r) for r in self.family(parent_id)]
        row = self._db.execute(
            f"SELECT COUNT(*) FROM messages m WHERE m.run = ? AND m.status IN "
            f"({marks(len(values))}) AND m.retried_by IS NULL AND {_not_accepted_in(len(family))}",
            (self._run_key(parent_id), *values, *family),
        ).fetchone()
        return int(row[0])

    def count_own(self, run_id: str, statuses: Collection[Status]) -> int:
        """A run's messages in `statuses` that are still its own (not handed to a retry)."""
        key = self._run_key(run_id)
        values = [Status(s).value for s in statuses]
        row = self._db.execute(
            f"SELECT COUNT(*) FROM messages WHERE run = ? AND status IN ({marks(len(values))}) "
            "AND retried_by IS NULL",
            (key, *values),
        ).fetchone()
        return int(row[0])

    def first_next_at(self, run_id: str, status: Status) -> float | None:
        """The earliest time one of the run's own messages in `status` may be sent, if known."""
        row = self._db.execute(
            "SELECT MIN(next_at) FROM messages WHERE run = ? AND status = ? AND retried_by IS NULL",
            (self._run_key(run_id), Status(status).value),
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def handed_off(self, run_id: str) -> dict[str, int]:
        """How many of a run's messages each of its retry runs took over, oldest retry first."""
        key = self._run_key(run_id)
        rows = self._db.execute(
            "SELECT retried_by, COUNT(*) FROM messages WHERE run = ? AND retried_by IS NOT NULL "
            "GROUP BY retried_by ORDER BY MIN(id)",
            (key,),
        )
        return {retry: n for retry, n in rows}


def _record(run_id: str, r: tuple[Any, ...]) -> MessageRecord:
    """A MessageRecord from a row of _RECORD_COLUMNS."""
    warnings = tuple(json.loads(r[16])) if r[16] != "[]" else ()
    return MessageRecord(
        *(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], Status(r[8]), r[9]),
        *(r[10], r[11], r[12], r[13], r[14], r[15], warnings, r[17], r[18]),
        # A request with several numbers carries no sysMessageId (nxcloud-api.md §1).
        *(r[19], "" if r[23] else sys_message_id(run_id, r[0], r[1]), r[20], r[21], r[22]),
    )


def _not_accepted_in(runs: int) -> str:
    """SQL: message `m`'s (phone, content) was not accepted in any of `runs` runs (ids bound
    after), except that an undelivered copy does not block an undelivered message."""
    return (
        "NOT EXISTS (SELECT 1 FROM messages a WHERE a.phone = m.phone "
        f"AND a.status IN {ACCEPTED_SQL} AND a.content = m.content "
        f"AND a.run IN ({marks(runs)}) "
        "AND (a.status != 'undelivered' OR m.status != 'undelivered'))"
    )
