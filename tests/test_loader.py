"""Loading a campaign file: text cells with their true row numbers, headers, the chosen columns."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from helpers import DATA, cells

from batch_sms.errors import InputError
from batch_sms.input.loader import find_column, load, paused_gc, stream
from batch_sms.models import Row

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


def test_only_sms_columns_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("sms_status\nsent\n")
    with pytest.raises(InputError, match="no columns left"):
        load(path)


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


def test_encoding_given_for_a_spreadsheet_is_said_to_be_unused() -> None:
    table = load(DATA / "two_sheets.xlsx", encoding="cp1252")
    assert table.notes == ("--encoding cp1252 is not used: a xlsx file carries its own text",)
    assert load(DATA / "two_sheets.xlsx").notes == ()


def test_only_the_reports_own_columns_are_ignored_in_any_case() -> None:
    table = load(DATA / "sms_columns_mixed.csv")
    assert table.columns == ("phone", "sms_content")
    assert table.dropped == ("SMS_STATUS", "Sms_Error")
    assert table.rows[0].cells == ("+8613800138000", "Hello Ann")


def test_header_row_skips_title_rows_and_keeps_true_row_numbers() -> None:
    table = load(DATA / "title_rows.csv", header_row=4)
    assert table.columns == ("phone", "name", "content")
    assert [(r.number, r.cells) for r in table.rows] == [
        (5, ("+8613800138000", "Ann", "Hello Ann")),
        (6, ("+8613800138001", "Bob", "Hello Bob")),
    ]
    offset = load(DATA / "offset_table.xlsx", header_row=3)
    assert [(r.number, r.cells) for r in offset.rows] == [(4, ("8613800138000", "Ann"))]


@pytest.mark.parametrize(
    ("name", "row", "message"),
    [
        ("offset_table.xlsx", 1, r"offset_table\.xlsx: row 1 \(--header-row\) is empty"),
        ("title_rows.csv", 40, r"title_rows\.csv: the file has no row 40 \(--header-row\)"),
    ],
)
def test_header_row_that_is_not_a_header(name: str, row: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load(DATA / name, header_row=row)


def test_a_garbage_line_is_quoted_short() -> None:
    with pytest.raises(InputError) as info:
        load(DATA / "garbage_line.csv")
    listed = info.value.message.split("columns: ", 1)[1]
    assert len(listed) == 61
    assert listed.endswith("…")


@pytest.mark.parametrize(
    "name",
    ["gbk_chinese_headers.csv", "utf8_bom.csv", "previous_results.csv", "two_sheets.xlsx"],
)
def test_streamed_rows_are_the_loaded_rows(name: str) -> None:
    table = load(DATA / name)
    head, rows = stream(DATA / name)
    assert list(rows) == table.rows
    assert head.rows == []
    assert (head.columns, head.format, head.encoding, head.delimiter, head.dropped, head.notes) == (
        table.columns, table.format, table.encoding, table.delimiter, table.dropped, table.notes,
    )  # fmt: skip


def test_streaming_drops_a_nameless_column_only_when_it_is_empty_all_the_way(
    tmp_path: Path,
) -> None:
    empty, filled = tmp_path / "empty.csv", tmp_path / "filled.csv"
    empty.write_text("phone,,content\n8613800138000,,Hi\n\n8613800138001,,Yo\n")
    filled.write_text("phone,,content\n8613800138000,,Hi\n8613800138001,x,Yo\n")
    for path in (empty, filled):
        head, rows = stream(path)
        table = load(path)
        assert head.columns == table.columns
        assert list(rows) == table.rows
    assert load(empty).columns == ("phone", "content")
    assert load(filled).rows[1] == Row(3, ("8613800138001", "x", "Yo"))


def test_streaming_a_header_only_file_refuses_it_when_the_rows_are_read() -> None:
    _, rows = stream(DATA / "header_only.csv")
    with pytest.raises(InputError, match="has a header but no data rows; columns: phone, name"):
        next(rows)


def test_streaming_refuses_what_loading_refuses(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--sheet applies to"):
        stream(DATA / "utf8_bom.csv", "Sheet1")
    with pytest.raises(InputError, match=r"campaign\.csv: file not found"):
        stream(tmp_path / "campaign.csv")
    with pytest.raises(InputError, match="the file is empty"):
        stream(DATA / "empty.csv")
    path = tmp_path / "list.csv"
    path.write_text("phone,content\n8613800138000,Hi\n8613800138001,Hello, friend\n")
    _, rows = stream(path)
    assert next(rows) == Row(2, ("8613800138000", "Hi"))
    with pytest.raises(InputError, match=r"row 3 has 3 cells but the header has 2"):
        next(rows)


def test_paused_gc_leaves_what_was_built_to_the_oldest_generation() -> None:
    """After the pause the objects built are old: no collection starts to rescan them."""
    collections: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    assert gc.isenabled()
    gc.callbacks.append(seen)
    try:
        with paused_gc():
            assert not gc.isenabled()
            with paused_gc():  # nested: the outer block re-enables
                built = [[i] for i in range(5000)]
            assert not gc.isenabled()
        assert gc.isenabled()
        after = [[i] for i in range(100)]  # would start a young collection of all 5,000
    finally:
        gc.callbacks.remove(seen)
    assert collections == []
    young = {id(o) for generation in (0, 1) for o in gc.get_objects(generation=generation)}
    assert not any(id(b) in young for b in built)
    assert len(after) == 100
