"""Read a CSV file's text: detect its encoding and delimiter (or Excel's "sep=" line)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

from batch_sms.errors import InputError

__all__ = ["DELIMITER_NAMES", "parse_error", "parse_text", "read_csv"]

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_RECORDS = 50
# A cell may hold far more than the csv module's default 131,072 characters; such a row must
# become an invalid row (content over 1000 characters), not make the whole file unreadable.
csv.field_size_limit(2**31 - 1)
_SEP_LINE = re.compile(r"sep=([,;\t|])\r?\n", re.IGNORECASE)

_QUOTE_HINT = (
    'a double quote (") there is probably never closed: close it, remove it, or write it twice '
    '("") where it is part of the text; nothing was sent'
)
_LEADING_JUNK = " \t\r\ufeff\u200b\u200c\u200d\u2060"
_PHONE_START = re.compile(r"[ \t\"']*\+?\d[\d \-().]{5,}\d")

# The encodings real exports use when they are not UTF-8/16, in the order to prefer when several
# decode a file to the same text: Chinese, Japanese, then Windows' and ISO's Western/Eastern sets.
_LEGACY = (
    "gb18030", "big5", "cp932", "shift_jis", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254",
    "cp1257", "latin_1", "iso8859_2", "iso8859_15",
)  # fmt: skip

_BOMS = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_csv(
    path: Path, encoding: str | None = None
) -> tuple[Iterable[tuple[int, Sequence[str]]], str, str, str]:
    """Return (records numbered from file row 1, encoding, delimiter, note); csv.Error on reading.

    `encoding` overrides the guess; the note is "" unless the encoding used is an uncertain guess.
    """
    text, encoding, note = _decode(path, path.read_bytes(), encoding)
    records, delimiter = parse_text(path, text)
    return records, encoding, delimiter, note


def parse_text(path: Path, text: str) -> tuple[Iterable[tuple[int, Sequence[str]]], str]:
    """Return (records numbered from file row 1, delimiter) of decoded CSV text; `path` names it
    in errors. csv.Error on reading."""
    if "\n" not in text and "\r" in text:
        # Classic Mac "CSV (Macintosh)" ends lines with a bare CR, which csv.reader refuses
        # inside a line; such files are small, so one translated copy is cheap.
        text = text.replace("\r", "\n")
    # Invisible characters, a tab or a stray CR before the header (pasted or written by another
    # tool) would change the delimiter, hide the first column's name or make the line unreadable.
    text = text.lstrip(_LEADING_JUNK)
    # Excel's "sep=;" first line names the delimiter and is hidden when Excel opens the file,
    # so the header below it is what the user sees as row 1: reading starts after it.
    hint = _SEP_LINE.match(text)
    delimiter = hint.group(1) if hint else _sniff_delimiter(text)
    # Writers that put a space after each delimiter quote cells after it (`123, "a…"`); the csv
    # module sees such a cell as unquoted, so a line break in it would split it into rows. Only
    # in such files are spaces after a delimiter dropped; elsewhere a cell keeps them as written.
    spaced = f'{delimiter} "' in text
    start = hint.end() if hint else 0
    dialect = {"delimiter": delimiter, "skipinitialspace": spaced}
    reader = csv.reader(_lines(text, start), **dialect)  # type: ignore[arg-type]
    records = _guarded(path, reader, text, start, dialect, 1 if hint else 0)
    return enumerate(records, 1), delimiter


def _guarded(
    path: Path,
    reader: CsvReader,
    text: str,
    start: int,
    dialect: dict[str, Any],
    skipped: int,
) -> Iterator[Sequence[str]]:
    """Yield the reader's records; refuse a quoted cell that swallowed what look like rows."""
    # A stray double quote opens a cell that runs on until the next quote, taking the rows below
    # into one message. Quoted cells may hold line breaks, so only a cell spanning several
    # physical lines is looked at: whether its later lines have the header's shape or start with
    # a phone number followed by the delimiter, and whether its quote is ever closed.
    width = 0
    last = 0
    opened = 0  # reader line where the last multi-line record began, 0 if it was one line
    for record in reader:
        now = reader.line_num
        opened = last + 1 if now - last > 1 else 0
        if opened and width:
            _check_cells(path, record, dialect["delimiter"], width, opened + skipped)
        elif not width and any(map(str.strip, record)):
            width = len(record)
        last = now
        yield record
    if opened and _unclosed(text, start, opened, dialect):
        raise InputError(
            f"{path}: line {opened + skipped}: a double quote opened on this line is never "
            "closed, so every line after it would be one cell",
            _QUOTE_HINT,
        )


def _unclosed(text: str, start: int, line: int, dialect: dict[str, Any]) -> bool:
    """Return True when the record from reader line `line` to the end ends inside quotes."""
    offset = start
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
    try:
        for _ in csv.reader(_lines(text, offset), strict=True, **dialect):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _check_cells(path: Path, record: Sequence[str], delimiter: str, width: int, line: int) -> None:
    """Raise InputError when a multi-line cell of the record starting at `line` holds rows."""
    for cell in record:
        if "\n" not in cell and "\r" not in cell:
            continue
        for inner in cell.splitlines()[1:]:
            if (width > 1 and len(inner.split(delimiter)) >= width) or _looks_like_row(
                inner, delimiter
            ):
                shown = inner if len(inner) <= 40 else inner[:40] + "…"
                raise InputError(
                    f"{path}: line {line}: a quoted cell opened on this line runs on over "
                    f"lines that look like further rows ({shown!r})",
                    _QUOTE_HINT,
                )


