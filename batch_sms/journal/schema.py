"""The state db's schema: one migration per version, applied in order by the Journal."""

# ruff: noqa: S608  (statements interpolate only the constant status lists of models)

from __future__ import annotations

from collections.abc import Sequence

from batch_sms.models import ACCEPTED, NOT_SENDABLE, QUEUED, RECEIPTED, UNCERTAIN, sql_list

# The status sets as SQL literals (not bound parameters), so the partial indexes apply: a query
# uses one only when its `status IN (...)` is the index's own, which these texts guarantee.
ACCEPTED_SQL = sql_list(ACCEPTED)  # "('sent', 'delivered', 'undelivered')"
UNCERTAIN_SQL = sql_list(UNCERTAIN)  # "('inflight', 'unknown')"
RECEIPTED_SQL = sql_list(RECEIPTED)
QUEUED_SQL = sql_list(QUEUED)
NOT_SENDABLE_SQL = sql_list(NOT_SENDABLE)

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
            WHERE status IN {ACCEPTED_SQL}""",
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
    (
        # The retry run a message was handed to: the parent keeps its status (the report's
        # contract) but never sends, resends or copies that message again.
        "ALTER TABLE messages ADD COLUMN retried_by TEXT",
        # A db made before this column knows which rows a retry took only by its child runs:
        # mark each parent row that a child run holds too, so resuming the parent can't resend it.
        f"""UPDATE messages SET retried_by = (
                SELECT child.id FROM runs AS child JOIN messages AS copy ON copy.run = child.key
                WHERE child.parent = (SELECT id FROM runs WHERE key = messages.run)
                AND copy.row = messages.row AND copy.idx = messages.idx
                ORDER BY child.key LIMIT 1)
            WHERE run IN (SELECT p.key FROM runs AS p JOIN runs AS c ON c.parent = p.id)
            AND status NOT IN {sql_list(ACCEPTED | NOT_SENDABLE)}""",
        # Other runs' requests in flight count for the hourly cap and block reconciliation.
        f"""CREATE INDEX messages_uncertain ON messages(phone, inflight_at)
            WHERE status IN {UNCERTAIN_SQL}""",
    ),
    (
        # The canary's outcome (checks.canary.CANARY_STATES): a resume of a run whose canary
        # passed (or was skipped) does not send one again; one that failed says so.
        "ALTER TABLE runs ADD COLUMN canary TEXT NOT NULL DEFAULT ''",
    ),
    (
        # When `report --refresh` last asked the provider's records about a `sent` message
        # without a receipt and found none (NULL: never asked, or a record was found).
        "ALTER TABLE messages ADD COLUMN unrecorded_at REAL",
    ),
    (
        # What the provider billed for a message (the sum of its receipts' `price`, NULL while
        # none carried one) and in which currency: the report's sms_price and sms_currency.
        "ALTER TABLE messages ADD COLUMN billed_price REAL",
        "ALTER TABLE messages ADD COLUMN billed_currency TEXT NOT NULL DEFAULT ''",
        # Receipts stored before these columns existed carry their price in `fields`.
        """UPDATE messages SET
               billed_price = (SELECT SUM(CAST(json_extract(r.fields, '$.price') AS REAL))
                   FROM receipts r WHERE r.message_id = messages.id
                   AND json_extract(r.fields, '$.price') IS NOT NULL),
               billed_currency = COALESCE((SELECT json_extract(r.fields, '$.currency')
                   FROM receipts r WHERE r.message_id = messages.id
                   AND json_extract(r.fields, '$.currency') IS NOT NULL LIMIT 1), '')
            WHERE id IN (SELECT message_id FROM receipts WHERE message_id IS NOT NULL)""",
    ),
    (
        # 1 when the message's last request carried several numbers (`--group`): such a request
        # has no sysMessageId, so the report shows none for it.
        "ALTER TABLE messages ADD COLUMN grouped INTEGER NOT NULL DEFAULT 0",
        # Before this column, an accepted group member is known by its per-number messageid:
        # the send's id, "-" and ten digits (nxcloud-api.md §3).
        f"""UPDATE messages SET grouped = 1
            WHERE messageid GLOB '?*-{"[0-9]" * 10}'""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
