"""Value types and the status vocabulary: sets, order, colours as DESIGN.md says; ids, keys."""

from __future__ import annotations

import re

import pytest

from batch_sms.config import Settings
from batch_sms.journal import schema
from batch_sms.models import (
    ACCEPTED,
    DEFAULT_BASE_URL,
    NOT_RETRYABLE,
    NOT_SENDABLE,
    PREFLIGHT,
    QUEUED,
    RECEIPTED,
    RESENDABLE,
    RESULT_COLUMNS,
    RETRY_DEFAULT,
    RETRYABLE,
    SECRET_ENV,
    SEVERITY,
    STATUS_BAR_RGB,
    STATUS_ORDER,
    STATUS_RGB,
    STATUS_STYLE,
    UNCERTAIN,
    Credentials,
    Status,
    base_messageid,
    content_key,
    duration_text,
    ext,
    parse_duration,
    parse_ext,
    sql_list,
    sys_message_id,
    utc_text,
)
from batch_sms.provider import nxcloud

SETS = {
    "PREFLIGHT": PREFLIGHT,
    "NOT_SENDABLE": NOT_SENDABLE,
    "ACCEPTED": ACCEPTED,
    "RECEIPTED": RECEIPTED,
    "UNCERTAIN": UNCERTAIN,
    "QUEUED": QUEUED,
    "RESENDABLE": RESENDABLE,
}
# DESIGN.md's table, one line per status: the sets it belongs to.
#   not sendable: "no (fix the row)" and "no" of the pre-flight verdicts;
#   accepted: "no" of the provider's verdicts; queued: "yes" (resume sends it);
#   resendable: what failed.csv holds (anything a fix or another try could still deliver).
MEMBERSHIP = {
    Status.READY: {"PREFLIGHT"},
    Status.INVALID: {"PREFLIGHT", "NOT_SENDABLE", "RESENDABLE"},
    Status.DUPLICATE: {"PREFLIGHT", "NOT_SENDABLE"},
    Status.SUPPRESSED: {"PREFLIGHT", "NOT_SENDABLE"},
    Status.PENDING: {"QUEUED", "RESENDABLE"},
    Status.INFLIGHT: {"UNCERTAIN"},
    Status.SENT: {"ACCEPTED"},
    Status.DELIVERED: {"ACCEPTED", "RECEIPTED"},
    Status.UNDELIVERED: {"ACCEPTED", "RECEIPTED", "RESENDABLE"},
    Status.FAILED: {"RESENDABLE"},
    Status.CAPPED: {"QUEUED", "RESENDABLE"},
    Status.UNKNOWN: {"UNCERTAIN", "RESENDABLE"},
    Status.SCHEDULED: {"QUEUED", "RESENDABLE"},
    Status.EXPIRED: {"RESENDABLE"},
}


@pytest.mark.parametrize("status", list(Status))
def test_every_status_is_in_exactly_the_sets_of_the_design_table(status: Status) -> None:
    assert {name for name, members in SETS.items() if status in members} == MEMBERSHIP[status]


def test_the_table_names_every_status() -> None:
    assert set(MEMBERSHIP) == set(Status)


def test_sets_that_must_not_overlap() -> None:
    # A message is never both done and still to send, nor both accepted and unsure.
    assert not ACCEPTED & (QUEUED | UNCERTAIN | NOT_SENDABLE)
    assert not QUEUED & (UNCERTAIN | PREFLIGHT)
    assert RECEIPTED <= ACCEPTED
    assert NOT_SENDABLE <= PREFLIGHT
    assert PREFLIGHT | {Status.INFLIGHT} == NOT_RETRYABLE
    # retry takes only what the journal lets it copy; its default nothing already accepted.
    assert not RETRYABLE & NOT_RETRYABLE
    assert set(RETRY_DEFAULT) <= RETRYABLE - ACCEPTED
    assert RETRYABLE == RESENDABLE - NOT_SENDABLE  # failed.csv's rows but the invalid ones


def test_order_and_severity_list_each_reportable_status_once() -> None:
    reportable = set(Status) - {Status.INFLIGHT}  # inflight never reaches a report
    assert len(STATUS_ORDER) == len(set(STATUS_ORDER)) == len(reportable)
    assert set(STATUS_ORDER) == reportable
    assert len(SEVERITY) == len(set(SEVERITY))
    assert set(SEVERITY) == reportable
    assert STATUS_ORDER[0] is Status.READY
    assert STATUS_ORDER[-2:] == (Status.SCHEDULED, Status.EXPIRED)


