"""Tests for reading input faithfully: stray quotes, encodings, CSV shapes, sheets, headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_sms.errors import InputError
from batch_sms.loader import load

DATA = Path(__file__).parent / "data"


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


def test_legit_multiline_cells_are_kept() -> None:
    table = load(DATA / "multiline_ok.csv")
    assert [(r.number, r.cells) for r in table.rows] == [
        (2, ("+8613812341301", "Ann", "Dear Ann,\nyour order ships today.\nThanks, the team")),
        (3, ("+8613812341302", "Bob", "Code:\n123456")),
        (4, ("+8613812341303", "Cy", "Hi")),
    ]
