"""report.xlsx (Results + Summary), results.csv and the failed-rows file of a run.

Choices a user of the files may want to know:
- sms_sent_at is text "YYYY-MM-DD HH:MM:SS" in UTC (the same in the sheet and the CSV, and it
  sorts as text); sms_segments and sms_attempts are numbers; every input cell is text.
- In the xlsx files a cell holds at most 32,767 characters (Excel's limit), characters an xlsx
  cannot hold become U+FFFD and CR LF becomes LF; the CSV files keep the input's cells exact.
- In the CSV files the sms_* values that begin like a formula get a leading "'" (they come from
  the provider or this tool); the input's own cells are never changed, so failed.csv and
  results.csv go back into `send` as they are.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import IO, Protocol

from batch_sms.errors import UsageError
from batch_sms.models import Message, Row, Status
from batch_sms.sheets import TextSheet, csv_safe, save, text_cell
from batch_sms.summary import SummaryInfo, Tally, summary_lines, utc_text, write_summary

__all__ = [
    "FAILED_STATUSES",
    "RESULT_COLUMNS",
    "MessageResult",
    "RecordLike",
    "ReportFiles",
    "ResultRow",
    "SummaryInfo",
    "aggregate",
    "result_rows",
    "row_status",
    "validation_rows",
    "write_report",
]

RESULT_COLUMNS = (
    "sms_status", "sms_code", "sms_result", "sms_messageid", "sms_sys_message_id", "sms_phone",
    "sms_segments", "sms_attempts", "sms_sent_at", "sms_dr_status", "sms_dr_time", "sms_error",
)  # fmt: skip
# Rows worth sending again (after a fix): they go into failed.csv / failed.xlsx.
FAILED_STATUSES = frozenset(
    {Status.INVALID, Status.FAILED, Status.UNKNOWN, Status.CAPPED, Status.PENDING,
     Status.UNDELIVERED}
)  # fmt: skip
# A row's status is its least successful message's; duplicate/suppressed only when all are.
SEVERITY = (
    Status.INVALID, Status.FAILED, Status.UNKNOWN, Status.CAPPED, Status.PENDING,
    Status.UNDELIVERED, Status.SENT, Status.DELIVERED, Status.READY, Status.SUPPRESSED,
    Status.DUPLICATE,
)  # fmt: skip
_RANK = {status: rank for rank, status in enumerate(SEVERITY)}
_NOT_SENT = frozenset({Status.DUPLICATE, Status.SUPPRESSED})
SHEET_ROWS = 1_048_575  # an Excel worksheet holds 1,048,576 rows, one of them the header


@dataclass(frozen=True, slots=True)
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
    messages: int = 1  # recipients in the row's phone cell


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


@dataclass(frozen=True)
class ReportFiles:
    """The files written and the row counts by status."""

    report: Path
    results_csv: Path | None
    failed: Path | None
    rows: int
    counts: dict[str, int]


class RecordLike(Protocol):
    """The fields of journal.MessageRecord a report reads."""

    @property
    def row(self) -> int: ...
    @property
    def raw_phone(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def segments(self) -> int: ...
    @property
    def status(self) -> Status: ...
    @property
    def code(self) -> str: ...
    @property
    def result(self) -> str: ...
    @property
    def messageid(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def sent_at(self) -> float | None: ...
    @property
    def next_at(self) -> float | None: ...
    @property
    def error(self) -> str: ...
    @property
    def dr_status(self) -> str: ...
    @property
    def dr_time(self) -> str: ...
    @property
    def sys_message_id(self) -> str: ...


def row_status(statuses: Iterable[Status]) -> Status:
    """The least successful status by SEVERITY (an `inflight` leftover counts as unknown)."""
    ranked = [Status.UNKNOWN if s is Status.INFLIGHT else s for s in statuses]
    return min(ranked, key=_RANK.__getitem__) if ranked else Status.INVALID


def aggregate(number: int, cells: tuple[str, ...], parts: Sequence[MessageResult]) -> ResultRow:
    """Combine a row's messages into one result row (fields joined with ", " by position)."""
    if len(parts) == 1:
        p = parts[0]
        error = "; ".join(filter(None, (p.error, *(f"warning: {w}" for w in p.warnings))))
        return ResultRow(
            number, cells, row_status([p.status]), p.code, p.result, p.messageid,
            p.sys_message_id, p.phone, p.segments, p.attempts, p.sent_at, p.dr_status, p.dr_time,
            error,
        )  # fmt: skip

    def join(name: str) -> str:
        values = [getattr(p, name) for p in parts]
        return ", ".join(values) if any(values) else ""

    # Recipients that are not sent (duplicate, suppressed) are not billed: leave them out unless
    # the row has nothing else, so sms_segments says what the row costs.
    billed = [p for p in parts if p.status not in _NOT_SENT] or parts
    errors = [f"{p.raw_phone}: {p.error}" for p in parts if p.error]
    warnings = dict.fromkeys(w for p in parts for w in p.warnings)
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
        messages=len(parts),
    )


