"""The sandbox's send call through the real client: signing, clock, credentials, limits, faults."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from helpers import CN, MY, FakeClock, changed_credentials, post_raw, run, send_one

from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import (
    Answer,
    Credentials,
    Kind,
    SendRequest,
    build_send,
    sign,
)
from batch_sms.sandbox.server import SandboxConfig, SandboxHandle, serve


def test_documented_signing_gets_0_and_one_changed_byte_gets_1003() -> None:
    async def main() -> None:
        async with serve() as sandbox:
            creds = sandbox.config.credentials
            headers, body = build_send(SendRequest(CN, "Hello"), creds, int(time.time() * 1000))
            assert (await post_raw(sandbox.url, headers, body)).code == "0"
            tampered = body.replace(b"Hello", b"Hellp")
            assert (await post_raw(sandbox.url, headers, tampered)).code == "1003"
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
            assert (await post_raw(sandbox.url, headers, body)).code == "0"

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
    async def main() -> Answer:
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


def _resigned(creds: Credentials, change: dict[str, str | None]) -> tuple[dict[str, str], bytes]:
    headers, body = build_send(SendRequest(CN, "Hi"), creds, int(time.time() * 1000))
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    headers["sign"] = sign(headers, body, creds.access_secret)
    return headers, body


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ts": None}, "1001"),
        ({"accessKey": None}, "1001"),
        ({"bizType": "1"}, "1002"),
        ({"action": "send"}, "1002"),
        ({"ts": "yesterday"}, "1004"),
    ],
)
def test_header_codes(change: dict[str, str | None], code: str) -> None:
    async def main() -> None:
        async with serve() as sandbox:
            headers, body = _resigned(sandbox.config.credentials, change)
            assert (await post_raw(sandbox.url, headers, body)).code == code
            assert sandbox.answers == {code: 1}

    run(main())


@pytest.mark.parametrize("bad", ["0" * 32, "é" * 32, "", "not-a-signature"])
def test_wrong_signatures(bad: str) -> None:
    async def main() -> None:
        async with serve() as sandbox:
            headers, body = build_send(SendRequest(CN, "Hi"), sandbox.config.credentials, 1)
            headers["ts"] = str(int(time.time() * 1000))
            headers["sign"] = bad
            expected = "1001" if not bad else "1003"
            assert (await post_raw(sandbox.url, headers, body)).code == expected

    run(main())


def test_missing_sign_header_is_1001() -> None:
    async def main() -> None:
        async with serve() as sandbox:
            headers, body = build_send(SendRequest(CN, "Hi"), sandbox.config.credentials, 1)
            del headers["sign"]
            assert (await post_raw(sandbox.url, headers, body)).code == "1001"

    run(main())


@pytest.mark.parametrize(
    ("field", "code"), [("access_key", "1005"), ("access_secret", "1003"), ("app_key", "1")]
)
def test_wrong_credentials(field: str, code: str) -> None:
    async def main() -> None:
        async with serve() as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, changed_credentials(sandbox, **{field: "wrong"}))
            outcome = await client.send(SendRequest(CN, "Hi"))
            assert (outcome.kind, outcome.code) == (Kind.RUN_FATAL, code)
            assert sandbox.accepted == []

    run(main())


def test_hourly_cap_slides_with_the_clock() -> None:
    clock = FakeClock()

    async def main() -> None:
        config = SandboxConfig(hourly_cap=5, clock=clock)
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials, clock=clock)
            for i in range(5):
                assert (await client.send(SendRequest(CN, f"m{i}"))).code == "0"
                clock.advance(600)
            capped = await client.send(SendRequest(CN, "m5"))
            assert (capped.kind, capped.code) == (Kind.CAPPED, "27")
            assert (await client.send(SendRequest(MY, "other number"))).code == "0"
            clock.advance(600)  # the first message is now an hour old
            assert (await client.send(SendRequest(CN, "m6"))).code == "0"
            assert (await client.send(SendRequest(CN, "m7"))).code == "27"
            # A multi-number send with one capped number is refused as a whole.
            assert (await client.send(SendRequest(f"{MY},{CN}", "both"))).code == "27"

    run(main())


def test_tps_window_slides_and_counts_every_arrival() -> None:
    clock = FakeClock()

    async def main() -> None:
        config = SandboxConfig(tps_limit=2, hourly_cap=None, clock=clock)
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials, clock=clock)

            async def code() -> str:
                return (await client.send(SendRequest(CN, "x"))).code

            assert [await code(), await code(), await code()] == ["0", "0", "28"]
            clock.advance(0.5)
            assert await code() == "28"  # the 28 answered above still counts in this second
            clock.advance(0.5)
            assert await code() == "0"  # the three at 0 s have left the window; one remains
            assert await code() == "28"  # arrivals at 0.5 s and 1.0 s fill it again
            clock.advance(1.0)
            assert await code() == "0"
            assert sandbox.answers == {"0": 4, "28": 3}

    run(main())


def test_client_recovers_from_a_skewed_sandbox_clock() -> None:
    clock = FakeClock(time.time() + 300)  # the provider runs five minutes ahead
    outcome, sandbox = send_one(SandboxConfig(clock=clock), SendRequest(CN, "Hi"))
    assert outcome.kind is Kind.ACCEPTED
    assert sandbox.answers == {"1004": 1, "0": 1}


@pytest.mark.parametrize(
    ("config", "kind", "code", "accepted"),
    [
        ({"fail_88": 1.0}, Kind.TRANSIENT, "88", 0),
        ({"fail_99": 1.0}, Kind.TRANSIENT, "99", 0),
        ({"fail_500": 1.0}, Kind.TRANSIENT, "http-500", 0),
        ({"malformed": 1.0}, Kind.TRANSIENT, "malformed", 1),
        ({"malformed": 1.0, "drop_accepts": False}, Kind.TRANSIENT, "malformed", 0),
        ({"drop": 1.0}, Kind.UNCERTAIN, "disconnected", 1),
        ({"drop": 1.0, "drop_accepts": False}, Kind.UNCERTAIN, "disconnected", 0),
        ({"hang": 1.0, "hang_seconds": 5.0}, Kind.UNCERTAIN, "timeout", 1),
        ({"hang": 1.0, "hang_seconds": 5.0, "drop_accepts": False}, Kind.UNCERTAIN, "timeout", 0),
        ({"latency": 5.0}, Kind.UNCERTAIN, "timeout", 0),
        ({"latency": 0.01, "jitter": 0.02}, Kind.ACCEPTED, "0", 1),
    ],
)
def test_fault_knobs(config: dict[str, Any], kind: Kind, code: str, accepted: int) -> None:
    outcome, sandbox = send_one(SandboxConfig(**config), SendRequest(CN, "Hi"), timeout=0.3)
    assert (outcome.kind, outcome.code) == (kind, code)
    assert len(sandbox.accepted) == accepted


def test_hung_answer_still_arrives_for_a_patient_client() -> None:
    config = SandboxConfig(hang=1.0, hang_seconds=0.05)
    outcome, sandbox = send_one(config, SendRequest(CN, "Hi"), timeout=5)
    assert outcome.kind is Kind.ACCEPTED
    assert sandbox.answers == {"hung": 1}
