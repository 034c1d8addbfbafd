"""The workbook writing: streamed text sheets (exact values, never formulas) and the Summary."""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from batch_sms.summary import Line

__all__ = [
    "FORMULA_START",
    "STATUS_FILLS",
    "TextSheet",
    "clean_text",
    "csv_safe",
    "save",
    "text_cell",
]

FORMULA_START = ("=", "+", "-", "@")
# Characters an xlsx file cannot hold (XML 1.0 forbids them; openpyxl refuses them), plus CR,
# which XML parsers turn into LF anyway: Excel and openpyxl would read "\r\n" back as "\n".
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff]")
MAX_CELL = 32_767  # Excel's limit for the text of one cell
SAMPLE_ROWS = 100  # rows read to size the columns
CHUNK = 1 << 20
LEVEL = 1  # deflate level for spliced books: XML squeezes well even at 1, and 6 is far slower
MAX_WIDTH, MIN_WIDTH = 50, 6


def _fill(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)


def _font(*, bold: bool = False, size: float = 11) -> Font:
    # Named: a font without a name makes LibreOffice fall back to a serif face.
    return Font(name="Calibri", family=2, bold=bold, size=size)


_GREEN, _RED, _AMBER, _GREY = _fill("C6EFCE"), _fill("FFC7CE"), _fill("FFEB9C"), _fill("D9D9D9")
STATUS_FILLS = {
    "ready": _GREEN, "sent": _GREEN, "delivered": _GREEN,
    "invalid": _RED, "failed": _RED, "undelivered": _RED,
    "capped": _AMBER, "pending": _AMBER, "unknown": _AMBER, "inflight": _AMBER,
    "duplicate": _GREY, "suppressed": _GREY,
}  # fmt: skip
# The chart's bars: the same families as the cells, strong enough to read as bars.
_BAR_COLOURS = {"C6EFCE": "63BE7B", "FFC7CE": "F8696B", "FFEB9C": "FFC000", "D9D9D9": "A6A6A6"}
BAR_COLOURS = {
    status: _BAR_COLOURS[str(fill.fgColor.rgb)[-6:]] for status, fill in STATUS_FILLS.items()
}
# Header cells: the input's columns plain grey, this tool's sms_* columns blue, so the eye
# finds where the results begin.
_INPUT_HEAD, _RESULT_HEAD = _fill("EDEDED"), _fill("DDEBF7")
_HEAD_BORDER = Border(bottom=Side(style="thin", color="808080"))


def clean_text(text: str) -> str:
    """Text an xlsx cell can hold: forbidden characters become U+FFFD, CR LF becomes LF."""
    if _BAD.search(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _BAD.sub("\ufffd", text)
    return text[:MAX_CELL]


def csv_safe(value: str | int | None) -> str | int | None:
    """A provider- or tool-made CSV value with a leading quote if a spreadsheet would run it.

    Only the sms_* values pass through here: the input's own cells are kept exact, so the CSV
    goes back into `send` unchanged, and they are no new risk (the user's file already has them).
    """
    if isinstance(value, str) and value.startswith((*FORMULA_START, "\t", "\r")):
        return "'" + value
    return value


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    line = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line[:MAX_WIDTH])


def text_cell(ws: WriteOnlyWorksheet, value: object) -> object:
    """A value as a write-only sheet takes it: text stays text, never a formula."""
    if not isinstance(value, str):
        return value
    if not value:
        return None
    value = clean_text(value)
    if not value.startswith(FORMULA_START):
        return value
    # openpyxl makes "=…" a formula; data type "s" keeps it text, and quotePrefix keeps Excel
    # from turning "=…", "+86…" or "-5" into a formula or number when the cell is edited.
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _xml_text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if text[0].isspace() or text[-1].isspace():
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


