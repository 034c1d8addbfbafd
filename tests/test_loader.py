"""Tests for batch_sms.input.loader: real files load as text cells with their true row numbers."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import openpyxl
import pytest

from batch_sms.errors import InputError
from batch_sms.input import csvfile
from batch_sms.input.loader import Table, find_column, load
from batch_sms.models import Row

DATA = Path(__file__).parent / "data"


def cells(table: Table) -> list[tuple[int, tuple[str, ...]]]:
    """Return (row number, cells) pairs: what a test compares."""
    return [(r.number, r.cells) for r in table.rows]


# name, format, columns, (row number, cells)…, encoding, delimiter
FILES = [
    pytest.param(
        "gbk_chinese_headers.csv",
        "csv",
        ("姓名", "手机号码", "短信内容"),
        [
            (2, ("张三", "13812345678", "您好张三，您的验证码是1234")),
            (3, ("李四", "+86 139 1234 5678", "尊敬的李四：会员日八折")),
        ],
        "gb18030",
        ",",
        id="gbk-chinese-headers-crlf",
    ),
    pytest.param(
        "utf8_bom.csv",
        "csv",
        ("phone", "name", "content"),
        [(2, ("+8613800138000", "Ann", "Hi Ann 👋")), (3, ("0044 7400 123456", "Bob", "Hi Bob"))],
        "utf-8-sig",
        ",",
        id="utf8-bom",
    ),
    pytest.param(
        "utf16_excel.txt",
        "csv",
        ("phone", "name", "content"),
        [(2, ("8613800138000", "王五", "你好 🎉")), (3, ("+12015550123", "Carl", "Hi"))],
        "utf-16",
        "\t",
        id="excel-unicode-text-utf16-tab",
    ),
    pytest.param(
        "semicolon.csv",
        "csv",
        ("Phone", "Name", "Message"),
        [
            (2, ("+4915123456789", "Jörg", "Hallo Jörg, 20% Rabatt, nur heute")),
            (3, ("+33612345678", "Zoé", "Bonjour; à bientôt")),
        ],
        "utf-8",
        ";",
        id="semicolon-with-commas-in-text",
    ),
    pytest.param(
        "tab.tsv",
        "csv",
        ("mobile", "name"),
        [(2, ("60123456789", "Siti")), (3, ("6581234567", "Wei Ling"))],
        "utf-8",
        "\t",
        id="tab",
    ),
    pytest.param(
        "pipe.csv",
        "csv",
        ("msisdn", "name"),
        [(2, ("919876543210", "Asha")), (3, ("5511961234567", "Joao"))],
        "utf-8",
        "|",
        id="pipe",
    ),
    pytest.param(
        "blank_rows.csv",
        "csv",
        ("phone", "name", "content"),
        [
            (2, ("8613800138000", "Ann", "Hi")),
            (6, ("8613800138001", "Bob", "line one\nline two")),
            (8, ("8613800138002", "Cy", "Bye")),
        ],
        "utf-8",
        ",",
        id="blank-rows-and-multiline-cell-keep-row-numbers",
    ),
    pytest.param(
        "duplicate_headers.csv",
        "csv",
        ("phone", "Name", "Phone", "name"),
        [(2, ("8613800138000", "Ann", "8613800138001", "Annie"))],
        "utf-8",
        ",",
        id="duplicate-headers-kept-apart",
    ),
    pytest.param(
        "previous_results.csv",
        "csv",
        ("phone", "name"),
        [(2, ("8613800138000", "Ann"))],
        "utf-8",
        ",",
        id="previous-report-sms-columns-dropped",
    ),
    pytest.param(
        "ragged.csv",
        "csv",
        ("phone", "name", "content"),
        [(2, ("8613800138000", "Ann", "")), (3, ("8613800138001", "", ""))],
        "utf-8",
        ",",
        id="trailing-delimiter-and-short-rows",
    ),
    pytest.param(
        "numeric_phones.xlsx",
        "xlsx",
        ("phone", "name", "joined", "vip", "score"),
        [
            (2, ("8615088888888", "Ann", "2024-05-01", "TRUE", "1.5")),
            (3, ("13812345678", "Bob", "2024-05-01 09:30:00", "FALSE", "100")),
            (4, ("013812345678", "Cy", "2024-05-02", "", "0.1")),
            (5, ("+8613800138000", "=HYPERLINK(1)", "", "", "-3")),
        ],
        None,
        None,
        id="xlsx-numeric-phones-dates-booleans",
    ),
    pytest.param(
        "excel_damage.xlsx",
        "xlsx",
        ("phone", "name"),
        [
            (2, ("8.61509E+12", "Ann")),
            # The float Excel kept, digit for digit: validation sees 19 digits and flags it.
            (3, ("8615088888888889344", "Bob")),
            (4, ("1000000000000000", "Cy")),
        ],
        None,
        None,
        id="xlsx-scientific-notation-damage-left-as-is",
    ),
    pytest.param(
        "blank_rows.xlsx",
        "xlsx",
        ("phone", "name"),
        [(2, ("8613800138000", "Ann")), (5, ("8613800138001", "Bob"))],
        None,
        None,
        id="xlsx-blank-rows-keep-row-numbers",
    ),
    pytest.param(
        "offset_table.xlsx",
        "xlsx",
        ("phone", "name"),
        [(4, ("8613800138000", "Ann"))],
        None,
        None,
        id="xlsx-table-not-at-a1",
    ),
    pytest.param(
        "two_sheets.xlsx",
        "xlsx",
        ("phone", "name"),
        [(2, ("8613800138000", "Ann"))],
        None,
        None,
        id="xlsx-first-sheet-empty",
    ),
    pytest.param(
        "contacts.ods",
        "ods",
        ("phone", "name", "joined", "vip"),
        [
            (2, ("8613800138000", "Ann", "2024-05-01", "TRUE")),
            (3, ("+447400123456", "Bob", "", "FALSE")),
        ],
        None,
        None,
        id="ods",
    ),
]


@pytest.mark.parametrize(("name", "fmt", "columns", "rows", "encoding", "delimiter"), FILES)
def test_real_world_files(
    name: str,
    fmt: str,
    columns: tuple[str, ...],
    rows: list[tuple[int, tuple[str, ...]]],
    encoding: str | None,
    delimiter: str | None,
) -> None:
    table = load(DATA / name)
    assert table.format == fmt
    assert table.columns == columns
    assert cells(table) == rows
    assert (table.encoding, table.delimiter) == (encoding, delimiter)
    assert all(isinstance(c, str) for r in table.rows for c in r.cells)


def test_sheet_names_and_detection() -> None:
    assert load(DATA / "two_sheets.xlsx").sheet == "Contacts"
    assert load(DATA / "two_sheets.xlsx", sheet=" contacts ").sheet == "Contacts"
    assert load(DATA / "contacts.ods").sheet == "Contacts"
    assert load(DATA / "utf8_bom.csv").sheet is None


def test_previous_report_columns_are_recorded() -> None:
    assert load(DATA / "previous_results.csv").dropped == ("sms_status", "sms_error")


@pytest.mark.parametrize(
    ("name", "sheet", "message", "hint"),
    [
        pytest.param(
            "empty.csv", None, "empty.csv: the file is empty", "header row", id="empty-csv"
        ),
        pytest.param(
            "header_only.csv",
            None,
            "header_only.csv: the file has a header but no data rows; "
            "columns: phone, name, content",
            "below the header",
            id="header-only-csv",
        ),
        pytest.param(
            "header_only.xlsx",
            None,
            "header_only.xlsx: the file has a header but no data rows; columns: phone, name",
            "below the header",
            id="header-only-xlsx",
        ),
        pytest.param(
            "empty.xlsx",
            None,
            "empty.xlsx: every visible sheet is empty; sheets: Sheet1",
            "header row",
            id="empty-xlsx",
        ),
        pytest.param(
            "two_sheets.xlsx",
            "Foo",
            'two_sheets.xlsx: sheet "Foo" not found; sheets: Notes, Contacts',
            "--sheet",
            id="unknown-sheet",
        ),
        pytest.param(
            "two_sheets.xlsx",
            "Notes",
            'two_sheets.xlsx: sheet "Notes" is empty',
            "header row",
            id="chosen-sheet-empty",
        ),
        pytest.param(
            "utf8_bom.csv", "Sheet1", "utf8_bom.csv: --sheet applies to", "", id="sheet-on-csv"
        ),
    ],
)
def test_unusable_files(name: str, sheet: str | None, message: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        load(DATA / name, sheet=sheet)
    assert info.value.message.startswith(str(DATA / message.split(":")[0]) + ":")
    assert message in info.value.message
    assert hint in info.value.hint


def test_missing_file_and_bad_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"campaign\.csv: file not found") as info:
        load(tmp_path / "campaign.csv")
    assert "check the path" in info.value.hint
    (tmp_path / "campaign.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match=r"campaign\.pdf: unsupported file type '\.pdf'") as info:
        load(tmp_path / "campaign.pdf")
    assert ".xlsx" in info.value.hint
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InputError, match=r"folder\.csv: not a file"):
        load(tmp_path / "folder.csv")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b"phone\n" + bytes(range(0x80, 0x100)) * 3 + b"\n",
            "is in no encoding batch-sms recognises",
            id="undecodable",
        ),
        pytest.param(
            codecs.BOM_UTF8 + b"phone\n\xff\n", "is not valid UTF-8-SIG", id="bad-after-bom"
        ),
        pytest.param(b"PK\x03\x04rest", "this is a spreadsheet, not a CSV file", id="renamed-xlsx"),
        pytest.param(b"  \r\n\n", "the file is empty", id="only-whitespace"),
    ],
)
def test_unreadable_csv(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        load(path)
    assert info.value.message.startswith(f"{path}: ")
    assert expected in info.value.message
    assert info.value.hint


def test_utf16_big_endian_and_utf32(tmp_path: Path) -> None:
    for encoding, bom in (("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE)):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(bom + "phone,名字\n+8613800138000,王\n".encode(encoding))
        assert cells(load(path)) == [(2, ("+8613800138000", "王"))]


def test_row_with_extra_cells_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone,content\n8613800138000,Hi\n8613800138001,Hello, friend\n")
    with pytest.raises(InputError, match=r"row 3 has 3 cells but the header has 2") as info:
        load(path)
    assert "comma" in info.value.hint


def test_phone_text_is_never_parsed(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    raw = ["007", "+8613800138000", "8.61509E+12", "1e5", "NaN", "NULL", "N/A", " 138 0013 8000 "]
    path.write_text("phone\n" + "\n".join(raw) + "\n")
    assert [r.cells[0] for r in load(path).rows] == raw


def test_leading_blank_lines_count_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("\n\nphone,name\n8613800138000,Ann\n")
    table = load(path)
    assert table.columns == ("phone", "name")
    assert cells(table) == [(4, ("8613800138000", "Ann"))]


def test_header_names_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(" Phone , First Name \n8613800138000,Ann\n")
    assert load(path).columns == ("Phone", "First Name")


def test_single_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone\n+8613800138000\n")
    table = load(path)
    assert (table.columns, table.delimiter) == (("phone",), ",")


def test_only_sms_columns_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("sms_status\nsent\n")
    with pytest.raises(InputError, match="no columns left"):
        load(path)


def test_numeric_cells_written_by_openpyxl(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["phone", "amount"])
    for row in ([8615088888888, 2.50], [8615088888888.0, 1e-7], [999999999999999, -0.0]):
        ws.append(row)
    path = tmp_path / "list.xlsm"
    wb.save(path)
    table = load(path)
    assert table.format == "xlsm"
    assert [r.cells for r in table.rows] == [
        ("8615088888888", "2.5"),
        ("8615088888888", "1e-07"),
        ("999999999999999", "0"),
    ]


def test_corrupt_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match=r"list\.xlsx: cannot read the spreadsheet") as info:
        load(path)
    assert "opens in Excel" in info.value.hint


@pytest.mark.parametrize(
    ("name", "expected"),
    [("phone", 0), (" PHONE ", 0), ("First Name", 1), ("first name", 1), ("手机号", 2)],
)
def test_find_column(name: str, expected: int) -> None:
    assert find_column(("Phone", "First Name", "手机号"), name) == expected


def test_find_column_unknown_lists_columns() -> None:
    with pytest.raises(InputError, match=r'column "mobile" not found; columns: Phone, Name'):
        find_column(("Phone", "Name"), "mobile")


def test_find_column_ambiguous_names_the_clash() -> None:
    assert find_column(("phone", "Name", "Phone "), "phone") == 0  # the exact spelling picks
    assert find_column(("phone", "Name", "Phone "), "Phone") == 2
    with pytest.raises(InputError, match=r'columns 1, 3 are all called "PHONE"') as info:
        find_column(("phone", "Name", "Phone "), "PHONE", "--phone-column")
    assert info.value.hint == (
        'give --phone-column the exact spelling of one: "phone" (column 1) or "Phone" (column 3); '
        "or rename one in the file"
    )
    with pytest.raises(InputError, match=r"columns 1, 3 are all called") as info:
        find_column(("phone", "Name", "phone"), "phone")
    assert "no name can pick one: rename them" in info.value.hint


def test_rows_are_model_rows() -> None:
    table = load(DATA / "pipe.csv")
    assert table.rows[0] == Row(2, ("919876543210", "Asha"))


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("sep=;\r\nphone;name\r\n8613800138000;Ann, Bob\r\n")
    table = load(path)
    assert (table.columns, table.delimiter) == (("phone", "name"), ";")
    # Excel hides the sep= line, so the header is row 1 there and here.
    assert cells(table) == [(2, ("8613800138000", "Ann, Bob"))]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("phone\tname\n8613800138000\t王芳\n".encode(encoding))
    table = load(path)
    assert (table.encoding, table.delimiter) == (encoding, "\t")
    assert cells(table) == [(2, ("8613800138000", "王芳"))]


def test_samples_csv_and_xlsx_hold_the_same_rows() -> None:
    samples = Path(__file__).parent.parent / "samples"
    csv_table = load(samples / "campaign.csv")
    xlsx_table = load(samples / "campaign.xlsx")
    assert (
        csv_table.columns == xlsx_table.columns == ("name", "phone", "country", "code", "content")
    )
    assert cells(csv_table) == cells(xlsx_table)
    phones = [r.cells[1] for r in xlsx_table.rows]
    assert "8.61509E+12" in phones
    assert "13812345678" in phones  # stored as a number in the xlsx; its digits survive


# The CSV reader feeds csv.reader the text line by line instead of through io.StringIO (which
# holds a second copy of the text); these are the inputs where line splitting could differ.
LINE_EDGE_CASES = [
    pytest.param(
        'phone,content\r\n8613800138000,"one\r\ntwo"\r\n8613800138001,x\r\n',
        [(2, ("8613800138000", "one\r\ntwo")), (3, ("8613800138001", "x"))],
        id="quoted-crlf",
    ),
    pytest.param(
        'phone,content\n8613800138000,"one\ntwo\n"\n8613800138001,"a\r\nb\rc"\n',
        [(2, ("8613800138000", "one\ntwo\n")), (3, ("8613800138001", "a\r\nb\rc"))],
        id="quoted-lf-and-cr",
    ),
    pytest.param(
        'phone,content\n8613800138000,a\u2028b\u2029c\n8613800138001,"\u2028"\n',
        [(2, ("8613800138000", "a\u2028b\u2029c")), (3, ("8613800138001", "\u2028"))],
        id="u2028-u2029-in-cells",
    ),
    pytest.param(
        "phone,content\n8613800138000,a\x0bb\x0cc\x1cd\x85e\n",
        [(2, ("8613800138000", "a\x0bb\x0cc\x1cd\x85e"))],
        id="other-unicode-line-breaks-in-cells",
    ),
    pytest.param(
        "phone,name\n8613800138000,Ann\n8613800138001,Bob",
        [(2, ("8613800138000", "Ann")), (3, ("8613800138001", "Bob"))],
        id="no-final-newline",
    ),
    pytest.param(
        'phone,name\n8613800138000,"Ann\nLee"',
        [(2, ("8613800138000", "Ann\nLee"))],
        id="no-final-newline-in-quotes",
    ),
    pytest.param(
        "sep=;\r\nphone;name\r\n8613800138000;Ann, Bob\r\n",
        [(2, ("8613800138000", "Ann, Bob"))],
        id="sep-line",
    ),
    pytest.param(
        "\ufeffsep=;\nphone;name\n8613800138000;Zoé",
        [(2, ("8613800138000", "Zoé"))],
        id="bom-sep-line-no-final-newline",
    ),
    pytest.param(
        "\ufeffphone,name\r\n\r\n8613800138000,Zoé\r\n",
        [(3, ("8613800138000", "Zoé"))],
        id="bom-crlf-blank-row",
    ),
    # Only "\n" ends a line, as with io.StringIO; csv.reader then refuses a bare CR that is
    # followed by more text in a file that also has "\n" line ends.
    pytest.param("phone,name\r\n8613800138000,Ann\r8613800138001,Bob\r\n", None, id="mixed-cr"),
]


@pytest.mark.parametrize(("text", "expected"), LINE_EDGE_CASES)
def test_csv_line_splitting_edge_cases(
    tmp_path: Path, text: str, expected: list[tuple[int, tuple[str, ...]]] | None
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(text.encode("utf-8"))
    if expected is None:
        with pytest.raises(InputError, match="not a readable CSV file"):
            load(path)
        return
    assert cells(load(path)) == expected


@pytest.mark.parametrize(("text", "expected"), LINE_EDGE_CASES)
def test_csv_lines_match_stringio(text: str, expected: object) -> None:
    text = text.removeprefix("\ufeff")
    assert list(csvfile._lines(text)) == io.StringIO(text).readlines()
    assert list(csvfile._lines(text, 3)) == io.StringIO(text[3:]).readlines()
    records: list[list[str]] | str
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        records = str(exc)
    if isinstance(records, str):
        with pytest.raises(csv.Error, match=records):
            list(csv.reader(csvfile._lines(text)))
    else:
        assert list(csv.reader(csvfile._lines(text))) == records


def test_classic_mac_cr_only_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"phone,name\r8613800138000,Ann\r8613800138001,Bob\r")
    assert cells(load(path)) == [(2, ("8613800138000", "Ann")), (3, ("8613800138001", "Bob"))]


def test_a_huge_cell_does_not_make_the_file_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("phone,content\n8613800138000," + "x" * 200_000 + "\n", encoding="utf-8")
    assert len(load(path).rows[0].cells[1]) == 200_000
