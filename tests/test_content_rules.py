"""Content rules: required texts and forbidden words, alone and in the row checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_csv

from batch_sms.checks.content_rules import ContentRules, parse_words
from batch_sms.checks.preflight import run_preflight
from batch_sms.checks.reasons import reason_code
from batch_sms.checks.validate import Checker
from batch_sms.config import Settings
from batch_sms.errors import ConfigError, InputError
from batch_sms.models import Status


def test_parse_words_skips_comments_blanks_and_repeats() -> None:
    text = "\ufeff# words the carrier blocks\n  casino \n\nFree Money\n# 赌博 below\n赌博\ncasino\n"
    assert parse_words(text.lstrip("\ufeff")) == ("casino", "Free Money", "赌博")


def test_must_contain_names_what_is_missing() -> None:
    rules = ContentRules(("Reply STOP", "回T退订"))
    assert rules.problem("Sale! Reply STOP 回T退订") == ""
    assert rules.problem("Sale! Reply  STOP\n回T退订") == ""  # whitespace runs count as one space
    assert rules.problem("Sale! 回T退订") == 'text lacks required "Reply STOP"'
    assert rules.problem("Sale! reply stop") == (
        'text lacks required "Reply STOP"; text lacks required "回T退订"'
    )


def test_must_contain_accepts_the_plain_form_that_gsm_safe_sends() -> None:
    rules = ContentRules(("Don’t reply",))
    assert rules.problem("Hi. Don't reply") == ""


def test_forbidden_words_match_latin_in_any_case_and_chinese_as_written() -> None:
    rules = ContentRules(forbidden=("free money", "赌博"))
    assert rules.problem("Get FREE Money now") == 'text holds forbidden word "free money"'
    assert rules.problem("线上赌博平台") == 'text holds forbidden word "赌博"'
    assert rules.problem("Get free time") == ""
    assert not ContentRules()
    assert ContentRules().problem("anything") == ""


def test_checker_marks_rule_breaking_rows_invalid_with_a_reason_code() -> None:
    rules = ContentRules(("Reply STOP",), ("casino",))
    check = Checker(default_region="CN", suppressed=set(), allow_duplicates=False, rules=rules)
    [good] = check.check(2, "13800138000", "Hi. Reply STOP")
    [lacks] = check.check(3, "13800138001", "Hi")
    [holds] = check.check(4, "13800138002", "Casino night. Reply STOP")
    [both] = check.check(5, "123", "Casino")
    assert good.status is Status.READY
    assert (lacks.status, lacks.error, lacks.reason) == (
        Status.INVALID,
        'text lacks required "Reply STOP"',
        "content_lacks_required",
    )
    assert (holds.status, holds.reason) == (Status.INVALID, "content_forbidden_word")
    assert holds.error == 'text holds forbidden word "casino"'
    assert both.error.endswith(
        'text lacks required "Reply STOP"; text holds forbidden word "casino"'
    )
    assert both.reason == reason_code(both.error) != "content_lacks_required"  # the phone's


def test_preflight_reads_the_forbidden_words_file(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_bytes("\ufeff# list\n赌博\n".encode())
    path = write_csv(tmp_path / "in.csv", ["phone", "content"], [["8613800138000", "赌博"]])
    [message] = run_preflight(Settings(input=path, forbidden_words=words)).messages
    assert message.error == 'text holds forbidden word "赌博"'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "forbidden-words file not found"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        (b"# only a comment\n", "holds no words"),
    ],
)
def test_a_bad_forbidden_words_file_is_an_input_error(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    words = tmp_path / "words.txt"
    if content is not None:
        words.write_bytes(content)
    path = write_csv(tmp_path / "in.csv", ["phone", "content"], [["8613800138000", "Hi"]])
    with pytest.raises(InputError) as caught:
        run_preflight(Settings(input=path, forbidden_words=words))
    assert caught.value.message.startswith(f"{words}: ")
    assert expected in caught.value.message


def test_an_empty_required_text_is_refused() -> None:
    from batch_sms.config import load_settings

    with pytest.raises(ConfigError, match="must-contain: a required text is empty"):
        load_settings({"must_contain": ("Reply STOP", " ")}, environ={}, cwd=Path("/nonexistent"))
