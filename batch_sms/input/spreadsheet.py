"""Read one sheet of an .xlsx/.xlsm/.xls/.ods file as text cells with its true row numbers."""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from batch_sms.errors import InputError

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

__all__ = ["cell_text", "read_sheet", "rounded_by_excel", "rounded_number"]

_WORKBOOK_VIEW = re.compile(rb"<(?:\w+:)?workbookView\b[^>]*>")
_ACTIVE_TAB = re.compile(rb'\bactiveTab="(\d+)"')


# Excel's General format shows at most 11 characters: a number of 12 digits or more is shown as
# 8.61391E+12, and a CSV saved from that view holds 8613910000000 for good. Real numbers end in
# that many zeros next to never, so a number cell with the look is taken for that damage.
_ROUNDED_FROM = 10**11
_ROUNDED_DIGITS = 6


def read_sheet(
    path: Path, sheet: str | None
) -> tuple[str, Iterable[tuple[int, list[str]]], set[tuple[int, str]]]:
    """Return the chosen sheet's name, its records as text numbered by spreadsheet row, and a set
    that fills while they are read: (row, text) of each number cell Excel seems to have rounded
    (`rounded_by_excel`). Text cells never go in it."""
    name, first_row, cells = _read_sheet(path, sheet)
    rounded: set[tuple[int, str]] = set()

    def numbered() -> Iterable[tuple[int, list[str]]]:
        for number, rec in enumerate(cells, first_row):
            texts = [cell_text(v) for v in rec]
            for value, text in zip(rec, texts, strict=True):
                if rounded_number(value, text):
                    rounded.add((number, text))
            yield number, texts

    return name, numbered(), rounded


def rounded_number(value: object, text: str) -> bool:
    """Whether a number cell (its value and its text) has the look of Excel's rounding."""
    return isinstance(value, float | int) and value >= _ROUNDED_FROM and rounded_by_excel(text)


def rounded_by_excel(digits: str) -> bool:
    """Whether a number's digits have the look of Excel's 6 significant digits: 8613910000000."""
    return len(digits) > 11 and digits.isdigit() and len(digits.rstrip("0")) <= _ROUNDED_DIGITS


def _key(name: str) -> str:
    """Return the form under which sheet names are compared (as loader compares headers)."""
    return name.strip().casefold()


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
            for chosen in _default_order(path, workbook):
                data = workbook.get_sheet_by_name(chosen)
                records = data.to_python()
                if any(cell_text(v).strip() for rec in records for v in rec):
                    break
            else:
                raise InputError(
                    f"{path}: every visible sheet is empty; sheets: {', '.join(names) or '(none)'}",
                    "put the recipient list on a sheet with a header row, or name a hidden "
                    "sheet with --sheet",
                )
    except (CalamineError, OSError, ValueError) as exc:
        _refuse_text(path)
        raise InputError(
            f"{path}: cannot read the spreadsheet ({exc})",
            "check that the file opens in Excel; save it again as .xlsx",
        ) from None
    start = data.start
    first_row = start[0] + 1 if start else 1
    return chosen, first_row, records


def _default_order(path: Path, workbook: CalamineWorkbook) -> list[str]:
    """Return the visible worksheets to try: the tab the workbook opens on, then the others."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    every = workbook.sheets_metadata
    visible = [
        m.name
        for m in every
        if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet
    ]
    active = _active_tab(path)
    if active is not None and active < len(every) and every[active].name in visible:
        name = every[active].name
        return [name, *(n for n in visible if n != name)]
    return visible


def _active_tab(path: Path) -> int | None:
    """Return the index of the sheet an .xlsx/.xlsm opens on (workbook.xml's activeTab)."""
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        return None
    try:
        with zipfile.ZipFile(path) as book:
            head = book.read("xl/workbook.xml")[:8192]
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    views = _WORKBOOK_VIEW.search(head)
    active = _ACTIVE_TAB.search(views.group(0)) if views else None
    # No activeTab attribute means the first tab.
    return int(active.group(1)) if active else 0


def _refuse_text(path: Path) -> None:
    """Raise the InputError for a CSV or text file saved under a spreadsheet's name."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return
    first = head.split(b"\n", 1)[0]
    is_text = b"\x00" not in head and b"\n" in head
    if is_text and any(d in first for d in (b",", b";", b"\t", b"|")):
        raise InputError(
            f"{path}: this is a text (CSV) file named {path.suffix}, not a spreadsheet",
            f"rename it to .csv (for example {path.with_suffix('.csv').name}) and give that",
        )


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


def cell_text(value: object) -> str:
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
