"""The value types shared by every stage: statuses, the report's columns, the message ids."""

from __future__ import annotations

import re

import pytest

from batch_sms.models import RESULT_COLUMNS, Status, content_key, ext, sys_message_id


def test_the_report_columns_are_all_sms_columns_and_distinct() -> None:
    assert all(name.startswith("sms_") for name in RESULT_COLUMNS)
    assert len(set(RESULT_COLUMNS)) == len(RESULT_COLUMNS)
    assert RESULT_COLUMNS[0] == "sms_status"
    assert RESULT_COLUMNS[-1] == "sms_text"


def test_a_status_is_its_text() -> None:
    assert Status("undelivered") is Status.UNDELIVERED
    assert f"{Status.SENT}" == "sent"
    with pytest.raises(ValueError, match="nosuch"):
        Status("nosuch")


def test_message_ids_name_run_row_and_recipient() -> None:
    run_id = "20261125-001500-a1b2"
    assert sys_message_id(run_id, 12, 1) == "20261125-001500-a1b2-12-1"
    assert ext(run_id, 12, 1) == "20261125-001500-a1b2:12:1"
    # The provider takes 10 to 50 characters of [0-9a-zA-Z-] as a sysMessageId.
    assert re.fullmatch(r"[0-9a-zA-Z-]{10,50}", sys_message_id(run_id, 1_048_576, 9))


@pytest.mark.parametrize(
    "variant",
    ["Hello there", " Hello there", "Hello  there\n", "Hello\u00a0there", "Hello\tthere "],
)
def test_texts_that_differ_only_in_whitespace_share_one_key(variant: str) -> None:
    assert content_key(variant) == "Hello there"


def test_the_content_key_is_nfc_but_keeps_case_and_punctuation() -> None:
    assert content_key("Cafe\u0301") == content_key("Caf\u00e9")
    assert content_key("Hello there") != content_key("hello there")
    assert content_key("Line one\nline two") == "Line one line two"
