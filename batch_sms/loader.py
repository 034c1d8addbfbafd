"""Read a CSV or spreadsheet into rows of text cells, keeping the spreadsheet's own row numbers."""

from __future__ import annotations

import codecs
import csv
import gc
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path

from batch_sms.errors import InputError
from batch_sms.models import Row

__all__ = ["EXTENSIONS", "IGNORED_PREFIX", "Table", "find_column", "load"]

IGNORED_PREFIX = "sms_"  # a previous report's result columns; dropped so its files work as input

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsm",
    ".xls": "xls",
    ".ods": "ods",
}
_FORMATS_HINT = "batch-sms reads .csv, .xlsx, .xlsm, .xls and .ods files"
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_RECORDS = 50
_SEP_LINE = re.compile(r"sep=([,;\t|])\r?\n", re.IGNORECASE)
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


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
    dropped: tuple[str, ...] = ()  # sms_* columns of a previous report, left out of `columns`


def load(path: Path, sheet: str | None = None) -> Table:
    """Read `path` (CSV or spreadsheet) into a Table of text cells; InputError when unusable."""
    with _paused_gc():
        return _load(Path(path), sheet)


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic row tuples."""
    # Each allocation burst would otherwise trigger collections that rescan every row built so
    # far: on a 1M-row CSV that is about 40% of the loading time, for no garbage at all.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(path: Path, sheet: str | None) -> Table:
    """Read the file after its type is known to be supported; see `load`."""
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
    if fmt == "csv":
        if sheet is not None:
            raise InputError(
                f"{path}: --sheet applies to spreadsheets, not CSV files",
                "leave --sheet out for a CSV file",
            )
        text, encoding = _decode(path, path.read_bytes())
        hint = _SEP_LINE.match(text)
        if hint:
            # Excel's "sep=;" first line names the delimiter and is hidden when Excel opens the
            # file, so the header below it is what the user sees as row 1.
            text = text[hint.end() :]
        delimiter = hint.group(1) if hint else _sniff_delimiter(text)
        records: Iterable[Sequence[str]] = csv.reader(io.StringIO(text), delimiter=delimiter)
        return _build(path, fmt, enumerate(records, 1), encoding, delimiter, None)
    name, first_row, cells = _read_sheet(path, sheet)
    numbered = enumerate(([_cell_text(v) for v in rec] for rec in cells), first_row)
    return _build(path, fmt, numbered, None, None, name)


def find_column(columns: Sequence[str], name: str) -> int:
    """Return the index of the column called `name` (ignoring case and surrounding spaces)."""
    wanted = _key(name)
    hits = [i for i, column in enumerate(columns) if _key(column) == wanted]
    if len(hits) == 1:
        return hits[0]
    if hits:
        positions = ", ".join(str(i + 1) for i in hits)
        raise InputError(
            f'column "{name}" is ambiguous: columns {positions} are all called "{name.strip()}"',
            "rename the duplicate columns so each header is unique",
        )
    raise InputError(f'column "{name}" not found; columns: {_listing(columns)}')


def _key(name: str) -> str:
    """Return the form under which header names are compared."""
    return name.strip().casefold()


def _listing(columns: Sequence[str]) -> str:
    """Return column names for an error message."""
    return ", ".join(columns) if columns else "(none)"


_BOMS = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: a BOM decides, else UTF-8, else GB18030 (a superset of GBK)."""
    if not data.strip():
        raise InputError(f"{path}: the file is empty", "export the list again with a header row")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        # Excel files renamed to .csv happen; say so instead of failing on the encoding.
        raise InputError(
            f"{path}: this is a spreadsheet, not a CSV file",
            "rename it to .xlsx (or .xls), or save it from Excel as CSV UTF-8",
        )
    if b"\x00" in data[:4096]:
        guessed = _bomless_utf16(data[:4096])
        if guessed:
            try:
                return data.decode(guessed), guessed
            except UnicodeDecodeError as exc:
                raise _encoding_error(path, f"is not valid {guessed.upper()}", exc) from None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise _encoding_error(path, f"is not valid {encoding.upper()}", exc) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise _encoding_error(path, "is not UTF-8, UTF-16 or GBK/GB18030", utf8_error) from None


def _bomless_utf16(head: bytes) -> str | None:
    """Guess UTF-16 without a BOM from where the zero bytes of ASCII text fall, else None."""
    if head.startswith(tuple(bom for bom, _ in _BOMS)):
        return None
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    half = len(head) // 4  # ASCII-heavy text puts a zero in at least about half the pairs
    if odd >= half and even == 0:
        return "utf-16-le"
    if even >= half and odd == 0:
        return "utf-16-be"
    return None


