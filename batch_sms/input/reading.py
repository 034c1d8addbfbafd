"""How an input file was read: its sheet, encoding, delimiter, phone column and text source.

Pre-flight describes it once; the screen prints it as one line after pre-flight, the run records
it with its settings, and the Summary sheet lists it, so a wrong guess is seen before sending.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LABELS", "RECORD_KEY", "describe_input", "input_line"]

RECORD_KEY = "input_read"  # where a run's settings record the description
# The labels in the order a reader wants them; the state db keeps JSON objects with sorted keys.
LABELS = ("sheet", "encoding", "delimiter", "phone column", "text from")
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}


def describe_input(
    *,
    sheet: str | None,
    encoding: str | None,
    delimiter: str | None,
    phone_column: str,
    content_source: str,
) -> dict[str, str]:
    """The description as ordered label → text; what a format doesn't have is left out."""
    out: dict[str, str] = {}
    if sheet:
        out["sheet"] = f'"{sheet}"'
    if encoding:
        out["encoding"] = encoding
    if delimiter:
        out["delimiter"] = _DELIMITERS.get(delimiter, repr(delimiter))
    out["phone column"] = f'"{phone_column}"'
    out["text from"] = content_source  # `template` or `column "Message"`
    return out


def input_line(name: str, description: Mapping[str, str]) -> str:
    """One line for the screen: `Read campaign.csv: encoding cp1252, delimiter comma, …`."""
    parts = ", ".join(f"{label} {text}" for label, text in description.items())
    return f"Read {name}: {parts}" if parts else f"Read {name}"
