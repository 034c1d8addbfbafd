"""The small value types that travel between the modules, and the vocabulary they share: the
statuses (every set, order and colour), the ids a message carries, credentials."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import StrEnum

__all__ = [
    "ACCEPTED",
    "DEFAULT_BASE_URL",
    "DR_STATUSES",
    "NOT_RETRYABLE",
    "NOT_SENDABLE",
    "PREFLIGHT",
    "QUEUED",
    "RECEIPTED",
    "RESENDABLE",
    "RESULT_COLUMNS",
    "RETRYABLE",
    "RETRY_DEFAULT",
    "SECRET_ENV",
    "SEVERITY",
    "STATUS_BAR_RGB",
    "STATUS_ORDER",
    "STATUS_RGB",
    "STATUS_STYLE",
    "UNCERTAIN",
    "CostEstimate",
    "CountryCost",
    "Credentials",
    "Message",
    "Row",
    "Status",
    "base_messageid",
    "content_key",
    "duration_text",
    "ext",
    "one_row_status",
    "parse_duration",
    "parse_ext",
    "row_status",
    "sql_list",
    "sys_message_id",
    "utc_text",
]  # fmt: skip

# The NXCloud API's host; a run may point elsewhere (--base-url), e.g. at the sandbox.
DEFAULT_BASE_URL = "https://api2.nxcloud.com"
# The environment variable of each credential (a config file's [credentials] uses the same keys).
SECRET_ENV = {
    "access_key": "NXCLOUD_ACCESS_KEY",
    "access_secret": "NXCLOUD_ACCESS_SECRET",
    "app_key": "NXCLOUD_APP_KEY",
}

# A delivery receipt's `status` numbers and what they mean (nxcloud-api.md §3); 2 is delivered.
DR_STATUSES = {
    "2": "DELIVRD",
    "5": "UNDELIV",
    "6": "REJECTD",
    "7": "EXPIRED",
    "8": "DELETED",
    "9": "DND",
    "10": "bad destination number",
    "11": "bad sender",
    "12": "UNKNOWN",
}
# The columns a report adds after the input's own; on input, exactly these are ignored.
# sms_text is the message as sent (rendered, after every transformation); sms_price and
# sms_currency are what the provider billed, from the delivery receipts.
RESULT_COLUMNS = (
    "sms_status", "sms_code", "sms_result", "sms_messageid", "sms_sys_message_id", "sms_phone",
    "sms_segments", "sms_attempts", "sms_sent_at", "sms_dr_status", "sms_dr_time", "sms_error",
    "sms_text", "sms_price", "sms_currency",
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
    SCHEDULED = "scheduled"  # held by quiet hours or the send window; resume sends it in time
    EXPIRED = "expired"  # not accepted before --send-until; never sent late


# The order of DESIGN.md's status table: summaries and the console list statuses in it.
STATUS_ORDER = tuple(s for s in Status if s is not Status.INFLIGHT)
# Pre-flight verdicts: no answer or receipt ever changes them.
PREFLIGHT = frozenset({Status.READY, Status.INVALID, Status.DUPLICATE, Status.SUPPRESSED})
# What `retry --status` may take: messages not accepted, or accepted but undelivered. An expired
# one only by name (never by default): the retry keeps the run's --send-until, so it is sent
# only when that retry is given a new window, never late for the old one.
RETRYABLE = frozenset(
    {Status.FAILED, Status.CAPPED, Status.UNKNOWN, Status.PENDING, Status.UNDELIVERED,
     Status.SCHEDULED, Status.EXPIRED}
)  # fmt: skip
# What the journal refuses to copy for a retry: pre-flight verdicts, and requests a process may
# still have out.
NOT_RETRYABLE = PREFLIGHT | {Status.INFLIGHT}
# Never sent and never sent again by resume or retry (the row itself must change first).
NOT_SENDABLE = frozenset({Status.INVALID, Status.DUPLICATE, Status.SUPPRESSED})
# Accepted by the provider (code 0), with or without a receipt: never sent again. The exit code
# counts these as done, so a receipt arriving during the run cannot change it.
ACCEPTED = frozenset({Status.SENT, Status.DELIVERED, Status.UNDELIVERED})
# Final word from a delivery receipt: a late send answer never overwrites it.
RECEIPTED = frozenset({Status.DELIVERED, Status.UNDELIVERED})
# May have reached the provider without an answer yet: counts for caps and reconciliation.
UNCERTAIN = frozenset({Status.INFLIGHT, Status.UNKNOWN})
# Waiting in a run's queue: `resume` sends these (a scheduled one only once its window is open).
QUEUED = frozenset({Status.PENDING, Status.CAPPED, Status.SCHEDULED})
# Rows worth sending again (after a fix): they go into failed.csv / failed.xlsx.
RESENDABLE = frozenset(
    {Status.INVALID, Status.FAILED, Status.UNKNOWN, Status.CAPPED, Status.PENDING,
     Status.UNDELIVERED, Status.SCHEDULED, Status.EXPIRED}
)  # fmt: skip
# The statuses `retry` takes when no --status is given.
RETRY_DEFAULT = (Status.FAILED, Status.CAPPED, Status.PENDING)
# A row's status is its least successful message's; duplicate/suppressed only when all are.
SEVERITY = (
    Status.INVALID, Status.FAILED, Status.EXPIRED, Status.UNKNOWN, Status.CAPPED,
    Status.SCHEDULED, Status.PENDING, Status.UNDELIVERED, Status.SENT, Status.DELIVERED,
    Status.READY, Status.SUPPRESSED, Status.DUPLICATE,
)  # fmt: skip
_RANK = {status: rank for rank, status in enumerate(SEVERITY)}
# Colours: green done, red failed, amber waiting or unsure, grey not sent. STATUS_RGB fills the
# report's status cells; STATUS_STYLE (rich markup) colours the console's counts.
_GREEN, _RED, _AMBER, _GREY = "C6EFCE", "FFC7CE", "FFEB9C", "D9D9D9"
STATUS_RGB: dict[str, str] = {
    Status.READY: _GREEN, Status.SENT: _GREEN, Status.DELIVERED: _GREEN,
    Status.INVALID: _RED, Status.FAILED: _RED, Status.UNDELIVERED: _RED, Status.EXPIRED: _RED,
    Status.CAPPED: _AMBER, Status.PENDING: _AMBER, Status.UNKNOWN: _AMBER, Status.INFLIGHT: _AMBER,
    Status.SCHEDULED: _AMBER, Status.DUPLICATE: _GREY, Status.SUPPRESSED: _GREY,
}  # fmt: skip
# The Summary chart's bars: the same families as the cells, strong enough to read as bars.
_BARS = {_GREEN: "63BE7B", _RED: "F8696B", _AMBER: "FFC000", _GREY: "A6A6A6"}
STATUS_BAR_RGB: dict[str, str] = {status: _BARS[rgb] for status, rgb in STATUS_RGB.items()}
STATUS_STYLE: dict[str, str] = {
    Status.READY: "green", Status.SENT: "green", Status.DELIVERED: "bold green",
    Status.INVALID: "red", Status.FAILED: "red", Status.UNDELIVERED: "red", Status.EXPIRED: "red",
    Status.UNKNOWN: "yellow", Status.CAPPED: "yellow", Status.PENDING: "yellow",
    Status.INFLIGHT: "yellow", Status.SCHEDULED: "yellow", Status.DUPLICATE: "dim",
    Status.SUPPRESSED: "dim",
}  # fmt: skip


# Each status as a row sees it, after its rank: an `inflight` leftover counts as unknown.
_AS_ROW = {
    s: (_RANK[Status.UNKNOWN], Status.UNKNOWN) if s is Status.INFLIGHT else (_RANK[s], s)
    for s in Status
}
_NO_STATUS = (-1, Status.INVALID)


def one_row_status(status: Status) -> Status:
    """row_status of a row with one message, as nearly every row has."""
    return _AS_ROW[status][1]


def row_status(statuses: Iterable[Status]) -> Status:
    """The least successful status by SEVERITY (an `inflight` leftover counts as unknown)."""
    # Called once per report row: a min over (rank, status) pairs, the ranks all distinct.
    return min(map(_AS_ROW.__getitem__, statuses), default=_NO_STATUS)[1]


def sql_list(statuses: Iterable[Status]) -> str:
    """The statuses as an SQL list literal in Status order, e.g. "('sent', 'delivered')"."""
    chosen = set(statuses)
    return "(" + ", ".join(f"'{s.value}'" for s in Status if s in chosen) + ")"


@dataclass(frozen=True)
class Credentials:
    """The account's access key and secret and the SMS application's app key; never printed,
    logged or stored (repr hides all)."""

    access_key: str = field(default="", repr=False)
    access_secret: str = field(default="", repr=False)
    app_key: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    def missing(self) -> list[str]:
        """Names of the environment variables still needed."""
        return [SECRET_ENV[f.name] for f in fields(self) if not getattr(self, f.name)]


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of the input: its spreadsheet row number (header = 1) and its cells as text."""

    number: int
    cells: tuple[str, ...]