def _encoding_error(path: Path, what: str, exc: UnicodeDecodeError) -> InputError:
    """Return the error for undecodable CSV bytes, with where decoding failed."""
    return InputError(
        f"{path}: the text {what} (undecodable byte at offset {exc.start})",
        'save the file as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8)',
    )


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the first records into the most, most consistent fields."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        # The last line of the sample may be cut; don't let it count.
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_score = ",", (0.0, 1)
    for delimiter in _DELIMITERS:
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        try:
            widths = [len(r) for r in islice(_nonblank(reader), _SNIFF_RECORDS)]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        consistency = sum(w == widths[0] for w in widths) / len(widths)
        score = (consistency, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _nonblank(records: Iterable[Sequence[str]]) -> Iterable[Sequence[str]]:
    """Yield the records that hold a non-blank cell."""
    return (r for r in records if any(map(str.strip, r)))


def _build(
    path: Path,
    fmt: str,
    numbered: Iterable[tuple[int, Sequence[str]]],
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
) -> Table:
    """Turn numbered records into a Table: header, blank rows skipped, sms_* columns dropped."""
    records = iter(numbered)
    try:
        header: Sequence[str] = next(r for _, r in records if any(map(str.strip, r)))
    except StopIteration:
        raise InputError(
            f"{path}: the file is empty" if sheet is None else f'{path}: sheet "{sheet}" is empty',
            "export the list again with a header row",
        ) from None
    except csv.Error as exc:
        raise _csv_error(path, exc) from None
    names = [str(h).strip() for h in header]
    width = len(names)
    rows: list[Row] = []
    append = rows.append
    try:
        for number, record in records:
            if not any(map(str.strip, record)):
                continue
            if len(record) != width:
                record = _fit(path, number, record, width, delimiter)
            append(Row(number, tuple(record)))
    except csv.Error as exc:
        raise _csv_error(path, exc) from None
    keep = _kept_columns(names, rows)
    if len(keep) < width:
        rows = [Row(r.number, tuple(r.cells[i] for i in keep)) for r in rows]
    columns = tuple(names[i] for i in keep)
    dropped = tuple(n for n in names if n.startswith(IGNORED_PREFIX))
    if not columns:
        raise InputError(
            f"{path}: no columns left after dropping the sms_* result columns",
            "give the original campaign file or the failed-rows file",
        )
    if not rows:
        raise InputError(
            f"{path}: the file has a header but no data rows; columns: {_listing(columns)}",
            "add one row per recipient below the header",
        )
    return Table(path, fmt, columns, rows, encoding, delimiter, sheet, dropped)


def _fit(
    path: Path, number: int, record: Sequence[str], width: int, delimiter: str | None
) -> list[str]:
    """Pad a short record with empty cells; a long one may only carry empty extra cells."""
    if len(record) < width:
        return [*record, *([""] * (width - len(record)))]
    if any(str(c).strip() for c in record[width:]):
        where = f"a {_DELIMITER_NAMES.get(delimiter or '', 'delimiter')}" if delimiter else "data"
        raise InputError(
            f"{path}: row {number} has {len(record)} cells but the header has {width}",
            f"a cell probably contains {where} without quotes; put that cell in double quotes",
        )
    return list(record[:width])


def _kept_columns(names: list[str], rows: list[Row]) -> list[int]:
    """Return the indexes of the columns to keep: not sms_*, and not nameless and empty."""
    keep = []
    for i, name in enumerate(names):
        if name.startswith(IGNORED_PREFIX):
            continue
        # A trailing delimiter or a stray formatted cell makes a nameless, empty column.
        if not name and not any(r.cells[i].strip() for r in rows):
            continue
        keep.append(i)
    return keep


def _csv_error(path: Path, exc: csv.Error) -> InputError:
    """Return the error for a CSV the csv module cannot parse."""
    return InputError(f"{path}: not a readable CSV file ({exc})", "save it again as CSV UTF-8")


def _read_sheet(path: Path, sheet: str | None) -> tuple[str, int, Sequence[Sequence[object]]]:
    """Return (sheet name, spreadsheet row of the first record, records) of the chosen sheet."""
    # python-calamine is the engine pandas.read_excel(engine="calamine") wraps; read it directly
    # so no pandas type inference touches a cell and `start` gives the true row numbers.
    from python_calamine import CalamineError, load_workbook

    try:
        workbook = load_workbook(str(path))
        names = list(workbook.sheet_names)
        if sheet is not None:
            chosen = _pick_sheet(path, names, sheet)
            data = workbook.get_sheet_by_name(chosen)
            records = data.to_python()
        else:
            for chosen in names:
                data = workbook.get_sheet_by_name(chosen)
                records = data.to_python()
                if any(_cell_text(v).strip() for rec in records for v in rec):
                    break
            else:
                raise InputError(
                    f"{path}: every sheet is empty; sheets: {', '.join(names) or '(none)'}",
                    "put the recipient list on a sheet with a header row",
                )
    except (CalamineError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: cannot read the spreadsheet ({exc})",
            "check that the file opens in Excel; save it again as .xlsx",
        ) from None
    start = data.start
    first_row = start[0] + 1 if start else 1
    return chosen, first_row, records


def _pick_sheet(path: Path, names: list[str], sheet: str) -> str:
    """Return the sheet called `sheet`, matched exactly or ignoring case and spaces."""
    if sheet in names:
        return sheet
    matches = [n for n in names if _key(n) == _key(sheet)]
    if len(matches) == 1:
        return matches[0]
    raise InputError(
        f'{path}: sheet "{sheet}" not found; sheets: {", ".join(names) or "(none)"}',
        "give one of those names with --sheet",
    )


def _cell_text(value: object) -> str:
    """Return a spreadsheet cell as the text a user sees, never through a lossy float format."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            # Exact digits, even past 15: validation decides whether Excel destroyed them.
            return str(int(value))
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return "" if value is None else str(value)
