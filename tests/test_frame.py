"""input/frame.py: a DataFrame's cells as a file's text, flagged where a number lost digits."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from batch_sms.errors import InputError, UsageError
from batch_sms.input import frame, loader


@pytest.mark.parametrize(
    ("column", "texts", "flagged"),
    [
        # integer columns: their digits
        (pd.Series([8613800138000, 12015550123]), ["8613800138000", "12015550123"], []),
        (pd.Series([8613800138000, None], dtype="Int64"), ["8613800138000", ""], []),
        (pd.Series([8613800138000], dtype="uint64"), ["8613800138000"], []),
        # a missing value makes a column float64: its whole numbers are digits all the same
        (pd.Series([8613800138000, None]), ["8613800138000", ""], []),
        (pd.Series([8613800138000.0, np.nan]), ["8613800138000", ""], []),
        # a float that lost digits: not a whole number, or past 2**53
        (pd.Series([8613800138000.5]), ["8613800138000.5"], [0]),
        (pd.Series([float(2**60)]), ["1152921504606846976"], [0]),
        (pd.Series([float(2**53 - 1)]), ["9007199254740991"], []),
        (pd.Series([float("inf")]), ["inf"], [0]),
        # float32 holds whole numbers exactly only below 2**24
        (pd.Series([8613800138000], dtype="float32"), ["8613800181760"], [0]),
        (pd.Series([1.5, 2], dtype="float32"), ["1.5", "2"], [0]),
        # Excel's look (6 significant digits, then zeros) on a number, as in a spreadsheet
        (pd.Series([8613910000000]), ["8613910000000"], [0]),
        (pd.Series(["8613910000000"]), ["8613910000000"], []),
        # missing values of every kind are empty cells
        (pd.Series(["a", None, np.nan, pd.NA], dtype=object), ["a", "", "", ""], []),
        (pd.Series([pd.Timestamp("2024-03-01"), pd.NaT]), ["2024-03-01", ""], []),
        (pd.Series([pd.Timestamp("2024-03-01 08:30")]), ["2024-03-01 08:30:00"], []),
        # text stays as it is, spaces, quotes and line breaks included
        (pd.Series([" +86 138 0013 8000 ", 'a "b",\r\nc']), [" +86 138 0013 8000 ", 'a "b",\r\nc'],
         []),
        # other types: their text; booleans as a spreadsheet shows them
        (pd.Series([True, False]), ["TRUE", "FALSE"], []),
        (pd.Series([Decimal("8613800138000"), np.int64(7)], dtype=object), ["8613800138000", "7"],
         []),
    ],
)  # fmt: skip
def test_cells_are_the_text_a_file_would_hold(
    column: pd.Series, texts: list[str], flagged: list[int]
) -> None:
    data = pd.DataFrame({"x": column, "content": "hi"})
    table = frame.to_table(data)
    got = [row.cells[0] for row in table.rows if row.cells[0] or row.cells[1]]
    assert got == texts
    assert table.rounded == {(2 + i, texts[i]) for i in flagged}


def test_rows_are_numbered_as_a_csv_with_a_header_line() -> None:
    data = pd.DataFrame({"phone": ["1", None, "3"], "content": ["a", None, "c"]})
    table = frame.to_table(data)
    assert [(r.number, r.cells) for r in table.rows] == [(2, ("1", "a")), (4, ("3", "c"))]
    assert table.format == "csv"
    assert table.path == Path("DataFrame")


def test_the_csv_copy_reads_back_to_the_same_rows(tmp_path: Path) -> None:
    data = pd.DataFrame(
        {
            "phone": [8613800138000, None, 8613800138001],
            "content": ['multi\nline, "quoted"', None, "  spaced  "],
            "sms_status": ["sent", None, "failed"],  # a report's result column is dropped
            "名前": ["张三", None, "Zoë"],
        }
    )
    table = frame.to_table(data)
    assert table.columns == ("phone", "content", "名前")
    copy = tmp_path / "input.csv"
    copy.write_bytes(frame.to_csv(table))
    again = loader.load(copy)
    assert (again.columns, again.rows) == (table.columns, table.rows)


def test_column_names_must_be_text() -> None:
    with pytest.raises(UsageError, match=r"column names must be text; column 1 is 0 \(int\)"):
        frame.to_table(pd.DataFrame([[8613800138000, "hi"]]))


def test_a_frame_without_named_columns_or_rows_is_refused() -> None:
    with pytest.raises(InputError, match="no named columns"):
        frame.to_table(pd.DataFrame({"": ["8613800138000"]}))
    with pytest.raises(InputError, match="no data rows"):
        frame.to_table(pd.DataFrame({"phone": [], "content": []}))


def test_a_text_with_commas_on_later_lines_is_kept_with_another_delimiter(tmp_path: Path) -> None:
    data = pd.DataFrame({"phone": ["8613800138000"], "content": ["Hi Anna,\nyour order, sent"]})
    table = frame.to_table(data)
    assert table.rows[0].cells == ("8613800138000", "Hi Anna,\nyour order, sent")
    copy = tmp_path / "input.csv"
    copy.write_bytes(frame.to_csv(table))
    assert loader.load(copy).rows == table.rows


def test_a_cell_shaped_like_further_rows_for_every_delimiter_is_refused() -> None:
    # The CSV reader takes such a cell for an unclosed quote: no copy could be read back.
    data = pd.DataFrame({"phone": ["8613800138000"], "content": ["hi\na,b;c\td|e"]})
    with pytest.raises(InputError, match="cannot be kept as a CSV file"):
        frame.to_table(data)


def test_the_csv_kept_of_a_frame_is_the_one_to_table_read_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A send of a DataFrame keeps its CSV: to_table wrote and read it back already, so to_csv
    of that table makes it again only for another table (a second pass cost 1.2 s per 200,000
    rows)."""
    data = pd.DataFrame({"phone": [8613800138000, 8613800138001], "content": ["a, b", "c"]})
    table = frame.to_table(data)
    other = replace(table)  # equal rows, another table: made and checked again
    reads: list[str] = []
    real = frame.parse_text

    def counting(path: Path, text: str) -> object:
        reads.append(text)
        return real(path, text)

    monkeypatch.setattr(frame, "parse_text", counting)
    kept = frame.to_csv(table)
    assert reads == []
    assert frame.to_csv(other) == kept
    assert len(reads) == 1
    assert kept.decode("utf-8-sig").splitlines()[2] == '8613800138000,"a, b"'
