"""Pre-flight over real files: what reaches a person, and what is refused, row by row."""

from __future__ import annotations

import pytest
from helpers import DATA, preflight_of

from batch_sms.checks.preflight import link_line, run_preflight
from batch_sms.config import Settings, load_settings
from batch_sms.errors import InputError
from batch_sms.models import Status


def test_whitespace_variants_of_one_text_reach_a_number_once() -> None:
    messages = preflight_of("whitespace_variants.csv").messages
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
    messages = preflight_of("template_empty.csv", template=template).messages
    assert [(m.row, m.status) for m in messages] == [
        (2, Status.READY), (3, Status.INVALID), (4, Status.READY), (5, Status.INVALID),
    ]  # fmt: skip
    assert messages[1].error.startswith('template: columns "first_name", "city" are empty')
    assert messages[3].error.startswith('template: column "first_name" is empty in this row')
    assert not any(m.content.startswith("Hi ,") for m in messages)


def test_a_template_default_fills_a_blank_cell() -> None:
    template = 'Hi {{ first_name | default("there") }}, you owe {{ amount }}.'
    messages = preflight_of("template_empty.csv", template=template).messages
    assert [m.status for m in messages] == [Status.READY] * 4
    assert [m.content for m in messages] == [
        "Hi Ann, you owe 7.", "Hi there, you owe 7.", "Hi Bob, you owe 12.", "Hi there, you owe 3.",
    ]  # fmt: skip


def test_national_opt_outs_without_a_region_refuse_the_campaign() -> None:
    with pytest.raises(InputError) as info:
        preflight_of("optout_campaign.csv", suppress=DATA / "optout_national.csv")
    message = info.value.message
    assert message.startswith(f"{DATA / 'optout_national.csv'}: 1 opt-out entry is not usable")
    assert "row 3 '13812340903'" in message
    assert "--default-region CN" in info.value.hint


def test_national_opt_outs_are_read_with_the_campaigns_region() -> None:
    messages = preflight_of(
        "optout_campaign.csv", suppress=DATA / "optout_national.csv", default_region="CN"
    ).messages
    assert [m.status for m in messages] == [Status.READY, Status.SUPPRESSED]


def test_an_opt_out_file_without_a_phone_column_gets_a_hint_that_applies_to_it() -> None:
    with pytest.raises(InputError) as info:
        preflight_of("optout_campaign.csv", suppress=DATA / "optout_no_phone_column.csv")
    assert "no phone column found" in info.value.message
    assert "--phone-column" not in info.value.hint
    assert 'name the opt-out column "phone"' in info.value.hint


def test_numbers_as_people_paste_them() -> None:
    # phones_as_pasted.csv: each row's last column says what the number must give.
    preflight = preflight_of("phones_as_pasted.csv", default_region="CN")
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
    strict = preflight_of("phones_as_pasted.csv", default_region="CN", allow_landlines=True)
    ready = {m.raw_phone for m in strict.messages if m.status is Status.READY}
    assert {"010-62345678", "+1 800 234 5678"} <= ready
    assert "+44 909 879 0000" not in ready  # premium-rate numbers never take an SMS


def test_a_number_cell_rounded_by_excel_is_invalid() -> None:
    preflight = preflight_of("excel_rounded.xlsx", default_region="CN")
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
    preflight = preflight_of("excel_rounded.xlsx", default_region="CN", trust_numeric_phones=True)
    assert {m.row: m.status for m in preflight.messages}[3] is Status.READY


def test_a_headerless_opt_out_list_of_national_numbers_names_the_region_option() -> None:
    with pytest.raises(InputError) as info:
        preflight_of("optout_campaign.csv", suppress=DATA / "optout_bare_national.csv")
    assert "row 1 '13812340903'" in info.value.message
    assert "--default-region" in info.value.hint
    messages = preflight_of(
        "optout_campaign.csv", suppress=DATA / "optout_bare_national.csv", default_region="CN"
    ).messages
    assert [m.status for m in messages] == [Status.READY, Status.SUPPRESSED]


@pytest.mark.parametrize(
    ("options", "line"),
    [
        ({}, ""),
        ({"short_link": "https://nx.ink/a"},
         "https://nx.ink/a, placeholder #1#, verbose: yes (the provider's default)"),
        ({"short_link": "https://nx.ink/a", "link_verbose": False},
         "https://nx.ink/a, placeholder #1#, verbose: no"),
        ({"link_verbose": True}, "none, verbose: yes"),
    ],
)  # fmt: skip
def test_the_plan_shows_the_link_options(options: dict[str, object], line: str) -> None:
    assert link_line(load_settings(options, environ={})) == line


def test_a_streamed_preflight_keeps_no_row_and_gives_the_same_verdicts() -> None:
    settings = Settings(input=DATA / "many_reasons.csv")
    kept = run_preflight(settings)
    streamed = run_preflight(settings, keep_rows=False)
    assert streamed.messages == kept.messages
    assert (streamed.table.rows, streamed.rows_kept, kept.rows_kept) == ([], False, True)
    assert streamed.table.columns == kept.table.columns
    assert list(streamed.input_rows(settings)) == kept.table.rows == kept.input_rows(settings)
    assert streamed.plan(settings) == kept.plan(settings)