def _from_record(record: RecordLike, describe: Callable[[str], str]) -> MessageResult:
    error = record.error
    if record.status is Status.CAPPED and record.next_at is not None:
        later = f"may be sent after {utc_text(record.next_at)} UTC"
        error = f"{error}; {later}" if error else later
    return MessageResult(
        raw_phone=record.raw_phone,
        status=record.status,
        phone=record.phone,
        segments=record.segments,
        code=record.code,
        result=(describe(record.code) if record.code else "") or record.result,
        messageid=record.messageid,
        sys_message_id=record.sys_message_id,
        attempts=record.attempts,
        sent_at=utc_text(record.sent_at) if record.sent_at is not None else "",
        dr_status=record.dr_status,
        dr_time=record.dr_time,
        error=error,
    )


def result_rows(
    input_rows: Iterable[Row], records: Iterable[RecordLike], describe: Callable[[str], str]
) -> Iterator[ResultRow]:
    """Merge input rows (by number) with message records (by row, index) in one pass.

    Rows without records (not part of this run) are skipped; a record whose row is missing from
    the input still gets a result row, with empty cells.
    """
    rows = iter(input_rows)
    current = next(rows, None)
    for number, group in groupby(records, key=attrgetter("row")):
        while current is not None and current.number < number:
            current = next(rows, None)
        cells = current.cells if current is not None and current.number == number else ()
        yield aggregate(number, cells, [_from_record(r, describe) for r in group])


def validation_rows(input_rows: Iterable[Row], messages: Iterable[Message]) -> Iterator[ResultRow]:
    """The pre-flight result of each input row (ready/invalid/duplicate/suppressed)."""
    by_row: dict[int, list[Message]] = {}
    for message in messages:
        by_row.setdefault(message.row, []).append(message)
    for row in input_rows:
        found = by_row.pop(row.number, None)
        if found:
            found.sort(key=attrgetter("index"))
            parts = [
                MessageResult(m.raw_phone, m.status, m.phone, m.segments, error=m.error,
                              warnings=m.warnings)
                for m in found
            ]  # fmt: skip
            yield aggregate(row.number, row.cells, parts)


def _sms_values(row: ResultRow) -> list[str | int | None]:
    return [
        row.status.value, row.code, row.result, row.messageid, row.sys_message_id, row.phone,
        row.segments, row.attempts, row.sent_at, row.dr_status, row.dr_time, row.error,
    ]  # fmt: skip


def _fit(cells: tuple[str, ...], width: int) -> list[str | int | None]:
    """The row's cells under the input's columns (a short CSV row is padded)."""
    values: list[str | int | None] = list(cells[:width])
    values.extend([""] * (width - len(values)))
    return values


def _csv_file(path: Path) -> tuple[IO[str], Callable[[Iterable[object]], object]]:
    # The BOM makes Excel read UTF-8; a lone surrogate (never from a decoded file) becomes "?".
    handle = path.open("w", encoding="utf-8-sig", errors="replace", newline="")
    return handle, csv.writer(handle).writerow


