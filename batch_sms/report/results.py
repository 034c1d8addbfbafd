"""A row's result: its messages (pre-flight verdicts or journal records) combined into one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from operator import attrgetter

from batch_sms.journal.records import MessageRecord
from batch_sms.models import (
    NOT_SENDABLE,
    Message,
    Row,
    Status,
    one_row_status,
    row_status,
    utc_text,
)

__all__ = [
    "MessageResult",
    "ResultRow",
    "aggregate",
    "crash_note",
    "result_rows",
    "validation_rows",
]


# Not frozen: a frozen dataclass sets each of its 19 fields through object.__setattr__, four
# times the cost of a plain one, and a report builds one per input row.
@dataclass(slots=True)
class ResultRow:
    """One input row with its fate: the Results sheet's row."""

    number: int  # the input's spreadsheet row number (header = 1)
    cells: tuple[str, ...]
    status: Status
    code: str = ""
    result: str = ""
    messageid: str = ""
    sys_message_id: str = ""
    phone: str = ""
    segments: int | None = None
    attempts: int = 0
    sent_at: str = ""  # "YYYY-MM-DD HH:MM:SS", UTC
    dr_status: str = ""
    dr_time: str = ""
    error: str = ""
    text: str = ""  # the message as sent (distinct texts of a row's recipients, one a line)
    messages: int = 1  # recipients in the row's phone cell
    handed_over: bool = False  # every message went to a retry run, which now owns the row
    price: float | None = None  # billed by the provider (receipts), the row's messages summed
    currency: str = ""  # the billed price's currency (distinct ones joined with ", ")


@dataclass(frozen=True, slots=True)
class MessageResult:
    """One recipient's part of a row's result, before the row's messages are combined."""

    raw_phone: str
    status: Status
    phone: str = ""
    segments: int = 0
    code: str = ""
    result: str = ""
    messageid: str = ""
    sys_message_id: str = ""
    attempts: int = 0
    sent_at: str = ""
    dr_status: str = ""
    dr_time: str = ""
    error: str = ""
    warnings: tuple[str, ...] = ()
    text: str = ""
    price: float | None = None
    currency: str = ""


def crash_note(resume_command: str) -> str:
    """sms_error of a message a process left in flight when it ended (a crash, `kill -9`)."""
    return (
        "the process ended with the request in flight; it may have arrived. "
        f"{resume_command} settles it against the provider's records"
    )


def _with_warnings(error: str, warnings: tuple[str, ...]) -> str:
    """A one-message row's sms_error: the error, then each warning, joined with "; "."""
    if not warnings:
        return error
    return "; ".join(filter(None, (error, *(f"warning: {w}" for w in warnings))))


def aggregate(number: int, cells: tuple[str, ...], parts: Sequence[MessageResult]) -> ResultRow:
    """Combine a row's messages into one result row (fields joined with ", " by position)."""
    if len(parts) == 1:
        p = parts[0]
        error = _with_warnings(p.error, p.warnings)
        return ResultRow(
            number, cells, row_status([p.status]), p.code, p.result, p.messageid,
            p.sys_message_id, p.phone, p.segments, p.attempts, p.sent_at, p.dr_status, p.dr_time,
            error, p.text, price=p.price, currency=p.currency,
        )  # fmt: skip

    def join(name: str) -> str:
        values = [getattr(p, name) for p in parts]
        return ", ".join(values) if any(values) else ""

    # Recipients that are not sent (duplicate, suppressed, invalid) are not billed: leave them
    # out unless the row has nothing else, so sms_segments says what the row costs.
    billed = [p for p in parts if p.status not in NOT_SENDABLE] or parts
    # Recipients with different fates: each one's says what it got ("+86…: sent"), so a row
    # shown `invalid` for one bad number still tells that its other number was reached.
    mixed = len({p.status for p in parts}) > 1
    errors = [f"{p.raw_phone}: {p.error or p.status.value}" for p in parts if p.error or mixed]
    warnings = dict.fromkeys(w for p in parts for w in p.warnings)
    prices = [p.price for p in parts if p.price is not None]
    return ResultRow(
        number=number,
        cells=cells,
        status=row_status(p.status for p in parts),
        code=join("code"),
        result=join("result"),
        messageid=join("messageid"),
        sys_message_id=join("sys_message_id"),
        phone=join("phone"),
        segments=sum(p.segments for p in billed),
        attempts=max(p.attempts for p in parts),
        sent_at=join("sent_at"),
        dr_status=join("dr_status"),
        dr_time=join("dr_time"),
        error="; ".join(errors + [f"warning: {w}" for w in warnings]),
        # One text per row as a rule (rendered per row); distinct texts one a line otherwise.
        text="\n".join(dict.fromkeys(p.text for p in parts if p.text)),
        messages=len(parts),
        price=round(sum(prices), 6) if prices else None,
        currency=", ".join(dict.fromkeys(p.currency for p in parts if p.currency)),
    )


