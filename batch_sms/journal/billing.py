"""What a run family has cost so far and what its queue would cost: the cost ceiling's queries."""

# ruff: noqa: S608  (queries interpolate only constant status lists and "?" placeholders)

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from batch_sms.journal.connection import IN_CHUNK, Connection, chunks, marks
from batch_sms.models import ACCEPTED, QUEUED, UNCERTAIN, Status, sql_list

# Messages that reached the provider, or may have: they cost money unless proven otherwise.
_SPENDING_SQL = sql_list(ACCEPTED | UNCERTAIN)
_QUEUED_SQL = sql_list(QUEUED)


@dataclass(frozen=True, slots=True)
class Spending:
    """One country's part of what some runs cost: the receipts' prices, and the segments of the
    messages that may cost money but have no billed price yet (to be priced by the estimate)."""

    country_code: str
    billed: float
    unbilled_messages: int
    unbilled_segments: int


@dataclass(frozen=True, slots=True)
class CostTally:
    """A run's messages of one country, status and billed currency: how many, their segments,
    and how many of them a receipt priced, for how much."""

    country_code: int | None
    status: Status
    messages: int
    segments: int
    billed_messages: int
    billed: float
    currency: str


class BillingMixin(Connection):
    """The Journal's sums of billed prices and estimated segments."""

    def spending(self, run_ids: Sequence[str]) -> list[Spending]:
        """By country: what the runs' messages were billed, and the segments of those accepted
        or in doubt that no receipt priced yet."""
        keys = [self._run_key(r) for r in run_ids]
        rows = self._db.execute(
            "SELECT COALESCE(country_code, ''), SUM(COALESCE(billed_price, 0)), "
            "SUM(billed_price IS NULL), SUM(CASE WHEN billed_price IS NULL THEN segments END) "
            f"FROM messages WHERE run IN ({marks(len(keys))}) "
            f"AND (status IN {_SPENDING_SQL} OR billed_price IS NOT NULL) "
            "GROUP BY country_code",
            keys,
        )
        return [Spending(str(r[0]), float(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows]

    def cost_tally(self, run_id: str) -> list[CostTally]:
        """Every message of a run, summed by country, status and billed currency (currencies in
        the order of their first row)."""
        rows = self._db.execute(
            "SELECT country_code, status, COUNT(*), SUM(segments), COUNT(billed_price), "
            "SUM(COALESCE(billed_price, 0)), COALESCE(billed_currency, '') FROM messages "
            "WHERE run = ? GROUP BY country_code, status, billed_currency "
            "ORDER BY MIN(row), MIN(idx)",
            (self._run_key(run_id),),
        )
        return [
            CostTally(r[0], Status(r[1]), int(r[2]), int(r[3] or 0), int(r[4]), float(r[5]), r[6])
            for r in rows
        ]

    def queued_segments(self, run_id: str) -> list[tuple[str, int, int]]:
        """(country code, messages, segments) of a run's own messages still to send."""
        rows = self._db.execute(
            "SELECT COALESCE(country_code, ''), COUNT(*), SUM(segments) FROM messages "
            f"WHERE run = ? AND status IN {_QUEUED_SQL} AND retried_by IS NULL "
            "GROUP BY country_code",
            (self._run_key(run_id),),
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def launched(self, ids: Iterable[int]) -> set[int]:
        """Those of the given messages that left the queue (in flight, answered or settled)."""
        found: set[int] = set()
        for chunk in chunks(ids, IN_CHUNK):
            rows = self._db.execute(
                f"SELECT id FROM messages WHERE id IN ({marks(len(chunk))}) "
                f"AND status NOT IN {_QUEUED_SQL}",
                chunk,
            )
            found.update(r[0] for r in rows)
        return found
