"""report.xlsx, results.csv and the failed-rows file as written by `write_report`, read back."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from helpers import (
    COLUMNS,
    fresh_python,
    message,
    read_csv,
    rows_of,
    sheet_values,
    summary_pairs,
    write,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_sms.input import loader
from batch_sms.models import RESULT_COLUMNS, Row, Status
from batch_sms.report.results import ResultRow, validation_rows
from batch_sms.report.sheets import STATUS_FILLS
from batch_sms.report.summary import SummaryInfo
from batch_sms.report.workbook import write_report

# Text a user's cell may hold: anything but what an xlsx cannot store (tested separately).
cell_text = st.one_of(
    st.sampled_from(
        ["=1+1", "+8613800000000", "-5", "@x", "007", "2024-01-05", "中文", "🎉", " pad "]
    ),
    st.text(
        st.characters(
            blacklist_categories=["Cs"],
            blacklist_characters="\r\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10"
            "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff",
        ),
        max_size=12,
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(cell_text, cell_text, cell_text), min_size=1, max_size=5))
def test_input_cells_read_back_exactly_as_text(cells: list[tuple[str, str, str]]) -> None:
    rows = [ResultRow(i + 2, c, Status.SENT) for i, c in enumerate(cells)]
    with tempfile.TemporaryDirectory() as tmp:
        files = write(Path(tmp), rows)
        ws = openpyxl.load_workbook(files.report)["Results"]
        for row, written in zip(ws.iter_rows(min_row=2, max_col=3), cells, strict=True):
            for cell, text in zip(row, written, strict=True):
                assert (cell.value or "") == text
                if text:
                    assert cell.data_type == "s"
                    assert cell.quotePrefix == text.startswith(("=", "+", "-", "@"))
        assert [r[:3] for r in read_csv(files.results_csv)[1:]] == [list(c) for c in cells]


def test_results_sheet_layout(tmp_path: Path) -> None:
    files = write(tmp_path, rows_of(Status.SENT, Status.FAILED, Status.DUPLICATE, Status.CAPPED))
    ws = openpyxl.load_workbook(files.report)["Results"]
    assert openpyxl.load_workbook(files.report).sheetnames == ["Results", "Summary"]
    values = sheet_values(ws)
    assert values[0] == (*COLUMNS, *RESULT_COLUMNS)
    assert all(cell.font.bold for cell in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:R5"
    first = dict(zip(values[0], values[1], strict=True))
    assert first == {
        "phone": "+8613800000000", "name": "王小明", "code": "007", "sms_status": "sent",
        "sms_code": "0", "sms_result": "accepted", "sms_messageid": "m0",
        "sms_sys_message_id": "run-2-0", "sms_phone": "8613800000000", "sms_segments": 1,
        "sms_attempts": 1, "sms_sent_at": "2026-11-25 00:15:00", "sms_dr_status": None,
        "sms_dr_time": None, "sms_error": None, "sms_text": None, "sms_price": None,
        "sms_currency": None,
    }  # fmt: skip
    assert ws["J2"].data_type == "n"
    assert ws["K2"].data_type == "n"
    for row in ws.iter_rows(min_row=2, min_col=4, max_col=4):
        fill = STATUS_FILLS[row[0].value]
        assert row[0].fill.fgColor.rgb == fill.fgColor.rgb
    assert {ws.cell(2, 4).fill.fgColor.rgb, ws.cell(3, 4).fill.fgColor.rgb} == {
        "00C6EFCE",
        "00FFC7CE",
    }
    assert 6 <= ws.column_dimensions["A"].width <= 50


def test_csv_input_gets_results_csv_with_bom_and_exact_cells(tmp_path: Path) -> None:
    rows = rows_of(Status.SENT, cells=("+8613800000000", "=HYPERLINK()", "007"))
    rows[0] = replace(rows[0], result="=bad")
    files = write(tmp_path, rows)
    assert files.results_csv == tmp_path / "results.csv"
    assert files.results_csv.read_bytes().startswith(b"\xef\xbb\xbf")
    table = read_csv(files.results_csv)
    assert table[0] == [*COLUMNS, *RESULT_COLUMNS]
    assert table[1][:3] == ["+8613800000000", "=HYPERLINK()", "007"]  # the user's own cells: exact
    assert table[1][5] == "'=bad"  # text from outside the file can't become a formula


def test_xlsx_input_has_no_results_csv_and_a_stale_one_goes(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("old")
    (tmp_path / "failed.csv").write_text("old")
    files = write(tmp_path, rows_of(Status.SENT), fmt="xlsx")
    assert files.results_csv is None
    assert not (tmp_path / "results.csv").exists()
    assert not (tmp_path / "failed.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]  # no scratch files left


def test_overflow_keeps_every_row_in_results_csv(tmp_path: Path) -> None:
    rows = rows_of(*[Status.SENT] * 5 + [Status.FAILED] * 2)
    files = write(tmp_path, rows, fmt="xlsx", max_sheet_rows=3)
    assert files.rows == 7
    ws = openpyxl.load_workbook(files.report)["Results"]
    assert ws.max_row == 4
    assert ws.auto_filter.ref == "A1:R4"
    assert files.results_csv is not None
    assert [r[3] for r in read_csv(files.results_csv)[1:]] == ["sent"] * 5 + ["failed"] * 2
    pairs = summary_pairs(files.report)
    assert "results.csv" in str(pairs["Note"])
    assert pairs["Rows to fix or send again"] == 2
    ws = openpyxl.load_workbook(files.report)["Summary"]
    line = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Rows to fix or send again")
    assert line[2] == "listed in failed.xlsx"
    assert files.failed is not None  # rows past the sheet still reach the failed file
    assert openpyxl.load_workbook(files.failed).active.max_row == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_failed_file_holds_rows_to_send_again_and_loads_as_input(tmp_path: Path, fmt: str) -> None:
    statuses = [
        Status.SENT, Status.FAILED, Status.DELIVERED, Status.CAPPED, Status.DUPLICATE,
        Status.UNKNOWN, Status.SUPPRESSED, Status.PENDING, Status.INVALID, Status.UNDELIVERED,
    ]  # fmt: skip
    rows = [
        ResultRow(i + 2, (f"+86138{i:08d}", "=2*3", f"00{i}"), s, error=f"e{i}" if i % 2 else "")
        for i, s in enumerate(statuses)
    ]
    files = write_report(tmp_path / "out", COLUMNS, rows, SummaryInfo(run_id="r"), fmt)
    assert files.failed == tmp_path / "out" / f"failed.{fmt}"
    expected = [
        r
        for r in rows
        if r.status.value in {"failed", "capped", "unknown", "pending", "invalid", "undelivered"}
    ]
    if fmt == "csv":
        table = read_csv(files.failed)
        assert files.failed.read_bytes().startswith(b"\xef\xbb\xbf")
    else:
        table = [
            [v or "" for v in r]
            for r in openpyxl.load_workbook(files.failed).active.iter_rows(values_only=True)
        ]
    assert table[0] == [*COLUMNS, "sms_status", "sms_error", "sms_text"]
    assert table[1:] == [[*r.cells, r.status.value, r.error, r.text] for r in expected]
    again = loader.load(files.failed)
    assert again.columns == COLUMNS
    assert [r.cells for r in again.rows] == [r.cells for r in expected]


def test_no_failed_rows_means_no_failed_file(tmp_path: Path) -> None:
    write(tmp_path, rows_of(Status.FAILED))
    assert (tmp_path / "failed.csv").exists()
    files = write(tmp_path, rows_of(Status.SENT, Status.DELIVERED, Status.DUPLICATE))
    assert files.failed is None
    assert not (tmp_path / "failed.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx", "results.csv"]


def test_rewrite_gives_the_same_cells(tmp_path: Path) -> None:
    rows = rows_of(Status.SENT, Status.FAILED, Status.UNKNOWN)
    first = write(tmp_path, rows)
    before = {ws.title: sheet_values(ws) for ws in openpyxl.load_workbook(first.report)}
    failed_before = first.failed.read_bytes() if first.failed else b""
    second = write(tmp_path, rows)
    after = {ws.title: sheet_values(ws) for ws in openpyxl.load_workbook(second.report)}
    assert before == after
    assert second.failed is not None
    assert second.failed.read_bytes() == failed_before


def test_short_rows_are_padded(tmp_path: Path) -> None:
    files = write(tmp_path, [ResultRow(2, ("+1",), Status.SENT)])
    assert read_csv(files.results_csv)[1][:4] == ["+1", "", "", "sent"]


def test_validation_report_end_to_end(tmp_path: Path) -> None:
    inputs = [Row(2, ("+86 138", "x", "1")), Row(3, ("bad", "y", "2"))]
    messages = [
        message(2, 0, Status.READY),
        message(3, 0, Status.INVALID, error="not a phone number"),
    ]
    info = SummaryInfo(run_id="v", title="Validation report")
    files = write_report(tmp_path, COLUMNS, validation_rows(inputs, messages), info, "xlsx")
    assert files.counts == {"ready": 1, "invalid": 1}
    values = sheet_values(openpyxl.load_workbook(files.report)["Results"])
    assert values[2][:4] == ("bad", "y", "2", "invalid")
    assert files.failed is not None


def test_a_failure_mid_stream_leaves_the_previous_report_alone(tmp_path: Path) -> None:
    write(tmp_path, rows_of(Status.SENT, Status.FAILED))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken() -> Iterator[ResultRow]:
        yield from rows_of(Status.SENT)
        raise OSError("journal went away")

    with pytest.raises(OSError, match="journal went away"):
        write_report(tmp_path, COLUMNS, broken(), SummaryInfo(run_id="r"), "csv")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_report_modules_load_without_numpy_which_stays_importable() -> None:
    """openpyxl comes in without numpy (start-up time); numpy and pandas still load after."""
    code = (
        "import sys\n"
        "import batch_sms.report.workbook\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
        "import openpyxl.compat.numbers as n\n"
        "assert n.NUMERIC_TYPES[:2] == (int, float)\n"
        "import numpy, pandas\n"
        "print(numpy.int64(3) + 1, pandas.DataFrame({'a': [1]}).shape)\n"
    )
    assert fresh_python(code).split() == ["4", "(1,", "1)"]