def _shown(
    record: MessageRecord, describe: Callable[[str], str], in_flight: str
) -> tuple[str, int, str, str]:
    """A record's error, attempts, result and sent time as the report shows them."""
    error, attempts = record.error, record.attempts
    if record.status is Status.INFLIGHT:
        # Left by a process that ended before the answer (a live run's report may show one
        # too): the request left, so it counts as an attempt, and its fate is unknown.
        error, attempts = error or in_flight, attempts + 1
    if record.status is Status.CAPPED and record.next_at is not None:
        later = f"may be sent after {utc_text(record.next_at)} UTC"
        error = f"{error}; {later}" if error else later
    result = (describe(record.code) if record.code else "") or record.result
    sent_at = utc_text(record.sent_at) if record.sent_at is not None else ""
    return error, attempts, result, sent_at


def _from_record(
    record: MessageRecord, describe: Callable[[str], str], in_flight: str
) -> MessageResult:
    error, attempts, result, sent_at = _shown(record, describe, in_flight)
    return MessageResult(
        raw_phone=record.raw_phone,
        status=record.status,
        phone=record.phone,
        segments=record.segments,
        code=record.code,
        result=result,
        messageid=record.messageid,
        sys_message_id=record.sys_message_id,
        attempts=attempts,
        sent_at=sent_at,
        dr_status=record.dr_status,
        dr_time=record.dr_time,
        error=error,
        text=record.content,
        price=record.price,
        currency=record.currency,
    )


def _one_record_row(
    number: int,
    cells: tuple[str, ...],
    r: MessageRecord,
    describe: Callable[[str], str],
    in_flight: str,
) -> ResultRow:
    """The result row of a row with one message (nearly every row), made straight from its
    record: what aggregate makes of its one MessageResult, without making that."""
    error, attempts, result, sent_at = _shown(r, describe, in_flight)
    return ResultRow(
        number, cells, one_row_status(r.status), r.code, result, r.messageid, r.sys_message_id,
        r.phone, r.segments, attempts, sent_at, r.dr_status, r.dr_time, error, r.content,
        handed_over=bool(r.retried_by), price=r.price, currency=r.currency,
    )  # fmt: skip


def result_rows(
    input_rows: Iterable[Row],
    records: Iterable[MessageRecord],
    describe: Callable[[str], str],
    in_flight: str = "",
) -> Iterator[ResultRow]:
    """Merge input rows (by number) with message records (by row, index) in one pass.

    Rows without records (not part of this run) are skipped; a record whose row is missing from
    the input still gets a result row, with empty cells. `in_flight` is the sms_error of a
    message still `inflight` in the journal (see crash_note).
    """
    rows = iter(input_rows)
    current = next(rows, None)
    for number, group in groupby(records, key=attrgetter("row")):
        while current is not None and current.number < number:
            current = next(rows, None)
        cells = current.cells if current is not None and current.number == number else ()
        records = list(group)
        if len(records) == 1:
            yield _one_record_row(number, cells, records[0], describe, in_flight)
            continue
        row = aggregate(number, cells, [_from_record(r, describe, in_flight) for r in records])
        if all(r.retried_by for r in records):
            row = replace(row, handed_over=True)
        yield row


def validation_rows(input_rows: Iterable[Row], messages: Iterable[Message]) -> Iterator[ResultRow]:
    """The pre-flight result of each input row (in row order, as a Table holds them)."""
    # Rows without messages are skipped, and so are messages whose row is not an input row.
    # A streaming merge, as result_rows does, instead of a dict of lists of every message
    # (~130 MB on 1M rows). Pre-flight makes messages in row order, so this stable sort is one
    # linear pass over references; it only matters for callers that pass them in another order.
    ordered = sorted(messages, key=attrgetter("row"))
    count = len(ordered)
    rows = iter(input_rows)
    current = next(rows, None)
    start = 0
    while start < count and current is not None:
        first = ordered[start]
        number, end = first.row, start + 1
        while end < count and ordered[end].row == number:
            end += 1
        while current is not None and current.number < number:
            current = next(rows, None)
        if current is not None and current.number == number:
            if end == start + 1:  # one number in the cell, as nearly every row: no aggregate
                yield ResultRow(
                    number, current.cells, one_row_status(first.status), phone=first.phone,
                    segments=first.segments, error=_with_warnings(first.error, first.warnings),
                    text=first.content,
                )  # fmt: skip
            else:
                parts = [
                    MessageResult(m.raw_phone, m.status, m.phone, m.segments, error=m.error,
                                  warnings=m.warnings, text=m.content)
                    for m in sorted(ordered[start:end], key=attrgetter("index"))
                ]  # fmt: skip
                yield aggregate(number, current.cells, parts)
        start = end
