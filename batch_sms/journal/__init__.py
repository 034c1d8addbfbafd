"""The state db: runs, messages, attempts and receipts in SQLite; the only package with SQL.

One `Journal` holds one connection. It may be handed between threads (the receipts server does),
but callers use it from one thread at a time. Writes run in explicit `BEGIN IMMEDIATE`
transactions; WAL with synchronous=NORMAL makes every commit survive a crash of the process
(kill -9), which is what "inflight is committed before the request leaves" relies on.

Modules: `records` (the dataclasses), `schema` (migrations), `connection` (open, migrate,
transactions), `runs`, `messages` and `receipts` (one table's queries each, as mixins),
`billing` (what runs cost so far, for the cost ceiling), `awaiting` (sent messages whose receipt
never came), `store` (the `Journal` class that combines them, with report rows and retry
copies), and `legacy` (state dbs that earlier versions kept in the output folder).
"""

from batch_sms.journal.billing import CostTally, Spending
from batch_sms.journal.legacy import adopt_legacy
from batch_sms.journal.receipts import RECEIPT_FIELDS
from batch_sms.journal.records import (
    Attempt,
    Awaiting,
    CanaryCandidate,
    MessageRecord,
    Queued,
    Result,
    RetryCopy,
    RunInfo,
)
from batch_sms.journal.schema import MIGRATIONS, SCHEMA_VERSION, Migration
from batch_sms.journal.store import Journal

__all__ = [
    "MIGRATIONS",
    "RECEIPT_FIELDS",
    "SCHEMA_VERSION",
    "Attempt",
    "Awaiting",
    "CanaryCandidate",
    "CostTally",
    "Journal",
    "MessageRecord",
    "Migration",
    "Queued",
    "Result",
    "RetryCopy",
    "RunInfo",
    "Spending",
    "adopt_legacy",
]
