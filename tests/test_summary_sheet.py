"""The Summary sheet as drawn: the status table, its counts and the chart beside it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
from helpers import rows_of, sheet_values, write

from batch_sms.models import Status


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
