"""Read a CSV or spreadsheet into rows of text cells, keeping the spreadsheet's own row numbers."""

# Records come from csvfile or spreadsheet; this module checks the path, builds the Table
# (header, blank rows, a report's sms_ result columns, ragged rows) and finds columns by name.

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from batch_sms.errors import InputError, UsageError
from batch_sms.input.csvfile import DELIMITER_NAMES, parse_error, read_csv
from batch_sms.input.spreadsheet import read_sheet
from batch_sms.models import RESULT_COLUMNS, Row

__all__ = [
    "EXTENSIONS",
    "IGNORED",
    "Table",
    "build_table",
    "find_column",
    "load",
    "paused_gc",
    "stream",
]

# A previous report's result columns, dropped so its files work as input: exactly these names, in
# any case; a user's own column that merely starts with "sms_" (sms_content) is kept.
IGNORED = frozenset(name.casefold() for name in RESULT_COLUMNS)

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xls": "xls",
    ".ods": "ods",
}
# Whitespace and invisible characters (zero-width space/joiners, word joiner, a stray BOM) that
# pasting or other tools leave around header names.
_INVISIBLE_ENDS = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")
_SHORT = 60  # characters of a header name quoted in a message
_LISTED = 30  # header names listed in a message
_FORMATS_HINT = "batch-sms reads .csv, .xlsx, .xlsm, .xls and .ods files"


@dataclass(frozen=True)
class Table:
    """The rows of one input file, plus what was detected while reading it."""

    path: Path
    format: str  # "csv" | "xlsx" | "xlsm" | "xls" | "ods"
    columns: tuple[str, ...]  # header texts as written (stripped), duplicates kept in place
    rows: list[Row]  # data rows, blank rows skipped, Row.number = spreadsheet row
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    dropped: tuple[str, ...] = ()  # a previous report's result columns, left out of `columns`
    notes: tuple[str, ...] = ()  # what the user should know about how the file was read
    # (row, text) of the number cells whose value looks rounded by Excel (spreadsheet.read_sheet)
    rounded: frozenset[tuple[int, str]] = frozenset()


def load(
    path: Path,
    sheet: str | None = None,
    *,
    encoding: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Read `path` (CSV or spreadsheet) into a Table of text cells; InputError when unusable.

    `encoding` overrides the guessed encoding of a CSV file; `header_row` is the file row of the
    header (rows above it, such as titles, are skipped), else the first non-blank row."""
    with paused_gc():
        return _load(Path(path), sheet, encoding, header_row)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects; nestable."""
    # Each allocation burst would otherwise trigger collections that rescan every object built
    # so far: on a 1M-row CSV that is about 40% of the loading time, for no garbage at all.
    # Nested use leaves the collector to the outermost block, which saw it enabled.
    # On the way out the objects built are moved to the oldest generation (freeze, then
    # unfreeze): re-enabled as they were, the next allocation would start a young collection
    # scanning every one of them (0.1 s on 200,000 rows), and then middle ones again and again.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _load(path: Path, sheet: str | None, encoding: str | None, header_row: int | None) -> Table:
    """Read the file after its type is known to be supported; see `load`."""
    fmt = _format(path, header_row)
    if fmt == "csv":
        if sheet is not None:
            raise InputError(
                f"{path}: --sheet applies to spreadsheets, not CSV files",
                "leave --sheet out for a CSV file",
            )
        records, used, delimiter, note = read_csv(path, encoding)
        table = build_table(path, fmt, records, used, delimiter, None, header_row)
        return replace(table, notes=(note,)) if note else table
    name, numbered, rounded = read_sheet(path, sheet)
    table = build_table(path, fmt, numbered, None, None, name, header_row)
    # A setting from a config file may name an encoding for every input: not an error, but said.
    notes = (f"--encoding {encoding} is not used: a {fmt} file carries its own text",)
    return replace(table, rounded=frozenset(rounded), notes=notes if encoding else ())


def _format(path: Path, header_row: int | None) -> str:
    """The format of a readable input file; UsageError/InputError when it is not one."""
    if header_row is not None and header_row < 1:
        raise UsageError(
            f"--header-row {header_row}: rows are numbered from 1",
            "give the row number of the header as the spreadsheet shows it",
        )
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r}",
            f"{_FORMATS_HINT}; save the list in one of those formats",
        )
    if not path.exists():
        raise InputError(f"{path}: file not found", "check the path and the file name")
    if not path.is_file():
        raise InputError(f"{path}: not a file", f"give the path of a file; {_FORMATS_HINT}")
    return fmt


