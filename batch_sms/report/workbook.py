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
from typing import IO, TYPE_CHECKING

from openpyxl.utils import get_column_letter

from batch_sms.errors import UsageError
from batch_sms.models import RESENDABLE, RESULT_COLUMNS
from batch_sms.report import child
from batch_sms.report.results import (
    ResultRow,
    crash_note,
    result_rows,
    validation_rows,
)
from batch_sms.report.sheets import TextSheet, csv_safe_values, save, text_cell
from batch_sms.report.summary import SummaryInfo, Tally, summary_lines
from batch_sms.report.summary_sheet import write_summary

if TYPE_CHECKING:
    from openpyxl import Workbook

__all__ = [
    "RUN_FILES",
    "ReportBeside",
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


class _Layout:
    """The files of one report: where they go, their temporary names, their headers."""

    def __init__(self, out_dir: Path, columns: Sequence[str], input_format: str) -> None:
        self.out_dir = out_dir
        self.width, self.is_csv = len(columns), input_format.lower() == "csv"
        self.final = {
            "report": out_dir / RUN_FILES["report"][0],
            "results": out_dir / RUN_FILES["results"][0],
            "failed": out_dir / RUN_FILES["failed"][0 if self.is_csv else 1],
        }
        self.temp = {key: path.with_name(f".{path.name}.tmp") for key, path in self.final.items()}
        self.header = [*columns, *RESULT_COLUMNS]
        self.failed_header = [*columns, "sms_status", "sms_error", "sms_text"]

    def remove_temp(self) -> None:
        for path in self.temp.values():
            path.unlink(missing_ok=True)


class _Book:
    """report.xlsx being written: the Results sheet row by row, then the Summary, then saved."""

    def __init__(self, layout: _Layout, max_sheet_rows: int) -> None:
        from openpyxl import Workbook

        self.layout, self.max_rows = layout, max_sheet_rows
        self.book = Workbook(write_only=True)
        sheet = self.book.create_sheet("Results")
        self.results = TextSheet(sheet, layout.header, layout.out_dir, layout.width)

    def add(self, values: list[str | float | None]) -> None:
        if self.results.rows < self.max_rows:
            self.results.add(values)

    def save(self, summary: SummaryInfo, tally: Tally) -> None:
        width = self.layout.width
        sheet = self.book.create_sheet("Summary")
        letters = (
            get_column_letter(width + 1),
            get_column_letter(width + 1 + RESULT_COLUMNS.index("sms_error")),
        )
        failed_name = self.layout.final["failed"].name
        lines = summary_lines(summary, tally, self.results.rows, failed_name, letters)
        write_summary(sheet, lines, lambda value: text_cell(sheet, value))
        save(self.book, [self.results], self.layout.temp["report"])

    def discard(self) -> None:
        self.results.discard()


class _Copies:
    """results.csv and the failed-rows file (CSV or xlsx, as the input) being written."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        # The CSV copy is always streamed: only at the end is it known whether the sheet
        # overflowed.
        self._results, self._results_row = _csv_file(layout.temp["results"])
        self._results_row(layout.header)
        self._failed_csv: IO[str] | None = None
        self._failed_row: Callable[[Iterable[object]], object] | None = None
        self._failed_book: Workbook | None = None
        self._failed_sheet: TextSheet | None = None

    @property
    def wrote_failed(self) -> bool:
        return self._failed_sheet is not None or self._failed_row is not None

    def add(
        self, row: ResultRow, values: list[str | float | None], sms: list[str | float | None]
    ) -> None:
        self._results_row(values + csv_safe_values(sms))
        if row.status not in RESENDABLE or row.handed_over:
            return  # a row handed to a retry is that run's to finish
        extra: list[str | float | None] = [row.status.value, row.error, row.text]
        layout = self.layout
        if layout.is_csv:
            if self._failed_row is None:
                self._failed_csv, self._failed_row = _csv_file(layout.temp["failed"])
                self._failed_row(layout.failed_header)
            self._failed_row(values + csv_safe_values(extra))
        else:
            if self._failed_sheet is None:
                from openpyxl import Workbook

                self._failed_book = Workbook(write_only=True)
                sheet = self._failed_book.create_sheet("Rows")
                self._failed_sheet = TextSheet(
                    sheet, layout.failed_header, layout.out_dir, layout.width
                )
            self._failed_sheet.add(values + extra)

    def close(self) -> None:
        """Finish the files (the failed workbook is saved here)."""
        self._results.close()
        if self._failed_csv is not None:
            self._failed_csv.close()
        if self._failed_book is not None and self._failed_sheet is not None:
            save(self._failed_book, [self._failed_sheet], self.layout.temp["failed"])

    def discard(self) -> None:
        self._results.close()
        if self._failed_csv is not None:
            self._failed_csv.close()
        if self._failed_sheet is not None:
            self._failed_sheet.discard()


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
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = _Layout(out_dir, columns, input_format)
    book: _Book | None = None
    copies: _Copies | None = None
    try:
        book, copies = _Book(layout, max_sheet_rows), _Copies(layout)
        tally = Tally()
        width = layout.width
        for row in rows:
            tally.add(row)
            values = _fit(row.cells, width)
            sms = _sms_values(row)
            book.add(values + sms)
            copies.add(row, values, sms)
        copies.close()
        book.save(summary, tally)
    except BaseException:
        for half in (book, copies):
            if half is not None:
                half.discard()
        layout.remove_temp()
        raise
    return _install_all(layout, tally, copies.wrote_failed, max_sheet_rows, again)


class ReportBeside:
    """The files `write_report` writes, with report.xlsx written by a child process from its own
    `make_rows()` while this one goes on: two cores instead of one.

        with ReportBeside(out_dir, columns, make_rows, "csv") as report:
            ...  # the child writes the Results sheet meanwhile
            files = report.finish(summary)  # this process writes the CSV files

    `make_rows` must make the same rows in either process: rows held in memory or read again
    from a file, never from a state db's connection (a child may not share it). Where a child
    cannot be forked safely (`child.can_fork`), `finish` is `write_report(make_rows())`.
    Leaving the block without `finish` ends the child and removes what it wrote.
    """

    def __init__(
        self,
        out_dir: Path,
        columns: Sequence[str],
        make_rows: Callable[[], Iterable[ResultRow]],
        input_format: str,
        *,
        max_sheet_rows: int = SHEET_ROWS,
        again: str = "",
    ) -> None:
        self.out_dir, self.columns, self.make_rows = out_dir, columns, make_rows
        self.input_format, self.max_sheet_rows, self.again = input_format, max_sheet_rows, again
        self._layout = _Layout(out_dir, columns, input_format)
        self._writer: child.Child | None = None

    def __enter__(self) -> ReportBeside:
        if child.can_fork():
            self.out_dir.mkdir(parents=True, exist_ok=True)
            layout, make_rows, most = self._layout, self.make_rows, self.max_sheet_rows

            def work(summary: Callable[[], SummaryInfo]) -> None:
                _book_pass(layout, make_rows(), summary, most)

            self._writer = child.start(work)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:  # left without finishing: the child's work is not wanted
            self._writer.stop()
            self._writer = None
            self._layout.remove_temp()

    def finish(self, summary: SummaryInfo) -> ReportFiles:
        """Write the CSV files here while the child saves report.xlsx; move all into place."""
        writer, self._writer = self._writer, None
        if writer is None:
            return write_report(
                self.out_dir, self.columns, self.make_rows(), summary, self.input_format,
                max_sheet_rows=self.max_sheet_rows, again=self.again,
            )  # fmt: skip
        layout = self._layout
        copies: _Copies | None = None
        try:
            writer.send(summary)
            copies = _Copies(layout)
            tally = Tally()
            width = layout.width
            for row in self.make_rows():
                tally.add(row)
                copies.add(row, _fit(row.cells, width), _sms_values(row))
            copies.close()
            writer.join()
        except BaseException:
            writer.stop()
            if copies is not None:
                copies.discard()
            layout.remove_temp()
            raise
        return _install_all(layout, tally, copies.wrote_failed, self.max_sheet_rows, self.again)


def _book_pass(
    layout: _Layout,
    rows: Iterable[ResultRow],
    summary: Callable[[], SummaryInfo],
    max_sheet_rows: int,
) -> None:
    """report.xlsx alone, from the rows; the summary once they are written (the child's half of
    a ReportBeside)."""
    book = _Book(layout, max_sheet_rows)
    try:
        tally = Tally()
        width = layout.width
        for row in rows:
            tally.add(row)
            book.add(_fit(row.cells, width) + _sms_values(row))
        book.save(summary(), tally)
    except BaseException:
        book.discard()
        layout.temp["report"].unlink(missing_ok=True)
        raise


def _install_all(
    layout: _Layout, tally: Tally, wrote_failed: bool, max_sheet_rows: int, again: str
) -> ReportFiles:
    """Move the finished files into place and say what was written."""
    final, temp = layout.final, layout.temp
    keep_csv = layout.is_csv or tally.rows > max_sheet_rows
    _install(temp["report"], again, final["report"])
    if not keep_csv:
        temp["results"].unlink()
    _install(temp["results"] if keep_csv else None, again, final["results"])
    _install(temp["failed"] if wrote_failed else None, again, final["failed"])
    # A failed file of the other format can only be stale (the run's input format is fixed).
    other = layout.out_dir / ("failed.xlsx" if layout.is_csv else "failed.csv")
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
