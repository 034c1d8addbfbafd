"""report.xlsx (Results + Summary), results.csv and the failed-rows file of a run, written from
its rows in one pass (`write_report`) or with report.xlsx made by a second process
(`ReportBeside`); `report.files` writes each file.

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

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from batch_sms.report import child
from batch_sms.report.files import RUN_FILES, Book, Copies, Layout, ReportFiles, install
from batch_sms.report.results import ResultRow, crash_note, result_rows, validation_rows
from batch_sms.report.summary import SummaryInfo, Tally

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

SHEET_ROWS = 1_048_575  # an Excel worksheet holds 1,048,576 rows, one of them the header


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
    layout = Layout(out_dir, columns, input_format)
    book: Book | None = None
    copies: Copies | None = None
    try:
        book, copies = Book(layout, max_sheet_rows), Copies(layout)
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
    return install(layout, tally, copies.wrote_failed, max_sheet_rows, again)


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
        self._layout = Layout(out_dir, columns, input_format)
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
        copies: Copies | None = None
        try:
            writer.send(summary)
            copies = Copies(layout)
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
        return install(layout, tally, copies.wrote_failed, self.max_sheet_rows, self.again)


def _book_pass(
    layout: Layout,
    rows: Iterable[ResultRow],
    summary: Callable[[], SummaryInfo],
    max_sheet_rows: int,
) -> None:
    """report.xlsx alone, from the rows; the summary once they are written (the child's half of
    a ReportBeside)."""
    book = Book(layout, max_sheet_rows)
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
