"""The small value types that travel between the modules."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "RESULT_COLUMNS",
    "RETRY_DEFAULT",
    "Message",
    "Row",
    "Status",
    "content_key",
    "ext",
    "sys_message_id",
]

# The columns a report adds after the input's own; on input, exactly these are ignored.
# sms_text is the message as sent (rendered, after every transformation).
RESULT_COLUMNS = (
    "sms_status", "sms_code", "sms_result", "sms_messageid", "sms_sys_message_id", "sms_phone",
    "sms_segments", "sms_attempts", "sms_sent_at", "sms_dr_status", "sms_dr_time", "sms_error",
    "sms_text",
)  # fmt: skip


class Status(StrEnum):
    """The fate of one message (and, aggregated, of one input row)."""

    READY = "ready"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    PENDING = "pending"
    INFLIGHT = "inflight"  # journal only: the request may be on its way; never in a report
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CAPPED = "capped"
    UNKNOWN = "unknown"


# The statuses `retry` takes when no --status is given.
RETRY_DEFAULT = (Status.FAILED, Status.CAPPED, Status.PENDING)


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of the input: its spreadsheet row number (header = 1) and its cells as text."""

    number: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One recipient of one row after pre-flight: what would be sent, and whether it may be.

    A phone cell may hold several numbers; each is its own message with `index` 0, 1, ….
    """

    row: int
    index: int
    raw_phone: str
    phone: str  # E.164 digits without "+"; "" when the number is unusable
    content: str
    segments: int  # billed segments for this recipient (country rules included)
    encoding: str  # "GSM-7" or "UCS-2"
    country_code: int | None
    status: Status  # READY, INVALID, DUPLICATE or SUPPRESSED
    error: str = ""
    warnings: tuple[str, ...] = ()
    reason: str = ""  # the kind of `error` when not READY: "phone_landline", … (reasons.REASONS)


def sys_message_id(run_id: str, row: int, index: int) -> str:
    """The deterministic sysMessageId of one message: run, row and recipient, `[0-9a-zA-Z-]`."""
    return f"{run_id}-{row}-{index}"


def ext(run_id: str, row: int, index: int) -> str:
    """The `ext` echoed back in delivery receipts, naming run, row and recipient."""
    return f"{run_id}:{row}:{index}"


def content_key(text: str) -> str:
    """The form under which two texts count as the same message for the duplicate checks.

    Surrounding whitespace is trimmed, every run of whitespace inside becomes one space, and the
    text is put in Unicode NFC, so `Hello there`, ` Hello there` and `Hello  there` are one text.
    """
    return " ".join(unicodedata.normalize("NFC", text).split())
