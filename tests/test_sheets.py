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


def test_cells_of_plain_and_odd_rows_read_back_exactly(tmp_path: Path) -> None:
    """Rows taking the plain path and rows needing cleaning both come back as written: spaces
    at the ends kept (Unicode ones too), formula-like text stays text, status cells coloured."""
    long = "x" * 40_000
    cells = [
        ("a", " lead", "trail\u3000", "=1+1"),  # plain row, odd ends and a formula start
        ("b & c", "<d>", "e\x0bf", "-5"),  # escaping and a character an xlsx cannot hold
        ("\u2003em", "tab\t", long, "+86 138"),  # a cell past Excel's limit
    ]
    rows = [
        ResultRow(i + 2, c, s, phone="8613800138000", segments=i, error="")
        for i, (c, s) in enumerate(
            zip(cells, (Status.SENT, Status.FAILED, Status.INVALID), strict=True)
        )
    ]
    info = SummaryInfo("r1", "Test report")
    files = write_report(tmp_path, ("p", "q", "r", "s"), rows, info, "xlsx")
    sheet = openpyxl.load_workbook(files.report)["Results"]
    got = [[c.value for c in row[:4]] for row in sheet.iter_rows(min_row=2)]
    assert got == [
        ["a", " lead", "trail\u3000", "=1+1"],
        ["b & c", "<d>", "e\ufffdf", "-5"],
        ["\u2003em", "tab\t", "x" * 32_767, "+86 138"],
    ]
    assert [sheet.cell(r, 4).data_type for r in (2, 3, 4)] == ["s", "s", "s"]
    assert all(sheet.cell(r, 4).quotePrefix for r in (2, 3, 4))
    assert sheet["E2"].fill.fgColor.rgb.endswith("C6EFCE")  # sent: green
    assert sheet["E3"].fill.fgColor.rgb.endswith("FFC7CE")  # failed: red
    assert [sheet.cell(r, 11).value for r in (2, 3, 4)] == [0, 1, 2]  # sms_segments, numbers
    with zipfile.ZipFile(files.report) as zipped:
        xml = zipped.read("xl/worksheets/sheet1.xml").decode()
    assert '<t xml:space="preserve"> lead</t>' in xml
    assert '<t xml:space="preserve">trail\u3000</t>' in xml
