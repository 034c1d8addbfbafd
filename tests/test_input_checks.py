"""Pre-flight over real files: what reaches a person, and what is refused, row by row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import last_json, run_cli

from batch_sms.checks.preflight import Preflight, run_preflight
from batch_sms.checks.reasons import REASONS
from batch_sms.config import Settings
from batch_sms.errors import InputError
from batch_sms.models import Status
from batch_sms.report.results import ResultRow
from batch_sms.report.summary import SummaryInfo, Tally, summary_lines

DATA = Path(__file__).parent / "data"


def _preflight(name: str, **options: Any) -> Preflight:
    return run_preflight(Settings(input=DATA / name, **options))


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


def test_a_blank_template_value_makes_the_row_invalid_naming_the_column() -> None:
    template = "Hi {{ first_name }}, you owe {{ amount }} in {{ city }}."
    messages = _preflight("template_empty.csv", template=template).messages
    assert [(m.row, m.status) for m in messages] == [
        (2, Status.READY), (3, Status.INVALID), (4, Status.READY), (5, Status.INVALID),
    ]  # fmt: skip
    assert messages[1].error.startswith('template: columns "first_name", "city" are empty')
    assert messages[3].error.startswith('template: column "first_name" is empty in this row')
    assert not any(m.content.startswith("Hi ,") for m in messages)


def test_a_template_default_fills_a_blank_cell() -> None:
    template = 'Hi {{ first_name | default("there") }}, you owe {{ amount }}.'
    messages = _preflight("template_empty.csv", template=template).messages
    assert [m.status for m in messages] == [Status.READY] * 4
    assert [m.content for m in messages] == [
        "Hi Ann, you owe 7.", "Hi there, you owe 7.", "Hi Bob, you owe 12.", "Hi there, you owe 3.",
    ]  # fmt: skip


def test_national_opt_outs_without_a_region_refuse_the_campaign() -> None:
    with pytest.raises(InputError) as info:
        _preflight("optout_campaign.csv", suppress=DATA / "optout_national.csv")
    message = info.value.message
    assert message.startswith(f"{DATA / 'optout_national.csv'}: 1 opt-out entry is not usable")
    assert "row 3 '13812340903'" in message
    assert "--default-region CN" in info.value.hint


def test_national_opt_outs_are_read_with_the_campaigns_region() -> None:
    messages = _preflight(
        "optout_campaign.csv", suppress=DATA / "optout_national.csv", default_region="CN"
    ).messages
    assert [m.status for m in messages] == [Status.READY, Status.SUPPRESSED]


def test_an_opt_out_file_without_a_phone_column_gets_a_hint_that_applies_to_it() -> None:
    with pytest.raises(InputError) as info:
        _preflight("optout_campaign.csv", suppress=DATA / "optout_no_phone_column.csv")
    assert "no phone column found" in info.value.message
    assert "--phone-column" not in info.value.hint
    assert 'name the opt-out column "phone"' in info.value.hint


def test_numbers_as_people_paste_them() -> None:
    # phones_as_pasted.csv: each row's last column says what the number must give.
    preflight = _preflight("phones_as_pasted.csv", default_region="CN")
    expected = {row.number: row.cells[2] for row in preflight.table.rows}
    for message in preflight.messages:
        want = expected[message.row]
        if want == "ready":
            assert (message.status, message.error) == (Status.READY, ""), message
        else:
            assert message.status is Status.INVALID, message
            assert want in message.error, message
            assert message.reason.startswith("phone_"), message  # grouped by kind
    assert len(preflight.messages) == len(expected) == 20


def test_landlines_are_sent_only_with_allow_landlines() -> None:
    strict = _preflight("phones_as_pasted.csv", default_region="CN", allow_landlines=True)
    ready = {m.raw_phone for m in strict.messages if m.status is Status.READY}
    assert {"010-62345678", "+1 800 234 5678"} <= ready
    assert "+44 909 879 0000" not in ready  # premium-rate numbers never take an SMS


def test_a_mobile_column_beats_a_phone_column() -> None:
    preflight = _preflight("mobile_and_phone.csv", default_region="CN")
    assert preflight.phone_column == "Mobile"
    assert [m.phone for m in preflight.messages] == ["8613812345621", "8613812345622"]
    landlines = _preflight("mobile_and_phone.csv", default_region="CN", phone_column="Phone")
    assert [m.status for m in landlines.messages] == [Status.INVALID] * 2


def test_two_spellings_of_one_phone_column_are_ambiguous() -> None:
    with pytest.raises(InputError, match=r'several phone columns: "phone number" .* "phonenumber"'):
        _preflight("phone_number_twice.csv")


def test_header_spellings_are_recognised() -> None:
    assert _preflight("header_spellings.csv").phone_column == "MobileNumber"


def test_a_number_cell_rounded_by_excel_is_invalid() -> None:
    preflight = _preflight("excel_rounded.xlsx", default_region="CN")
    assert preflight.table.rounded == {(3, "8613910000000")}  # the number cell only
    by_row = {m.row: m for m in preflight.messages}
    assert [m.row for m in preflight.messages] == [2, 3, 4, 5, 6]  # "8,61391E+12" is one number
    assert by_row[2].status is Status.READY
    assert by_row[3].status is Status.INVALID
    assert "looks rounded by Excel" in by_row[3].error
    assert "--trust-numeric-phones" in by_row[3].error
    assert by_row[4].status is Status.READY  # a text cell is what the user typed
    assert by_row[5].status is Status.INVALID
    assert "scientific notation by Excel" in by_row[5].error
    assert by_row[6].status is Status.READY


def test_trust_numeric_phones_accepts_a_rounded_looking_cell() -> None:
    preflight = _preflight("excel_rounded.xlsx", default_region="CN", trust_numeric_phones=True)
    assert {m.row: m.status for m in preflight.messages}[3] is Status.READY


def test_top_reasons_group_rows_by_kind_with_example_rows() -> None:
    messages = _preflight("many_reasons.csv", default_region="CN").messages
    assert [m.reason for m in messages] == (
        ["phone_landline"] * 12 + ["phone_junk"] * 3 + ["", "duplicate", "content_empty"]
    )
    tally = Tally()
    for m in messages:
        tally.add(ResultRow(m.row, (m.raw_phone, m.content), m.status, error=m.error))
    lines = summary_lines(SummaryInfo(run_id="r"), tally, len(messages) + 1)
    reasons = [values for kind, values in lines if kind == "reason"]
    assert reasons == [
        (f"{REASONS['phone_landline']} [phone_landline]", 12, "2, 3, 4, 5, 6"),
        (f"{REASONS['phone_junk']} [phone_junk]", 3, "14, 15, 16"),
        (f"{REASONS['duplicate']} [duplicate]", 1, "18"),
        (f"{REASONS['content_empty']} [content_empty]", 1, "19"),
    ]
    # Each row keeps its own full sentence.
    assert messages[0].error.startswith('phone "010-62345670" cannot receive SMS (landline)')


@pytest.mark.parametrize(
    ("name", "options", "counts"),
    [
        pytest.param("mobile_and_phone.csv", ["--phone-column", "Phone"], {"invalid": 2},
                     id="landlines"),
        pytest.param("mobile_and_phone.csv", ["--phone-column", "Phone", "--allow-landlines"],
                     {"ready": 2}, id="allow-landlines"),
        pytest.param("excel_rounded.xlsx", [], {"ready": 3, "invalid": 2}, id="rounded"),
        pytest.param("excel_rounded.xlsx", ["--trust-numeric-phones"],
                     {"ready": 3, "invalid": 1, "duplicate": 1},  # row 4 has row 3's number
                     id="trust-numeric-phones"),
    ],
)  # fmt: skip
def test_phone_options_on_the_command_line(
    name: str, options: list[str], counts: dict[str, int], tmp_path: Path
) -> None:
    result = run_cli(["validate", str(DATA / name), "--default-region", "CN", "--json",
                      "--out", str(tmp_path), *options])  # fmt: skip
    assert last_json(result)["counts"] == counts


def test_unusable_opt_outs_exit_2_on_the_command_line(tmp_path: Path) -> None:
    result = run_cli(["validate", str(DATA / "optout_campaign.csv"), "--out", str(tmp_path),
                      "--suppress", str(DATA / "optout_national.csv")])  # fmt: skip
    assert result.exit_code == 2
    assert "row 3 '13812340903'" in result.output
    assert "--default-region" in result.output


def test_a_headerless_opt_out_list_of_national_numbers_names_the_region_option() -> None:
    with pytest.raises(InputError) as info:
        _preflight("optout_campaign.csv", suppress=DATA / "optout_bare_national.csv")
    assert "row 1 '13812340903'" in info.value.message
    assert "--default-region" in info.value.hint
    messages = _preflight(
        "optout_campaign.csv", suppress=DATA / "optout_bare_national.csv", default_region="CN"
    ).messages
    assert [m.status for m in messages] == [Status.READY, Status.SUPPRESSED]
