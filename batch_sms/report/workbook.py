"""report.xlsx (Results + Summary), results.csv and the failed-rows file of a run.

Choices a user of the files may want to know:
- sms_sent_at is text "YYYY-MM-DD HH:MM:SS" in UTC (the same in the sheet and the CSV, and it
  sorts as text); sms_segments, sms_attempts and sms_price (billed, from the receipts) are
  numbers; every input cell is text.
- In the xlsx files a cell holds at most 32,767 characters (Excel's limit), characters an xlsx
  cannot hold become U+FFFD and CR LF becomes LF; the CSV files keep the input's cells exact.
- In the CSV files the sms_* values that begin like a formula get a leading "'" (they come from
  the provider or this tool); the input's own cells are never changed, so failed.csv and
  results.csv go back into `send` as they are.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from batch_sms.errors import UsageError
from batch_sms.models import RESENDABLE, RESULT_COLUMNS
from batch_sms.report.results import (
    ResultRow,
    crash_note,
    result_rows,
    validation_rows,
)
from batch_sms.report.sheets import TextSheet, csv_safe_values, save, text_cell
from batch_sms.report.summary import SummaryInfo, Tally, summary_lines
from batch_sms.report.summary_sheet import write_summary

__all__ = [
    "RUN_FILES",
    "ReportFiles",
    "ResultRow",
    "SummaryInfo",
    "crash_note",
    "result_rows",
    "results_values",
    "validation_rows",
    "write_report",
]

# The files of a run's folder, by kind (the failed rows keep the input's own format).
RUN_FILES = {
    "report": ("report.xlsx",),
    "results": ("results.csv",),
    "failed": ("failed.csv", "failed.xlsx"),
}

SHEET_ROWS = 1_048_575  # an Excel worksheet holds 1,048,576 rows, one of them the header


@dataclass(frozen=True)
class ReportFiles:
    """The files written and the row counts by status."""

    report: Path
    results_csv: Path | None
    failed: Path | None
    rows: int
    counts: dict[str, int]


def _sms_values(row: ResultRow) -> list[str | float | None]:
    """The sms_* cells of a row, in RESULT_COLUMNS order."""
    return [
        row.status.value, row.code, row.result, row.messageid, row.sys_message_id, row.phone,
        row.segments, row.attempts, row.sent_at, row.dr_status, row.dr_time, row.error, row.text,
        row.price, row.currency,
    ]  # fmt: skip


def _fit(cells: tuple[str, ...], width: int) -> list[str | float | None]:
    """The row's cells under the input's columns (a short CSV row is padded)."""
    if len(cells) == width:
        return list(cells)
    values: list[str | float | None] = list(cells[:width])
    values.extend([""] * (width - len(values)))
    return values


def results_values(row: ResultRow, width: int) -> list[str | float | None]:
    """One row of the Results sheet as written: the input's cells, then the sms_* values."""
    return _fit(row.cells, width) + _sms_values(row)


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
    again: str = "",
) -> ReportFiles:
    """Stream the rows once into report.xlsx, results.csv and the failed-rows file (`again`:
    the command that writes them again, for the hint when a file is locked)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    out_dir.mkdir(parents=True, exist_ok=True)
    width, is_csv = len(columns), input_format.lower() == "csv"
    final = {
        "report": out_dir / RUN_FILES["report"][0],
        "results": out_dir / RUN_FILES["results"][0],
        "failed": out_dir / RUN_FILES["failed"][0 if is_csv else 1],
    }
    temp = {key: path.with_name(f".{path.name}.tmp") for key, path in final.items()}
    header = [*columns, *RESULT_COLUMNS]
    failed_header = [*columns, "sms_status", "sms_error", "sms_text"]
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
                results_row(values + csv_safe_values(sms))
                if row.status not in RESENDABLE or row.handed_over:
                    continue  # a row handed to a retry is that run's to finish
                extra: list[str | float | None] = [row.status.value, row.error, row.text]
                if is_csv:
                    if failed_row is None:
                        failed_csv, failed_row = _csv_file(temp["failed"])
                        failed_row(failed_header)
                    failed_row(values + csv_safe_values(extra))
                else:
                    if failed_sheet is None:
                        failed_book = Workbook(write_only=True)
                        sheet = failed_book.create_sheet("Rows")
                        failed_sheet = TextSheet(sheet, failed_header, out_dir, width)
                    failed_sheet.add(values + extra)
        if failed_csv is not None:
            failed_csv.close()
        sheet = book.create_sheet("Summary")
        letters = (
            get_column_letter(width + 1),
            get_column_letter(width + 1 + RESULT_COLUMNS.index("sms_error")),
        )
        lines = summary_lines(summary, tally, results.rows, final["failed"].name, letters)
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
    _install(temp["report"], again, final["report"])
    if not keep_csv:
        temp["results"].unlink()
    _install(temp["results"] if keep_csv else None, again, final["results"])
    wrote_failed = failed_sheet is not None or failed_row is not None
    _install(temp["failed"] if wrote_failed else None, again, final["failed"])
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


def _install(temp: Path | None, again: str, final: Path) -> None:
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
            hint="close it if another program has it open, then "
            + (f"run: {again}" if again else "run the command again"),
        ) from exc
