"""Templates: variable names for headers, per-row rendering, and the errors that name the column."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_sms.checks.template import Template, variable_name
from batch_sms.errors import InputError, RenderError
from batch_sms.input.loader import load


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("First Name", "first_name"),
        ("  Phone-No. ", "phone_no"),
        ("手机号", "手机号"),
        ("2024 Price", "_2024_price"),
        ("code", "code"),
        ("Amount (USD)", "amount_usd"),
    ],
)
def test_variable_name(header: str, name: str) -> None:
    assert variable_name(header) == name


COLUMNS = ("First Name", "phone", "code", "手机号", "Amount (USD)")


CELLS = ("Ann", "8613800138000", "1234", "13812345678", "12.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Hi {{ first_name }}, code {{ code }}", "Hi Ann, code 1234", id="plain"),
        pytest.param('Hi {{ row["First Name"] }}', "Hi Ann", id="row-by-header"),
        pytest.param("您好 {{ 手机号 }}", "您好 13812345678", id="chinese-header"),
        pytest.param("{{ amount_usd }} USD {}", "12.5 USD {}", id="braces-kept"),
        pytest.param("Code: {{ code }}\n", "Code: 1234", id="trailing-newline-dropped"),
        pytest.param("{{ first_name|upper }} {{ code|int + 1 }}", "ANN 1235", id="filters"),
        pytest.param(
            "{% if code %}Code {{ code }}{% else %}none{% endif %}", "Code 1234", id="statements"
        ),
        pytest.param('{{ row.get("Missing", "-") }}', "-", id="row-get-default"),
        pytest.param("No variables at all 🎉", "No variables at all 🎉", id="static"),
        pytest.param("{{ '%.2f'|format(amount_usd|float) }}", "12.50", id="format-filter"),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert Template.from_text(text, COLUMNS).render(CELLS) == expected


def test_fields_name_the_columns_used() -> None:
    assert Template.from_text("{{ code }} {{ first_name }}", COLUMNS).fields == (0, 2)
    assert Template.from_text("{{ code|upper }}", COLUMNS).fields == (2,)
    assert Template.from_column(3).fields == (3,)


def test_exact_header_beats_normalised_name() -> None:
    template = Template.from_text("{{ name }}/{{ Name }}", ("Name", "name"))
    assert template.render(("upper", "lower")) == "lower/upper"


def test_from_column_returns_the_cell_as_is() -> None:
    assert Template.from_column(1).render(("a", " {{ x }} \n")) == " {{ x }} \n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("Hi {{ nmae }}", "template names unknown column nmae; columns: ", id="name"),
        pytest.param(
            'Hi {{ row["first name"] }}',
            'template names unknown column row["first name"]; columns: ',
            id="row-key",
        ),
        pytest.param(
            "{{ a }} {{ b }}", "template names unknown columns a, b; columns: ", id="several"
        ),
    ],
)
def test_unknown_column_is_an_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        Template.from_text(text, COLUMNS)
    assert info.value.message.startswith(message)
    # The listing shows how to write each column in a template.
    assert "First Name ({{ first_name }})" in info.value.message
    assert "{{ code }}" in info.value.message
    assert "fix the name" in info.value.hint


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(InputError, match=r"^template line 2: ") as info:
        Template.from_text("Hi {{ first_name }}\nYour code {{ code ", COLUMNS)
    assert "{{ name }}" in info.value.hint


def test_duplicate_headers_are_ambiguous_in_templates() -> None:
    columns = ("phone", "name", "name")
    with pytest.raises(InputError, match="unknown column name"):
        Template.from_text("{{ name }}", columns)
    with pytest.raises(InputError, match=r'row\["name"\] is ambiguous: columns 2, 3'):
        Template.from_text('{{ row["name"] }}', columns)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("{{ code|int // 0 }}", "ZeroDivisionError", id="arithmetic"),
        pytest.param("{{ first_name.nope }}", "has no attribute 'nope'", id="undefined-attr"),
        pytest.param("{{ code.__class__ }}", "SecurityError", id="sandbox"),
        pytest.param("{{ row[first_name] }}", "'Ann'", id="computed-row-key"),
    ],
)
def test_render_failure_is_a_render_error(text: str, reason: str) -> None:
    template = Template.from_text(text, COLUMNS)
    with pytest.raises(RenderError, match=r"^template: ") as info:
        template.render(CELLS)
    assert reason in str(info.value)


def test_render_failure_depends_on_the_row() -> None:
    template = Template.from_text("{{ (100 / (code|int)) | round }}", COLUMNS)
    assert template.render(CELLS) == "0.0"
    with pytest.raises(RenderError):
        template.render((*CELLS[:2], "0", *CELLS[3:]))


def test_sample_template_fits_the_sample_campaign() -> None:
    samples = Path(__file__).parent.parent / "samples"
    table = load(samples / "campaign.csv")
    template = Template.from_text((samples / "template.txt").read_text("utf-8"), table.columns)
    texts = [template.render(row.cells) for row in table.rows]
    assert texts[0] == "Alice Chen您好，您的验证码是4821，5分钟内有效。回复TD退订"
    assert texts[3] == "Hi Bob Smith, your code is 1180. Reply STOP to opt out."


BLANK_COLUMNS = ("phone", "first_name", "Last Name", "city")


@pytest.mark.parametrize(
    ("text", "cells", "expected"),
    [
        pytest.param("Hi {{ first_name }}", ("1", "", "", ""), 'column "first_name"', id="plain"),
        pytest.param('Hi {{ row["Last Name"] }}', ("1", "A", " ", ""), 'column "Last Name"',
                     id="plain-row-key"),
        pytest.param("Hi {{ first_name | upper }}", ("1", "", "", ""), 'column "first_name"',
                     id="jinja"),
        pytest.param('{{ first_name | default("x") }} {{ first_name }}', ("1", "", "", ""),
                     'column "first_name"', id="default-and-bare"),
        pytest.param('Hi {{ first_name | default("there") }}', ("1", "", "", ""), "Hi there",
                     id="default"),
        pytest.param('Hi {{ row["Last Name"] | d("you") }}', ("1", "", "\t", ""), "Hi you",
                     id="default-row-key"),
        pytest.param("Hi{% if city %} in {{ city }}{% endif %}!", ("1", "", "", ""), "Hi!",
                     id="tested-by-the-template"),
        pytest.param('Hi {{ first_name or "you" }}', ("1", "", "", ""), "Hi you",
                     id="or-fallback"),
        pytest.param("Hi {{ first_name }} in {{ city }}", ("1", "Ann", "", "Rome"),
                     "Hi Ann in Rome", id="filled"),
    ],
)  # fmt: skip
def test_blank_template_values(text: str, cells: tuple[str, ...], expected: str) -> None:
    template = Template.from_text(text, BLANK_COLUMNS)
    if expected.startswith("column"):
        with pytest.raises(RenderError, match=f"template: {expected} is empty in this row"):
            template.render(cells)
    else:
        assert template.render(cells) == expected
