"""Tests for reading input faithfully: stray quotes, encodings, CSV shapes, sheets, headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_cli

from batch_sms.config import load_settings
from batch_sms.errors import InputError, UsageError
from batch_sms.input.loader import load

DATA = Path(__file__).parent / "data"


def test_stray_quote_swallowing_rows_is_refused_at_its_line() -> None:
    # Row 3's unclosed quote would send rows 4-6, numbers included, to one person.
    with pytest.raises(InputError) as info:
        load(DATA / "swallow.csv")
    assert "swallow.csv: line 3: a quoted cell opened on this line" in info.value.message
    assert "+8613812341303,Welcome!" in info.value.message
    assert "never closed" in info.value.hint


def test_validate_refuses_the_swallowing_file_with_exit_2(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    result = run_cli(["validate", str(DATA / "swallow.csv"), *where])
    assert result.exit_code == 2
    assert "swallow.csv: line 3: a quoted cell opened on this line" in result.output
    assert "Hint: a double quote" in result.output


def test_stray_quote_after_an_excel_sep_line_names_the_physical_line(tmp_path: Path) -> None:
    path = tmp_path / "sep.csv"
    path.write_text('sep=;\nphone;content\n07900900123;"Sale\n07900900124;Hi\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"sep\.csv: line 3: a quoted cell"):
        load(path)


def test_a_quote_never_closed_is_refused_at_its_line() -> None:
    # The swallowed lines don't look like rows, but the quote runs to the end of the file.
    with pytest.raises(InputError) as info:
        load(DATA / "unclosed_quote.csv")
    assert "unclosed_quote.csv: line 3: a double quote opened on this line is never closed" in (
        info.value.message
    )


def test_a_closed_multiline_cell_at_the_end_of_the_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "end.csv"
    path.write_text('phone,content\n07900900123,"Line one\nline two"\n', encoding="utf-8")
    assert load(path).rows[0].cells == ("07900900123", "Line one\nline two")


def test_legit_multiline_cells_are_kept() -> None:
    table = load(DATA / "multiline_ok.csv")
    assert [(r.number, r.cells) for r in table.rows] == [
        (2, ("+8613812341301", "Ann", "Dear Ann,\nyour order ships today.\nThanks, the team")),
        (3, ("+8613812341302", "Bob", "Code:\n123456")),
        (4, ("+8613812341303", "Cy", "Hi")),
    ]


def test_excel_western_csv_is_read_as_cp1252() -> None:
    table = load(DATA / "cp1252_mueller.csv")
    assert table.encoding == "cp1252"
    assert table.rows[0].cells[0] == "Müller"
    assert table.rows[0].cells[2] == "Hallo Herr Müller: Ihre Bestellung ist unterwegs"
    assert table.notes == ()  # only one reading makes sense: no guess to warn about


def test_an_uncertain_guess_says_so_and_names_the_option() -> None:
    table = load(DATA / "cp1252_francois.csv")
    assert table.encoding == "cp1252"
    assert table.rows[0].cells == (
        "François", "+33612345678", "Bonjour François, votre commande est expédiée"
    )  # fmt: skip
    (note,) = table.notes
    assert "cp1252 was assumed" in note
    assert "guess" in note
    assert "--encoding cp1250" in note  # the close rival readings are offered


def test_encoding_option_overrides_the_guess() -> None:
    table = load(DATA / "cp1252_francois.csv", encoding="cp1250")
    assert table.encoding == "cp1250"
    assert table.notes == ()
    with pytest.raises(InputError, match=r"is not valid utf-8 \(--encoding\)"):
        load(DATA / "cp1252_francois.csv", encoding="utf-8")


def test_encoding_given_for_a_spreadsheet_is_said_to_be_unused() -> None:
    table = load(DATA / "two_sheets.xlsx", encoding="cp1252")
    assert table.notes == ("--encoding cp1252 is not used: a xlsx file carries its own text",)
    assert load(DATA / "two_sheets.xlsx").notes == ()


def test_bomless_utf16_chinese_is_read() -> None:
    table = load(DATA / "utf16le_chinese_nobom.txt")
    assert table.encoding == "utf-16-le"
    assert table.delimiter == "\t"
    assert table.columns == ("手机号码", "短信内容")
    assert table.rows[1].cells == ("13912345678", "尊敬的一位客户：您的订单已发货")


def test_unknown_encoding_name_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--encoding: 'klingon' is not a text encoding"):
        load_settings({"encoding": "klingon"}, cwd=tmp_path, environ={})
    with pytest.raises(UsageError, match=r"BATCH_SMS_ENCODING: 'rot13' is not a text encoding"):
        load_settings({}, cwd=tmp_path, environ={"BATCH_SMS_ENCODING": "rot13"})
    assert load_settings({}, cwd=tmp_path, environ={"BATCH_SMS_ENCODING": "CP1252"}).encoding == (
        "cp1252"
    )


def test_cli_validate_reads_cp1252_and_takes_encoding(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    result = run_cli(["validate", str(DATA / "cp1252_mueller.csv"), *where, "--encoding", "x-no"])
    assert result.exit_code == 2
    assert "'x-no' is not a text encoding" in result.output
    result = run_cli(["validate", str(DATA / "cp1252_francois.csv"), *where])
    assert "cp1252 was assumed" in result.output, result.output


def test_space_after_delimiter_before_a_quoted_multiline_cell() -> None:
    table = load(DATA / "space_before_quote.csv")
    assert table.columns == ("phone", "content")
    assert [(r.number, r.cells) for r in table.rows] == [
        (2, ("07900900123", "Hello Ann,\nyour parcel is on its way.\nSee you")),
        (3, ("07900900124", "Hi Bob")),
        (4, ("07900900125", "Hi Cy")),
    ]


def test_cells_keep_their_leading_space_when_no_cell_is_quoted_after_one(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("phone,content\n07900900123, indented text\n", encoding="utf-8")
    assert load(path).rows[0].cells == ("07900900123", " indented text")


@pytest.mark.parametrize(
    ("name", "delimiter", "first"),
    [
        ("junk_before_header.csv", ";", ("07900900123", "Hi, Ann")),  # ZWSP + tab, word joiner
        ("cr_before_header.csv", ",", ("07900900123", "Hi")),
    ],
)
def test_invisible_characters_before_the_header(
    name: str, delimiter: str, first: tuple[str, ...]
) -> None:
    table = load(DATA / name)
    assert table.delimiter == delimiter
    assert table.columns == ("phone", "content")
    assert table.rows[0].cells == first


def test_default_sheet_is_the_active_visible_one_never_a_hidden_one() -> None:
    table = load(DATA / "hidden_first_sheet.xlsx")
    assert table.sheet == "Send"
    assert table.rows[0].cells == ("+8613800138003", "Today's offer")


def test_an_empty_active_sheet_falls_back_to_the_first_visible_sheet_with_rows() -> None:
    table = load(DATA / "active_sheet_empty.xlsx")
    assert table.sheet == "Draft"
    assert table.rows[0].cells == ("+8613800138002", "Draft")


def test_sheet_option_still_reads_a_hidden_sheet() -> None:
    table = load(DATA / "hidden_first_sheet.xlsx", "old list")
    assert table.sheet == "Old list"
    assert table.rows[0].cells == ("+8613800138001", "Last year's offer")


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


def test_header_row_through_the_cli(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    data = str(DATA / "title_rows.csv")
    result = run_cli(["validate", data, *where, "--header-row", "4", "--json"])
    assert result.exit_code == 0, result.output
    result = run_cli(["validate", data, *where, "--header-row", "0"])
    assert result.exit_code == 2
    assert "--header-row 0: rows are numbered from 1" in result.output


def test_csv_named_xlsx_says_so() -> None:
    with pytest.raises(InputError) as info:
        load(DATA / "csv_named.xlsx")
    assert info.value.message.endswith("this is a text (CSV) file named .xlsx, not a spreadsheet")
    assert info.value.hint == "rename it to .csv (for example csv_named.csv) and give that"


def test_a_garbage_line_is_quoted_short() -> None:
    with pytest.raises(InputError) as info:
        load(DATA / "garbage_line.csv")
    listed = info.value.message.split("columns: ", 1)[1]
    assert len(listed) == 61
    assert listed.endswith("…")


def test_duplicate_headers_hint_gives_spellings_that_work(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    data = str(DATA / "duplicate_headers.csv")
    result = run_cli(["validate", data, *where])
    assert result.exit_code == 2
    assert (
        'Hint: give --phone-column the exact spelling of one: "phone" (column 1) or "Phone" '
        "(column 3)" in result.output
    )
    # The spelling the hint gives does pick that column.
    picked = run_cli(["validate", data, *where, "--phone-column", "Phone", "--template", "Hi"])
    assert picked.exit_code == 0, picked.output
