"""Pre-flight over real files: what reaches a person, and what is refused, row by row."""

from __future__ import annotations

from pathlib import Path

from batch_sms.config import Settings
from batch_sms.models import Status
from batch_sms.preflight import run_preflight

DATA = Path(__file__).parent / "data"


def _preflight(name: str, **options: object):  # type: ignore[no-untyped-def]
    return run_preflight(Settings(input=DATA / name, **options))  # type: ignore[arg-type]


def test_whitespace_variants_of_one_text_reach_a_number_once() -> None:
    messages = _preflight("whitespace_variants.csv").messages
    statuses = [(m.row, m.status) for m in messages]
    assert statuses == [
        (2, Status.READY), (3, Status.DUPLICATE), (4, Status.DUPLICATE), (5, Status.DUPLICATE),
        (6, Status.READY),
    ]  # fmt: skip
    assert [m.error for m in messages[1:4]] == ["same number and text as row 2"] * 3
    # The text sent is trimmed; line breaks inside it stay.
    assert messages[0].content == "Hello there"
    assert messages[4].content == "Line one\nline two"