# Not frozen: pre-flight builds one per recipient, and a frozen dataclass sets each of its 13
# fields through object.__setattr__ (0.35 s more per 200,000). Change one with `replace`.
@dataclass(slots=True)
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
    segments_written: int | None = None  # segments of the text as written, if --gsm-safe changed it


@dataclass(frozen=True, slots=True)
class CountryCost:
    """Messages, segments and cost for one country calling code; price/cost None when unpriced.

    `billed` is what the provider's receipts charged for `billed_messages` of them (a run's)."""

    country_code: str
    messages: int
    segments: int
    price: float | None
    cost: float | None
    billed: float | None = None
    billed_messages: int = 0


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """Per-country costs (most messages first) and totals; `cost` sums only priced countries.

    `billed` (a run's) sums the receipts' prices, None while no receipt carried one."""

    countries: tuple[CountryCost, ...]
    messages: int
    segments: int
    cost: float
    unpriced: tuple[str, ...]  # calling codes with no price and no default price
    billed: float | None = None
    billed_messages: int = 0
    billed_currency: str = ""  # the receipts' currency (distinct ones joined with ", ")
    of_run: bool = False  # a run's costs (billed known), not a pre-flight's estimate


def sys_message_id(run_id: str, row: int, index: int) -> str:
    """The deterministic sysMessageId of one message: run, row and recipient, `[0-9a-zA-Z-]`."""
    return f"{run_id}-{row}-{index}"


