"""Sheet writing: fonts, alignment, ignored-error marks, cells that must stay text or be cleaned."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
from helpers import read_csv, rows_of, write

from batch_sms.models import Status
from batch_sms.report.results import ResultRow
from batch_sms.report.summary import SummaryInfo
from batch_sms.report.workbook import write_report


def test_sheets_read_clearly(tmp_path: Path) -> None:
    rows = rows_of(Status.SENT, Status.FAILED)
    rows[1] = replace(rows[1], error="a long reason " * 10)
    files = write(tmp_path, rows)
    book = openpyxl.load_workbook(files.report)
    results, summary = book["Results"], book["Summary"]
    # Named fonts: an unnamed bold font shows in a serif face in LibreOffice.
    assert results["A1"].font.name == "Calibri"
    assert results["A1"].fill.fgColor.rgb != results["D1"].fill.fgColor.rgb  # input vs sms_*
    assert results["J2"].alignment.horizontal == "center"  # counts apart from their neighbours
    assert results.print_title_rows == "$1:$1"
    assert summary["A1"].font.name == "Calibri"
    assert summary["A1"].font.bold
    reason = next(row[0] for row in summary.iter_rows() if row[0].value == rows[1].error)
    assert reason.alignment.wrap_text
    assert summary.row_dimensions[reason.row].height == 45  # 140 characters: three lines
    with zipfile.ZipFile(files.report) as zipped:
        sheet = zipped.read("xl/worksheets/sheet1.xml").decode()
    # Phone numbers and codes are text on purpose: no "number stored as text" marks in Excel.
    assert '<ignoredError sqref="A1:R3" numberStoredAsText="1"/>' in sheet
    assert sheet.index("<pageMargins") < sheet.index("<ignoredErrors") < sheet.index("</worksheet>")


def test_control_characters_become_replacement_characters(tmp_path: Path) -> None:
    cells = ("+86\x00138", "bell\x07 and\x1b esc", "a\r\nb\rc\ud800")
    files = write(tmp_path, [ResultRow(2, cells, Status.FAILED, error="bad\x0b byte")])
    ws = openpyxl.load_workbook(files.report)["Results"]
    assert [c.value for c in ws[2][:3]] == [
        "+86\ufffd138",
        "bell\ufffd and\ufffd esc",
        "a\nb\nc\ufffd",
    ]
    assert ws["O2"].value == "bad\ufffd byte"
    assert read_csv(files.results_csv)[1][:3] == [
        "+86\x00138",
        "bell\x07 and\x1b esc",
        "a\r\nb\rc?",
    ]


def test_header_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    info = SummaryInfo(run_id="r")
    files = write_report(
        tmp_path, ("=phone", "-x"), [ResultRow(2, ("1", "2"), Status.SENT)], info, "xlsx"
    )
    ws = openpyxl.load_workbook(files.report)["Results"]
    assert (ws["A1"].value, ws["A1"].data_type) == ("=phone", "s")
