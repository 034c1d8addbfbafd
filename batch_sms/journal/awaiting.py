"""Accepted messages still waiting for their receipt, and what the provider's records said."""

# ruff: noqa: S608  (queries interpolate only "?" placeholders)

from __future__ import annotations

from collections.abc import Iterable

from batch_sms.journal.connection import IN_CHUNK, Connection, chunks, marks
from batch_sms.journal.records import Awaiting


class AwaitingMixin(Connection):
    """The Journal's queries for `sent` messages whose receipt never came."""

    def awaiting_receipt(self, run_id: str, sent_before: float) -> list[Awaiting]:
        """A run's `sent` messages with a messageid, accepted at or before `sent_before`."""
        key = self._run_key(run_id)
        rows = self._db.execute(
            "SELECT id, messageid, phone, sent_at FROM messages WHERE run = ? "
            "AND status = 'sent' AND messageid != '' AND sent_at <= ? ORDER BY id",
            (key, sent_before),
        )
        return [Awaiting(r[0], r[1], r[2], r[3]) for r in rows]

    def mark_unrecorded(self, message_ids: Iterable[int], at: float | None) -> None:
        """Say the provider's records held nothing about these messages at `at` (None: they
        held a record after all)."""
        with self._tx() as db:
            for chunk in chunks(list(message_ids), IN_CHUNK):
                db.execute(
                    f"UPDATE messages SET unrecorded_at = ? WHERE id IN ({marks(len(chunk))})",
                    (at, *chunk),
                )

    def unrecorded(self, run_id: str) -> int:
        """How many of a run's `sent` messages have no receipt and, when last asked, no record."""
        key = self._run_key(run_id)
        row = self._db.execute(
            "SELECT COUNT(*) FROM messages WHERE run = ? AND status = 'sent' "
            "AND unrecorded_at IS NOT NULL",
            (key,),
        ).fetchone()
        return int(row[0])
