"""Ask the provider's record of single messages (`/api/sms/get`) for receipts that never came.

The provider pushes each receipt once (nxcloud-api.md §3); a receiver that was down, or a push
lost on the way, leaves a message `sent` for good. Its record (§4, the last 31 days only) carries
the same delivery status, so `report --refresh` asks it and applies what it says as a receipt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from batch_sms.provider.reconcile import days_around

__all__ = ["RECEIPT_GRACE", "RECORD_DAYS", "Asked", "Wanted", "ask", "receipt_fields", "too_old"]

RECEIPT_GRACE = 1800.0  # seconds after acceptance before a missing receipt is worth asking about
RECORD_DAYS = 31  # the provider answers record queries for the last 31 days only


class RecordClient(Protocol):
    """The part of provider.client.Client the record query uses."""

    async def record(self, date: str, messageid: str) -> dict[str, Any]:
        """Look up one message by send date (yyyyMMdd) and messageid."""
        ...


@dataclass(frozen=True)
class Wanted:
    """A message to ask about: its provider messageid and when it was accepted."""

    messageid: str
    sent_at: float


@dataclass
class Asked:
    """What the records said: receipts for the messages with a delivery status, and the rest."""

    found: dict[str, dict[str, str]] = field(default_factory=dict)  # messageid → receipt fields
    undecided: list[str] = field(default_factory=list)  # a record, but no delivery status yet
    missing: list[str] = field(default_factory=list)  # no record on any day asked
    failed: str = ""  # why the records could not be read (the messages not asked stay as they are)


def too_old(sent_at: float, now: float) -> bool:
    """True when the provider no longer keeps the record of a message accepted at `sent_at`."""
    return now - sent_at > RECORD_DAYS * 86400


def receipt_fields(row: Mapping[str, Any]) -> dict[str, str] | None:
    """The receipt a record stands for (the fields a DR push carries), or None while the record
    has no delivery status yet."""
    number = str(row.get("dr_status") or "").strip()
    text = str(row.get("dr") or "").strip()
    if not number and not text:
        return None
    fields = {
        "messageid": str(row.get("msgid") or ""),
        "phone": str(row.get("phone") or ""),
        "status": number if number.isdigit() else "",
        "result": text or ("" if number.isdigit() else number),
        "drtime": str(row.get("dr_time") or ""),
        "sendtime": str(row.get("date") or ""),
        "size": str(row.get("billing_size") or ""),
        "price": str(row.get("billing_price") or ""),
    }
    return {key: value for key, value in fields.items() if value}


async def ask(
    client: RecordClient, wanted: Sequence[Wanted], *, now: float, concurrency: int = 10
) -> Asked:
    """Look each message up on the days that may hold it, `concurrency` queries at a time; the
    first query the provider can't answer stops the asking (`Asked.failed` says why)."""
    asked = Asked()
    gate = asyncio.Semaphore(max(concurrency, 1))

    async def one(item: Wanted) -> None:
        async with gate:
            for day in days_around(item.sent_at, now):
                if asked.failed:
                    return
                answer = await client.record(day, item.messageid)
                code = str(answer.get("code", ""))
                if code != "0":
                    meaning = str(answer.get("result") or "no reason given")
                    asked.failed = asked.failed or f"code {code}: {meaning}"
                    return
                row = answer.get("row")
                if isinstance(row, Mapping) and row:
                    # The answer is about the message asked for, whatever id the row repeats.
                    fields = receipt_fields({**row, "msgid": item.messageid})
                    if fields is None:
                        asked.undecided.append(item.messageid)
                    else:
                        asked.found[item.messageid] = fields
                    return
            asked.missing.append(item.messageid)

    await asyncio.gather(*(one(item) for item in wanted))
    return asked
