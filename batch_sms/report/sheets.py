"""The workbook writing: streamed text sheets (exact values, never formulas) and shared styles."""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from batch_sms.models import STATUS_RGB

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = [
    "FORMULA_START",
    "INPUT_HEAD",
    "STATUS_FILLS",
    "TextSheet",
    "clean_text",
    "csv_safe_values",
    "named_font",
    "save",
    "text_cell",
]

FORMULA_START = ("=", "+", "-", "@")
# Characters an xlsx file cannot hold (XML 1.0 forbids them; openpyxl refuses them), plus CR,
# which XML parsers turn into LF anyway: Excel and openpyxl would read "\r\n" back as "\n".
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff]")
# Anything a cell's text needs changed before it goes into the XML: a row whose texts hold none
# of these (nearly all) skips the per-cell cleaning and escaping.
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff]")
_RISKY_START = frozenset((*FORMULA_START, "\t", "\r"))  # first characters csv_safe quotes
# Characters str.isspace() calls white space (all below U+3001): a text starting or ending in
# one keeps it only with xml:space="preserve".
_SPACE = frozenset(c for c in map(chr, range(0x3001)) if c.isspace())
_ODD_START = _SPACE | frozenset(FORMULA_START)  # a first character that needs a closer look
MAX_CELL = 32_767  # Excel's limit for the text of one cell
SAMPLE_ROWS = 100  # rows read to size the columns
CHUNK = 1 << 20
LEVEL = 1  # deflate level for spliced books: XML squeezes well even at 1, and 6 is far slower
MAX_WIDTH, MIN_WIDTH = 50, 6


def _fill(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)


def named_font(*, bold: bool = False, size: float = 11) -> Font:
    """Calibri at `size`, bold if asked (for the header cells here and the Summary's lines)."""
    # Named: a font without a name makes LibreOffice fall back to a serif face.
    return Font(name="Calibri", family=2, bold=bold, size=size)


STATUS_FILLS = {status: _fill(rgb) for status, rgb in STATUS_RGB.items()}
# Header cells: the input's columns plain grey, this tool's sms_* columns blue, so the eye
# finds where the results begin.
INPUT_HEAD, _RESULT_HEAD = _fill("EDEDED"), _fill("DDEBF7")
_HEAD_BORDER = Border(bottom=Side(style="thin", color="808080"))


def clean_text(text: str) -> str:
    """Text an xlsx cell can hold: forbidden characters become U+FFFD, CR LF becomes LF."""
    if _BAD.search(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _BAD.sub("\ufffd", text)
    return text[:MAX_CELL]


def csv_safe_values(values: Sequence[str | float | None]) -> list[str | float | None]:
    """Provider- or tool-made CSV values, each with a leading quote if a spreadsheet would run it.

    Only the sms_* values pass through here: the input's own cells are kept exact, so the CSV
    goes back into `send` unchanged, and they are no new risk (the user's file already has them).
    """
    return [("'" + v) if isinstance(v, str) and v and v[0] in _RISKY_START else v for v in values]


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
        self._opens = [f'<c r="{letter}' for letter in self._letters]  # + row number
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

    def add(self, values: Sequence[str | float | None]) -> None:
        """Append one data row (text, numbers or None)."""
        self.rows += 1
        number = self.rows + 1
        if self.rows <= SAMPLE_ROWS:
            for index, value in enumerate(values):
                self._widths[index] = max(self._widths[index], _display_width(value))
        texts = "".join([v for v in values if v.__class__ is str])
        row = str(number)
        if len(texts) > MAX_CELL or _SPECIAL.search(texts) is not None:
            cells = [self._cell(i, v, row) for i, v in enumerate(values) if v is not None]
        else:  # nearly every row: nothing to clean, escape or cut
            cells = []
            opens, status, styles = self._opens, self.status_column, self._status_styles
            number_style = f'" s="{self._number_style}"><v>'
            for index, value in enumerate(values):
                if value.__class__ is str:
                    if not value:
                        continue
                    if value[0] in _ODD_START or value[-1] in _SPACE:
                        cells.append(self._cell(index, value, row))
                        continue
                    style = ""
                    if index == status:
                        style_id = styles.get(value)
                        style = "" if style_id is None else f' s="{style_id}"'
                    cells.append(
                        f'{opens[index]}{row}"{style} t="inlineStr"><is><t>{value}</t></is></c>'
                    )
                elif value is not None:
                    cells.append(f"{opens[index]}{row}{number_style}{value}</v></c>")
        self._xml.write(f'<row r="{row}">{"".join(cells)}</row>'.encode())

    def _cell(self, index: int, value: str | float, row: str) -> str:
        """One cell's XML (its text cleaned, escaped and cut as needed); "" for an empty text."""
        if not isinstance(value, str):
            return f'{self._opens[index]}{row}" s="{self._number_style}"><v>{value}</v></c>'
        if not value:
            return ""
        text = clean_text(value)
        xml = _xml_text(text)
        style = ""
        if index == self.status_column:
            style_id = self._status_styles.get(text)
            style = f' s="{style_id}"' if style_id is not None else ""
        elif text[0] in FORMULA_START:
            style = f' s="{self._text_style}"'
        return f'{self._opens[index]}{row}"{style} t="inlineStr"><is>{xml}</is></c>'

    def close(self) -> None:
        """Set widths, the frozen bold header and the auto-filter (before the book is saved)."""
        for letter, widest in zip(self._letters, self._widths, strict=True):
            self.ws.column_dimensions[letter].width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)
        self.ws.freeze_panes = "A2"
        # Printed, the header repeats on every page and the wide sheet lies landscape.
        self.ws.print_title_rows = "1:1"
        self.ws.page_setup.orientation = "landscape"
        bold = named_font(bold=True)
        header = []
        results_from = len(self.header) if self.status_column is None else self.status_column
        for index, name in enumerate(self.header):
            cell = WriteOnlyCell(self.ws, clean_text(name) or None)
            if cell.value is not None:
                cell.data_type = "s"
            cell.font = bold
            cell.fill = _RESULT_HEAD if index >= results_from else INPUT_HEAD
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
        if b"<dimension" not in head:
            # A sized sheet: readers pad a row whose last cells are empty (sms_price before a
            # receipt) to the header's width. Its place in the schema is before sheetViews.
            ref = f'<dimension ref="A1:{self._letters[-1]}{self.rows + 1}" />'.encode()
            head = head.replace(b"<sheetViews", ref + b"<sheetViews", 1)
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