def _looks_like_row(line: str, delimiter: str) -> bool:
    """Return True when `line` starts with a phone-number-like token and then the delimiter."""
    match = _PHONE_START.match(line)
    return match is not None and line[match.end() :].lstrip(" ").startswith(delimiter)


def _lines(text: str, start: int = 0) -> Iterator[str]:
    """Yield `text` from `start` split after each "\n", exactly as io.StringIO's lines."""
    # io.StringIO(text) would hold a second copy of the whole text at 4 bytes per character
    # (about 520 MB for a 1M-row file with Chinese text); slicing line by line holds one line.
    # Only "\n" ends a line here, as in StringIO: csv.reader itself handles "\r" and quoted
    # line breaks, and U+2028/U+2029 are cell text (str.splitlines would split on them).
    find = text.find
    while (end := find("\n", start) + 1) > 0:
        yield text[start:end]
        start = end
    if start < len(text):
        yield text[start:]


def parse_error(path: Path, exc: csv.Error) -> InputError:
    """Return the error for a CSV the csv module cannot parse."""
    return InputError(f"{path}: not a readable CSV file ({exc})", "save it again as CSV UTF-8")


def _decode(path: Path, data: bytes, forced: str | None = None) -> tuple[str, str, str]:
    """Decode CSV bytes: `forced`, else a BOM, UTF-16 or UTF-8, else the detector's guess.

    Return (text, codec name, note); the note is "" unless the encoding is an uncertain guess."""
    if not data.strip():
        raise InputError(f"{path}: the file is empty", "export the list again with a header row")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        # Excel files renamed to .csv happen; say so instead of failing on the encoding.
        raise InputError(
            f"{path}: this is a spreadsheet, not a CSV file",
            "rename it to .xlsx (or .xls), or save it from Excel as CSV UTF-8",
        )
    if forced:
        return _strict(path, data, forced, f"is not valid {forced} (--encoding)"), forced, ""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _strict(path, data, encoding, f"is not valid {encoding.upper()}"), encoding, ""
    if b"\x00" in data[:4096]:
        guessed = _bomless_utf16(data[:4096])
        if guessed:
            return _strict(path, data, guessed, f"is not valid {guessed.upper()}"), guessed, ""
    try:
        # The fast path: most exports are UTF-8, and valid UTF-8 is almost never anything else.
        return data.decode("utf-8"), "utf-8", ""
    except UnicodeDecodeError as utf8_error:
        return _guess(path, data, utf8_error)


def _strict(path: Path, data: bytes, encoding: str, what: str) -> str:
    """Decode `data` as `encoding`, or raise the InputError naming where it fails."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, what, exc) from None


def _guess(path: Path, data: bytes, utf8_error: UnicodeDecodeError) -> tuple[str, str, str]:
    """Ask charset-normalizer which of the encodings real exports use fits best."""
    from charset_normalizer import from_bytes

    results = from_bytes(data, cp_isolation=list(_LEGACY))
    best = results.best()
    if best is None:
        raise _encoding_error(path, "is in no encoding batch-sms recognises", utf8_error)
    # Encodings that fit equally well (same mess and language scores, or the same text) tie;
    # of those, take the one such exports are most often in (Excel's Western CSV is cp1252).
    rivals = [
        r for r in results if r.chaos <= best.chaos + 0.01 and r.coherence >= best.coherence - 0.01
    ]
    tied = {e for r in rivals for e in r.could_be_from_charset}
    encoding = codecs.lookup(next((e for e in _LEGACY if e in tied), best.encoding)).name
    note = ""
    if len(rivals) > 1 or best.chaos > 0.1:
        # Name the other close readings first: one of them is the likely right answer.
        others = [codecs.lookup(r.encoding).name for r in results]
        others = [e for e in dict.fromkeys([*others, "cp1252"]) if e != encoding][:3]
        note = (
            f"{path.name}: the encoding {encoding} was assumed (a guess: the file is not UTF-8); "
            "if any text looks garbled, give the right one with --encoding, e.g. "
            + " or ".join(f"--encoding {e}" for e in others)
        )
    return _strict(path, data, encoding, f"is not valid {encoding}"), encoding, note


def _bomless_utf16(head: bytes) -> str | None:
    """Guess UTF-16 without a BOM from where the zero bytes fall, else None.

    ASCII text (digits, delimiters, line ends) puts its zeros on one side of each byte pair;
    Chinese text has few zeros, some on the other side (U+4E00 is 00 4E), so a little is allowed.
    """
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    least = max(2, len(head) // 64)
    if odd >= least and even * 8 <= odd:
        return "utf-16-le"
    if even >= least and odd * 8 <= even:
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
