"""Reading CSV text: encodings, delimiters, quotes, line breaks, as Excel and people write them."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from helpers import DATA, cells

from batch_sms.errors import InputError
from batch_sms.input import csvfile
from batch_sms.input.loader import load


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


def test_single_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone\n+8613800138000\n")
    table = load(path)
    assert (table.columns, table.delimiter) == (("phone",), ",")


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


def test_stray_quote_swallowing_rows_is_refused_at_its_line() -> None:
    # Row 3's unclosed quote would send rows 4-6, numbers included, to one person.
    with pytest.raises(InputError) as info:
        load(DATA / "swallow.csv")
    assert "swallow.csv: line 3: a quoted cell opened on this line" in info.value.message
    assert "+8613812341303,Welcome!" in info.value.message
    assert "never closed" in info.value.hint


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


def test_bomless_utf16_chinese_is_read() -> None:
    table = load(DATA / "utf16le_chinese_nobom.txt")
    assert table.encoding == "utf-16-le"
    assert table.delimiter == "\t"
    assert table.columns == ("手机号码", "短信内容")
    assert table.rows[1].cells == ("13912345678", "尊敬的一位客户：您的订单已发货")


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
