"""provider.client: mtsend_v2 and the side calls over aiohttp, against a real loopback server."""

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
from helpers import run

from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import Credentials, Kind, SendRequest, sign

CREDS = Credentials("ak-test", "secret-test", "app-test")

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
