"""The NXCloud protocol: signing, exact request bytes, classification, and the async client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import formatdate

import aiohttp
import pytest
from aiohttp import web
from helpers import CN, run
from hypothesis import given
from hypothesis import strategies as st

from batch_sms.provider.nxcloud import (
    Client,
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


# --- the client over a real loopback server ---------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """Run one handler for every path on a loopback port; yield the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_client_sends_signed_bytes_and_reads_date() -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        date = formatdate(1700000000, usegmt=True)
        return web.json_response({"code": "0", "messageid": "42"}, headers={"Date": date})

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            client = Client(session, url, CREDS, clock=lambda: 1700000000.5)
            outcome = await client.send(SendRequest("8613800138000", "中文 😀"))
        assert (outcome.kind, outcome.messageid, outcome.server_date) == (
            Kind.ACCEPTED,
            "42",
            1700000000,
        )
        headers, body = seen[0]
        assert headers["ts"] == "1700000000500"
        assert headers["sign"] == sign(headers, body, CREDS.access_secret)
        assert json.loads(body)["content"] == "中文 😀"

    run(main())


def test_client_clock_retry_once_with_corrected_offset() -> None:
    server_now = 1700000300.0  # the server runs 300 s ahead of the client
    stamps: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        ts = int(request.headers["ts"])
        stamps.append(ts)
        code = "0" if abs(ts / 1000 - server_now) <= 60 else "1004"
        date = formatdate(server_now, usegmt=True)
        return web.json_response({"code": code, "messageid": "7"}, headers={"Date": date})

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            client = Client(session, url, CREDS, clock=lambda: 1700000000.0)
            outcome = await client.send(SendRequest("8613800138000", "x"))
            assert outcome.kind is Kind.ACCEPTED
            assert client.clock_offset == pytest.approx(300.5)
            assert len(stamps) == 2
            # The next send uses the corrected clock straight away.
            assert (await client.send(SendRequest("8613800138000", "y"))).kind is Kind.ACCEPTED
            assert len(stamps) == 3

    run(main())


def test_client_clock_retry_is_only_once() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"code": "1004", "messageid": ""})

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            outcome = await Client(session, url, CREDS).send(SendRequest("1", "x"))
        assert outcome.kind is Kind.CLOCK

    run(main())


def test_client_without_clock_retry_corrects_the_offset_and_answers_clock() -> None:
    server_now = 1700000300.0
    stamps: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        stamps.append(int(request.headers["ts"]))
        date = formatdate(server_now, usegmt=True)
        return web.json_response({"code": "1004", "messageid": ""}, headers={"Date": date})

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            client = Client(session, url, CREDS, clock=lambda: 1700000000.0)
            outcome = await client.send(SendRequest("8613800138000", "x"), retry_clock=False)
            assert outcome.kind is Kind.CLOCK
            assert len(stamps) == 1  # the caller decides when to send again
            assert client.clock_offset == pytest.approx(300.5)

    run(main())


@pytest.mark.parametrize(
    ("base_url", "creds"),
    [
        ("", Credentials("key\nleaked", "secret-test", "app-test")),
        ("", Credentials("ak\x00leaked", "secret-test", "app-test")),
        ("http://[::1", CREDS),
        ("ftp://127.0.0.1", CREDS),
    ],
)
def test_client_error_before_sending_is_local_and_run_fatal(
    base_url: str, creds: Credentials
) -> None:
    arrivals: list[bytes] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(await request.read())
        return web.json_response({"code": "0", "messageid": "1"})

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            client = Client(session, base_url or url, creds)
            outcome = await client.send(SendRequest("8613800138000", "x"))
        assert (outcome.kind, outcome.code) == (Kind.RUN_FATAL, "local-error")
        assert "nothing was sent" in outcome.result
        assert "leaked" not in outcome.result + outcome.raw
        assert "secret-test" not in outcome.result + outcome.raw
        assert arrivals == []

    run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_client_connect_error_is_transient() -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            client = Client(session, f"http://127.0.0.1:{_free_port()}", CREDS, timeout=2)
            outcome = await client.send(SendRequest("8613800138000", "x"))
            assert (outcome.kind, outcome.code) == (Kind.TRANSIENT, "connect")
            assert (await client.balance()).code == "connect"

    run(main())


def test_client_timeout_after_sending_is_uncertain() -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.wait_for(release.wait(), 5)
        return web.json_response({"code": "0"})

    async def main() -> None:
        async with serve(handler) as url:
            async with aiohttp.ClientSession() as session:
                client = Client(session, url, CREDS, timeout=0.2)
                outcome = await client.send(SendRequest("8613800138000", "x"))
            release.set()
        assert (outcome.kind, outcome.code) == (Kind.UNCERTAIN, "timeout")

    run(main())


def test_client_disconnect_after_sending_is_uncertain() -> None:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            outcome = await Client(session, url, CREDS).send(SendRequest("8613800138000", "x"))
        assert (outcome.kind, outcome.code) == (Kind.UNCERTAIN, "disconnected")

    run(main())


def test_client_side_calls_post_forms() -> None:
    forms: list[tuple[str, dict[str, str]]] = []

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        forms.append((request.path, {k: str(v) for k, v in form.items()}))
        if request.path.endswith("getBalance"):
            return web.json_response({"code": "0", "balance": "12.50", "credit_balance": "3"})
        if request.path.endswith("getSmsCdr"):
            return web.Response(text="<html>")
        return web.json_response({"code": 0, "row": {"msgid": "1"}})

    async def main() -> None:
        async with serve(handler) as url, aiohttp.ClientSession() as session:
            client = Client(session, url, CREDS)
            balance = await client.balance()
            assert (balance.code, balance.balance, balance.credit_balance) == ("0", 12.5, 3.0)
            assert (await client.record("20261125", "1"))["code"] == "0"
            assert (await client.day_records("20261125", 2, 100))["code"] == "malformed"
        auth = {"appkey": "app-test", "secretkey": "secret-test"}
        assert forms[0] == ("/api/common/getBalance", auth)
        assert forms[1] == ("/api/sms/get", {**auth, "date": "20261125", "messageid": "1"})
        assert forms[2][0] == "/api/sms/getSmsCdr"
        assert forms[2][1]["page"] == "2"
        assert forms[2][1]["page_size"] == "100"

    run(main())


def test_build_send_carries_the_link_options_only_when_given() -> None:
    req = SendRequest(CN, "Go #1#", short_link="https://nx.ink/a", link_verbose="0")
    _, body = build_send(req, CREDS, 1)
    assert json.loads(body) | {"appKey": ""} == {
        "appKey": "", "phone": CN, "content": "Go #1#", "shortLink": "https://nx.ink/a",
        "linkVerbose": "0",
    }  # fmt: skip
    _, plain = build_send(SendRequest(CN, "Go #1#"), CREDS, 1)
    assert set(json.loads(plain)) == {"appKey", "phone", "content"}
