"""The files of a report being written: where they go (Layout), report.xlsx (Book), results.csv
and the failed-rows file (Copies), and moving the finished files into place (install).

Each file is written under a temporary name beside its final one and replaces it only when all
are finished, so a failure leaves the previous report as it was.
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
from batch_sms.report.results import ResultRow
from batch_sms.report.sheets import TextSheet, csv_safe_values, save, text_cell
from batch_sms.report.summary import SummaryInfo, Tally, summary_lines
from batch_sms.report.summary_sheet import write_summary

if TYPE_CHECKING:
    from openpyxl import Workbook

__all__ = ["RUN_FILES", "Book", "Copies", "Layout", "ReportFiles", "install"]

# The files of a run's folder, by kind (the failed rows keep the input's own format).
RUN_FILES = {
    "report": ("report.xlsx",),
    "results": ("results.csv",),
    "failed": ("failed.csv", "failed.xlsx"),
}


@dataclass(frozen=True)
class ReportFiles:
    """The files written and the row counts by status."""

    report: Path
    results_csv: Path | None
    failed: Path | None
    rows: int
    counts: dict[str, int]


def _csv_file(path: Path) -> tuple[IO[str], Callable[[Iterable[object]], object]]:
    # The BOM makes Excel read UTF-8; a lone surrogate (never from a decoded file) becomes "?".
    handle = path.open("w", encoding="utf-8-sig", errors="replace", newline="")
    return handle, csv.writer(handle).writerow


class Layout:
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


class Book:
    """report.xlsx being written: the Results sheet row by row, then the Summary, then saved."""

    def __init__(self, layout: Layout, max_sheet_rows: int) -> None:
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


class Copies:
    """results.csv and the failed-rows file (CSV or xlsx, as the input) being written."""

    def __init__(self, layout: Layout) -> None:
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


def install(
    layout: Layout, tally: Tally, wrote_failed: bool, max_sheet_rows: int, again: str
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
