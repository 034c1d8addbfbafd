"""The receipts receiver's token: its sources in order, the URL carrying it, the constant-time
check, and the warning for a `--dr-url` of ours without it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from batch_sms.provider.receipt_token import (
    TOKEN_ENV,
    given_token,
    lacks_token,
    missing_token_note,
    new_token,
    token_matches,
    with_token,
)


def test_the_option_wins_over_the_environment_which_wins_over_the_state_db() -> None:
    env = {TOKEN_ENV: "from-env"}
    assert given_token("from-option", env) == ("from-option", "--token")
    assert given_token(None, env) == ("from-env", TOKEN_ENV)
    assert given_token(None, {TOKEN_ENV: ""}) == (None, "kept in the state db")
    assert given_token("", {}) == (None, "kept in the state db")


def test_new_tokens_are_long_random_and_url_safe() -> None:
    made = {new_token() for _ in range(50)}
    assert len(made) == 50
    for token in made:
        assert len(token) >= 32
        assert with_token("http://h/dr", token) == f"http://h/dr?token={token}"


def test_with_token_keeps_other_parameters_and_replaces_an_old_token() -> None:
    url = with_token("https://dr.example.com:8443/hooks/dr?account=7&token=old", "n3w+/=")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("dr.example.com:8443", "/hooks/dr")
    assert parse_qs(parts.query) == {"account": ["7"], "token": ["n3w+/="]}


def test_token_matches_only_the_same_token() -> None:
    assert token_matches("abc", "abc")
    assert not token_matches("", "abc")
    assert not token_matches("abcd", "abc")
    assert not token_matches("abd", "abc")
    assert not token_matches("ä", "abc")  # not ASCII: refused, not an error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8090/dr",
        "http://localhost:8090/dr/",
        "http://[::1]:8090/dr",
        "http://127.0.0.1:8090/dr?token=",
        "http://127.0.0.1:8090/dr?other=1",
    ],
)
def test_our_receiver_without_a_token_is_warned_about(url: str) -> None:
    assert lacks_token(url)
    note = missing_token_note(url)
    assert note is not None
    assert note.startswith("warning: --dr-url")
    assert "batch-sms receipts serve" in note


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://127.0.0.1:8090/dr?token=abc",
        "https://dr.example.com/dr",  # not loopback: someone else's receiver, maybe
        "http://127.0.0.1:8090/receipts",  # another path
        "http://[bad/dr",
        "not a url",
    ],
)
def test_other_urls_are_not_warned_about(url: str) -> None:
    assert not lacks_token(url)
    assert missing_token_note(url) is None