def test_every_status_has_a_colour_in_the_report_the_chart_and_the_console() -> None:
    assert set(STATUS_RGB) == set(STATUS_BAR_RGB) == set(STATUS_STYLE) == set(Status)
    assert all(re.fullmatch("[0-9A-F]{6}", rgb) for rgb in STATUS_RGB.values())
    # The same family everywhere: two statuses share a cell colour exactly when they share a
    # bar colour (the console's styles are coarser: delivered is bold).
    for a in Status:
        for b in Status:
            assert (STATUS_RGB[a] == STATUS_RGB[b]) == (STATUS_BAR_RGB[a] == STATUS_BAR_RGB[b])


def _parse(sql: str) -> set[str]:
    assert re.fullmatch(r"\('[a-z]+'(, '[a-z]+')*\)", sql), sql
    return set(re.findall(r"'([a-z]+)'", sql))


def test_sql_list_is_the_set_in_status_order() -> None:
    assert sql_list({Status.UNDELIVERED, Status.SENT}) == "('sent', 'undelivered')"
    assert sql_list(ACCEPTED) == "('sent', 'delivered', 'undelivered')"


@pytest.mark.parametrize(
    ("sql", "members"),
    [
        (schema.ACCEPTED_SQL, ACCEPTED),
        (schema.UNCERTAIN_SQL, UNCERTAIN),
        (schema.RECEIPTED_SQL, RECEIPTED),
        (schema.QUEUED_SQL, QUEUED),
    ],
)
def test_the_journal_sql_lists_equal_the_sets(sql: str, members: frozenset[Status]) -> None:
    assert _parse(sql) == {s.value for s in members}


def test_credentials_hide_their_values_and_name_what_is_missing() -> None:
    creds = Credentials("ak-secret-1", "", "app-secret-2")
    assert "secret" not in repr(creds)
    assert "secret" not in str(creds)
    assert creds.missing() == ["NXCLOUD_ACCESS_SECRET"]
    assert Credentials().missing() == list(SECRET_ENV.values())


def test_one_credentials_type_and_one_default_host() -> None:
    # The settings' credentials go to the client as they are: one type, one default host.
    assert Settings().credentials.__class__ is nxcloud.Credentials is Credentials
    assert Settings().base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("messageid", "base"),
    [
        ("333444555666", "333444555666"),
        ("333444555666-0000000001", "333444555666"),  # a multi-number send's (API §3)
        ("ab-cd-1234567890", "ab-cd"),  # only the last "-" + 10 digits is the suffix
        ("ab-cd", "ab-cd"),  # a "-" followed by no 10 digits is part of the id
        ("ab-123456789", "ab-123456789"),  # 9 digits
        ("ab-12345678901", "ab-12345678901"),  # 11 digits
        ("-1234567890", "-1234567890"),  # nothing before the suffix
        ("ab-١٢٣٤٥٦٧٨٩٠", "ab-١٢٣٤٥٦٧٨٩٠"),  # Arabic-Indic digits are not the provider's
        ("ab-1234567890\n", "ab-1234567890\n"),
    ],
)
def test_base_messageid_strips_only_the_multi_number_suffix(messageid: str, base: str) -> None:
    assert base_messageid(messageid) == base


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0m 00s"), (59.6, "1m 00s"), (245, "4m 05s"), (3600, "1h 00m 00s"), (3723, "1h 02m 03s")],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_utc_text_is_utc_whatever_the_local_zone() -> None:
    assert utc_text(1_764_000_000.0) == "2025-11-24 16:00:00"


def test_parse_ext_reads_back_what_ext_writes() -> None:
    assert parse_ext(ext("20261129-0701-ab12", 1_000_002, 3)) == (
        "20261129-0701-ab12",
        1_000_002,
        3,
    )
    assert parse_ext("") is None
    assert parse_ext("run:2") is None
    assert parse_ext("run:2:0\n") is None
    assert parse_ext("a run:2:0") is None


def test_the_report_columns_are_all_sms_columns_and_distinct() -> None:
    assert all(name.startswith("sms_") for name in RESULT_COLUMNS)
    assert len(set(RESULT_COLUMNS)) == len(RESULT_COLUMNS)
    assert RESULT_COLUMNS[0] == "sms_status"
    # The first 13 keep their order; the billed price and its currency come after sms_text.
    assert RESULT_COLUMNS[12:] == ("sms_text", "sms_price", "sms_currency")


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


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1h 30m", 5400), ("45", 45),
     ("0", 0), ("1.5h", 5400), (" 30M ", 1800), ("4m 05s", 245), ("1h 02m 03s", 3723)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", " ", "soon", "30x", "-5m", "5m later", "m", "45 30"])
def test_parse_duration_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_duration_text_reads_back() -> None:
    assert parse_duration(duration_text(3723)) == 3723
