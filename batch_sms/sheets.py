"""Streaming worksheets of text: exact cell values, never formulas, status colours."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["FORMULA_START", "STATUS_FILLS", "TextSheet", "clean_text", "csv_safe"]

FORMULA_START = ("=", "+", "-", "@")
# Characters an xlsx file cannot hold (XML 1.0 forbids them; openpyxl refuses them), plus CR,
# which XML parsers turn into LF anyway: Excel and openpyxl would read "\r\n" back as "\n".
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff]")
MAX_CELL = 32_767  # Excel's limit for the text of one cell
SAMPLE_ROWS = 100  # rows read to size the columns
MAX_WIDTH, MIN_WIDTH = 50, 6


def _fill(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)


_GREEN, _RED, _AMBER, _GREY = _fill("C6EFCE"), _fill("FFC7CE"), _fill("FFEB9C"), _fill("D9D9D9")
STATUS_FILLS = {
    "ready": _GREEN, "sent": _GREEN, "delivered": _GREEN,
    "invalid": _RED, "failed": _RED, "undelivered": _RED,
    "capped": _AMBER, "pending": _AMBER, "unknown": _AMBER, "inflight": _AMBER,
    "duplicate": _GREY, "suppressed": _GREY,
}  # fmt: skip


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


class TextSheet:
    """A write-only sheet: bold frozen header, auto-filter, sized columns, coloured status cells.

    Rows are held back until SAMPLE_ROWS have come (a write-only sheet takes its column widths
    before its first row), then streamed.
    """

    def __init__(
        self, ws: WriteOnlyWorksheet, header: Sequence[str], status_column: int | None = None
    ) -> None:
        self.ws = ws
        self.header = list(header)
        self.status_column = status_column
        self.rows = 0
        self._held: list[list[str | int | None]] | None = []
        # A template per style: a fresh cell copies its style array, cheaper than set attributes.
        text = WriteOnlyCell(ws)
        text.quotePrefix = True
        self._text_style = text._style
        self._status_styles = {}
        for status, fill in STATUS_FILLS.items():
            cell = WriteOnlyCell(ws)
            cell.fill = fill
            self._status_styles[status] = cell._style

    def cell(self, value: object) -> object:
        """The value as a write-only sheet takes it: text stays text, never a formula."""
        if not isinstance(value, str):
            return value
        if not value:
            return None
        value = clean_text(value)
        if not value.startswith(FORMULA_START):
            return value
        # openpyxl makes "=…" a formula; data type "s" keeps it text, and quotePrefix keeps Excel
        # from turning "=…", "+86…" or "-5" into a formula or number when the cell is edited.
        cell = WriteOnlyCell(self.ws)
        cell._value = value
        cell.data_type = "s"
        cell._style = self._text_style
        return cell

    def add(self, values: list[str | int | None]) -> None:
        """Append one data row."""
        self.rows += 1
        if self._held is not None:
            self._held.append(values)
            if len(self._held) >= SAMPLE_ROWS:
                self._start()
            return
        self.ws.append(self._cells(values))

    def _cells(self, values: list[str | int | None]) -> list[object]:
        cells = [self.cell(value) for value in values]
        column = self.status_column
        if column is not None:
            style = self._status_styles.get(str(values[column]))
            if style is not None:
                cell = WriteOnlyCell(self.ws, cells[column])
                cell._style = style
                cells[column] = cell
        return cells

    def _start(self) -> None:
        held, self._held = self._held or [], None
        for index, name in enumerate(self.header):
            widest = max([_display_width(name), *(_display_width(r[index]) for r in held)])
            width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)
            self.ws.column_dimensions[get_column_letter(index + 1)].width = width
        self.ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for name in self.header:
            cell = WriteOnlyCell(self.ws, clean_text(name) or None)
            cell.data_type = "s" if cell.value is not None else cell.data_type
            cell.font = bold
            header.append(cell)
        self.ws.append(header)
        for values in held:
            self.ws.append(self._cells(values))

    def close(self) -> None:
        """Flush held rows and set the auto-filter over the used range."""
        if self._held is not None:
            self._start()
        last = get_column_letter(max(len(self.header), 1))
        self.ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"