def find_column(columns: Sequence[str], name: str, option: str = "") -> int:
    """Return the index of the column called `name` (ignoring case and surrounding spaces).

    When several columns match, the one spelled exactly as `name` (same letter case) wins."""
    wanted = _key(name)
    hits = [i for i, column in enumerate(columns) if _key(column) == wanted]
    if len(hits) > 1:
        hits = [i for i in hits if columns[i].strip() == name.strip()] or hits
    if len(hits) == 1:
        return hits[0]
    if hits:
        positions = ", ".join(str(i + 1) for i in hits)
        raise InputError(
            f'column "{name}" is ambiguous: columns {positions} are all called "{name.strip()}"',
            clash_hint(columns, hits, option),
        )
    raise InputError(f'column "{name}" not found; columns: {_listing(columns)}')


def clash_hint(columns: Sequence[str], hits: Sequence[int], option: str = "") -> str:
    """Return what to do about columns `hits` that share a name: the spellings that pick one."""
    spelled = [columns[i].strip() for i in hits]
    if len(set(spelled)) == len(spelled):
        # find_column tells them apart by their exact letter case.
        choices = " or ".join(f'"{s}" (column {i + 1})' for s, i in zip(spelled, hits, strict=True))
        give = f"give {option} " if option else "give "
        return f"{give}the exact spelling of one: {choices}; or rename one in the file"
    return (
        f"columns {', '.join(str(i + 1) for i in hits)} are spelled alike, so no name can pick "
        "one: rename them in the file so each header is unique"
    )


def _key(name: str) -> str:
    """Return the form under which header names are compared."""
    return name.strip().casefold()


def _listing(columns: Sequence[str]) -> str:
    """Return column names for an error message, each and all cut short when long."""
    if not columns:
        return "(none)"
    shown = [_short(c) for c in columns[:_LISTED]]
    more = f", … ({len(columns) - _LISTED} more)" if len(columns) > _LISTED else ""
    return _short(", ".join(shown), 4 * _SHORT) + more


def _short(text: str, limit: int = 0) -> str:
    """Return `text` cut to `limit` (default _SHORT) characters plus "…" when longer."""
    limit = limit or _SHORT
    return text if len(text) <= limit else text[:limit] + "…"


def build_table(
    path: Path,
    fmt: str,
    numbered: Iterable[tuple[int, Sequence[str]]],
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    header_row: int | None = None,
) -> Table:
    """Turn numbered records into a Table: header, blank rows skipped, result columns dropped."""
    records = iter(numbered)
    names = _header(path, records, header_row, sheet)
    rows = list(_rows(path, records, len(names), delimiter))
    keep = _kept_columns(names, rows)
    if len(keep) < len(names):
        rows = [Row(r.number, tuple(r.cells[i] for i in keep)) for r in rows]
    columns = _columns(path, names, keep)
    if not rows:
        raise _no_rows(path, columns)
    return Table(path, fmt, columns, rows, encoding, delimiter, sheet, _dropped(names))


def stream(
    path: Path,
    sheet: str | None = None,
    *,
    encoding: str | None = None,
    header_row: int | None = None,
) -> tuple[Table, Iterator[Row]]:
    """Read a CSV file's header now and yield its rows one by one, holding none of them.

    The Table returned has no rows (`rows` is empty); they come from the iterator, which raises
    the InputErrors `load` would (a bad row, no data rows at all) when it reaches them. A file
    that is not CSV is loaded whole, as `load` does, and its rows are yielded from memory."""
    path = Path(path)
    if _format(path, header_row) != "csv" or sheet is not None:
        table = load(path, sheet, encoding=encoding, header_row=header_row)
        return replace(table, rows=[]), iter(table.rows)
    records, used, delimiter, note = read_csv(path, encoding)
    head = iter(records)
    names = _header(path, head, header_row, None)
    scanned: Iterable[Row] = ()
    if not all(names):
        # A nameless column is dropped only when it is empty all the way down: one pass to see.
        again = iter(read_csv(path, encoding)[0])
        _header(path, again, header_row, None)
        scanned = _rows(path, again, len(names), delimiter)
    keep = _kept_columns(names, scanned)
    columns = _columns(path, names, keep)
    table = Table(path, "csv", columns, [], used, delimiter, None, _dropped(names))
    rows = _projected(path, _rows(path, head, len(names), delimiter), keep, len(names), columns)
    return (replace(table, notes=(note,)) if note else table), rows