def write_report(
    out_dir: Path,
    columns: Sequence[str],
    rows: Iterable[ResultRow],
    summary: SummaryInfo,
    input_format: str,
    *,
    max_sheet_rows: int = SHEET_ROWS,
) -> ReportFiles:
    """Stream the rows once into report.xlsx, results.csv and the failed-rows file."""
    from openpyxl import Workbook

    out_dir.mkdir(parents=True, exist_ok=True)
    width, is_csv = len(columns), input_format.lower() == "csv"
    failed_name = "failed.csv" if is_csv else "failed.xlsx"
    final = {
        "report": out_dir / "report.xlsx",
        "results": out_dir / "results.csv",
        "failed": out_dir / failed_name,
    }
    temp = {key: path.with_name(f".{path.name}.tmp") for key, path in final.items()}
    header = [*columns, *RESULT_COLUMNS]
    failed_header = [*columns, "sms_status", "sms_error"]
    book = Workbook(write_only=True)
    results = TextSheet(book.create_sheet("Results"), header, out_dir, status_column=width)
    tally = Tally()
    failed_book: Workbook | None = None
    failed_sheet: TextSheet | None = None
    failed_csv: IO[str] | None = None
    failed_row: Callable[[Iterable[object]], object] | None = None
    # The CSV copy is always streamed: only at the end is it known whether the sheet overflowed.
    results_csv, results_row = _csv_file(temp["results"])
    try:
        with results_csv:
            results_row(header)
            for row in rows:
                tally.add(row)
                values = _fit(row.cells, width)
                sms = _sms_values(row)
                if results.rows < max_sheet_rows:
                    results.add(values + sms)
                results_row(values + [csv_safe(v) for v in sms])
                if row.status not in FAILED_STATUSES:
                    continue
                extra: list[str | int | None] = [row.status.value, row.error]
                if is_csv:
                    if failed_row is None:
                        failed_csv, failed_row = _csv_file(temp["failed"])
                        failed_row(failed_header)
                    failed_row(values + [csv_safe(v) for v in extra])
                else:
                    if failed_sheet is None:
                        failed_book = Workbook(write_only=True)
                        sheet = failed_book.create_sheet("Rows")
                        failed_sheet = TextSheet(sheet, failed_header, out_dir, width)
                    failed_sheet.add(values + extra)
        if failed_csv is not None:
            failed_csv.close()
        sheet = book.create_sheet("Summary")
        lines = summary_lines(summary, tally, results.rows)
        write_summary(sheet, lines, lambda value: text_cell(sheet, value))
        save(book, [results], temp["report"])
        if failed_book is not None and failed_sheet is not None:
            save(failed_book, [failed_sheet], temp["failed"])
    except BaseException:
        if failed_csv is not None:
            failed_csv.close()
        for text_sheet in (results, failed_sheet):
            if text_sheet is not None:
                text_sheet.discard()
        for path in temp.values():
            path.unlink(missing_ok=True)
        raise
    keep_csv = is_csv or results.rows < tally.rows
    _install(temp["report"], final["report"])
    if not keep_csv:
        temp["results"].unlink()
    _install(temp["results"] if keep_csv else None, final["results"])
    wrote_failed = failed_sheet is not None or failed_row is not None
    _install(temp["failed"] if wrote_failed else None, final["failed"])
    # A failed file of the other format can only be stale (the run's input format is fixed).
    other = out_dir / ("failed.xlsx" if is_csv else "failed.csv")
    other.unlink(missing_ok=True)
    return ReportFiles(
        report=final["report"],
        results_csv=final["results"] if keep_csv else None,
        failed=final["failed"] if wrote_failed else None,
        rows=tally.rows,
        counts={s.value: n for s, n in tally.statuses.items()},
    )


def _install(temp: Path | None, final: Path) -> None:
    """Move a finished file into place, or remove a stale one when there is no new file."""
    try:
        if temp is None:
            final.unlink(missing_ok=True)
        else:
            os.replace(temp, final)
    except PermissionError as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise UsageError(
            f"cannot replace {final}: {exc.strerror}",
            hint="close it if another program has it open, then run `batch-sms report RUN_ID`",
        ) from exc
