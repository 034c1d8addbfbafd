"""The sandbox reproduces nxcloud-api.md, seen through the real client over loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner
from helpers import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from batch_sms.checks.segments import segment
from batch_sms.provider.nxcloud import (
    Client,
    Credentials,
    Kind,
    Outcome,
    SendRequest,
    build_send,
    classify,
    sign,
)
from batch_sms.sandbox.server import Sandbox, SandboxConfig, SandboxHandle, _billed_segments, serve

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


# --- every provider code through the real client ------------------------------------------------


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
            assert (await _post_raw(sandbox.url, headers, body)).code == code
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
            assert (await _post_raw(sandbox.url, headers, body)).code == expected

    run(main())


def test_missing_sign_header_is_1001() -> None:
    async def main() -> None:
        async with serve() as sandbox:
            headers, body = build_send(SendRequest(CN, "Hi"), sandbox.config.credentials, 1)
            del headers["sign"]
            assert (await _post_raw(sandbox.url, headers, body)).code == "1001"

    run(main())


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "1002"),
        (b'{"appKey":"APP","phone":"8613800138000","content":"x"', "1002"),
        (b"\xff\xfe{}", "1002"),
        (b"[1,2]", "1002"),
        (b'"a string"', "1002"),
        (b"{}", "2"),
        (b'{"appKey":"APP","phone":"8613800138000"}', "2"),
        (b'{"appKey":"APP","phone":8613800138000,"content":"x"}', "2"),
        (b'{"phone":"8613800138000","content":"x"}', "2"),
        (b'{"appKey":"APP","content":"x"}', "2"),
        (b'{"appKey":"APP","phone":"8613800138000","content":"x"}', "0"),
    ],
)
def test_body_shape_codes(body: bytes, code: str) -> None:
    async def main() -> None:
        async with serve() as sandbox:
            creds = sandbox.config.credentials
            raw = body.replace(b"APP", creds.app_key.encode())
            headers, _ = build_send(SendRequest(CN, ""), creds, int(time.time() * 1000))
            headers["sign"] = sign(headers, raw, creds.access_secret)
            assert (await _post_raw(sandbox.url, headers, raw)).code == code

    run(main())


def _creds(sandbox: Sandbox, **change: str) -> Credentials:
    return dataclasses.replace(sandbox.config.credentials, **change)


@pytest.mark.parametrize(
    ("field", "code"), [("access_key", "1005"), ("access_secret", "1003"), ("app_key", "1")]
)
def test_wrong_credentials(field: str, code: str) -> None:
    async def main() -> None:
        async with serve() as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, _creds(sandbox, **{field: "wrong"}))
            outcome = await client.send(SendRequest(CN, "Hi"))
            assert (outcome.kind, outcome.code) == (Kind.RUN_FATAL, code)
            assert sandbox.accepted == []

    run(main())


LONG = "x" * 1000


@pytest.mark.parametrize(
    ("config", "req", "code", "kind"),
    [
        ({}, SendRequest("+8613800138000", "Hi"), "2", Kind.ROW_FATAL),
        ({}, SendRequest("86138 0013 8000", "Hi"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN + ",", "Hi"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="short"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="a" * 51), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="run_1_2_000"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="a" * 50), "0", Kind.ACCEPTED),
        ({}, SendRequest(CN, ""), "4", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "   "), "4", Kind.ROW_FATAL),
        ({"forbidden": ("casino",)}, SendRequest(CN, "Win at the CASINO!"), "4", Kind.ROW_FATAL),
        ({"forbidden": ("casino",)}, SendRequest(CN, "Win a car"), "0", Kind.ACCEPTED),
        ({}, SendRequest(CN, LONG + "x"), "5", Kind.ROW_FATAL),
        ({}, SendRequest(CN, LONG), "0", Kind.ACCEPTED),
        ({}, SendRequest("8612345", "Hi"), "6", Kind.ROW_FATAL),
        ({}, SendRequest(CN + ",8612345", "Hi"), "6", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="ACME-1"), "8", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="A" * 21), "8", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="牛小信"), "8", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="ACME2024"), "0", Kind.ACCEPTED),
        ({"allowed_ips": ("10.0.0.1",)}, SendRequest(CN, "Hi"), "9", Kind.RUN_FATAL),
        ({"allowed_ips": ("127.0.0.1",)}, SendRequest(CN, "Hi"), "0", Kind.ACCEPTED),
        ({"deactivated": True}, SendRequest(CN, "Hi"), "102", Kind.RUN_FATAL),
        ({"balance": 0.0}, SendRequest(CN, "Hi"), "3", Kind.RUN_FATAL),
    ],
)
def test_send_codes(config: dict[str, Any], req: SendRequest, code: str, kind: Kind) -> None:
    outcome, sandbox = send_one(SandboxConfig(**config), req)
    assert (outcome.kind, outcome.code) == (kind, code)
    assert len(sandbox.accepted) == (code == "0")
    assert sandbox.answers == {code: 1}


def _numbers(count: int) -> str:
    return ",".join(f"86138001380{i:02d}" for i in range(count))


@pytest.mark.parametrize(("count", "code"), [(5, "0"), (6, "104")])
def test_verification_app_takes_at_most_5_numbers(count: int, code: str) -> None:
    config = SandboxConfig(verification_app=True)
    outcome, _ = send_one(config, SendRequest(_numbers(count), "Your code is 1234"))
    assert outcome.code == code


def test_marketing_app_takes_many_numbers() -> None:
    outcome, sandbox = send_one(SandboxConfig(), SendRequest(_numbers(12), "Sale"))
    assert outcome.code == "0"
    assert len(sandbox.accepted) == 12


def test_multi_number_send_ignores_per_message_fields() -> None:
    req = SendRequest(f"{CN},{MY}", "Hi", "ACME", "bad id!", "http://127.0.0.1:9/dr", "e")
    outcome, sandbox = send_one(SandboxConfig(dr_delay=60), req)
    assert outcome.code == "0"
    first, second = sandbox.accepted
    assert first.messageid == f"{outcome.messageid}-0000000001"
    assert second.messageid == f"{outcome.messageid}-0000000002"
    assert (first.phone, second.phone) == (CN, MY)
    assert (first.sys_message_id, first.ext, first.dr_url, first.sender) == ("", "", "", "ACME")
    assert (first.segments, second.segments) == (1, 1)


def test_balance_charged_per_segment_and_top_up() -> None:
    async def main() -> None:
        config = SandboxConfig(price=0.5, balance=1.0, hourly_cap=None)
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials)
            assert (await client.send(SendRequest(CN, "x" * 161))).code == "0"  # 2 segments
            assert sandbox.balance == 0.0
            assert (await client.send(SendRequest(CN, "x"))).code == "3"
            sandbox.top_up(0.5)
            assert (await client.send(SendRequest(CN, "x"))).code == "0"
            assert (await client.balance()).balance == 0.0

    run(main())


def test_top_up_while_running_in_a_thread(make_sandbox: Callable[..., SandboxHandle]) -> None:
    handle = make_sandbox(balance=0.0)

    async def send() -> str:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials)
            return (await client.send(SendRequest(CN, "Hi"))).code

    assert run(send()) == "3"
    handle.sandbox.top_up(1.0)
    assert run(send()) == "0"
    assert handle.sandbox.balance == pytest.approx(0.99)


@pytest.mark.parametrize(
    ("content", "phone", "segments"),
    [
        ("a" * 160, CN, 1),
        ("a" * 161, CN, 2),
        ("a" * 308, CN, 2),
        ("a" * 309, CN, 3),
        ("€" * 80, CN, 1),  # extension characters count 2
        ("€" * 81, CN, 2),
        ("a" * 153, MY, 1),  # Malaysia adds 7
        ("a" * 154, MY, 2),
        ("你" * 70, CN, 1),
        ("你" * 71, CN, 2),
        ("你" * 134, CN, 2),
        ("你" * 135, CN, 3),
        ("😀" * 35, CN, 1),  # outside the BMP: 2 UTF-16 units each
        ("😀" * 36, CN, 2),
        ("Hello 你好 🎉", CN, 1),
        ("你" * 63, MY, 1),
        ("你" * 64, MY, 2),
    ],
)
def test_any_script_is_accepted_and_charged_by_segment(
    content: str, phone: str, segments: int
) -> None:
    outcome, sandbox = send_one(SandboxConfig(price=1.0, balance=10.0), SendRequest(phone, content))
    assert outcome.code == "0"
    (msg,) = sandbox.accepted
    assert (msg.content, msg.segments, msg.charge) == (content, segments, segments)
    assert sandbox.balance == 10.0 - segments


@given(st.text(max_size=400), st.sampled_from([None, 60, 86]))
def test_private_segment_count_agrees_with_segments_module(text: str, cc: int | None) -> None:
    assert _billed_segments(text, cc) == segment(text, cc).segments


# --- limits on an injected clock ----------------------------------------------------------------


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


# --- fault knobs, seen through the client's classification -------------------------------------


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


def _codes_with_faults(seed: int) -> list[str]:
    config = SandboxConfig(
        seed=seed, fail_88=0.2, fail_99=0.2, fail_500=0.1, malformed=0.1, hourly_cap=None
    )

    async def main() -> list[str]:
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials)
            return [(await client.send(SendRequest(CN, "x"))).code for _ in range(40)]

    codes: list[str] = run(main())
    return codes


def test_faults_are_deterministic_under_a_seed() -> None:
    first = _codes_with_faults(7)
    assert first == _codes_with_faults(7)
    assert first != _codes_with_faults(8)
    assert {"0", "88", "99", "http-500", "malformed"} <= set(first)


def test_fault_shares_are_checked() -> None:
    with pytest.raises(ValueError, match="shares"):
        SandboxConfig(fail_88=0.6, drop=0.6)
    with pytest.raises(ValueError, match="shares"):
        SandboxConfig(dr_delivered_share=1.5)


# --- delivery receipts --------------------------------------------------------------------------


class Receiver:
    """A tiny receipt endpoint that stores every push and answers as told."""

    def __init__(self, answer: str = "success") -> None:
        self.answer = answer
        self.got: list[dict[str, str]] = []
        self.arrived = asyncio.Event()
        self.expect = 1
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-www-form-urlencoded"
        self.got.append({k: str(v) for k, v in (await request.post()).items()})
        if len(self.got) >= self.expect:
            self.arrived.set()
        return web.Response(text=self.answer)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/dr", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/dr"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def test_receipt_pushed_once_to_the_message_dr_url() -> None:
    clock = FakeClock(1_700_000_000.0)

    async def main() -> None:
        receiver = Receiver(answer="error")  # even an "error" answer gets no second push
        url = await receiver.start()
        config = SandboxConfig(dr_delay=0, price=0.05, clock=clock)
        async with serve(config) as sandbox:
            req = SendRequest(CN, "你好", sys_message_id="run-0001-2-0", dr_url=url, ext="r:2:0")
            outcome = await _send(sandbox, req, clock=clock)
            await asyncio.wait_for(receiver.arrived.wait(), 5)
            # Let any (wrong) second push happen before the sandbox stops.
            await asyncio.sleep(0.05)
        await receiver.stop()
        assert receiver.got == [
            {
                "phone": CN,
                "status": "2",
                "result": "DELIVRD",
                "drtime": "2023-11-14 22:13:20",
                "sendtime": "2023-11-14 22:13:20",
                "messageid": outcome.messageid,
                "currency": "USD",
                "price": "0.0500",
                "rate": "0.0500",
                "size": "1",
                "ext": "r:2:0",
            }
        ]
        assert [r.answer for r in sandbox.receipts] == ["200 error"]
        assert sandbox.accepted[0].dr_status == "2"

    run(main())


def test_receipts_for_multi_number_sends_go_to_the_default_url() -> None:
    async def main() -> None:
        receiver = Receiver()
        receiver.expect = 3
        url = await receiver.start()
        config = SandboxConfig(dr_delay=0, dr_url=url, dr_delivered_share=0.0)
        async with serve(config) as sandbox:
            phones = f"{CN},{MY},8613800138001"
            outcome = await _send(sandbox, SendRequest(phones, "Hi", ext="ignored", dr_url="x"))
            await asyncio.wait_for(receiver.arrived.wait(), 5)
        await receiver.stop()
        got = sorted(receiver.got, key=lambda r: r["messageid"])
        assert [r["messageid"] for r in got] == [f"{outcome.messageid}-{i:010d}" for i in (1, 2, 3)]
        assert {(r["status"], r["result"], r["ext"]) for r in got} == {("5", "UNDELIV", "")}
        assert [r["phone"] for r in got] == [CN, MY, "8613800138001"]

    run(main())


def test_delivered_share_is_seeded() -> None:
    async def main() -> list[str]:
        config = SandboxConfig(dr_delay=0, dr_delivered_share=0.5, seed=3, hourly_cap=None)
        async with serve(config) as sandbox:
            outcome = await _send(sandbox, SendRequest(_numbers(40), "Hi"))
            assert outcome.code == "0"
            await sandbox.drain()
            return [m.dr_status for m in sandbox.accepted]

    first = run(main())
    assert first == run(main())
    assert set(first) == {"2", "5"}


# --- balance and record calls -------------------------------------------------------------------


def test_side_calls_match_what_was_accepted() -> None:
    clock = FakeClock(1_700_000_000.0)

    async def main() -> None:
        config = SandboxConfig(price=0.25, balance=10.0, dr_delay=0, hourly_cap=None, clock=clock)
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials, clock=clock)
            ids = [(await client.send(SendRequest(CN, f"m{i}"))).messageid for i in range(3)]
            clock.advance(86400)
            ids.append((await client.send(SendRequest(CN, "x" * 200))).messageid)
            await sandbox.drain()

            balance = await client.balance()
            assert (balance.code, balance.balance) == ("0", 10.0 - 5 * 0.25)

            found = await client.record("20231114", ids[1])
            assert found["code"] == "0"
            assert found["row"] == {
                "msgid": ids[1],
                "phone": CN,
                "dr": "DELIVRD",
                "dr_status": "2",
                "billing_size": 1,
                "billing_price": "0.2500",
                "date": "2023-11-14 22:13:20",
                "dr_time": "2023-11-14 22:13:20",
            }
            assert (await client.record("20231115", ids[1]))["row"] is None
            assert (await client.record("20231115", ids[3]))["row"]["billing_size"] == 2
            assert (await client.record("2023-11-15", ids[3]))["code"] == "2"

            page = await client.day_records("20231114", page=1, page_size=2)
            assert page["info"]["total"] == 3
            assert [r["msgid"] for r in page["info"]["rows"]] == ids[:2]
            page = await client.day_records("20231114", page=2, page_size=2)
            assert [r["msgid"] for r in page["info"]["rows"]] == ids[2:3]
            assert (await client.day_records("20231114", page_size=1000))["code"] == "2"

            clock.advance(40 * 86400)  # records older than 31 days are gone
            assert (await client.day_records("20231114"))["info"]["total"] == 0

            stranger = Client(session, sandbox.url, _creds(sandbox, access_secret="nope"))
            assert (await stranger.balance()).code == "1"
            assert (await stranger.record("20231114", ids[0]))["code"] == "1"
            assert (await stranger.day_records("20231114"))["code"] == "1"

    run(main())


# --- batch-sms sandbox ---------------------------------------------------------------------------


def test_sandbox_command_help() -> None:
    from batch_sms.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--tps-limit", "--hourly-cap", "--fail-88", "--drop", "--hang", "--seed"):
        assert option in result.output


def test_sandbox_command_rejects_impossible_shares() -> None:
    from batch_sms.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "--fail-88", "0.6", "--drop", "0.6"])
    assert result.exit_code == 2
    assert "shares" in result.output


def test_sandbox_command_reports_a_taken_port() -> None:
    from batch_sms.cli import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(cli, ["sandbox", "--port", port])
    assert result.exit_code == 1
    assert "cannot listen" in result.output


@pytest.mark.slow
def test_sandbox_command_serves_until_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    env["NXCLOUD_ACCESS_KEY"] = "key-from-env"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "batch_sms", "sandbox", "--port", "0", "--tps-limit", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"http://\S+", lines[0])
        assert url is not None, lines
        assert "environment and these new ones" in lines[1]
        printed = dict(re.findall(r"export (\w+)=(\S+)", "".join(lines)))
        assert set(printed) == {"NXCLOUD_ACCESS_SECRET", "NXCLOUD_APP_KEY"}
        creds = Credentials(
            "key-from-env", printed["NXCLOUD_ACCESS_SECRET"], printed["NXCLOUD_APP_KEY"]
        )

        async def main() -> Outcome:
            async with aiohttp.ClientSession() as session:
                return await Client(session, url.group(0), creds).send(SendRequest(CN, "Hi"))

        assert run(main()).kind is Kind.ACCEPTED
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out
    assert "key-from-env" not in "".join(lines) + out


def test_handle_drains_receipts_from_sync_code(make_sandbox: Callable[..., SandboxHandle]) -> None:
    handle = make_sandbox(dr_delay=0.01, hourly_cap=None)

    async def send() -> None:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials)
            assert (await client.send(SendRequest(_numbers(3), "Hi"))).code == "0"

    run(send())
    handle.drain()
    assert [m.dr_status for m in handle.sandbox.accepted] == ["2", "2", "2"]
