"""The NXCloud protocol: signing, exact request bytes, classification (the client over HTTP is
test_client.py)."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest
from helpers import CN
from hypothesis import given
from hypothesis import strategies as st

from batch_sms.provider.nxcloud import (
    Credentials,
    Kind,
    SendRequest,
    build_send,
    classify,
    describe,
    parse_http_date,
    sign,
)

CREDS = Credentials("ak-test", "secret-test", "app-test")
DOC_HEADERS = {
    "accessKey": "fme2na3kdi3ki",
    "ts": "1655710885431",
    "bizType": "1",
    "action": "send",
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"name":"牛小信","id":10001}', "87c3560d3331ae23f1021e2025722354"),
        ('{"id":10001,"name":"牛小信"}', "7750759da06333f20d0640be09355e34"),
        ('{"id": 10001, "name": "牛小信"}', "d0c24a9886c629330d7f3f2056c65bc2"),
    ],
)
def test_sign_known_answer_vectors(body: str, expected: str) -> None:
    assert sign(DOC_HEADERS, body, "abciiiko2k3") == expected
    assert sign(DOC_HEADERS, body.encode(), "abciiiko2k3") == expected


def test_sign_ignores_sign_and_content_type_headers() -> None:
    extra = {**DOC_HEADERS, "sign": "x", "Content-Type": "application/json"}
    body = '{"id":10001,"name":"牛小信"}'
    assert sign(extra, body, "abciiiko2k3") == "7750759da06333f20d0640be09355e34"


def test_sign_skips_empty_body() -> None:
    assert sign(DOC_HEADERS, "", "s") != sign(DOC_HEADERS, "{}", "s")
    assert sign(DOC_HEADERS, b"", "s") == sign(DOC_HEADERS, "", "s")


def test_credentials_repr_hides_everything() -> None:
    text = repr(CREDS) + str(CREDS)
    for secret in ("ak-test", "secret-test", "app-test"):
        assert secret not in text


def test_build_send_exact_bytes_and_omitted_optionals() -> None:
    headers, body = build_send(SendRequest("8613800138000", "你好 🎉"), CREDS, 1700000000123)
    assert body == '{"appKey":"app-test","phone":"8613800138000","content":"你好 🎉"}'.encode()
    assert headers["ts"] == "1700000000123"
    assert headers["bizType"] == "3"
    assert headers["action"] == "mtsend"
    assert headers["accessKey"] == "ak-test"
    assert headers["Content-Type"] == "application/json"
    assert headers["sign"] == sign(headers, body, "secret-test")


def test_build_send_includes_given_optionals_in_order() -> None:
    req = SendRequest("60123456789", "hi", "ACME", "run-1-2-0abc", "http://h/dr", "r:2:0")
    _, body = build_send(req, CREDS, 1)
    assert list(json.loads(body)) == [
        "appKey",
        "phone",
        "content",
        "sourceAddress",
        "sysMessageId",
        "drUrl",
        "ext",
    ]


@given(st.text(max_size=200), st.integers(min_value=0, max_value=2**45))
def test_build_send_signs_the_bytes_it_sends(content: str, ts: int) -> None:
    headers, body = build_send(SendRequest("8613800138000", content), CREDS, ts)
    assert json.loads(body.decode("utf-8"))["content"] == content
    assert headers["sign"] == sign(headers, body, CREDS.access_secret)


def _answer(code: str, messageid: str = "") -> bytes:
    return json.dumps({"result": "r", "code": code, "messageid": messageid}).encode()


@pytest.mark.parametrize(
    ("codes", "kind"),
    [
        (["2", "4", "5", "6", "8", "104"], Kind.ROW_FATAL),
        (["1", "3", "9", "102", "1001", "1002", "1003", "1005"], Kind.RUN_FATAL),
        (["28"], Kind.THROTTLED),
        (["27"], Kind.CAPPED),
        (["88", "99", "12345"], Kind.TRANSIENT),
        (["1004"], Kind.CLOCK),
    ],
)
def test_classify_codes(codes: list[str], kind: Kind) -> None:
    for code in codes:
        outcome = classify(200, _answer(code), 5.0)
        assert (outcome.kind, outcome.code, outcome.server_date) == (kind, code, 5.0)


def test_classify_accepted_keeps_messageid() -> None:
    outcome = classify(200, _answer("0", "333444555666"))
    assert (outcome.kind, outcome.code, outcome.messageid) == (Kind.ACCEPTED, "0", "333444555666")


def test_classify_unknown_code_keeps_raw() -> None:
    outcome = classify(200, _answer("777"))
    assert outcome.kind is Kind.TRANSIENT
    assert '"777"' in outcome.raw


def test_classify_integer_code_is_tolerated() -> None:
    assert classify(200, b'{"code":0,"messageid":"1"}').kind is Kind.ACCEPTED


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (500, b"oops", Kind.TRANSIENT, "http-500"),
        (503, _answer("0", "1"), Kind.TRANSIENT, "http-503"),
        (200, b"{not json", Kind.TRANSIENT, "malformed"),
        (200, b"\xff\xfe", Kind.TRANSIENT, "malformed"),
        (200, b'["code","0"]', Kind.TRANSIENT, "malformed"),
        (200, b'{"result":"x"}', Kind.TRANSIENT, "malformed"),
        (404, b"<html>not found</html>", Kind.RUN_FATAL, "http-404"),
        (429, b"slow down", Kind.THROTTLED, "http-429"),
        (408, b"", Kind.TRANSIENT, "http-408"),
    ],
)
def test_classify_http_failures(status: int, body: bytes, kind: Kind, code: str) -> None:
    outcome = classify(status, body)
    assert (outcome.kind, outcome.code) == (kind, code)


def test_describe_every_code() -> None:
    for code in ["0", "1", "2", "3", "4", "5", "6", "8", "9", "27", "28", "88", "99", "102"]:
        assert not describe(code).startswith("unknown")
    assert "1004" not in describe("1004")
    assert describe("http-502") == "HTTP status 502 from the provider"
    assert "unknown" in describe("4242")
    assert "may have been accepted" in describe("timeout")


def test_parse_http_date() -> None:
    assert parse_http_date(formatdate(1700000000, usegmt=True)) == 1700000000
    assert parse_http_date(None) is None
    assert parse_http_date("yesterday") is None


def test_build_send_carries_the_link_options_only_when_given() -> None:
    req = SendRequest(CN, "Go #1#", short_link="https://nx.ink/a", link_verbose="0")
    _, body = build_send(req, CREDS, 1)
    assert json.loads(body) | {"appKey": ""} == {
        "appKey": "", "phone": CN, "content": "Go #1#", "shortLink": "https://nx.ink/a",
        "linkVerbose": "0",
    }  # fmt: skip
    _, plain = build_send(SendRequest(CN, "Go #1#"), CREDS, 1)
    assert set(json.loads(plain)) == {"appKey", "phone", "content"}
