"""Delivery receipts in the journal: stored durably, then mapped to their messages."""

# ruff: noqa: S608  (queries interpolate only constant column lists and "?" placeholders)

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from batch_sms.journal.connection import IN_CHUNK, Connection, chunks, marks
from batch_sms.models import DR_STATUSES, PREFLIGHT, Status, base_messageid, parse_ext

# The documented DR push fields (nxcloud-api.md §3); anything else a request carries is dropped.
RECEIPT_FIELDS = (
    *("phone", "status", "result", "drtime", "sendtime", "messageid"),
    *("currency", "price", "rate", "size", "ext"),
)
_TOKEN_KEY = "receipts_token"  # noqa: S105 (the meta key's name, not a token)


def _amount(text: str) -> float | None:
    """A receipt's price as a number; None when absent or not a finite amount."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


@dataclass
class _Receipt:
    """A receipt's documented fields and what they mean for the message."""

    fields: dict[str, str]
    messageid: str = field(init=False)
    base: str = field(init=False)
    status: Status | None = field(init=False)
    dr_status: str = field(init=False)
    price: float | None = field(init=False)  # the message's charge; None when not a number

    def __post_init__(self) -> None:
        f = self.fields
        self.messageid = f.get("messageid", "")
        self.base = base_messageid(self.messageid)
        number, text = f.get("status", ""), f.get("result", "")
        self.dr_status = text or DR_STATUSES.get(number, number)
        self.price = _amount(f.get("price", ""))
        if number.isdigit():
            self.status = Status.DELIVERED if number == "2" else Status.UNDELIVERED
        elif text:
            self.status = Status.DELIVERED if text.upper() == "DELIVRD" else Status.UNDELIVERED
        else:
            self.status = None  # says nothing about the fate: store and map, change nothing


class ReceiptsMixin(Connection):
    """The Journal's receipts table and how a receipt updates its message."""

    def add_receipt(self, fields: Mapping[str, str], received_at: float) -> bool:
        """Store a receipt durably and apply it to its message; True when it maps to one.

        Maps by ext ("run:row:index"), else by messageid (for a multi-number send, the base id
        plus the phone). The same messageid twice is stored once. A receipt also resolves a
        message left `inflight` or `unknown`: it proves the message arrived.
        """
        [mapped] = self.add_receipts([(fields, received_at)])
        return mapped

    def add_receipts(self, batch: Sequence[tuple[Mapping[str, str], float]]) -> list[bool]:
        """Store several receipts in one transaction (as add_receipt does each); whether each
        maps to a message. Nothing is stored when any of them cannot be."""
        with self._tx():
            return [self._store_receipt(fields, at) for fields, at in batch]

    def sync_every_commit(self) -> None:
        """Make each commit of this connection reach the disk before it returns (not only the
        OS): a receipt acknowledged to the provider then outlives a power cut too."""
        self._db.execute("PRAGMA synchronous = FULL")

    def receipts_token(self, new: str) -> str:
        """The receipts receiver's token kept in the state db; `new` is kept when there is none."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (_TOKEN_KEY, new))
            row = db.execute("SELECT value FROM meta WHERE key = ?", (_TOKEN_KEY,)).fetchone()
            return str(row[0])

    def _store_receipt(self, fields: Mapping[str, str], received_at: float) -> bool:
        """Store one receipt and apply it (inside a transaction); True when it maps."""
        kept = {k: str(fields[k]) for k in RECEIPT_FIELDS if fields.get(k) not in (None, "")}
        receipt = _Receipt(kept)
        if not receipt.messageid:
            raise ValueError("a receipt without a messageid cannot be stored")
        cur = self._db.execute(
            "INSERT OR IGNORE INTO receipts (received_at, messageid, base_messageid, ext, "
            "fields, message_id) VALUES (?, ?, ?, ?, ?, NULL)",
            (received_at, receipt.messageid, receipt.base, kept.get("ext", ""), json.dumps(kept)),
        )
        if cur.rowcount == 1 and cur.lastrowid is not None:  # the first push of this receipt
            return self._apply_receipt(cur.lastrowid, receipt, received_at)
        row = self._db.execute(
            "SELECT id, message_id, fields, received_at FROM receipts WHERE messageid = ?",
            (receipt.messageid,),
        ).fetchone()
        if row["message_id"] is not None:
            return True  # a repeated push: already applied once
        # A repeat of an unmapped receipt is applied as first stored.
        return self._apply_receipt(row["id"], _Receipt(json.loads(row["fields"])), row[3])

    def _map_waiting_receipts(self, messageids: list[str]) -> None:
        """Apply receipts stored before their message's messageid was (inside a transaction)."""
        for chunk in chunks(dict.fromkeys(messageids), IN_CHUNK):
            waiting = self._db.execute(
                "SELECT id, fields, received_at FROM receipts WHERE message_id IS NULL "
                f"AND base_messageid IN ({marks(len(chunk))})",
                chunk,
            ).fetchall()
            for row in waiting:
                self._apply_receipt(row["id"], _Receipt(json.loads(row["fields"])), row[2])

    def _find_message(self, receipt: _Receipt) -> int | None:
        """The id of the message a receipt is about, or None."""
        ext = parse_ext(receipt.fields.get("ext", ""))
        if ext:
            found = self._db.execute(
                "SELECT m.id FROM messages m JOIN runs r ON r.key = m.run "
                "WHERE r.id = ? AND m.row = ? AND m.idx = ?",
                ext,
            ).fetchone()
            if found:
                return int(found[0])
        phone = re.sub(r"\D", "", receipt.fields.get("phone", "")).lstrip("0")
        member = receipt.messageid != receipt.base  # one number of a multi-number send
        for messageid in dict.fromkeys((receipt.messageid, receipt.base)):
            rows = self._db.execute(
                # "!= ''" lets SQLite use the partial index on messageid.
                "SELECT id, phone FROM messages WHERE messageid = ? AND messageid != ''",
                (messageid,),
            ).fetchall()
            if len(rows) == 1 and not (member and phone and rows[0]["phone"] != phone):
                return int(rows[0]["id"])
            same = [r for r in rows if phone and r["phone"] == phone]
            if len(same) == 1:
                return int(same[0]["id"])
        if member and phone:  # numbered otherwise than we numbered it: the send's id and phone
            rows = self._db.execute(
                "SELECT id FROM messages WHERE messageid > ? AND messageid < ? AND phone = ?",
                (receipt.base + "-", receipt.base + ".", phone),
            ).fetchall()
            if len(rows) == 1:
                return int(rows[0]["id"])
        return None

    def _apply_receipt(self, receipt_id: int, receipt: _Receipt, received_at: float) -> bool:
        """Map a stored receipt to its message and update the message (inside a transaction)."""
        message_id = self._find_message(receipt)
        if message_id is None:
            return False
        self._db.execute(
            "UPDATE receipts SET message_id = ? WHERE id = ?", (message_id, receipt_id)
        )
        if (price := receipt.price) is not None:  # billed whatever the message's status
            self._db.execute(
                "UPDATE messages SET billed_price = COALESCE(billed_price, 0) + ?, "
                "billed_currency = ? WHERE id = ?",
                (price, receipt.fields.get("currency", ""), message_id),
            )
        current = Status(
            self._db.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()[
                0
            ]
        )
        # Delivered is final: a later "not delivered" for the same message must not undo it.
        if current in PREFLIGHT or current is Status.DELIVERED:
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