# What ext() writes, and a multi-number send's receipts and records: the send's messageid, "-",
# exactly 10 digits (nxcloud-api.md §3).
_EXT = re.compile(r"([0-9A-Za-z-]+):([0-9]+):([0-9]+)")
_MULTI_SUFFIX = re.compile(r"(.+)-[0-9]{10}")


def parse_ext(text: str) -> tuple[str, int, int] | None:
    """Run, row and recipient index of an `ext` as `ext()` made it; None for any other text."""
    found = _EXT.fullmatch(text)
    return None if found is None else (found[1], int(found[2]), int(found[3]))


def base_messageid(messageid: str) -> str:
    """The send's messageid of a receipt's or record's: for a send to several numbers the
    provider adds "-" and a 10-digit number to it (nxcloud-api.md §3); any other id is its own."""
    multi = _MULTI_SUFFIX.fullmatch(messageid)
    return multi.group(1) if multi else messageid


def ext(run_id: str, row: int, index: int) -> str:
    """The `ext` echoed back in delivery receipts, naming run, row and recipient."""
    return f"{run_id}:{row}:{index}"


def utc_text(ts: float) -> str:
    """A POSIX time as "YYYY-MM-DD HH:MM:SS" in UTC (the report's and the messages' form)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def duration_text(seconds: float) -> str:
    """A duration as "4m 05s", or "1h 02m 03s" from an hour on (whole seconds, rounded)."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


_DURATION_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([hms]?)", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "30m", "2h", "90s", "1h 30m" or "45" (seconds); ValueError
    for any other text. duration_text's form ("4m 05s") reads back too."""
    rest, total, parts = text.strip(), 0.0, 0
    while rest:
        found = _DURATION_PART.match(rest)
        if found is None or not found.group(0).strip():
            raise ValueError(f"{text!r} is not a duration")
        number, unit = found.groups()
        if not unit and found.end() < len(rest):
            raise ValueError(f"{text!r} is not a duration")  # a bare number comes last only
        total += float(number) * _UNIT_SECONDS[unit.lower()]
        rest, parts = rest[found.end() :].lstrip(), parts + 1
    if not parts:
        raise ValueError("an empty text is not a duration")
    return total


def content_key(text: str) -> str:
    """The form under which two texts count as the same message for the duplicate checks.

    Surrounding whitespace is trimmed, every run of whitespace inside becomes one space, and the
    text is put in Unicode NFC, so `Hello there`, ` Hello there` and `Hello  there` are one text.
    """
    return " ".join(unicodedata.normalize("NFC", text).split())
