"""Billed segments by the provider's rules (nxcloud-api.md §5) and the look-alike characters."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_sms.checks.segments import (
    GSM7,
    GSM7_MULTIPART,
    LOOKALIKES,
    UCS2,
    UCS2_MULTIPART,
    Segmentation,
    char_name,
    describe_chars,
    lookalikes,
    plain,
    segment,
)

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
EMOJI = "😀"  # outside the BMP: two UTF-16 units


@pytest.mark.parametrize(
    ("text", "country", "encoding", "units", "segments"),
    [
        pytest.param("", None, GSM7, 0, 0, id="empty"),
        pytest.param("", 60, GSM7, 0, 0, id="empty-malaysia-still-free"),
        pytest.param("a", None, GSM7, 1, 1, id="one-char"),
        pytest.param("a" * 159, None, GSM7, 159, 1, id="gsm-159"),
        pytest.param("a" * 160, None, GSM7, 160, 1, id="gsm-160"),
        pytest.param("a" * 161, None, GSM7, 161, 2, id="gsm-161"),
        pytest.param("a" * 308, None, GSM7, 308, 2, id="gsm-2x154"),
        pytest.param("a" * 309, None, GSM7, 309, 3, id="gsm-2x154+1"),
        pytest.param("a" * 462, None, GSM7, 462, 3, id="gsm-3x154"),
        pytest.param("a" * 463, None, GSM7, 463, 4, id="gsm-3x154+1"),
        pytest.param("{" * 80, None, GSM7, 160, 1, id="extension-80-fills-160"),
        pytest.param("a" * 158 + "€", None, GSM7, 160, 1, id="extension-at-160"),
        pytest.param("a" * 159 + "€", None, GSM7, 161, 2, id="extension-crosses-160"),
        pytest.param("a" * 306 + "|", None, GSM7, 308, 2, id="extension-at-308"),
        pytest.param("a" * 307 + "|", None, GSM7, 309, 3, id="extension-crosses-308"),
        pytest.param("\f", None, GSM7, 2, 1, id="form-feed-is-extension"),
        pytest.param(GSM_BASIC, None, GSM7, 127, 1, id="whole-basic-alphabet"),
        pytest.param(GSM_EXTENSION, None, GSM7, 20, 1, id="whole-extension-table"),
        pytest.param("Ç", None, GSM7, 1, 1, id="capital-c-cedilla-is-gsm"),
        pytest.param("ç", None, UCS2, 1, 1, id="small-c-cedilla-is-not"),
        pytest.param("`", None, UCS2, 1, 1, id="backtick-is-not-gsm"),
        pytest.param("\t", None, UCS2, 1, 1, id="tab-is-not-gsm"),
        pytest.param("你" * 70, None, UCS2, 70, 1, id="ucs2-70"),
        pytest.param("你" * 71, None, UCS2, 71, 2, id="ucs2-71"),
        pytest.param("你" * 134, None, UCS2, 134, 2, id="ucs2-2x67"),
        pytest.param("你" * 135, None, UCS2, 135, 3, id="ucs2-2x67+1"),
        pytest.param("a" * 69 + "’", None, UCS2, 70, 1, id="one-smart-quote-ucs2-70"),
        pytest.param("a" * 100 + "’", None, UCS2, 101, 2, id="one-smart-quote-makes-2"),
        pytest.param("{你", None, UCS2, 2, 1, id="extension-counts-1-in-ucs2"),
        pytest.param(EMOJI * 35, None, UCS2, 70, 1, id="emoji-35-is-70-units"),
        pytest.param(EMOJI * 36, None, UCS2, 72, 2, id="emoji-36-is-72-units"),
        pytest.param("a" * 69 + EMOJI, None, UCS2, 71, 2, id="emoji-surrogate-crosses-70"),
        pytest.param("a" * 153, 60, GSM7, 160, 1, id="malaysia-153+7"),
        pytest.param("a" * 154, 60, GSM7, 161, 2, id="malaysia-154+7-crosses"),
        pytest.param("a" * 154, 86, GSM7, 154, 1, id="china-no-signature"),
        pytest.param("a" * 301, 60, GSM7, 308, 2, id="malaysia-at-308"),
        pytest.param("a" * 302, 60, GSM7, 309, 3, id="malaysia-crosses-308"),
        pytest.param("你" * 63, 60, UCS2, 70, 1, id="malaysia-ucs2-63+7"),
        pytest.param("你" * 64, 60, UCS2, 71, 2, id="malaysia-ucs2-64+7-crosses"),
    ],
)
def test_segment_table(
    text: str, country: int | None, encoding: str, units: int, segments: int
) -> None:
    result = segment(text, country)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


def test_ucs2_multipart_size_is_the_common_carrier_rule() -> None:
    # The provider only documents 70 per message; 67 per part is what concatenation leaves.
    assert UCS2_MULTIPART == 67
    assert GSM7_MULTIPART == 154


def test_ucs2_chars_are_distinct_in_order_of_first_appearance() -> None:
    result = segment("Say “hi” to Zoë’s “team” {ok}")
    assert result == Segmentation(UCS2, 29, 1, ("“", "”", "ë", "’"))


def test_gsm_text_names_no_forcing_characters() -> None:
    assert segment("Price: 5€ [net]").ucs2_chars == ()


def test_lookalikes_keeps_only_characters_with_a_plain_twin() -> None:
    forcing = segment("“Grüße” – 你好…\u00a0").ucs2_chars
    assert lookalikes(forcing) == ("“", "”", "–", "…", "\u00a0")


def test_plain_replaces_lookalikes_with_gsm_characters() -> None:
    text = plain("It’s “done” – see…\u00a0now\u200b！")
    assert text == 'It\'s "done" - see... now!'
    assert segment(text).encoding == GSM7


def test_every_lookalike_replacement_is_gsm() -> None:
    assert segment("".join(LOOKALIKES.values())).encoding == GSM7


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("“", "U+201C “"),
        ("…", "U+2026 …"),
        ("\u00a0", "U+00A0 (no-break space)"),
        ("\u200b", "U+200B (zero width space)"),
        ("\u00ad", "U+00AD (soft hyphen)"),
        (EMOJI, "U+1F600 😀"),
    ],
)
def test_char_name(char: str, name: str) -> None:
    assert char_name(char) == name


def test_describe_chars_groups_visible_and_names_invisible() -> None:
    assert describe_chars("“”\u00a0") == "“ ” (U+201C, U+201D) and U+00A0 (no-break space)"
    assert describe_chars("\u200b") == "U+200B (zero width space)"


gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700)
basic_text = st.text(alphabet=GSM_BASIC, max_size=700)
non_gsm_char = st.characters(
    exclude_characters=GSM_BASIC + GSM_EXTENSION, exclude_categories=["Cs"]
)


@given(gsm_text, st.sampled_from(GSM_BASIC + GSM_EXTENSION))
def test_gsm_segments_grow_with_length(text: str, extra: str) -> None:
    assert segment(text + extra).segments >= segment(text).segments


@given(st.integers(min_value=161, max_value=2000))
def test_long_basic_text_is_billed_per_154(n: int) -> None:
    assert segment("x" * n).segments == math.ceil(n / 154)


@given(basic_text)
def test_basic_text_units_are_its_length(text: str) -> None:
    result = segment(text)
    assert (result.encoding, result.units) == (GSM7, len(text))


@given(gsm_text)
def test_extension_chars_count_two(text: str) -> None:
    extension = sum(text.count(c) for c in GSM_EXTENSION)
    assert segment(text).units == len(text) + extension


@given(gsm_text, non_gsm_char, st.integers(min_value=0))
def test_one_non_gsm_char_makes_ucs2(text: str, char: str, at: int) -> None:
    at %= len(text) + 1
    result = segment(text[:at] + char + text[at:])
    assert result.encoding == UCS2
    assert char in result.ucs2_chars


@given(st.text(max_size=300), st.sampled_from([None, 1, 44, 60, 86]))
def test_segments_fit_the_units(text: str, country: int | None) -> None:
    result = segment(text, country)
    single, multi = (160, 154) if result.encoding == GSM7 else (70, 67)
    if not text:
        assert result.segments == 0
    elif result.units <= single:
        assert result.segments == 1
    else:
        assert (result.segments - 1) * multi < result.units <= result.segments * multi
