"""The sandbox's balance, delivery receipts pushed once, and the balance and record calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from helpers import CN, MY, FakeClock, changed_credentials, client_send, many_numbers, run

from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import (
    SendRequest,
)
from batch_sms.sandbox.server import SandboxConfig, SandboxHandle, serve


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
            outcome = await client_send(sandbox, req, clock=clock)
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
            outcome = await client_send(
                sandbox, SendRequest(phones, "Hi", ext="ignored", dr_url="x")
            )
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
            outcome = await client_send(sandbox, SendRequest(many_numbers(40), "Hi"))
            assert outcome.code == "0"
            await sandbox.drain()
            return [m.dr_status for m in sandbox.accepted]

    first = run(main())
    assert first == run(main())
    assert set(first) == {"2", "5"}


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

            stranger = Client(
                session, sandbox.url, changed_credentials(sandbox, access_secret="nope")
            )
            assert (await stranger.balance()).code == "1"
            assert (await stranger.record("20231114", ids[0]))["code"] == "1"
            assert (await stranger.day_records("20231114"))["code"] == "1"

    run(main())


def test_handle_drains_receipts_from_sync_code(make_sandbox: Callable[..., SandboxHandle]) -> None:
    handle = make_sandbox(dr_delay=0.01, hourly_cap=None)

    async def send() -> None:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials)
            assert (await client.send(SendRequest(many_numbers(3), "Hi"))).code == "0"

    run(send())
    handle.drain()
    assert [m.dr_status for m in handle.sandbox.accepted] == ["2", "2", "2"]


def test_an_undelivered_receipt_carries_the_status_chosen() -> None:
    async def main() -> None:
        receiver = Receiver()
        url = await receiver.start()
        config = SandboxConfig(
            dr_delay=0, dr_url=url, dr_delivered_share=0.0, dr_undelivered_status="9"
        )
        async with serve(config) as sandbox:
            outcome = await client_send(sandbox, SendRequest(CN, "Hi", ext="r-2-0"))
            await asyncio.wait_for(receiver.arrived.wait(), 5)
            [record] = sandbox.accepted
        await receiver.stop()
        [got] = receiver.got
        assert (got["messageid"], got["status"], got["result"]) == (outcome.messageid, "9", "DND")
        assert record.dr_status == "9"

    run(main())


def test_dropped_receipts_are_never_pushed_but_the_record_has_their_status() -> None:
    """dr_drop_share loses receipts on the way on purpose: the record query still knows."""

    async def main() -> None:
        receiver = Receiver()
        url = await receiver.start()
        config = SandboxConfig(dr_delay=0, dr_url=url, dr_drop_share=1.0)
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials)
            outcome = await client.send(SendRequest(CN, "Hi"))
            await sandbox.drain()
            day = time.strftime("%Y%m%d", time.gmtime(sandbox.accepted[0].time))
            record = await client.record(day, outcome.messageid)
        await receiver.stop()
        assert (receiver.got, sandbox.receipts) == ([], [])
        assert (record["row"]["dr"], record["row"]["dr_status"]) == ("DELIVRD", "2")

    run(main())


def test_drop_share_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="shares"):
        SandboxConfig(dr_drop_share=1.5)
