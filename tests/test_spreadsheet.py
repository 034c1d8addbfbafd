"""Reading spreadsheets: which sheet, number cells as digits, damaged or mislabelled files."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from helpers import DATA

from batch_sms.errors import InputError
from batch_sms.input.loader import load


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


def test_csv_named_xlsx_says_so() -> None:
    with pytest.raises(InputError) as info:
        load(DATA / "csv_named.xlsx")
    assert info.value.message.endswith("this is a text (CSV) file named .xlsx, not a spreadsheet")
    assert info.value.hint == "rename it to .csv (for example csv_named.csv) and give that"