class TextSheet:
    """A write-only sheet: bold frozen header, auto-filter, sized columns, coloured status cells.

    openpyxl builds the sheet (header, widths, styles) but its row serialiser costs about 0.3 ms a
    row without lxml, so the data rows are written here as XML into a temporary file beside the
    report and spliced into the saved workbook (`save`): a million rows take seconds, not minutes.
    """

    def __init__(
        self,
        ws: WriteOnlyWorksheet,
        header: Sequence[str],
        scratch: Path,
        status_column: int | None = None,
    ) -> None:
        self.ws = ws
        self.header = list(header)
        self.status_column = status_column
        self.rows = 0
        self._letters = [get_column_letter(i + 1) for i in range(len(self.header))]
        self._widths = [_display_width(name) for name in self.header]
        self._xml: IO[bytes] = tempfile.TemporaryFile(dir=scratch)  # noqa: SIM115 (closed in save)
        text = WriteOnlyCell(ws)
        text.quotePrefix = True
        self._text_style = text.style_id  # registers the style with the workbook
        # Counts centred: right-aligned beside a left-aligned text they read as one value
        # ("1" next to "2026-11-25 …" looked like "12026-11-25 …").
        number = WriteOnlyCell(ws)
        number.alignment = Alignment(horizontal="center")
        self._number_style = number.style_id
        self._status_styles: dict[object, int] = {}
        for status, fill in STATUS_FILLS.items():
            cell = WriteOnlyCell(ws)
            cell.fill = fill
            self._status_styles[status] = cell.style_id

    def add(self, values: Sequence[str | int | None]) -> None:
        """Append one data row (text, whole numbers or None)."""
        self.rows += 1
        number = self.rows + 1
        if self.rows <= SAMPLE_ROWS:
            for index, value in enumerate(values):
                self._widths[index] = max(self._widths[index], _display_width(value))
        parts = [f'<row r="{number}">']
        status = self.status_column
        for index, (letter, value) in enumerate(zip(self._letters, values, strict=True)):
            if value is None or value == "":
                continue
            if isinstance(value, int):
                parts.append(f'<c r="{letter}{number}" s="{self._number_style}"><v>{value}</v></c>')
                continue
            text = clean_text(value)
            style = ""
            if index == status:
                style_id = self._status_styles.get(text)
                style = f' s="{style_id}"' if style_id is not None else ""
            elif text.startswith(FORMULA_START):
                style = f' s="{self._text_style}"'
            parts.append(
                f'<c r="{letter}{number}"{style} t="inlineStr"><is>{_xml_text(text)}</is></c>'
            )
        parts.append("</row>")
        self._xml.write("".join(parts).encode())

    def close(self) -> None:
        """Set widths, the frozen bold header and the auto-filter (before the book is saved)."""
        for letter, widest in zip(self._letters, self._widths, strict=True):
            self.ws.column_dimensions[letter].width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)
        self.ws.freeze_panes = "A2"
        # Printed, the header repeats on every page and the wide sheet lies landscape.
        self.ws.print_title_rows = "1:1"
        self.ws.page_setup.orientation = "landscape"
        bold = _font(bold=True)
        header = []
        results_from = len(self.header) if self.status_column is None else self.status_column
        for index, name in enumerate(self.header):
            cell = WriteOnlyCell(self.ws, clean_text(name) or None)
            if cell.value is not None:
                cell.data_type = "s"
            cell.font = bold
            cell.fill = _RESULT_HEAD if index >= results_from else _INPUT_HEAD
            cell.border = _HEAD_BORDER
            header.append(cell)
        self.ws.append(header)
        last = get_column_letter(max(len(self.header), 1))
        self.ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"

    def _ignored_errors(self) -> bytes:
        """Excel's "number stored as text" marks switched off: phone numbers are text on purpose."""
        last = get_column_letter(max(len(self.header), 1))
        return (
            f'<ignoredErrors><ignoredError sqref="A1:{last}{self.rows + 1}" '
            'numberStoredAsText="1"/></ignoredErrors>'
        ).encode()

    def splice(self, source: ZipFile, target: ZipFile, info: ZipInfo) -> None:
        """Copy this sheet's part from the saved book with the data rows put in."""
        data = source.read(info).replace(b"<sheetData/>", b"<sheetData></sheetData>")
        head, end, tail = data.partition(b"</sheetData>")
        if not end:
            raise ValueError(f"no sheetData in {info.filename}")
        # ignoredErrors comes after the page setup and before any drawing (the schema's order).
        at = min((i for i in map(tail.find, _AFTER_IGNORED_ERRORS) if i >= 0), default=len(tail))
        tail = tail[:at] + self._ignored_errors() + tail[at:]
        self._xml.seek(0)
        with target.open(info.filename, "w", force_zip64=True) as out:
            out.write(head)
            shutil.copyfileobj(self._xml, out, CHUNK)
            out.write(end + tail)

    def discard(self) -> None:
        """Drop the temporary rows file."""
        self._xml.close()


_AFTER_IGNORED_ERRORS = (
    b"<smartTags", b"<drawing", b"<legacyDrawing", b"<picture", b"<oleObjects", b"<controls",
    b"<webPublishItems", b"<tableParts", b"<extLst", b"</worksheet>",
)  # fmt: skip


def save(book: Workbook, sheets: Sequence[TextSheet], path: Path) -> None:
    """Save the workbook to `path` with the text sheets' rows spliced in."""
    for sheet in sheets:
        sheet.close()
    plain = path.with_name(path.name + ".plain")
    try:
        book.save(plain)
        parts = {sheet.ws.path.lstrip("/"): sheet for sheet in sheets}
        with (
            ZipFile(plain) as source,
            ZipFile(path, "w", ZIP_DEFLATED, compresslevel=LEVEL) as target,
        ):
            for info in source.infolist():
                part = parts.get(info.filename)
                if part is None:
                    target.writestr(info, source.read(info))
                else:
                    part.splice(source, target, info)
    finally:
        plain.unlink(missing_ok=True)
        for sheet in sheets:
            sheet.discard()


SUMMARY_WIDTHS = (44, 12, 12, 14)  # A labels, B and C counts, D money; long text spills right
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
        font = _font(bold=True, size=14)
    elif kind == "section":
        font = _font(bold=True, size=12)
    elif kind in {"header", "header_text"}:
        font, fill = _font(bold=True), _INPUT_HEAD
        text_column = kind == "header_text" and column == 2
        alignment = _AFTER_NUMBER if text_column else _RIGHT if column else None
    elif kind == "reason":
        alignment = _WRAP_TOP if column == 0 else _TOP if column == 1 else _TOP_AFTER_NUMBER
    elif kind in {"money", "money_total"}:
        number_format = _MONEY if column == 3 else None
        alignment = _RIGHT if column else None
    elif kind in {"status", "status_total"} and column == 2:
        number_format = _PERCENT
    elif kind == "status" and column == 0:
        fill = STATUS_FILLS.get(str(value))
    elif kind == "note" and column == 0:
        font = _font(bold=True)
    if kind.endswith("_total"):
        font = _font(bold=True)
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
    for letter, width in zip("ABCD", SUMMARY_WIDTHS, strict=True):
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
        point.graphicalProperties.solidFill = BAR_COLOURS.get(status, "4472C4")
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
