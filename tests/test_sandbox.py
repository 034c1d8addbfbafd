"""The sandbox reproduces nxcloud-api.md, seen through the real client over loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import Any

import aiohttp
from conftest import FakeClock

from batch_sms.nxcloud import Client, Kind, Outcome, SendRequest, build_send, classify
from batch_sms.sandbox import Sandbox, SandboxConfig, SandboxHandle, serve

CN = "8613800138000"  # a valid Chinese mobile number
MY = "60123456789"  # a valid Malaysian mobile number


def run(coro: Awaitable[Any]) -> Any:
    """Drive one async test body."""
    return asyncio.run(coro)  # type: ignore[arg-type]


async def _send(sandbox: Sandbox, req: SendRequest, **client_kw: Any) -> Outcome:
    async with aiohttp.ClientSession() as session:
        client = Client(session, sandbox.url, sandbox.config.credentials, **client_kw)
        return await client.send(req)


async def _post_raw(url: str, headers: dict[str, str], body: bytes) -> Outcome:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/api/sms/mtsend_v2", data=body, headers=headers) as resp,
    ):
        return classify(resp.status, await resp.read())


def send_one(config: SandboxConfig, req: SendRequest, **client_kw: Any) -> tuple[Outcome, Sandbox]:
    """Start a sandbox, send one request through the client, stop; the outcome and sandbox."""

    async def main() -> tuple[Outcome, Sandbox]:
        async with serve(config) as sandbox:
            return await _send(sandbox, req, **client_kw), sandbox

    result: tuple[Outcome, Sandbox] = run(main())
    return result


# --- the "must show" checks ----------------------------------------------------------


def test_documented_signing_gets_0_and_one_changed_byte_gets_1003() -> None:
    async def main() -> None:
        async with serve() as sandbox:
            creds = sandbox.config.credentials
            headers, body = build_send(SendRequest(CN, "Hello"), creds, int(time.time() * 1000))
            assert (await _post_raw(sandbox.url, headers, body)).code == "0"
            tampered = body.replace(b"Hello", b"Hellp")
            assert (await _post_raw(sandbox.url, headers, tampered)).code == "1003"
            assert len(sandbox.accepted) == 1

    run(main())


def test_ts_61_seconds_old_gets_1004_with_a_date_header() -> None:
    clock = FakeClock(1_700_000_000.0)

    async def main() -> None:
        async with serve(SandboxConfig(clock=clock)) as sandbox:
            creds = sandbox.config.credentials
            headers, body = build_send(SendRequest(CN, "Hi"), creds, int((clock() - 61) * 1000))
            async with aiohttp.ClientSession() as session:
                url = sandbox.url + "/api/sms/mtsend_v2"
                async with session.post(url, data=body, headers=headers) as resp:
                    assert resp.headers["Date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
                    assert json.loads(await resp.read())["code"] == "1004"
            headers, body = build_send(SendRequest(CN, "Hi"), creds, int((clock() - 59) * 1000))
            assert (await _post_raw(sandbox.url, headers, body)).code == "0"

    run(main())


def test_10_tps_30_requests_within_a_second_get_20_answers_of_28() -> None:
    clock = FakeClock()

    async def main() -> None:
        config = SandboxConfig(tps_limit=10, hourly_cap=None, clock=clock)
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials, clock=clock)
            outcomes = await asyncio.gather(
                *(client.send(SendRequest(CN, f"m{i}")) for i in range(30))
            )
        codes = [o.code for o in outcomes]
        assert codes.count("28") == 20
        assert codes.count("0") == 10
        assert {o.kind for o in outcomes if o.code == "28"} == {Kind.THROTTLED}
        assert len(sandbox.arrivals) == 30

    run(main())


def test_running_in_a_thread_serves_sync_callers(sandbox: SandboxHandle) -> None:
    async def main() -> Outcome:
        async with aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, sandbox.credentials)
            return await client.send(
                SendRequest(CN, "from another thread", sys_message_id="r-1-0-abcdef")
            )

    outcome = run(main())
    assert outcome.kind is Kind.ACCEPTED
    accepted = sandbox.sandbox.accepted
    assert [(a.phone, a.messageid, a.sys_message_id) for a in accepted] == [
        (CN, outcome.messageid, "r-1-0-abcdef")
    ]
