"""Group commit: receipts stored several per transaction, each push answered after its own
commit, 10,000 pushes from 50 clients stored once each, one bad receipt failing only its push."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from helpers import msg, new_run, send

from batch_sms.journal import Journal
from batch_sms.models import Status
from batch_sms.provider.receipt_writer import ReceiptWriter
from batch_sms.provider.receipts import make_app

TOKEN = "writer-test-token"
RUN = "20261129-090000-beef"


class CountingJournal(Journal):
    """A journal that remembers the size of each group it stored, and can hold a commit."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.groups: list[int] = []
        self.hold = threading.Event()
        self.hold.set()

    def add_receipts(self, batch: Sequence[tuple[Mapping[str, str], float]]) -> list[bool]:
        """Store a group once `hold` is set; remember its size."""
        self.hold.wait(10)
        if any(fields.get("messageid") == "bad" for fields, _ in batch):
            raise sqlite3.IntegrityError("refused by the test")
        mapped = super().add_receipts(batch)
        self.groups.append(len(batch))
        return mapped


def sent_run(path: Path, count: int) -> None:
    """A run of `count` messages, all accepted, with messageids M<id>."""
    with Journal(path) as journal:
        ids = new_run(journal, RUN, *(msg(i + 2, f"8613{i:09d}") for i in range(count)))
        send(journal, ids, at=1.0)


def receipt(message_id: int) -> dict[str, str]:
    """A delivered receipt for message `message_id` of sent_run."""
    return {"messageid": f"M{message_id}", "status": "2", "result": "DELIVRD", "price": "0.01"}


def counts(path: Path) -> tuple[int, int, int]:
    """(receipts stored, distinct messageids, delivered messages), read on a fresh connection."""
    with sqlite3.connect(path) as raw:
        stored, distinct = raw.execute(
            "SELECT COUNT(*), COUNT(DISTINCT messageid) FROM receipts"
        ).fetchone()
        [delivered] = raw.execute(
            "SELECT COUNT(*) FROM messages WHERE status = ?", (Status.DELIVERED.value,)
        ).fetchone()
    return stored, distinct, delivered


async def push_all(url: str, receipts: Sequence[dict[str, str]], clients: int) -> list[str]:
    """Push every receipt from `clients` concurrent clients; the answers' bodies."""
    pending = list(receipts)
    answers: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while pending:
                fields = pending.pop()
                async with session.post(url, data=fields) as response:
                    answers.append(await response.text())

        await asyncio.gather(*(client() for _ in range(clients)))
    return answers


def test_ten_thousand_receipts_from_fifty_clients_are_stored_once_each(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    count = 10_000
    sent_run(path, count)
    with CountingJournal(path) as journal:

        async def go() -> list[str]:
            async with TestServer(make_app(journal, token=TOKEN)) as server:
                url = str(server.make_url(f"/dr?token={TOKEN}"))
                receipts = [receipt(i) for i in range(1, count + 1)]
                # every tenth one pushed twice: acknowledged again, stored once
                return await push_all(url, receipts + receipts[::10], clients=50)

        answers = asyncio.run(go())
    assert answers == ["success"] * (count + count // 10)
    assert counts(path) == (count, count, count)
    assert sum(journal.groups) == count + count // 10
    assert max(journal.groups) > 1  # several receipts per transaction
    assert len(journal.groups) < count


def test_a_push_is_answered_only_after_its_own_commit(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sent_run(path, 3)
    with CountingJournal(path) as journal:
        journal.hold.clear()

        async def go() -> tuple[bool, str, tuple[int, int, int]]:
            async with (
                TestServer(make_app(journal, token=TOKEN)) as server,
                aiohttp.ClientSession() as session,
            ):
                url = str(server.make_url(f"/dr?token={TOKEN}"))
                push = asyncio.create_task(session.post(url, data=receipt(1)))
                await asyncio.sleep(0.3)
                answered_early = push.done()
                journal.hold.set()
                response = await push
                committed = counts(path)  # read as soon as the answer came
                return answered_early, await response.text(), committed

        early, body, committed = asyncio.run(go())
    assert (early, body) == (False, "success")
    assert committed == (1, 1, 1)


def test_one_bad_receipt_fails_only_its_own_push(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sent_run(path, 4)
    with CountingJournal(path) as journal:
        writer = ReceiptWriter(journal)
        journal.hold.clear()  # the pushes queue up behind the first, and go as one group
        writer.start()

        async def go() -> list[Any]:
            fields = [receipt(1), receipt(2), {"messageid": "bad"}, receipt(3)]
            pushes = [asyncio.create_task(writer.store(f, 5.0)) for f in fields]
            await asyncio.sleep(0.2)
            journal.hold.set()
            return await asyncio.gather(*pushes, return_exceptions=True)

        outcomes = asyncio.run(go())
        writer.close()
    assert outcomes[:2] == [True, True]
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert outcomes[3] is True
    assert counts(path) == (3, 3, 3)


def test_closing_stores_what_waits_and_then_refuses(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sent_run(path, 2)
    with CountingJournal(path) as journal:
        writer = ReceiptWriter(journal)
        writer.start()
        assert writer.alive

        async def go() -> bool:
            push = asyncio.create_task(writer.store(receipt(1), 5.0))
            await asyncio.sleep(0)  # queued
            await asyncio.get_running_loop().run_in_executor(None, writer.close)
            return await push

        assert asyncio.run(go()) is True
        assert not writer.alive
        with pytest.raises(RuntimeError, match="not running"):
            asyncio.run(writer.store(receipt(2), 6.0))
    assert counts(path) == (1, 1, 1)
