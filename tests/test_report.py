"""The report: Results/Summary workbook, results.csv and the failed-rows file, read back."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.worksheet import Worksheet

from batch_sms.input import loader
from batch_sms.models import (
    RESULT_COLUMNS,
    CostEstimate,
    CountryCost,
    Message,
    Row,
    Status,
    row_status,
)
from batch_sms.report.sheets import STATUS_FILLS
from batch_sms.report.workbook import (
    ReportFiles,
    ResultRow,
    SummaryInfo,
    result_rows,
    validation_rows,
    write_report,
)

COLUMNS = ("phone", "name", "code")


def rows_of(
    *statuses: Status, cells: tuple[str, ...] = ("+8613800000000", "王小明", "007")
) -> list[ResultRow]:
    """One result row per status, numbered from 2 like a spreadsheet."""
    return [
        ResultRow(
            number=i + 2,
            cells=cells,
            status=status,
            code="6" if status is Status.FAILED else "0",
            result="invalid number" if status is Status.FAILED else "accepted",
            messageid="" if status is Status.FAILED else f"m{i}",
            sys_message_id=f"run-{i + 2}-0",
            phone="8613800000000",
            segments=1,
            attempts=1,
            sent_at="2026-11-25 00:15:00",
            error="invalid number" if status is Status.FAILED else "",
        )
        for i, status in enumerate(statuses)
    ]


def write(
    out: Path, rows: list[ResultRow], fmt: str = "csv", max_sheet_rows: int = 100
) -> ReportFiles:
    info = SummaryInfo(run_id="20261125-001500-a1b2", input_name="list.csv")
    return write_report(out, COLUMNS, rows, info, fmt, max_sheet_rows=max_sheet_rows)


def sheet_values(ws: Worksheet) -> list[tuple[object, ...]]:
    return list(ws.iter_rows(values_only=True))


def summary_pairs(path: Path) -> dict[str, object]:
    """Column A → column B of the Summary sheet."""
    ws = openpyxl.load_workbook(path)["Summary"]
    return {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row and row[0] is not None}


def read_csv(path: Path | None) -> list[list[str]]:
    assert path is not None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


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
    assert ws.auto_filter.ref == "A1:P5"
    first = dict(zip(values[0], values[1], strict=True))
    assert first == {
        "phone": "+8613800000000", "name": "王小明", "code": "007", "sms_status": "sent",
        "sms_code": "0", "sms_result": "accepted", "sms_messageid": "m0",
        "sms_sys_message_id": "run-2-0", "sms_phone": "8613800000000", "sms_segments": 1,
        "sms_attempts": 1, "sms_sent_at": "2026-11-25 00:15:00", "sms_dr_status": None,
        "sms_dr_time": None, "sms_error": None, "sms_text": None,
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


def test_summary_counts_codes_reasons_and_chart(tmp_path: Path) -> None:
    statuses = [Status.SENT] * 3 + [Status.FAILED] * 7 + [Status.DELIVERED]
    files = write(tmp_path, rows_of(*statuses))
    assert files.counts == {"sent": 3, "failed": 7, "delivered": 1}
    assert files.rows == 11
    ws = openpyxl.load_workbook(files.report)["Summary"]
    values = sheet_values(ws)
    status_rows = [tuple(r[:2]) for r in values if r[0] in {s.value for s in Status}]
    assert status_rows == [("sent", 3), ("delivered", 1), ("failed", 7)]  # DESIGN.md's order
    assert ("6", 7, "invalid number") in [r[:3] for r in values]
    reason = next(r for r in values if r[0] == "invalid number")
    assert reason[1:3] == (7, "5, 6, 7, 8, 9")  # the first five rows with it
    assert len(ws._charts) == 1
    with zipfile.ZipFile(files.report) as book:
        assert any(name.startswith("xl/charts/chart") for name in book.namelist())


def test_summary_run_details_and_cost(tmp_path: Path) -> None:
    cost = CostEstimate(
        (CountryCost("86", 3, 6, 0.05, 0.3), CountryCost("60", 1, 1, None, None)),
        4,
        7,
        0.3,
        ("60",),
    )
    info = SummaryInfo(
        run_id="child", parent="parent-run", input_name="list.csv", started_at=0.0,
        finished_at=100.0, cost=cost, currency="USD", title="Retry report",
    )  # fmt: skip
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT, Status.SENT), info, "csv")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    assert pairs["Retry report"] is None
    assert pairs["Retry of run"] == "parent-run"
    assert pairs["Started (UTC)"] == "1970-01-01 00:00:00"
    assert pairs["Finished (UTC)"] == "1970-01-01 00:01:40"
    assert pairs["Achieved rate"] == "0.02 accepted messages per second"  # 2 in 100 s
    assert pairs["Estimated cost (USD)"] is None
    assert pairs["86"] == 3
    assert pairs["60"] == 1
    assert "60" in str(pairs["Note"])
    assert "Rows to fix or send again" not in pairs


def test_summary_reads_outcome_first_and_points_at_results_rows(tmp_path: Path) -> None:
    # A retry's rows keep their input numbers (18, 40, 41): the Summary's examples must be the
    # Results sheet's rows (2, 3, 4), where a reader can find them.
    rows = [
        replace(row, number=number)
        for row, number in zip(
            rows_of(Status.FAILED, Status.SENT, Status.FAILED), (18, 40, 41), strict=True
        )
    ]
    info = SummaryInfo(run_id="r", settings={"tps": 10}, cost=None)
    write_report(tmp_path, COLUMNS, rows, info, "csv")
    values = sheet_values(openpyxl.load_workbook(tmp_path / "report.xlsx")["Summary"])
    firsts = [r[0] for r in values]
    order = ["Rows by status", "Top error reasons", "Provider codes", "Messages", "Settings"]
    assert [firsts.index(name) for name in order] == sorted(firsts.index(name) for name in order)
    reasons = firsts.index("Top error reasons")
    assert values[reasons + 1][:3] == ("Reason", "Rows", "Example rows (Results sheet)")
    assert values[reasons + 2][:3] == ("invalid number", 2, "2, 4")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    # The sms_status and sms_error columns by letter, after the input's three columns.
    assert pairs["Finding rows"] == (
        "on the Results sheet, filter column D (sms_status); "
        "column O (sms_error) says why a row was not sent"
    )


def test_summary_chart_sits_beside_the_status_table(tmp_path: Path) -> None:
    files = write(tmp_path, rows_of(Status.SENT, Status.SENT, Status.FAILED, Status.DUPLICATE))
    ws = openpyxl.load_workbook(files.report)["Summary"]
    firsts = [row[0].value for row in ws.iter_rows(max_col=1)]
    table_row = firsts.index("Rows by status") + 1
    with zipfile.ZipFile(files.report) as book:
        drawing = book.read("xl/drawings/drawing1.xml").decode()
        chart = book.read("xl/charts/chart1.xml").decode()
    # The anchor is 0-based: column F, the row of the table's title.
    assert f"<from><col>5</col><colOff>0</colOff><row>{table_row - 1}</row>" in drawing
    next_section = firsts.index("Top error reasons") + 1
    assert next_section - table_row >= 16  # the chart's rows are left free for it
    for row in ws.iter_rows(min_row=table_row, max_row=next_section - 1, min_col=5):
        assert all(cell.value is None for cell in row)
    # Bars coloured by status (sent green, failed red, duplicate grey), counts on the bars,
    # axes kept for Excel, which hides axes whose "delete" is unset.
    assert chart.count("<dPt>") == 3
    for colour in ("63BE7B", "F8696B", "A6A6A6"):
        assert f'srgbClr val="{colour}"' in chart
    assert '<showVal val="1" />' in chart
    assert chart.count('<delete val="0" />') == 2
    assert "<a:t>Rows by status</a:t>" in chart


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
    assert '<ignoredError sqref="A1:P3" numberStoredAsText="1"/>' in sheet
    assert sheet.index("<pageMargins") < sheet.index("<ignoredErrors") < sheet.index("</worksheet>")


def test_summary_cost_without_prices_and_settings_without_blanks(tmp_path: Path) -> None:
    cost = CostEstimate(
        (CountryCost("86", 2, 2, None, None), CountryCost("1", 1, 1, None, None)),
        3, 3, 0.0, ("86", "1"),
    )  # fmt: skip
    settings = {"sender": None, "template": "", "allow_duplicates": False, "sandbox": True}
    info = SummaryInfo(run_id="r", cost=cost, settings=settings)
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "csv")
    values = sheet_values(openpyxl.load_workbook(tmp_path / "report.xlsx")["Summary"])
    lines = {r[0]: r for r in values if r[0] is not None}
    assert lines["86"][:4] == ("86", 2, 2, "no price")
    assert lines["Total"][:4] == ("Total", 3, 3, "no price")  # not 0.00: there is no estimate
    assert {"sender", "template"}.isdisjoint(lines)
    assert (lines["allow_duplicates"][1], lines["sandbox"][1]) == ("no", "yes")


def test_settings_never_show_secrets(tmp_path: Path) -> None:
    info = SummaryInfo(
        run_id="r",
        settings={
            "tps": 20, "app_key": "AK-9f3e", "access_secret": "S3-77aa", "ApiToken": "T-0b1c",
            "password": "P-5d5d", "sender": "SHOP", "dr_url": "https://u:pw-1@host/dr?token=tk-2&x=1",
            "nested": {"accessKey": "K2-8c8c", "region": "CN"},
        },
    )  # fmt: skip
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "csv")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    assert pairs["tps"] == "20"
    assert pairs["sender"] == "SHOP"
    assert pairs["dr_url"] == "https://u:***@host/dr?token=***&x=1"
    assert not {"app_key", "access_secret", "ApiToken", "password"} & set(pairs)
    assert pairs["nested"] == '{"region": "CN"}'
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        text = b"".join(book.read(name) for name in book.namelist())
    text += (tmp_path / "results.csv").read_bytes()
    for secret in (b"AK-9f3e", b"S3-77aa", b"T-0b1c", b"P-5d5d", b"pw-1", b"tk-2", b"K2-8c8c"):
        assert secret not in text


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
    assert ws.auto_filter.ref == "A1:P4"
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


def test_short_rows_are_padded(tmp_path: Path) -> None:
    files = write(tmp_path, [ResultRow(2, ("+1",), Status.SENT)])
    assert read_csv(files.results_csv)[1][:4] == ["+1", "", "", "sent"]


# ---- combining messages into rows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.SENT, Status.FAILED], Status.FAILED),
        ([Status.INVALID, Status.FAILED], Status.INVALID),
        ([Status.DELIVERED, Status.SENT], Status.SENT),
        ([Status.DELIVERED, Status.UNDELIVERED], Status.UNDELIVERED),
        ([Status.PENDING, Status.CAPPED], Status.CAPPED),
        ([Status.CAPPED, Status.UNKNOWN], Status.UNKNOWN),
        ([Status.SENT, Status.DUPLICATE], Status.SENT),
        ([Status.READY, Status.SUPPRESSED], Status.READY),
        ([Status.DUPLICATE, Status.SUPPRESSED], Status.SUPPRESSED),
        ([Status.DUPLICATE, Status.DUPLICATE], Status.DUPLICATE),
        ([Status.INFLIGHT], Status.UNKNOWN),
        ([Status.DELIVERED], Status.DELIVERED),
    ],
)
def test_row_status_is_the_least_successful(statuses: list[Status], expected: Status) -> None:
    assert row_status(statuses) is expected


@dataclass(frozen=True)
class Record:
    row: int
    index: int
    status: Status
    raw_phone: str = "13800000000"
    phone: str = "8613800000000"
    segments: int = 1
    code: str = ""
    result: str = ""
    messageid: str = ""
    attempts: int = 0
    sent_at: float | None = None
    next_at: float | None = None
    error: str = ""
    dr_status: str = ""
    dr_time: str = ""
    sys_message_id: str = ""
    content: str = "Hello"
    retried_by: str = ""


def describe(code: str) -> str:
    return {"0": "accepted", "6": "invalid number"}.get(code, "")


def test_result_rows_merge_records_with_their_input_rows() -> None:
    inputs = [Row(n, (f"c{n}",)) for n in (2, 3, 4, 5)]
    records = [
        Record(2, 0, Status.SENT, "a", "861", 2, "0", "ok", "m1", 1, 86400.0,
               sys_message_id="r-2-0"),
        Record(2, 1, Status.FAILED, "b", "862", 2, "6", "bad", "", 3, error="invalid number",
               sys_message_id="r-2-1"),
        Record(4, 0, Status.CAPPED, next_at=3600.0, error="hourly cap"),
        Record(5, 0, Status.DELIVERED, code="0", result="whatever", dr_status="DELIVRD",
               dr_time="2026-11-25 00:16:00"),
    ]  # fmt: skip
    got = list(result_rows(inputs, records, describe))
    assert [r.number for r in got] == [2, 4, 5]  # row 3 is not part of this run
    two = got[0]
    assert (two.cells, two.status, two.messages) == (("c2",), Status.FAILED, 2)
    assert (two.code, two.result, two.messageid) == ("0, 6", "accepted, invalid number", "m1, ")
    assert (two.phone, two.segments, two.attempts) == ("861, 862", 4, 3)
    assert two.sent_at == "1970-01-02 00:00:00, "
    assert two.sys_message_id == "r-2-0, r-2-1"
    assert two.error == "a: sent; b: invalid number"  # what each recipient got
    assert two.text == "Hello"  # one text per row, not one per recipient
    assert got[1].error == "hourly cap; may be sent after 1970-01-01 01:00:00 UTC"
    assert got[1].code == ""
    assert got[1].result == ""
    assert (got[2].result, got[2].dr_status, got[2].dr_time) == (
        "accepted",
        "DELIVRD",
        "2026-11-25 00:16:00",
    )


def test_result_rows_keep_a_record_whose_input_row_is_missing() -> None:
    got = list(
        result_rows(
            [Row(3, ("x",))], [Record(2, 0, Status.SENT), Record(3, 0, Status.SENT)], describe
        )
    )
    assert [(r.number, r.cells) for r in got] == [(2, ()), (3, ("x",))]


def message(row: int, index: int, status: Status, **kw: Any) -> Message:
    fields: dict[str, Any] = {
        "raw_phone": f"138{row}{index}", "phone": f"86138{row}{index}", "content": "hi",
        "segments": 1, "encoding": "GSM-7", "country_code": 86,
    }  # fmt: skip
    fields.update(kw)
    return Message(row=row, index=index, status=status, **fields)


def test_validation_rows() -> None:
    inputs = [Row(2, ("a",)), Row(3, ("b",)), Row(4, ("c",)), Row(5, ("d",))]
    messages = [
        message(3, 1, Status.SUPPRESSED, error="on the suppression list"),
        message(3, 0, Status.READY, warnings=("uses “quotes”",)),
        message(2, 0, Status.READY, segments=2, warnings=("w",)),
        message(4, 0, Status.INVALID, phone="", segments=0, error="not a phone number"),
        message(5, 0, Status.DUPLICATE, error="same as row 2"),
    ]
    got = list(validation_rows(inputs, messages))
    assert [(r.number, r.status) for r in got] == [
        (2, Status.READY), (3, Status.READY), (4, Status.INVALID), (5, Status.DUPLICATE),
    ]  # fmt: skip
    assert (got[0].segments, got[0].error, got[0].phone) == (2, "warning: w", "8613820")
    assert got[1].phone == "8613830, 8613831"
    assert got[1].segments == 1  # the suppressed recipient is not billed
    assert got[1].error == "13830: ready; 13831: on the suppression list; warning: uses “quotes”"
    assert got[2].error == "not a phone number"


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


def test_a_row_bills_only_the_recipients_that_can_be_sent() -> None:
    from batch_sms.report.results import MessageResult, aggregate

    parts = [
        MessageResult("+86 139 1234 5678", Status.SENT, "8613912345678", 2, code="0"),
        MessageResult("12345", Status.INVALID, "", 2, error="too short"),
    ]
    row = aggregate(2, ("a",), parts)
    assert row.status is Status.INVALID  # the row still shows its least successful recipient
    assert row.segments == 2  # but only the sent recipient is billed
    assert row.error == "+86 139 1234 5678: sent; 12345: too short"


def test_input_description_line_and_summary(tmp_path: Path) -> None:
    from batch_sms.input.reading import describe_input, input_line

    read = describe_input(sheet="Customers", encoding=None, delimiter=None,
                          phone_column="Mobile", content_source="template")  # fmt: skip
    assert input_line("list.xlsx", read) == (
        'Read list.xlsx: sheet "Customers", phone column "Mobile", text from template'
    )
    tab = describe_input(sheet=None, encoding="cp1252", delimiter="\t", phone_column="Phone",
                         content_source='column "Text"')  # fmt: skip
    assert input_line("list.tsv", tab) == (
        'Read list.tsv: encoding cp1252, delimiter tab, phone column "Phone", '
        'text from column "Text"'
    )
    info = SummaryInfo(run_id="r", settings={"tps": 5, "input_read": read}, input_read=read)
    files = write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "xlsx")
    pairs = summary_pairs(files.report)
    assert pairs["Input sheet"] == '"Customers"'
    assert pairs["Input phone column"] == '"Mobile"'
    assert pairs["Input text from"] == "template"
    assert pairs["tps"] == "5"
    assert "input_read" not in pairs
