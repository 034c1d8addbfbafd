"""Write the loader's real-world input fixtures into tests/data/ (deterministic; commit the output).

Run from the repository root: `python tests/data/make_fixtures.py`. Each file reproduces a habit of
a real exporter (Excel, WPS, LibreOffice, Chinese CRMs); tests/test_loader.py (and test_csvfile.py,
test_spreadsheet.py) says what each one must load as. Spreadsheets are re-zipped with fixed
timestamps so running the script again rewrites identical bytes. No .xls fixture: writing BIFF
needs xlwt, which the project doesn't use.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
FIXED_TIME = (2024, 1, 1, 0, 0, 0)
STAMP = b"2024-01-01T00:00:00Z"
Cell = str | int | float | bool | dt.date | None


def write_text(name: str, text: str, encoding: str) -> None:
    """Write a text fixture byte for byte: no newline translation, the exact encoding."""
    (HERE / name).write_bytes(text.encode(encoding))


def write_xlsx(
    name: str,
    sheets: Sequence[tuple[str, Iterable[Sequence[Cell]]]],
    hidden: Sequence[str] = (),
    active: int = 0,
) -> None:
    """Write an xlsx whose sheets hold the given rows (None leaves a cell empty).

    `hidden` names sheets to hide; `active` is the index of the tab Excel opens on."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        if title in hidden:
            ws.sheet_state = "hidden"
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                if value is None:
                    continue
                cell = ws.cell(r, c, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # "=…" and "+…" stay text, as a careful exporter writes
    wb.active = active
    wb.properties.created = dt.datetime(2024, 1, 1)
    buffer = io.BytesIO()
    wb.save(buffer)
    (HERE / name).write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes, stored: Sequence[str] = ()) -> bytes:
    """Return the zip `data` with every entry's timestamp fixed, so output is reproducible."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, FIXED_TIME)
            method = zipfile.ZIP_STORED if info.filename in stored else zipfile.ZIP_DEFLATED
            entry.compress_type = method
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time into the document properties.
                body = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", body
                )
            dst.writestr(entry, body)
    return out.getvalue()


def write_ods(name: str, rows: Sequence[Sequence[Cell]]) -> None:
    """Write a minimal OpenDocument spreadsheet (what LibreOffice saves) without odfpy."""
    cells_xml = []
    for row in rows:
        cells = "".join(_ods_cell(v) for v in row)
        cells_xml.append(f"<table:table-row>{cells}</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Contacts">'
        + "".join(cells_xml)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        # The mimetype entry must come first and uncompressed: that is how readers sniff ODF.
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", content)
    (HERE / name).write_bytes(_fixed_zip(raw.getvalue(), stored=("mimetype",)))


def _ods_cell(value: Cell) -> str:
    """Return one ODS cell element."""
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        flag = "true" if value else "false"
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{flag}">'
            f"<text:p>{str(value).upper()}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if isinstance(value, dt.date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value.isoformat()}</text:p></table:table-cell>"
        )
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def main() -> None:
    """Write every fixture."""
    # A Chinese CRM export: GBK, Chinese headers, CRLF line ends.
    write_text(
        "gbk_chinese_headers.csv",
        "姓名,手机号码,短信内容\r\n张三,13812345678,您好张三，您的验证码是1234\r\n"
        "李四,+86 139 1234 5678,尊敬的李四：会员日八折\r\n",
        "gbk",
    )
    # Excel "CSV UTF-8": a BOM before the first header.
    write_text(
        "utf8_bom.csv",
        "\ufeffphone,name,content\n+8613800138000,Ann,Hi Ann 👋\n0044 7400 123456,Bob,Hi Bob\n",
        "utf-8",
    )
    # Excel "Unicode Text": UTF-16 LE with a BOM, tab separated.
    write_text(
        "utf16_excel.txt",
        "\ufeffphone\tname\tcontent\r\n8613800138000\t王五\t你好 🎉\r\n+12015550123\tCarl\tHi\r\n",
        "utf-16-le",
    )
    # A German/French Excel: semicolons, commas inside unquoted content.
    write_text(
        "semicolon.csv",
        "Phone;Name;Message\n+4915123456789;Jörg;Hallo Jörg, 20% Rabatt, nur heute\n"
        '+33612345678;Zoé;"Bonjour; à bientôt"\n',
        "utf-8",
    )
    write_text("tab.tsv", "mobile\tname\n60123456789\tSiti\n6581234567\tWei Ling\n", "utf-8")
    write_text("pipe.csv", "msisdn|name\n919876543210|Asha\n5511961234567|Joao\n", "utf-8")
    # Blank and whitespace-only lines between records; a quoted cell spanning two lines.
    write_text(
        "blank_rows.csv",
        'phone,name,content\n8613800138000,Ann,Hi\n\n,,\n  ,\t,\n8613800138001,Bob,"line one\n'
        'line two"\n\n8613800138002,Cy,Bye\n',
        "utf-8",
    )
    write_text(
        "duplicate_headers.csv",
        "phone,Name,Phone ,name\n8613800138000,Ann,8613800138001,Annie\n",
        "utf-8",
    )
    # A previous report's results file used as input: sms_* columns are its output, not data.
    write_text(
        "previous_results.csv",
        "phone,name,sms_status,sms_error\n8613800138000,Ann,failed,timeout\n",
        "utf-8",
    )
    write_text("header_only.csv", "phone,name,content\r\n", "utf-8")
    write_text("empty.csv", "", "utf-8")
    # Trailing delimiters (a nameless empty column) and rows shorter than the header.
    write_text("ragged.csv", "phone,name,content,\n8613800138000,Ann,\n8613800138001\n", "utf-8")

    # Excel users type phone numbers into number-formatted cells.
    write_xlsx(
        "numeric_phones.xlsx",
        [
            (
                "Sheet1",
                [
                    ("phone", "name", "joined", "vip", "score"),
                    (8615088888888, "Ann", dt.date(2024, 5, 1), True, 1.5),
                    (13812345678.0, "Bob", dt.datetime(2024, 5, 1, 9, 30), False, 100.0),
                    ("013812345678", "Cy", dt.datetime(2024, 5, 2), None, 0.1),
                    ("+8613800138000", "=HYPERLINK(1)", None, None, -3),
                ],
            )
        ],
    )
    # Excel's damage: a number shown in scientific notation saved as text, and a 19-digit number
    # that Excel stored as a float (only 15 significant digits survive).
    write_xlsx(
        "excel_damage.xlsx",
        [
            (
                "Sheet1",
                [
                    ("phone", "name"),
                    ("8.61509E+12", "Ann"),
                    (8615088888888888888, "Bob"),
                    (1e15, "Cy"),
                ],
            )
        ],
    )
    write_xlsx(
        "blank_rows.xlsx",
        [
            (
                "Sheet1",
                [
                    ("phone", "name"),
                    (8613800138000, "Ann"),
                    (None, None),
                    ("  ", None),
                    (8613800138001, "Bob"),
                ],
            )
        ],
    )
    write_xlsx(
        "two_sheets.xlsx",
        [("Notes", []), ("Contacts", [("phone", "name"), (8613800138000, "Ann")])],
    )
    # The list starts lower and to the right on the sheet: row numbers must still match Excel's.
    write_xlsx(
        "offset_table.xlsx",
        [("Sheet1", [(), (), (None, "phone", "name"), (None, 8613800138000, "Ann")])],
    )
    # Last year's list kept on a hidden first sheet; the user saved the workbook on "Send".
    old = ("Old list", [("phone", "content"), ("+8613800138001", "Last year's offer")])
    write_xlsx(
        "hidden_first_sheet.xlsx",
        [old, ("Draft", [("phone", "content"), ("+8613800138002", "Draft")]),
         ("Send", [("phone", "content"), ("+8613800138003", "Today's offer")])],
        hidden=["Old list"],
        active=2,
    )  # fmt: skip
    # The tab Excel opens on is empty: the first visible sheet with rows is read, not the hidden.
    write_xlsx(
        "active_sheet_empty.xlsx",
        [old, ("Empty", []), ("Draft", [("phone", "content"), ("+8613800138002", "Draft")])],
        hidden=["Old list"],
        active=1,
    )
    write_xlsx("header_only.xlsx", [("Sheet1", [("phone", "name")])])
    write_xlsx("empty.xlsx", [("Sheet1", [])])
    write_ods(
        "contacts.ods",
        [
            ("phone", "name", "joined", "vip"),
            (8613800138000, "Ann", dt.date(2024, 5, 1), True),
            ("+447400123456", "Bob", None, False),
        ],
    )


if __name__ == "__main__":
    main()
