"""A pandas DataFrame as the loader's Table: the cells a CSV file of it would hold, row 2 onwards.

Numbers become their digits (a float64 column's whole numbers too, never `8613800138000.0`); a
float that lost digits (not a whole number, or past what its type holds exactly) is flagged in
`Table.rounded`, as Excel's rounded number cells are; NaN, None, NA and NaT are empty cells;
text stays as it is. A run keeps the table as CSV (`to_csv`), which the loader reads back to the
very rows checked here: `to_table` reads them through the loader's own CSV reader."""

from __future__ import annotations

import csv
import io
import math
import re
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch_sms.errors import InputError, UsageError
from batch_sms.input.csvfile import DELIMITER_NAMES, parse_text
from batch_sms.input.loader import Table, build_table
from batch_sms.input.spreadsheet import cell_text, rounded_number
from batch_sms.models import Row

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cell", "to_csv", "to_table"]

_EXACT_BITS = {2: 11, 4: 24, 8: 53}  # a float of N bytes holds whole numbers below 2**bits
_SURROGATE = re.compile("[\ud800-\udfff]")
# The CSV text to_table wrote and read back for each table it made, by the table's id while it
# lives: to_csv of that very table (frozen, so its rows are still those) needs no second pass.
_VERIFIED: dict[int, str] = {}


def to_table(frame: pd.DataFrame, name: str = "DataFrame") -> Table:
    """The DataFrame as the Table the loader reads from its CSV copy; UsageError/InputError
    when it cannot be one (column names that are not text, no columns, no rows)."""
    path = Path(name)
    header = _header(frame, name)
    rounded: set[tuple[int, str]] = set()
    columns: list[list[str]] = []
    for index in range(frame.shape[1]):
        series = frame.iloc[:, index]
        texts = []
        # A float32 column's values keep their type (tolist would widen them to float64).
        narrow = series.dtype.kind == "f" and series.dtype.itemsize < 8
        for number, value in enumerate(series.to_numpy() if narrow else series.tolist(), 2):
            text, lost = cell(value)
            if lost:
                rounded.add((number, text))
            texts.append(text)
        columns.append(texts)
    records = [(1, header), *enumerate(zip(*columns, strict=True), 2)]
    direct = build_table(path, "csv", records, None, ",", None)
    text, table = _fitting_csv(direct)
    made = replace(table, delimiter=None, rounded=frozenset(rounded))
    _VERIFIED[id(made)] = text
    weakref.finalize(made, _VERIFIED.pop, id(made), None)
    return made


def to_csv(table: Table) -> bytes:
    """The CSV a run keeps of a table given in memory: the loader reads it back to its rows."""
    text = _VERIFIED.pop(id(table), None)  # kept once: a run keeps its input once
    if text is None:
        text, _ = _fitting_csv(table)
    return text.encode("utf-8-sig")


def _fitting_csv(table: Table) -> tuple[str, Table]:
    """The table as CSV text, and as the loader reads that text back: the same rows.

    The loader refuses a CSV cell whose later lines look like rows (a likely unclosed quote);
    a text such as "Hi Anna,\nyour order, sent" looks so with commas, so the other delimiters
    the loader knows are tried before the table is refused."""
    name = str(table.path)
    for delimiter in DELIMITER_NAMES:
        text = _csv_text(table.columns, table.rows, delimiter)
        if _SURROGATE.search(text):
            raise InputError(
                f"{name}: a cell holds a lone surrogate character, which no file can keep",
                "clean the text, e.g. with .str.encode('utf-8', 'replace').str.decode('utf-8')",
            )
        try:
            numbered, _ = parse_text(table.path, text)
            again = build_table(table.path, "csv", numbered, None, delimiter, None)
        except InputError:
            continue
        if again.columns == table.columns and again.rows == table.rows:
            return text, again
    raise InputError(
        f"{name}: the rows cannot be kept as a CSV file the loader reads back the same",
        "a cell holds line breaks followed by lines shaped like rows of the table, with "
        "every delimiter (, ; tab |); split such texts over columns and use a template",
    )


def cell(value: object) -> tuple[str, bool]:
    """One DataFrame value as a file's cell text, and whether it is a number that lost digits."""
    if type(value) is str:
        return value, False
    import pandas as pd
    from pandas.api import types

    missing = pd.isna(value)  # an array for a list in a cell: not missing
    if types.is_bool(missing) and missing:
        return "", False
    if types.is_bool(value):  # numpy's too
        return cell_text(bool(value)), False
    if types.is_float(value):
        return _float_text(value)
    if types.is_integer(value):
        text = str(int(value))  # type: ignore[call-overload]
        return text, rounded_number(int(value), text)  # type: ignore[call-overload]
    return cell_text(value), False


def _float_text(value: Any) -> tuple[str, bool]:
    """A float's text: digits when it is a whole number; flagged when its digits are not exact."""
    number = float(value)
    if not math.isfinite(number):
        return str(number), True
    # Whole numbers a float holds exactly: below 2**53 for float64, 2**24 for float32.
    bits = _EXACT_BITS.get(getattr(value, "itemsize", 8), _EXACT_BITS[8])
    if number.is_integer():
        text = str(int(number))
        return text, abs(number) >= 2**bits or rounded_number(number, text)
    return (repr(number) if bits == _EXACT_BITS[8] else str(value)), True


def _header(frame: pd.DataFrame, name: str) -> list[str]:
    """The column names, which must be text and not all blank."""
    names = list(frame.columns)
    for position, column in enumerate(names, 1):
        if not isinstance(column, str):
            raise UsageError(
                f"{name}: column names must be text; column {position} is {column!r} "
                f"({type(column).__name__})",
                "name the columns, e.g. frame.columns = ['phone', 'content']",
            )
    if not any(column.strip() for column in names):
        raise InputError(
            f"{name}: the DataFrame has no named columns",
            "name the columns, e.g. frame.columns = ['phone', 'content']",
        )
    return names


def _csv_text(columns: Sequence[str], rows: Iterable[Row], delimiter: str) -> str:
    """CSV text with Excel's `sep=` line (the delimiter is never guessed) and the header on row
    1; a skipped row number gets an empty line, so every row keeps its number."""
    out = io.StringIO()
    out.write(f"sep={delimiter}\n")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    expected = 2
    for row in rows:
        out.write("\n" * (row.number - expected))
        writer.writerow(row.cells)
        expected = row.number + 1
    return out.getvalue()
