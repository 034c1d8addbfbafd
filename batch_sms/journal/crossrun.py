"""Questions across runs: was this text already accepted for this number, is one still unsettled.

They keep "never message anyone twice by accident" across campaigns: a (phone, content) pair
accepted by the provider in any run of the state db is not sent again unasked (texts compared
by `models.content_key`; an undelivered message did not reach its number and doesn't count),
and a provider record for a number is attributed to an unknown message only when no other run
left one open.
"""

# ruff: noqa: S608  (queries interpolate only constant column lists and "?" placeholders)

from __future__ import annotations

from collections.abc import Iterable

from batch_sms.journal.connection import CHUNK, Connection, chunks, marks
from batch_sms.journal.schema import ACCEPTED_SQL, QUEUED_SQL, UNCERTAIN_SQL
from batch_sms.models import content_key

# Phones per query: large enough that a million pairs take few round trips, well under
# SQLite's 32,766 host parameters.
PHONE_CHUNK = 2000
# A run's queued messages are checked this many at a time, so a million never sit in memory.
PAGE = 5000
_OPEN = ("pending", "capped")


class CrossRunMixin(Connection):
    """The Journal's checks that look at every run in the state db."""

    def already_accepted(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, int]]:
        """Those (phone, content) pairs accepted (sent or delivered, not undelivered) in any run,
        with (run id, row) of the first; texts compared by content_key."""
        found = self._first_accepted(pairs, exclude_key=None)
        names = self._run_names()
        return {pair: (names[key], row) for pair, (_, key, row) in found.items()}

    def unsettled(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, int]]:
        """Those (phone, content) pairs whose message in some run is in flight or unknown (it may
        have arrived), with (run id, row) of the first."""
        found = self._first_accepted(pairs, exclude_key=None, statuses=UNCERTAIN_SQL)
        names = self._run_names()
        return {pair: (names[key], row) for pair, (_, key, row) in found.items()}

    def mark_already_accepted(self, run_id: str) -> int:
        """Turn a run's pending/capped messages accepted in another run into duplicates; count.

        For a resume: another run may have sent the same text to the same number meanwhile.
        An undelivered message doesn't count: it did not reach the number (and a retry that
        took it is there to send it again; this run may be (a descendant of) that retry).
        """
        key = self._run_key(run_id)
        names = self._run_names()
        updates: list[tuple[str, int]] = []
        # Look up without the write lock (WAL readers block no one), then write in one short
        # transaction: a million lookups must not stall the receipts server's writes. Accepted
        # stays accepted, and the UPDATE re-checks the status, so nothing is lost in between.
        for status in _OPEN:
            after = 0
            while page := self._db.execute(
                "SELECT id, phone, content FROM messages WHERE run = ? AND status = ? "
                "AND id > ? AND retried_by IS NULL ORDER BY id LIMIT ?",
                (key, status, after, PAGE),
            ).fetchall():
                after = page[-1][0]
                hits = self._first_accepted(((r[1], r[2]) for r in page), exclude_key=key)
                updates += [
                    (f"already sent in run {names[hit[1]]} (row {hit[2]})", r[0])
                    for r in page
                    if (hit := hits.get((r[1], r[2]))) is not None
                ]
        with self._tx() as db:
            changed = 0
            for chunk in chunks(updates, CHUNK):
                cur = db.executemany(
                    "UPDATE messages SET status = 'duplicate', error = ? WHERE id = ? "
                    f"AND status IN {QUEUED_SQL} AND retried_by IS NULL",
                    chunk,
                )
                changed += cur.rowcount
        return changed

    def pending_elsewhere(
        self, phones: Iterable[str], run_id: str, since: float | None = None
    ) -> dict[str, int]:
        """For each phone, how many messages of other runs are `inflight` or `unknown`.

        Messages handed to a retry count too: their request may still have reached the provider.
        With `since`, only those sent at or after it (older ones can't own the records asked
        about). Phones with none are left out.
        """
        key = self._run_key(run_id)
        out: dict[str, int] = {}
        for chunk in chunks(dict.fromkeys(phones), PHONE_CHUNK):
            rows = self._db.execute(
                f"SELECT phone, COUNT(*) FROM messages WHERE status IN {UNCERTAIN_SQL} "
                f"AND phone IN ({marks(len(chunk))}) AND run != ? "
                "AND (? IS NULL OR inflight_at IS NULL OR inflight_at >= ?) GROUP BY phone",
                (*chunk, key, since, since),
            )
            out.update((phone, n) for phone, n in rows)
        return out

    def _run_names(self) -> dict[int, str]:
        """runs.key → run id, for every run (a state db holds few runs)."""
        return {key: run_id for key, run_id in self._db.execute("SELECT key, id FROM runs")}

    def _first_accepted(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        exclude_key: int | None,
        statuses: str = ACCEPTED_SQL,
    ) -> dict[tuple[str, str], tuple[int, int, int]]:
        """Hits among `pairs`: pair → (message id, run key, row) of the lowest id.

        Texts are compared by `content_key`, so whitespace variants of one text are one text.
        An `undelivered` message never reached its number, so it is no hit: sending that text
        again is what the user wants. Streams `pairs` a chunk at a time and asks by phone only,
        through the partial index on accepted (or, with `statuses`, uncertain) messages; texts
        are compared here (each distinct text normalised once), so only hits are kept. With
        `exclude_key`, that run's own messages are left out (mark_already_accepted).
        """
        found: dict[tuple[str, str], tuple[int, int, int]] = {}
        keys: dict[str, str] = {}

        def key_of(text: str) -> str:
            key = keys.get(text)
            if key is None:
                key = keys[text] = content_key(text)
            return key

        for chunk in chunks(pairs, PHONE_CHUNK):
            wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for phone, text in chunk:
                wanted.setdefault((phone, key_of(text)), []).append((phone, text))
            phones = list(dict.fromkeys(phone for phone, _ in chunk))
            # `status IN …` as the index has it (so it applies), undelivered ruled out beside it.
            rows = self._db.execute(
                "SELECT id, run, row, phone, content FROM messages "
                f"WHERE status IN {statuses} AND status != 'undelivered' "
                f"AND phone IN ({marks(len(phones))})",
                phones,
            )
            for message_id, run, row, phone, content in rows:
                asked = wanted.get((phone, key_of(content)))
                if asked is None or run == exclude_key:
                    continue
                for pair in asked:
                    best = found.get(pair)
                    if best is None or message_id < best[0]:
                        found[pair] = (message_id, run, row)
        return found