def _projected(
    path: Path, rows: Iterator[Row], keep: list[int], width: int, columns: tuple[str, ...]
) -> Iterator[Row]:
    """Yield `rows` with only the `keep` columns; InputError at the end when there was none."""
    count = 0
    for row in rows:
        count += 1
        yield row if len(keep) == width else Row(row.number, tuple(row.cells[i] for i in keep))
    if not count:
        raise _no_rows(path, columns)


def _header(
    path: Path,
    records: Iterator[tuple[int, Sequence[str]]],
    header_row: int | None,
    sheet: str | None,
) -> list[str]:
    """The header's names (invisible ends stripped): the row `header_row`, else the first
    non-blank one; InputError for an empty file."""
    try:
        if header_row is not None:
            header: Sequence[str] = _header_at(path, records, header_row)
        else:
            header = next(r for _, r in records if any(map(str.strip, r)))
    except StopIteration:
        raise InputError(
            f"{path}: the file is empty" if sheet is None else f'{path}: sheet "{sheet}" is empty',
            "export the list again with a header row",
        ) from None
    except csv.Error as exc:
        raise parse_error(path, exc) from None
    return [_INVISIBLE_ENDS.sub("", str(h)) for h in header]


def _rows(
    path: Path, records: Iterator[tuple[int, Sequence[str]]], width: int, delimiter: str | None
) -> Iterator[Row]:
    """Yield the data rows of `records`: blank ones skipped, short ones padded to `width`."""
    try:
        for number, record in records:
            if not any(map(str.strip, record)):
                continue
            if len(record) != width:
                record = _fit(path, number, record, width, delimiter)
            yield Row(number, tuple(record))
    except csv.Error as exc:
        raise parse_error(path, exc) from None


def _dropped(names: Sequence[str]) -> tuple[str, ...]:
    """A previous report's result columns among `names`."""
    return tuple(n for n in names if n.casefold() in IGNORED)


def _columns(path: Path, names: Sequence[str], keep: Sequence[int]) -> tuple[str, ...]:
    """The names of the kept columns; InputError when none is left."""
    columns = tuple(names[i] for i in keep)
    if not columns:
        raise InputError(
            f"{path}: no columns left after dropping the sms_ result columns of a previous report",
            "give the original campaign file or the failed-rows file",
        )
    return columns


def _no_rows(path: Path, columns: Sequence[str]) -> InputError:
    """The error for a file with a header and no data rows."""
    return InputError(
        f"{path}: the file has a header but no data rows; columns: {_listing(columns)}",
        "add one row per recipient below the header",
    )


def _header_at(
    path: Path, records: Iterator[tuple[int, Sequence[str]]], header_row: int
) -> Sequence[str]:
    """Return the record on file row `header_row`, skipping the rows above it."""
    for number, record in records:
        if number < header_row:
            continue
        if number == header_row and any(map(str.strip, record)):
            return record
        break
    else:
        raise InputError(
            f"{path}: the file has no row {header_row} (--header-row)",
            "give the row number of the header as the spreadsheet shows it",
        )
    raise InputError(
        f"{path}: row {header_row} (--header-row) is empty",
        "give the row number of the header as the spreadsheet shows it",
    )


def _fit(
    path: Path, number: int, record: Sequence[str], width: int, delimiter: str | None
) -> list[str]:
    """Pad a short record with empty cells; a long one may only carry empty extra cells."""
    if len(record) < width:
        return [*record, *([""] * (width - len(record)))]
    if any(str(c).strip() for c in record[width:]):
        where = f"a {DELIMITER_NAMES.get(delimiter or '', 'delimiter')}" if delimiter else "data"
        raise InputError(
            f"{path}: row {number} has {len(record)} cells but the header has {width}",
            f"a cell probably contains {where} without quotes; put that cell in double quotes",
        )
    return list(record[:width])


def _kept_columns(names: list[str], rows: Iterable[Row]) -> list[int]:
    """Return the indexes of the columns to keep: no result column, none nameless and empty."""
    # A trailing delimiter or a stray formatted cell makes a nameless, empty column.
    nameless = {i for i, name in enumerate(names) if not name}
    empty = set(nameless)
    if empty:
        for row in rows:
            empty -= {i for i in empty if row.cells[i].strip()}
            if not empty:
                break
    return [i for i, name in enumerate(names) if name.casefold() not in IGNORED and i not in empty]
