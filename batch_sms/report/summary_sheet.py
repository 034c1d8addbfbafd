"""The Summary sheet of report.xlsx: its lines styled by kind and the chart of status counts."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Font, PatternFill

from batch_sms.models import STATUS_BAR_RGB
from batch_sms.report.sheets import INPUT_HEAD, STATUS_FILLS, named_font

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from batch_sms.report.summary import Line

__all__ = ["write_summary"]

SUMMARY_WIDTHS = (44, 12, 12, 16, 16)  # A labels, B and C counts, D E money; long text spills
CHART_ROWS = 16  # sheet rows kept beside the status table for the 8 cm chart (15 pt a row)
_RIGHT = Alignment(horizontal="right")
_AFTER_NUMBER = Alignment(horizontal="left", indent=1)  # text beside a right-aligned count
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_TOP_AFTER_NUMBER = Alignment(horizontal="left", vertical="top", indent=1)
_PERCENT, _MONEY = "0.0%", "#,##0.00##"
_MAX_LINES = 8


def _summary_style(
    kind: str, column: int, value: object
) -> tuple[Font | None, Alignment | None, str | None, PatternFill | None]:
    """How a Summary cell looks: font, alignment, number format and fill, by line kind."""
    font = alignment = number_format = fill = None
    if kind == "title":
        font = named_font(bold=True, size=14)
    elif kind == "section":
        font = named_font(bold=True, size=12)
    elif kind in {"header", "header_text"}:
        font, fill = named_font(bold=True), INPUT_HEAD
        text_column = kind == "header_text" and column == 2
        alignment = _AFTER_NUMBER if text_column else _RIGHT if column else None
    elif kind == "reason":
        alignment = _WRAP_TOP if column == 0 else _TOP if column == 1 else _TOP_AFTER_NUMBER
    elif kind in {"money", "money_total"}:
        number_format = _MONEY if column >= 3 else None
        alignment = _RIGHT if column else None
    elif kind in {"status", "status_total"} and column == 2:
        number_format = _PERCENT
    elif kind == "status" and column == 0:
        fill = STATUS_FILLS.get(str(value))
    elif kind == "note" and column == 0:
        font = named_font(bold=True)
    if kind.endswith("_total"):
        font = named_font(bold=True)
    if kind == "data" and column == 2 and isinstance(value, str):
        alignment = _AFTER_NUMBER
    return font, alignment, number_format, fill


def _text_lines(text: str, width: int) -> int:
    """Lines a wrapped cell of `width` characters needs for `text` (a generous guess)."""
    lines = 0
    for part in text[: width * _MAX_LINES].split("\n"):
        size = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in part)
        # A column holds about width + 6 average characters of Calibri (or of its stand-in).
        lines += max(1, -(-size // (width + 6)))
    return min(lines, _MAX_LINES)


def write_summary(
    ws: WriteOnlyWorksheet, lines: Iterable[Line], cell: Callable[[object], Any]
) -> None:
    """Write the lines into a write-only sheet, styled by kind, with a chart of status counts."""
    for letter, width in zip("ABCDE", SUMMARY_WIDTHS, strict=True):
        ws.column_dimensions[letter].width = width
    # Printed, the Summary fits the page's width.
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    number = section = chart_row = 0
    statuses: list[tuple[int, str, int]] = []  # (sheet row, status, count)
    for kind, values in lines:
        number += 1
        if kind == "section":
            section = number
        cells = []
        for column, value in enumerate(values):
            c = cell(value)
            font, alignment, number_format, fill = _summary_style(kind, column, value)
            if font or alignment or number_format or fill:
                if not isinstance(c, Cell):
                    c = WriteOnlyCell(ws, c)
                if font:
                    c.font = font
                if alignment:
                    c.alignment = alignment
                if number_format:
                    c.number_format = number_format
                if fill:
                    c.fill = fill
            cells.append(c)
        if kind == "reason" and values:
            # Set, not left to the program: Excel does not grow a row for wrapped text on open.
            height = _text_lines(str(values[0]), SUMMARY_WIDTHS[0]) * 15
            ws.row_dimensions[number].height = height
        ws.append(cells)
        if kind == "status":
            count = values[1] if isinstance(values[1], int) else 0
            statuses.append((number, str(values[0]), count))
        if kind == "status_total":
            chart_row = section
            # Room for the chart beside the table, so it covers none of the lines below.
            while number - section + 1 < CHART_ROWS:
                ws.append([])
                number += 1
    if statuses and chart_row:
        ws.add_chart(_status_chart(ws, statuses), f"F{chart_row}")


def _status_chart(ws: WriteOnlyWorksheet, statuses: Sequence[tuple[int, str, int]]) -> BarChart:
    """Columns of rows by status, coloured like the status cells, each labelled with its count."""
    first, last = statuses[0][0], statuses[-1][0]
    chart = BarChart()
    chart.type = "col"
    chart.title = "Rows by status"
    chart.legend = None
    chart.height, chart.width = 8, 16
    chart.gapWidth = 60
    chart.add_data(Reference(ws, min_col=2, min_row=first, max_row=last), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    series = chart.series[0]
    for index, (_, status, _) in enumerate(statuses):
        point = DataPoint(idx=index)
        point.graphicalProperties.solidFill = STATUS_BAR_RGB.get(status, "4472C4")
        point.graphicalProperties.line.noFill = True
        series.dPt.append(point)
    series.dLbls = DataLabelList(
        showVal=True, showLegendKey=False, showCatName=False, showSerName=False,
        showPercent=False, showBubbleSize=False,
    )  # fmt: skip
    chart.x_axis.title = "Status"
    chart.y_axis.title = "Rows"
    chart.y_axis.number_format = "#,##0"
    chart.y_axis.scaling.min = 0
    if max(count for _, _, count in statuses) <= 5:
        chart.y_axis.majorUnit = 1  # else small counts get axis steps of 0.5
    # openpyxl 3.1 leaves the axes' "delete" unset, which Excel reads as hidden axes.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart
